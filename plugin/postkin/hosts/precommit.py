"""`postkin suggest-tags` and its pre-commit hook `postkin-suggest-tags`: one command, one behaviour.

Suggested tags for the posts being committed, learnt from the rest of the blog. Exit codes follow
pre-commit: 0 when every post is fine (suggestions are information), 1 when a post is broken, has
fewer tags than --min-tags, or had tags written into it by --add (the author reviews the change and
commits again, as with any fixer hook: the second run finds nothing to do).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..metadata import MARKDOWN_SUFFIXES, has_front_matter


def _is_post_file(path: Path) -> bool:
    """Blog posts are Markdown files that start with front matter; a README or a deleted file is not one."""
    if path.suffix.lower() not in MARKDOWN_SUFFIXES:
        return False
    try:
        with path.open("rb") as handle:
            return has_front_matter(handle.read(8))
    except OSError:
        return False


def content_folder(files: Sequence[Path]) -> Path:
    """Without --content: the deepest folder holding every committed post."""
    parents = [f.resolve().parent for f in files]
    common = parents[0]
    while not all(p == common or common in p.parents for p in parents):
        common = common.parent
    return common


def _shown(suggestions: Sequence[tuple[str, float]]) -> str:
    # one decimal, as in the JSON outputs: the probabilities are calibrated to about that precision
    return ", ".join(f"{tag} ({score:.1f})" for tag, score in suggestions)


def suggest_for_files(files: list[Path], content: Path | None, config: Path | None, flags: dict[str, Any], *,
                      min_tags: int = 0, add: int = 0, as_json: bool = False,
                      echo: Callable[[str], None] = print) -> int:
    """Suggest tags for `files` (the posts among them) and act on --min-tags / --add; returns the exit code.

    Raises PostkinError for a settings or cache problem (the CLI prints it as one line).
    """
    posts = [f for f in files if _is_post_file(f)]
    if not posts:
        return 0  # nothing that is a blog post: do not even load the blog

    # Heavy imports only now: a commit of a README stays instant.
    from ..dialects import NotAPost, find_site
    from ..errors import PostkinError, Problem
    from ..frontmatter_edit import add_tags
    from ..pipeline import open_cache, suggest_tags
    from ..popularity import apply_popularity
    from ..settings import load_settings

    folder = content or content_folder(posts)
    overrides = {k: str(v) if isinstance(v, Path) else v for k, v in flags.items()}
    settings, _ = load_settings(config, overrides, search_from=folder)
    # Enough suggestions to show, to fill up to --min-tags and to --add.
    settings = dataclasses.replace(settings, tags_k=max(settings.tags_k, add, min_tags))
    dialect = find_site(folder, settings)
    if content is None and dialect.name == "generic" and (
            (folder / ".git").exists() or folder.resolve() == Path.cwd().resolve()):
        raise PostkinError(f"{folder}: no site configuration found (hugo.toml, _config.yml, mkdocs.yml, "
                           "pelicanconf.py...) and the posts are not in a folder of their own; pass --content "
                           "FOLDER, the folder that holds the blog's posts")
    with open_cache(dialect.cache_folder()) as cache:
        corpus = dialect.read(cache)
    apply_popularity(corpus.posts, settings)
    root = Path(dialect.site.content).resolve()
    targets, problems, sources, source_of = [], [], set(), {}
    for path in posts:
        resolved = path.resolve()
        source = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(path)
        try:
            post = dialect.post(dialect.document(resolved.read_bytes(), source, resolved))
        except NotAPost as exc:
            echo(f"{path}: not a post: {exc}")
            continue
        except (OSError, ValueError, PostkinError) as exc:
            problems.append(Problem(str(path), str(exc).split(": ", 1)[-1] if isinstance(exc, PostkinError)
                                    else str(exc)))
            continue
        if post is not None:
            targets.append((path, post))
            sources.add(source)
            source_of[path] = (source, resolved)
    others = [p for p in corpus.posts if p.source not in sources]
    found = suggest_tags([post for _, post in targets], others, settings, corpus.cache_dir) if targets else []
    from ..tags import shown

    suggested = {path: [(s.tag, s.score) for s in shown(sug, settings.tags_min_score)]
                 for (path, _), sug in zip(targets, found)}
    # what --add writes and --min-tags proposes: the most probable first (shown lists order ties by name)
    best = {path: [s.tag for s in sug if round(s.score, 1) >= settings.tags_min_score]
            for (path, _), sug in zip(targets, found)}

    status = 0
    for problem in problems:
        echo(f"{problem.path}: {problem.reason}")
        status = 1
    if as_json:
        echo(json.dumps({str(p): [{"tag": t, "score": s} for t, s in sug] for p, sug in suggested.items()},
                        ensure_ascii=False, indent=1, sort_keys=True))
    for path, post in targets:
        suggestions = suggested[path]
        text = path.read_bytes().decode("utf-8")
        tags = list(post.tags)  # as the site's generator reads them (Jekyll splits a string on spaces)
        if not as_json:
            if suggestions:
                echo(f"{path}: suggested tags: {_shown(suggestions)}")
            elif not any(p.tags for p in others):
                echo(f"{path}: no suggestions: the rest of the blog has no tags to learn from")
            else:
                echo(f"{path}: no suggestions above the threshold (tags_min_score = {settings.tags_min_score:g})")
        if len(tags) < add and suggestions:
            # Top up to N tags, not N more: a second run after review finds nothing to add and passes.
            chosen = best[path][:add - len(tags)]
            try:
                edited = add_tags(text, chosen)
                if edited != text:
                    _check_reread(dialect, edited, *source_of[path], tags + chosen)
            except ValueError as exc:
                echo(f"{path}: tags not added: {exc}; add these by hand: {', '.join(chosen)}")
                status = 1
            else:
                if edited != text:
                    path.write_bytes(edited.encode("utf-8"))
                    tags += chosen
                    echo(f"{path}: added tags {', '.join(chosen)}: review the change and commit again")
                    status = 1
        if len(tags) < min_tags:
            missing = min_tags - len(tags)
            hint = ", ".join(best[path][:missing]) or "tags of your own"
            echo(f"{path}: has {len(tags)} tag(s), needs at least {min_tags}; add {missing}, e.g. {hint}")
            status = 1
    return status


def _check_reread(dialect: Any, edited: str, source: str, path: Path, expected: list[str]) -> None:
    """The edited post must read back, under the site's generator's rules, with exactly the expected
    tags: `add_tags` edits YAML, and a Jekyll `tags: "a b"` string (three tags to Jekyll) or a `tag:` key
    that wins over `tags:` would not. ValueError (one line) otherwise."""
    post = dialect.post(dialect.document(edited.encode("utf-8"), source, path))
    got = list(post.tags) if post is not None else []
    if got != expected:
        raise ValueError(f"{dialect.label} would read the edited front matter as tags {got}, not {expected}")


def main(argv: Sequence[str] | None = None) -> int:
    """The hook's console script (`postkin-suggest-tags`): `postkin suggest-tags` on argv; the exit code."""
    from ..cli import suggest_tags_command

    try:
        suggest_tags_command.main(args=list(sys.argv[1:] if argv is None else argv), prog_name="postkin-suggest-tags",
                                  standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:  # click's own errors (bad option, ClickException) as click prints them
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
