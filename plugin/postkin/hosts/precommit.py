"""The `postkin-suggest-tags` pre-commit hook: suggested tags for the posts being committed.

Exit codes follow pre-commit: 0 when every post is fine (suggestions are information), 1 when a post
is broken, has fewer tags than --min-tags, or had tags written into it by --add (the author reviews
the change and commits again, as with any fixer hook: the second run finds nothing to do).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Sequence

from ..posts import MARKDOWN_SUFFIXES


def _has_front_matter(path: Path) -> bool:
    """Blog posts start with front matter; a README or a deleted file is not one."""
    try:
        with path.open("rb") as handle:
            return handle.read(8).lstrip(b"\xef\xbb\xbf").startswith((b"---", b"+++"))
    except OSError:
        return False


def _content_folder(files: list[Path]) -> Path:
    """Without --content: the deepest folder holding every committed post."""
    parents = [f.resolve().parent for f in files]
    common = parents[0]
    while not all(p == common or common in p.parents for p in parents):
        common = common.parent
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="postkin-suggest-tags",
        description="Suggest tags for the given posts from the vocabulary of the rest of the blog.")
    parser.add_argument("files", nargs="*", type=Path, help="Markdown posts (pre-commit passes the staged ones)")
    parser.add_argument("--content", type=Path,
                        help="the blog's content folder (default: the folder holding all the files)")
    parser.add_argument("--config", type=Path, help="postkin.toml or pyproject.toml (default: nearest one)")
    parser.add_argument("--cache-dir", help="embedding cache folder (default: from settings, or beside the content)")
    parser.add_argument("--tags-k", type=int, help="tags to suggest per post (default: settings' tags_k)")
    parser.add_argument("--min-tags", type=int, default=0, metavar="N",
                        help="fail for a post with fewer than N tags and show what to add")
    parser.add_argument("--add", type=int, default=0, metavar="N",
                        help="give a post with fewer than N tags the top suggestions up to N, written into its "
                             "front matter, and fail so you can review")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the hook on the files in argv; returns the exit code."""
    args = _parser().parse_args(argv)
    posts = [f for f in args.files if f.suffix.lower() in MARKDOWN_SUFFIXES and _has_front_matter(f)]
    if not posts:
        return 0  # nothing that is a blog post: do not even load the blog

    # Heavy imports only now: a commit of a README stays instant.
    from ..errors import PostkinError
    from ..frontmatter_edit import add_tags
    from ..posts import as_list, split_front_matter
    from ..settings import load_settings
    from ..suggest import suggest_for_files

    content = args.content or _content_folder(posts)
    try:
        settings, _ = load_settings(args.config, {"tags_k": args.tags_k, "cache_dir": args.cache_dir},
                                    search_from=content)
        # Enough suggestions to show, to fill up to --min-tags and to --add.
        settings = dataclasses.replace(settings, tags_k=max(settings.tags_k, args.add, args.min_tags))
        found, problems = suggest_for_files(posts, content, settings)
    except PostkinError as exc:
        print(f"postkin: {exc}", file=sys.stderr)
        return 1

    status = 0
    for problem in problems:
        print(f"{problem.path}: {problem.reason}")
        status = 1
    for path, suggestions in found.items():
        text = path.read_bytes().decode("utf-8")
        metadata, _ = split_front_matter(text)
        lowered = {str(k).strip().lower(): v for k, v in metadata.items()}
        tags = as_list(lowered.get("tags", lowered.get("tag")))
        shown = ", ".join(f"{t} ({s:.2f})" for t, s in suggestions) or "(none: the rest of the blog has no tags)"
        print(f"{path}: suggested tags: {shown}")
        if len(tags) < args.add and suggestions:
            # Top up to N tags, not N more: a second run after review finds nothing to add and passes.
            chosen = [t for t, _ in suggestions[:args.add - len(tags)]]
            try:
                edited = add_tags(text, chosen)
            except ValueError as exc:
                print(f"{path}: tags not added: {exc}")
                status = 1
            else:
                if edited != text:
                    path.write_bytes(edited.encode("utf-8"))
                    tags += chosen
                    print(f"{path}: added tags {', '.join(chosen)}: review the change and commit again")
                    status = 1
        if len(tags) < args.min_tags:
            missing = args.min_tags - len(tags)
            hint = ", ".join(t for t, _ in suggestions[:missing]) or "tags of your own"
            print(f"{path}: has {len(tags)} tag(s), needs at least {args.min_tags}; add {missing}, e.g. {hint}")
            status = 1
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
