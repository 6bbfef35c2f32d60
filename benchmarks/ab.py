"""Interleaved A/B timing of `postkin build` between two checkouts of postkin, one JSON line per result.

    python benchmarks/ab.py CORPUS --a REV_OR_DIR --b REV_OR_DIR [--rounds 5]

A and B are git revisions of this repository (checked out into temporary worktrees) or folders that
hold a `plugin/` package tree. Each round runs, for A then B (the order alternates every round, so a
machine that slows down over time does not favour one side): a cold build (empty cache and output), a
warm build with nothing changed, and a warm build after appending a sentence to one post's body and
after changing one post's title. Every build is a whole process (`python -m postkin.cli build`),
timed wall-clock. The corpus is copied once; the original is never written.

Prints {"kind", "side", "median_s", "min_s", "max_s", "median_cpu_s", "peak_mb", "runs"} per build kind and side,
then {"kind", "b_over_a", "cpu_b_over_a"} (ratios of the medians). On a shared machine the CPU seconds
(user + system of the build process) vary less than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _plugin_dir(spec: str, scratch: Path) -> Path:
    path = Path(spec)
    if (path / "plugin" / "postkin").is_dir():
        return path / "plugin"
    target = scratch / f"rev-{spec.replace('/', '_')}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(target), spec],
                   check=True, capture_output=True)
    return target / "plugin"


def _build(plugin: Path, content: Path, out: Path, cache: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds user + system, peak resident MB) of one whole build process."""
    env = {**os.environ, "PYTHONPATH": str(plugin)}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "postkin.cli", "build", str(content), "--out", str(out),
                                 "--cache-dir", str(cache)], env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this process's own rusage, peak memory included
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"build failed ({plugin}): {err.read()[-2000:].decode(errors='replace')}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--a", required=True, help="git revision or checkout folder (the baseline)")
    parser.add_argument("--b", required=True, help="git revision or checkout folder (the change)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="postkin-ab-"))
    worktrees = []
    try:
        sides = {}
        for side, spec in (("a", args.a), ("b", args.b)):
            sides[side] = _plugin_dir(spec, scratch)
            if sides[side].parent.parent == scratch:
                worktrees.append(sides[side].parent)
        times: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for r in range(args.rounds):
            for side in (("a", "b") if r % 2 == 0 else ("b", "a")):
                work = scratch / f"work-{side}"
                shutil.rmtree(work, ignore_errors=True)
                content = work / "content"
                shutil.copytree(args.corpus, content)
                out, cache = work / "out", work / "cache"
                plugin = sides[side]
                times.setdefault(("cold", side), []).append(_build(plugin, content, out, cache))
                times.setdefault(("warm_nothing", side), []).append(_build(plugin, content, out, cache))
                posts = sorted(content.rglob("*.md"))
                target = posts[len(posts) // 2]
                target.write_text(target.read_text(encoding="utf-8") + "\nOne more sentence for the A/B test.\n",
                                  encoding="utf-8")
                times.setdefault(("warm_body_edit", side), []).append(_build(plugin, content, out, cache))
                text = target.read_text(encoding="utf-8")
                edited = text.replace("title:", "title: Edited", 1) if "title:" in text else "# Edited\n" + text
                target.write_text(edited, encoding="utf-8")
                times.setdefault(("warm_title_edit", side), []).append(_build(plugin, content, out, cache))
        medians, cpu = {}, {}
        for (kind, side), values in sorted(times.items()):
            walls = [w for w, _, _ in values]
            medians[(kind, side)] = statistics.median(walls)
            cpu[(kind, side)] = statistics.median(c for _, c, _ in values)
            print(json.dumps({"kind": kind, "side": side, "median_s": round(medians[(kind, side)], 3),
                              "min_s": round(min(walls), 3), "max_s": round(max(walls), 3),
                              "median_cpu_s": round(cpu[(kind, side)], 3),
                              "peak_mb": round(max(m for _, _, m in values)), "runs": len(values)}))
        for kind in sorted({k for k, _ in times}):
            print(json.dumps({"kind": kind, "b_over_a": round(medians[(kind, "b")] / medians[(kind, "a")], 3),
                              "cpu_b_over_a": round(cpu[(kind, "b")] / cpu[(kind, "a")], 3)}))
    finally:
        for tree in worktrees:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
