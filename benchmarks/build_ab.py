"""Whole-process `postkin build` times of two (or more) source trees on one corpus, interleaved.

    python benchmarks/build_ab.py /work/data/18f --tree base=/tmp/base/plugin --tree new=plugin --runs 5

Each tree is run as `python -m postkin.cli build` with PYTHONPATH set to it, timed by /usr/bin/time
(wall, user, sys seconds and peak RSS of the whole process: imports, reading, embedding, writing). The
trees take turns, in alternating order from run to run, so drift in the machine's load hits all.

Cases, each on the tree's own copy of the corpus, output folder and cache:
- cold: no embedding cache and no outputs (the unpacked model, a per-machine cache, is warm for all);
- warm-edit: one post's title edited (a new title every run), so one post is embedded and indexed
  again and the outputs it touches are rewritten.

Prints one JSON line per build, then one per (tree, case) with the median and the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TIME = "/usr/bin/time"


def _run(tree: Path, work: Path, env: dict[str, str]) -> dict:
    fmt = "%e %U %S %M"
    args = [TIME, "-f", fmt, "-o", str(work / "time.txt"), sys.executable, "-m", "postkin.cli", "build",
            str(work / "content"), "--out", str(work / "out"), "--cache-dir", str(work / "cache")]
    run = subprocess.run(args, capture_output=True, text=True, env={**env, "PYTHONPATH": str(tree)})
    if run.returncode:
        raise SystemExit(f"{tree}: build failed ({run.returncode}): {run.stderr[-1000:]}")
    wall, user, system, rss_kb = (work / "time.txt").read_text().split()[-4:]
    line = next(x for x in run.stderr.splitlines() if "embedded" in x)
    return {"wall_s": float(wall), "user_s": float(user), "sys_s": float(system),
            "max_rss_mb": round(int(rss_kb) / 1024, 1), "summary": line}


def _edit_title(content: Path, n: int) -> None:
    """Give the first post (by file name) a title it never had before."""
    post = sorted(content.glob("*.md"))[0]
    text = post.read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^title:.*$", f'title: "Edited title, revision {n}"', text, count=1)
    assert count == 1, post
    post.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder of Markdown posts")
    parser.add_argument("--tree", action="append", required=True, metavar="NAME=PLUGIN_DIR",
                        help="a source tree's plugin/ folder (the one holding postkin/)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder, removed afterwards")
    args = parser.parse_args(argv)
    if not Path(TIME).is_file():
        raise SystemExit(f"{TIME} is not installed (apt-get install time)")
    trees = dict(t.split("=", 1) for t in args.tree)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="postkin-build-ab-"))
    threads = str(len(os.sched_getaffinity(0)))
    env = {**os.environ, "POSTKIN_MODEL_CACHE": str(root / "model-cache"), "OMP_NUM_THREADS": threads,
           "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    works = {}
    for name, tree in trees.items():
        work = root / name
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(args.corpus, work / "content")
        works[name] = (Path(tree).resolve(), work)
    _run(*works[next(iter(works))], env)  # unpacks the model once; not timed
    results: dict[tuple[str, str], list[dict]] = {}
    for case in ("cold", "warm-edit"):
        for i in range(args.runs):
            order = list(works) if i % 2 == 0 else list(reversed(works))
            for name in order:
                tree, work = works[name]
                if case == "cold":
                    shutil.rmtree(work / "cache", ignore_errors=True)
                    shutil.rmtree(work / "out", ignore_errors=True)
                else:
                    if i == 0 and not (work / "cache").exists():
                        _run(tree, work, env)
                    _edit_title(work / "content", i)
                measured = _run(tree, work, env)
                results.setdefault((name, case), []).append(measured)
                print(json.dumps({"bench": "build_ab", "corpus": str(args.corpus), "tree": name, "case": case,
                                  "run": i, **measured}), flush=True)
    for (name, case), runs in results.items():
        walls = [r["wall_s"] for r in runs]
        cpu = [r["user_s"] + r["sys_s"] for r in runs]
        print(json.dumps({"bench": "build_ab", "corpus": str(args.corpus), "tree": name, "case": case,
                          "runs": len(runs), "median_wall_s": round(statistics.median(walls), 3),
                          "min_wall_s": min(walls), "max_wall_s": max(walls),
                          "median_cpu_s": round(statistics.median(cpu), 3)}), flush=True)
    if args.workdir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
