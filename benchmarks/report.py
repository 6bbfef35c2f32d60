"""`postkin report` speed and size on a real blog, each run a whole fresh process as a user runs it.

    python benchmarks/report.py CORPUS_DIR [--warm-runs N]

cold: an empty cache folder (parse, embed every post, compute, score the configured method, t-SNE,
render); warm: the same cache again, nothing changed (best and worst of N runs: the machine is
shared). Then what the `report` setting adds to a warm `postkin build` (the same cache): builds
without and with it, N each, interleaved. Prints one JSON line: {"corpus", "posts", "topics",
"cold_s", "warm_s", "warm_worst_s", "html_bytes", "build_warm_s", "build_with_report_warm_s"}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN = os.path.join(os.path.dirname(HERE), "plugin")


def postkin(*args: str) -> tuple[float, str]:
    """Wall seconds of one `postkin ...` process, and its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [PLUGIN, os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "postkin.cli", *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"postkin {args[0]} failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    return seconds, done.stdout


def run_report(corpus: str, out: str, cache: str) -> tuple[float, dict]:
    """Wall seconds of one `postkin report ... --json` process, and its data."""
    seconds, stdout = postkin("report", corpus, "--out", out, "--json", "--cache-dir", cache)
    return seconds, json.loads(stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postkin-report-bench-") as tmp:
        out, cache = os.path.join(tmp, "report.html"), os.path.join(tmp, "cache")
        cold, data = run_report(args.corpus, out, cache)
        warm = [run_report(args.corpus, out, cache)[0] for _ in range(args.warm_runs)]
        html_bytes = os.path.getsize(out)
        configs = {}
        for name, text in (("plain", ""), ("report", f"report = {json.dumps(os.path.join(tmp, 'build.html'))}\n")):
            configs[name] = os.path.join(tmp, f"{name}.toml")
            with open(configs[name], "w", encoding="utf-8") as handle:
                handle.write(text)
        builds: dict[str, list[float]] = {"plain": [], "report": []}
        for _ in range(args.warm_runs):
            for name in builds:
                builds[name].append(postkin("build", args.corpus, "--out", os.path.join(tmp, "data"),
                                            "--cache-dir", cache, "--config", configs[name])[0])
        print(json.dumps({"corpus": os.path.basename(os.path.normpath(args.corpus)), "posts": data["summary"]["posts"],
                          "topics": data["summary"]["topics"], "cold_s": round(cold, 2), "warm_s": round(min(warm), 2),
                          "warm_worst_s": round(max(warm), 2), "html_bytes": html_bytes,
                          "build_warm_s": round(min(builds["plain"]), 2),
                          "build_with_report_warm_s": round(min(builds["report"]), 2)}))


if __name__ == "__main__":
    main()
