"""Interleaved A/B of whole `postkin build` processes between two trees, one JSON line per result.

    python benchmarks/ab.py /work/data/18f --a main --b /work/wt/mybranch [--rounds 5] [--size 5000]

A and B are git revisions of this repository (checked out into temporary worktrees), checkouts holding
`plugin/`, or `plugin/` folders. The blog is a copy of the first corpus, or with --size a blog of that
many posts composed from the corpora's real text (benchmarks/scale.py, which also runs the builds:
wall and CPU seconds and peak memory of each build process, files written).

Each side has its own copy of the blog, outputs and cache. Each round makes every build kind in turn
(cold, warm_nothing, warm_body_edit, warm_title_edit, warm_post_added; see scale.py) on both sides, the
same edit on each, A then B in even rounds and B then A in odd ones, so a machine that slows down
over time does not favour one side. On a shared machine CPU seconds vary less than wall seconds (each build
line gives the load average when it started).

Prints one line per build, then per (kind, side) the medians, then per kind the ratios B / A of the
median wall and CPU seconds and peak memory.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:  # last: benchmarks/distributed.py is not dask's
    sys.path.append(str(Path(__file__).resolve().parent))
import scale  # noqa: E402  (benchmarks/ is not a package)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", type=Path, nargs="+", help="the blog (first corpus), or with --size the sources")
    parser.add_argument("--a", required=True, help="git revision, checkout or plugin folder (the baseline)")
    parser.add_argument("--b", required=True, help="git revision, checkout or plugin folder (the change)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, help="compose a blog of this many posts instead of copying the corpus")
    parser.add_argument("--kinds", default=",".join(scale.KINDS), help="build kinds, in order (cold always first)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--blog-cache", type=Path, default=scale.REPO / ".bench-cache" / "scale")
    args = parser.parse_args(argv)
    kinds = ["cold"] + [k for k in args.kinds.split(",") if k and k != "cold"]
    if set(kinds) - set(scale.KINDS):
        parser.error(f"unknown build kind(s); known: {', '.join(scale.KINDS)}")
    sources = scale.load_sources(args.corpora)
    if args.size:
        blog, _ = scale.compose_blog(args.corpora, sources, args.size, args.seed, args.blog_cache)
    else:
        blog = args.corpora[0]
    size = len(scale.post_files(blog))
    scratch = Path(tempfile.mkdtemp(prefix="postkin-ab-"))
    env = scale.build_env(scratch)
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        with scale.trees([args.a, args.b], scratch) as plugins:
            sides = dict(zip("ab", plugins))
            for plugin in plugins:
                scale.warm_up(plugin, sources, scratch, env)
            for r in range(args.rounds):
                works = {side: scale.Workspace(plugin, scratch / f"work-{side}", env) for side, plugin in sides.items()}
                blogs = {}
                for side, work in works.items():
                    scale.copy_blog(blog, work.content)
                    blogs[side] = scale.Blog(work.content, sources, size, args.seed, random.Random(f"{args.seed}:{r}"))
                for kind in kinds:
                    for side in ("a", "b") if r % 2 == 0 else ("b", "a"):
                        scale.apply_kind(kind, blogs[side], works[side])
                        row = {"bench": "ab", "blog": str(blog), "side": side, "tree": str(sides[side]), "round": r,
                               "kind": kind, **works[side].build().to_json()}
                        rows.setdefault((kind, side), []).append(row)
                        print(json.dumps(row, ensure_ascii=False), flush=True)
                for work in works.values():
                    shutil.rmtree(work.root, ignore_errors=True)
        medians = {}
        for (kind, side), kind_rows in rows.items():
            medians[kind, side] = scale.summarise(kind_rows)
            print(json.dumps({"bench": "ab", "blog": str(blog), "kind": kind, "side": side, "tree": str(sides[side]),
                              **medians[kind, side]}), flush=True)
        for kind in kinds:
            a, b = medians[kind, "a"], medians[kind, "b"]
            print(json.dumps({"bench": "ab", "blog": str(blog), "kind": kind, **{
                f"{name}_b_over_a": round(b[key] / a[key], 3) if a[key] else None
                for name, key in (("wall", "median_wall_s"), ("cpu", "median_cpu_s"), ("rss", "median_max_rss_mb"))}}),
                flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
