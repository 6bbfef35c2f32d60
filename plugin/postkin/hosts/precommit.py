"""`postkin suggest-tags` and its pre-commit hook `postkin-suggest-tags`: one command, one behaviour.

Suggested tags for the posts being committed, learnt from the rest of the blog. Exit codes follow
pre-commit: 0 when every post is fine (suggestions are information), 1 when a post is broken, has
fewer tags than --min-tags, or had tags written into it by --add (the author reviews the change and
commits again, as with any fixer hook: the second run finds nothing to do).
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..metadata import MARKDOWN_SUFFIXES, has_front_matter

# What happened to one file, as `--json` says it (the text lines say the same in words):
SUGGESTED = "suggested"  # suggestions above tags_min_score
BELOW_THRESHOLD = "no_suggestions"  # the blog has tags, none scored tags_min_score or more
NO_VOCABULARY = "no_tags_in_blog"  # the rest of the blog has no tags to learn from
NOT_A_POST = "not_a_post"  # the site's generator would not treat the file as a post (messages say why)
UNREADABLE = "unreadable"  # a post that cannot be read: the exit code is 1
_PELICAN_HEADER = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:[A-Za-z][\w -]*:[^\n]*\n)*?title:[^\n]*\n", re.I)


@dataclass
class FileResult:
    """What `suggest-tags` did for one file: its status (one of the constants above), the suggestions
    shown (tag, probability at one decimal), the tags written by --add, and the lines it printed about it
    (each without the leading "path: ")."""

    status: str
    suggested: list[tuple[str, float]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    fails: bool = False  # the commit stops: unreadable, fewer tags than --min-tags, tags written or not by --add

    def to_json(self) -> dict[str, Any]:
        """The file's entry in `--json`: status, suggested_tags, added_tags, fails, messages."""
        return {"status": self.status, "suggested_tags": [{"tag": t, "score": s} for t, s in self.suggested],
                "added_tags": self.added, "fails": self.fails, "messages": self.messages}


def _not_a_post_here(path: Path) -> str | None:
    """Why a file is not a post, decided without reading the blog (so a commit of a README stays instant),
    or None when only the site's generator can say. Markdown files that open with front matter, or with
    Pelican's `Title:` metadata, are left to the generator."""
    if path.suffix.lower() not in MARKDOWN_SUFFIXES:
        return f"not a Markdown file ({', '.join(MARKDOWN_SUFFIXES)})"
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None  # said as an unreadable file when the blog is read
    if has_front_matter(head[:8]) or _PELICAN_HEADER.match(head):
        return None
    return "no front matter (--- or +++)"


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
    """Suggest tags for `files` and act on --min-tags / --add; returns the exit code.

    Every file gets at least one line (or, with `as_json`, an entry in one JSON object keyed by the
    path as given): its suggestions, "no suggestions above the threshold", "no suggestions: the rest
    of the blog has no tags to learn from", "not a post: <why>" or what makes it unreadable.
    Raises PostkinError for a settings or cache problem (the CLI prints it as one line).
    """
    results: dict[Path, FileResult] = {}
    candidates = []
    for path in files:
        if not path.is_file():
            results[path] = FileResult(UNREADABLE, messages=["no such file"], fails=True)
            continue
        why = _not_a_post_here(path)
        if why is not None:
            results[path] = FileResult(NOT_A_POST, messages=[f"not a post: {why}"])
        else:
            candidates.append(path)
    if candidates:  # heavy work only now: a commit of a README never loads the blog
        _suggest(candidates, results, content, config, flags, min_tags=min_tags, add=add)
    if as_json:
        echo(json.dumps({str(path): results[path].to_json() for path in files}, ensure_ascii=False, indent=1,
                        sort_keys=True))
    else:
        for path in dict.fromkeys(files):
            for message in results[path].messages:
                echo(f"{path}: {message}")
    return 1 if any(r.fails for r in results.values()) else 0


def _suggest(paths: list[Path], results: dict[Path, FileResult], content: Path | None, config: Path | None,
             flags: dict[str, Any], *, min_tags: int, add: int) -> None:
    """Read the blog, then each of `paths` as its generator would, and fill `results` for them."""
    from ..corpus import listed
    from ..dialects import NotAPost, find_site
    from ..errors import PostkinError
    from ..frontmatter_edit import add_tags
    from ..pipeline import read_site, suggest_tags
    from ..settings import load_settings
    from ..tags import shown

    folder = content or content_folder(paths)
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
    corpus = read_site(dialect, settings)
    root = Path(dialect.site.content).resolve()
    targets, sources, source_of = [], set(), {}
    for path in paths:
        resolved = path.resolve()
        source = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(path)
        try:
            post = dialect.post(dialect.document(resolved.read_bytes(), source, resolved))
        except NotAPost as exc:
            results[path] = FileResult(NOT_A_POST, messages=[f"not a post: {exc}"])
            continue
        except (OSError, ValueError, PostkinError) as exc:
            reason = str(exc).split(": ", 1)[-1] if isinstance(exc, PostkinError) else str(exc)
            results[path] = FileResult(UNREADABLE, messages=[reason], fails=True)
            continue
        if post is None:
            results[path] = FileResult(NOT_A_POST, messages=["not a post: its front matter says postkin: false"])
            continue
        targets.append((path, post))
        sources.add(source)
        source_of[path] = (source, resolved)
    if not targets:
        return
    others = [p for p in corpus.posts if p.source not in sources]
    found = suggest_tags([post for _, post in targets], others, settings, corpus.cache_dir)
    learnt_from = listed(others)
    has_vocabulary = any(p.tags for p, use in zip(others, learnt_from) if use)
    for (path, post), sug in zip(targets, found):
        suggestions = [(s.tag, s.score) for s in shown(sug, settings.tags_min_score)]
        # what --add writes and --min-tags proposes: the most probable first (shown lists order ties by name)
        best = [s.tag for s in sug if round(s.score, 1) >= settings.tags_min_score]
        if suggestions:
            result = FileResult(SUGGESTED, suggestions, messages=[f"suggested tags: {_shown(suggestions)}"])
        elif not has_vocabulary:
            result = FileResult(NO_VOCABULARY, messages=["no suggestions: the rest of the blog has no tags to "
                                                         "learn from"])
        else:
            result = FileResult(BELOW_THRESHOLD, messages=[
                f"no suggestions above the threshold (tags_min_score = {settings.tags_min_score:g})"])
        results[path] = result
        tags = list(post.tags)  # as the site's generator reads them (Jekyll splits a string on spaces)
        if len(tags) < add and suggestions:
            # Top up to N tags, not N more: a second run after review finds nothing to add and passes.
            chosen = best[:add - len(tags)]
            text = path.read_bytes().decode("utf-8")
            try:
                edited = add_tags(text, chosen)
                if edited != text:
                    _check_reread(dialect, edited, *source_of[path], tags + chosen)
            except ValueError as exc:
                result.messages.append(f"tags not added: {exc}; add these by hand: {', '.join(chosen)}")
                result.fails = True
            else:
                if edited != text:
                    path.write_bytes(edited.encode("utf-8"))
                    tags += chosen
                    result.added, result.fails = chosen, True
                    result.messages.append(f"added tags {', '.join(chosen)}: review the change and commit again")
        if len(tags) < min_tags:
            missing = min_tags - len(tags)
            hint = ", ".join(best[:missing]) or "tags of your own"
            result.messages.append(f"has {len(tags)} tag(s), needs at least {min_tags}; add {missing}, e.g. {hint}")
            result.fails = True


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
