"""How many output files one edit rewrites: `postkin build` after adding a sentence to one post's body, and
after changing one post's title, on a copy of a corpus (the number the README quotes).

    python benchmarks/edit_rewrites.py /work/data/18f [--posts 5]

For each of the first N posts (by file name) that have a body: a cold build of a fresh copy, then the
edit, then a build; the second build's summary line gives the files written. Prints one JSON line per
(post, edit) and one summary line per edit with the median, minimum and maximum, and the number of
output files.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SUMMARY = re.compile(r"^postkin: (\d+) posts.*; (\d+) files written, (\d+) removed in ")


def _build(work: Path) -> tuple[int, int]:
    """(posts, files written) of one `postkin build` of work/content."""
    run = subprocess.run([sys.executable, "-m", "postkin.cli", "build", str(work / "content"), "--out",
                          str(work / "out"), "--cache-dir", str(work / "cache")], capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(f"build failed ({run.returncode}): {run.stderr[-1000:]}")
    found = next(m for m in map(SUMMARY.match, run.stderr.splitlines()) if m)
    return int(found.group(1)), int(found.group(2))


def _add_sentence(text: str) -> str:
    return text.rstrip("\n") + "\n\nOne more sentence, added to measure what an edit rewrites.\n"


def _new_title(text: str) -> str:
    edited, count = re.subn(r"(?m)^title:.*$", 'title: "A title this post never had"', text, count=1)
    if not count:
        raise ValueError("no title line")
    return edited


EDITS = {"sentence": _add_sentence, "title": _new_title}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder of Markdown posts with YAML front matter")
    parser.add_argument("--posts", type=int, default=5, help="posts to edit, one at a time")
    args = parser.parse_args(argv)
    names = sorted(p.name for p in args.corpus.glob("*.md"))
    results: dict[str, list[int]] = {name: [] for name in EDITS}
    outputs = 0
    with tempfile.TemporaryDirectory(prefix="postkin-edit-") as tmp:
        work = Path(tmp)
        base = work / "base"
        shutil.copytree(args.corpus, base / "content")
        _build(base)  # the embedding cache every trial starts from (the model's cost is not measured here)
        outputs = sum(1 for p in (base / "out").rglob("*.json"))
        done = 0
        for name in names:
            if done >= args.posts:
                break
            original = (base / "content" / name).read_text(encoding="utf-8")
            if original.count("---") < 2:
                continue
            done += 1
            for edit, change in EDITS.items():
                trial = work / f"{edit}-{done}"
                shutil.copytree(base, trial)
                post = trial / "content" / name
                post.write_text(change(original), encoding="utf-8")
                posts, written = _build(trial)
                results[edit].append(written)
                print(json.dumps({"corpus": str(args.corpus), "post": name, "edit": edit, "posts": posts,
                                  "files_written": written, "output_files": outputs}), flush=True)
                shutil.rmtree(trial)
    for edit, counts in results.items():
        print(json.dumps({"corpus": str(args.corpus), "edit": edit, "trials": len(counts),
                          "files_written_median": statistics.median(counts), "min": min(counts),
                          "max": max(counts), "output_files": outputs}), flush=True)


if __name__ == "__main__":
    main()
