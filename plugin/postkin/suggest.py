"""Tag suggestions for a few posts (a new post, a pre-commit), using the rest of the blog as vocabulary."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import tags
from .engine import one_blas_thread, prepare, similarities
from .errors import Problem
from .folder import cache_dir, load_folder
from .posts import Post, post_from_source
from .settings import Settings


def suggest_for_files(files: list[Path], content_dir: Path, settings: Settings,
                      ) -> tuple[dict[Path, list[tuple[str, float]]], list[Problem]]:
    """Suggested (tag, score) lists for each readable file, and the problems of the unreadable ones.

    Files without front matter (a README) are not blog posts and are skipped silently.
    """
    folder = load_folder(content_dir, settings)
    root = content_dir.resolve()
    targets: list[tuple[Path, Post]] = []
    problems: list[Problem] = []
    target_sources: set[str] = set()
    for path in files:
        resolved = path.resolve()
        try:
            raw = resolved.read_bytes()
            if not raw.lstrip(b"\xef\xbb\xbf").startswith((b"---", b"+++")):
                continue
            source = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(path)
            post = post_from_source(raw, source, settings.popularity_key)
        except (OSError, ValueError) as exc:
            problems.append(Problem(str(path), str(exc)))
            continue
        if post is not None:
            targets.append((path, post))
            target_sources.add(source)
    if not targets:
        return {}, problems
    others = [p for p in folder.posts if p.source not in target_sources]
    everything = others + [post for _, post in targets]
    vectors, _, _, lex, _ = prepare(everything, settings, cache_dir=cache_dir(settings, content_dir))
    use = np.array([i < len(others) and not p.draft for i, p in enumerate(everything)], dtype=bool)
    vocab = tags.vocabulary(everything, use)
    query = np.arange(len(everything)) >= len(others)
    with one_blas_thread():  # the same method as a build: the text similarities, calibrated on the blog
        sims = similarities(everything, vectors, settings, lex)
        suggestions = tags.suggest(sims.text, vectors, sims.lexical, everything, vocab, settings.tags_k, query)
    return {path: [(s.tag, s.score) for s in suggestions[len(others) + n]]
            for n, (path, _) in enumerate(targets)}, problems
