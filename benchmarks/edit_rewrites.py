"""How many output files one edit rewrites, measured in place: `postkin build` of one working copy of a
corpus (its cache and topic state kept, as on an author's machine or a CI cache), then one edit, then a
build; the second build's summary line gives the files written (the numbers issue #16 bounds).

    python benchmarks/edit_rewrites.py /work/data/18f [--posts 10] [--cache /work/data/cache-18f]

Edits: "sentence" (a sentence added to one post's body) and "title" (a new title) for each of N posts
spread evenly across the blog (by file name, so early and late posts both count); "new-original" (one
new post, newest of the blog, with text of its own) and "new-copy" (a new post whose body is a copy of
the sampled posts', under a new title: a near-duplicate), once per sampled post for the copy. After each
trial the working copy, its outputs and its cache are put back as they were, so every trial starts from
the same kept state. `--cache`: an embedding cache copied in first (the model's cost is not measured).
Prints one JSON line per trial and one summary line per edit (median, minimum, maximum, output files).
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

SUMMARY = re.compile(r"^postkin: (\d+) posts.*; (\d+) files written, (\d+) removed in ")
NEW_POST = """---
title: "How we moved our design system documentation to a static site"
date: {date}
tags: [design, documentation]
---
We moved the documentation of our design system from a wiki to a static site generated from Markdown.
The pages are reviewed in pull requests, the examples are rendered from the same components the product
uses, and a search index is built at deploy time. This post describes the migration, the templates we
wrote, and what we would do differently: start with the navigation, keep URLs stable, and ask the teams
that use the system which pages they read most.
"""


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


def _near_copy(text: str, date: str) -> str:
    """The post under a new title, dated `date` (the newest post of the blog, as a new post is)."""
    return re.sub(r"(?m)^date:.*$", f"date: {date}", _new_title(text), count=1)


EDITS: dict[str, Callable[[str], str]] = {"sentence": _add_sentence, "title": _new_title}


def spread(names: list[str], count: int) -> list[str]:
    """`count` names evenly spaced over the sorted list (first and last included)."""
    if count >= len(names):
        return names
    if count == 1:
        return names[:1]
    return [names[round(i * (len(names) - 1) / (count - 1))] for i in range(count)]


def _restore(work: Path, saved: Path) -> None:
    for part in ("content", "out", "cache"):
        shutil.rmtree(work / part)
        shutil.copytree(saved / part, work / part)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder of Markdown posts with YAML front matter")
    parser.add_argument("--posts", type=int, default=10, help="posts to edit, spread across the blog")
    parser.add_argument("--cache", type=Path, help="an embedding cache folder to start from (copied)")
    args = parser.parse_args(argv)
    with_body = [p.name for p in sorted(args.corpus.glob("*.md"))
                 if p.read_text(encoding="utf-8").count("---") >= 2]
    sample = spread(with_body, args.posts)
    results: dict[str, list[int]] = {name: [] for name in [*EDITS, "new-original", "new-copy"]}
    with tempfile.TemporaryDirectory(prefix="postkin-edit-") as tmp:
        work, saved = Path(tmp) / "site", Path(tmp) / "saved"
        shutil.copytree(args.corpus, work / "content")
        if args.cache:
            shutil.copytree(args.cache, work / "cache")
        _build(work)  # the kept state every trial starts from
        _build(work)  # (a second build: the topic state as a warm build leaves it)
        for part in ("content", "out", "cache"):
            shutil.copytree(work / part, saved / part)
        outputs = sum(1 for p in (work / "out").rglob("*.json"))

        def trial(edit: str, post: str, write: Callable[[Path], None]) -> None:
            write(work / "content")
            posts, written = _build(work)
            results[edit].append(written)
            print(json.dumps({"corpus": str(args.corpus), "post": post, "edit": edit, "posts": posts,
                              "files_written": written, "output_files": outputs}), flush=True)
            _restore(work, saved)

        date = datetime.date.today().isoformat()  # newest, yet not scheduled for the future
        new_name = f"{date}-postkin-benchmark-new-post.md"
        trial("new-original", new_name, lambda c: (c / new_name).write_text(NEW_POST.format(date=date), "utf-8"))
        for name in sample:
            original = (saved / "content" / name).read_text(encoding="utf-8")
            for edit, change in EDITS.items():
                trial(edit, name, lambda c, change=change, name=name, original=original:
                      (c / name).write_text(change(original), "utf-8"))
            trial("new-copy", name, lambda c, original=original:
                  (c / new_name).write_text(_near_copy(original, date), "utf-8"))
    for edit, counts in results.items():
        print(json.dumps({"corpus": str(args.corpus), "edit": edit, "trials": len(counts),
                          "files_written_median": statistics.median(counts), "min": min(counts),
                          "max": max(counts), "output_files": outputs}), flush=True)


if __name__ == "__main__":
    main()
