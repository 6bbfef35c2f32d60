"""Quality benchmark: `postkin eval`'s two protocols on corpora, one JSON line per method.

    python benchmarks/quality.py CORPUS_DIR [CORPUS_DIR ...] [--cache-dir DIR] [--config FILE] [--no-baselines]

For each corpus (a folder of Markdown posts, e.g. the 18F and efcl copies), prints one line per method:
{"corpus", "posts", "method", "related" (Dice@4), "tags" (MAP@10), "seconds" (that method's compute)},
then a line {"method": "build", "seconds": ...}: a full pipeline run through the same (warm) cache.
Embeddings are cached (default: a .postkin-cache beside each corpus), so only the first run embeds.
Reference (issue #3 anchors -> postkin's default): related 18F LSI 0.4397 -> 0.4729, efcl LSI 0.3687
-> 0.4157; tags 18F LR 0.3316 -> 0.4065, efcl LR 0.4320 -> 0.5047.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from postkin.evaluate import evaluate
from postkin.pipeline import read_folder, run
from postkin.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default: beside each corpus)")
    parser.add_argument("--config", type=Path, help="postkin.toml with the settings to measure")
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args(argv)
    logging.getLogger("postkin").setLevel(logging.ERROR)
    for corpus in args.corpora:
        overrides = {"cache_dir": str(args.cache_dir)} if args.cache_dir else {}
        settings, _ = load_settings(args.config, overrides)
        folder = read_folder(corpus, settings)
        cache = settings.cache_folder(corpus)
        report = evaluate(folder, settings, cache, baselines=not args.no_baselines)
        base = {"corpus": corpus.name, "posts": report.posts, "test_posts": report.test_posts}
        for score in report.scores:
            print(json.dumps({**base, **score.to_dict()}, ensure_ascii=False), flush=True)
        started = time.perf_counter()
        results = run(folder.posts, settings, cache_dir=cache)
        print(json.dumps({**base, "method": "build", "seconds": round(time.perf_counter() - started, 3),
                          "embedded": results.stats.embedded, "indexed": results.stats.indexed}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
