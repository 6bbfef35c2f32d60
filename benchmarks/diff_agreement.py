"""Does `postkin diff` name exactly the posts whose data files a build rewrites? On a copy of a real blog.

    python benchmarks/diff_agreement.py CORPUS_DIR [--edits N]

Builds a copy of the corpus (a generic folder of Markdown posts, the real bundled model, a cache in a
temporary folder), then makes edits one after another (kinds in turn: a title, a paragraph added to a
body, a tag added, a new post, a post removed, a post made a draft; posts picked with a fixed seed). For
each edit, before building: `postkin diff CONTENT` (the site now against the last build); then `postkin
build`, the posts/<key>.json files it rewrote, `postkin diff CONTENT --last` and `postkin diff OLD NEW`
on the output folders. Prints one JSON line per edit: {"corpus", "edit", "post", "rewritten", "named",
"named_last", "named_folders", "agree", "diff_s", "build_s"} (agree: all three equal `rewritten`), then
one line with what keeping the build record costs a warm build in this process: {"corpus", "record_s"}
(best of 5: making it, serialising, storing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parent / "plugin"
KINDS = ("title", "body", "tag", "new post", "removed post", "draft")


def postkin(*args: str) -> tuple[float, str]:
    """Wall seconds of one `postkin ...` process, and its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGIN), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "postkin.cli", *args], capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"postkin {args[0]} failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    return time.perf_counter() - started, done.stdout


def named(text: str) -> list[str]:
    """The post keys a text diff names (its unindented lines after the summary, before the topics)."""
    return sorted({line.split("  ")[0] for line in text.splitlines()[1:]
                   if line and not line.startswith((" ", "topics:", "note:"))})


def rewritten(old: Path, new: Path) -> list[str]:
    a = {p.stem: p.read_bytes() for p in (old / "posts").glob("*.json")}
    b = {p.stem: p.read_bytes() for p in (new / "posts").glob("*.json")}
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def edit(content: Path, kind: str, rng: random.Random, n: int) -> str:
    """Apply one edit of `kind` to a post picked by `rng`; returns the file's name."""
    posts = sorted(p for p in content.glob("*.md"))
    path = rng.choice(posts)
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---")  # front matter, its closing fence, the body
    if kind == "title":
        lines = head.splitlines()
        i = next((i for i, line in enumerate(lines) if line.lower().startswith("title:")), None)
        if i is None:
            return edit(content, kind, rng, n)
        lines[i] = 'title: "Security compliance, cloud hosting and agile acquisition for agencies"'
        text = "\n".join(lines) + sep + body
    elif kind == "body":
        text = text + "\n\nWe also worked on procurement, user research and open source code with the agency.\n"
    elif kind == "tag":
        text = head.replace("\ntags:", "\ntags:\n  - procurement", 1) + sep + body if "\ntags:" in head \
            else head + "\ntags: [procurement]" + sep + body
    elif kind == "new post":
        path = content / f"2099-01-0{n % 9 + 1}-bench-new-{n}.md"
        path.write_text('---\ntitle: "Modular contracting for a benefits system"\ndate: 2020-01-01\n'
                        'tags: [procurement, agile]\n---\nAgile, modular contracting for a state benefits system, '
                        "with user research.\n", encoding="utf-8")
        return path.name
    elif kind == "removed post":
        path.unlink()
        return path.name
    else:
        text = head + "\ndraft: true" + sep + body
    path.write_text(text, encoding="utf-8")
    return path.name


def record_cost(content: Path, cache: Path) -> float:
    """Best of 5: seconds to make, serialise and store one build's record, in this process."""
    sys.path.insert(0, str(PLUGIN))
    from postkin.diff import keep_record
    from postkin.pipeline import open_cache, read_folder, run
    from postkin.settings import Settings

    settings = Settings(cache_dir=str(cache))
    corpus = read_folder(content, settings)
    build = run(corpus, settings, cache_dir=corpus.cache_dir, record=False)
    best = float("inf")
    with open_cache(cache) as store:
        for _ in range(5):
            started = time.perf_counter()
            keep_record(store, build, settings)
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--edits", type=int, default=len(KINDS))
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="postkin-diff-bench-") as tmp:
        root = Path(tmp)
        content, out, cache = root / "content", root / "out", root / "cache"
        shutil.copytree(args.corpus, content)
        postkin("build", str(content), "--out", str(out), "--cache-dir", str(cache))
        for n in range(args.edits):
            kind = KINDS[n % len(KINDS)]
            name = edit(content, kind, rng, n)
            diff_s, now = postkin("diff", str(content), "--cache-dir", str(cache))
            shutil.rmtree(root / "before", ignore_errors=True)
            shutil.copytree(out, root / "before")
            build_s, _ = postkin("build", str(content), "--out", str(out), "--cache-dir", str(cache))
            changed = rewritten(root / "before", out)
            last = named(postkin("diff", str(content), "--last", "--cache-dir", str(cache))[1])
            folders = named(postkin("diff", str(root / "before"), str(out))[1])
            print(json.dumps({"corpus": os.path.basename(os.path.normpath(args.corpus)), "edit": kind, "post": name,
                              "rewritten": len(changed), "named": len(named(now)), "named_last": len(last),
                              "named_folders": len(folders),
                              "agree": named(now) == changed and last == changed and folders == changed,
                              "diff_s": round(diff_s, 2), "build_s": round(build_s, 2)}), flush=True)
        print(json.dumps({"corpus": os.path.basename(os.path.normpath(args.corpus)),
                          "record_s": round(record_cost(content, cache), 3)}), flush=True)


if __name__ == "__main__":
    main()
