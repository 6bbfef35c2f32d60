"""Reader signals (issue #19): what the site's own logs say readers read, and what a reader's browser
may compute for that reader alone.

- `logs`, `exports`: access logs and analytics exports -> page views and sessions of post paths;
- `store`: what was read, kept in the cache so each log is read once and sessions accumulate;
- `item2vec`: post embeddings from sessions (gensim Word2Vec, skip-gram) -> the co-view feature
  (`features.CoView`) that joins the related-posts fusion ("readers also read");
- `browser`: the compact vectors file and the script behind "Recommended for you" (no extra needed).

`reader_features` is what a build calls (features.extract with readers=True).

Optional dependencies of the logs and co-view: `pip install 'postkin[readers]'` (gensim, apachelogs,
crawlerdetect).
"""

from __future__ import annotations

import glob
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import PostkinError
from .paths import PostPaths

if TYPE_CHECKING:
    from ..corpus import Post
    from ..features import CoView
    from ..settings import Settings
    from .logs import FileReport
    from .store import ReaderStore

log = logging.getLogger("postkin")

EXTRA = "pip install 'postkin[readers]'"


def require() -> None:
    """Raise PostkinError naming the pip command when an optional dependency of the readers is missing."""
    missing = []
    for module in ("gensim", "apachelogs", "crawlerdetect"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise PostkinError(f"setting reader_logs needs {', '.join(missing)}: {EXTRA}")


@dataclass
class Summary:
    """What one build read from the reader logs, for its one summary line."""

    files: int = 0
    read_now: int = 0
    unusable: int = 0
    lines: int = 0
    views: int = 0
    bots: int = 0
    skipped: int = 0
    malformed: int = 0
    first_malformed: str = ""
    sessions_now: int = 0
    sessions: int = 0  # sessions of 2+ posts, over every log read so far
    posts_with_views: int = 0

    def add(self, path: Path, report: FileReport) -> None:
        """Count one log file read now."""
        self.read_now += 1
        self.lines += report.lines
        self.views += report.views
        self.bots += report.bots
        self.skipped += report.skipped
        self.malformed += report.malformed
        self.sessions_now += report.sessions
        if report.malformed and not self.first_malformed:
            self.first_malformed = f"first: {path.name} line {report.first_malformed}"

    def line(self) -> str:
        """One line: files, what was read now, what was dropped, what the model trains on."""
        malformed = f", {self.malformed:,} malformed ({self.first_malformed})" if self.malformed else ""
        unusable = f", {self.unusable} unusable" if self.unusable else ""
        return (f"reader logs: {self.files} file(s), {self.read_now} read now{unusable}: {self.lines:,} lines, "
                f"{self.views:,} post views, {self.sessions_now:,} sessions; dropped {self.bots:,} bot requests, "
                f"{self.skipped:,} other requests{malformed}; {self.sessions:,} sessions of 2+ posts to learn "
                f"from in all, views for {self.posts_with_views} posts")


def log_files(patterns: Sequence[str]) -> list[Path]:
    """Files matching the patterns (paths or globs, already absolute), sorted, each once."""
    found: dict[str, Path] = {}
    for pattern in patterns:
        for match in sorted(glob.glob(str(Path(pattern).expanduser()), recursive=True)):
            if Path(match).is_file():
                found.setdefault(str(Path(match).resolve()), Path(match))
    return [found[k] for k in sorted(found)]


def read_logs(files: Sequence[Path], store: ReaderStore, paths: PostPaths, fmt: str | None = None) -> Summary:
    """Read every file not stored yet into `store` (a ReaderStore); one warning line per unusable file."""
    from .exports import read_export
    from .logs import open_bytes, read_access_log, sniff
    from .store import identify

    summary = Summary(files=len(files))
    keep = lambda page: paths.key(page) is not None  # noqa: E731 - only the paths of posts are kept
    for path in files:
        try:
            with open_bytes(path) as handle:
                kind = sniff(handle.read(4096))
            identity = identify(path)
            if kind == "export":  # exports of one product share their header: know them by content
                identity = replace(identity, fingerprint=identity.digest)
            if store.covers(identity):
                continue
            if kind == "export":
                data, _ = read_export(path, keep)
            else:
                data = read_access_log(path, fmt, keep)
        except (OSError, EOFError, ValueError) as exc:  # EOFError, OSError: a truncated or bad gzip
            summary.unusable += 1
            log.warning("%s: reader log skipped: %s", path, getattr(exc, "strerror", None) or exc)
            continue
        store.put_log(identity, data.sessions, data.views)
        summary.add(path, data.report)
    return summary


def post_sessions(sessions: list[list[str]], paths: PostPaths) -> list[list[str]]:
    """Sessions of post keys: stored paths mapped to today's posts, repeats in a row merged, sessions
    of one post dropped (they say nothing about what is read together)."""
    out = []
    for session in sessions:
        keys: list[str] = []
        for page in session:
            key = paths.key(page)
            if key is not None and (not keys or keys[-1] != key):
                keys.append(key)
        if len(set(keys)) > 1:
            out.append(keys)
    return out


def coview_feature(posts: Sequence[Post], sessions: list[list[str]], seed: int,
                   store: ReaderStore | None = None) -> CoView | None:
    """The co-view feature of `posts`: item2vec co-view vectors (item2vec.coview_vectors; zero rows for
    posts without one) with each post's confidence (item2vec.confidence); None when no post has one.
    `sessions` are lists of post keys; trained vectors are kept in `store` under the training key."""
    from ..features import CoView
    from . import item2vec

    key = item2vec.training_key(sessions, seed)
    cached = store.get_vectors(key) if store is not None else None
    if cached is None:
        trained_keys, IN, OUT = item2vec.train(sessions, seed)
        cached = trained_keys, item2vec.coview_vectors(IN, OUT)
        if store is not None:
            store.put_vectors(key, *cached)
    keys, vectors = cached
    row = {k: i for i, k in enumerate(keys)}
    n = len(posts)
    V = np.zeros((n, vectors.shape[1]), np.float32)
    seen = Counter(k for s in sessions for k in set(s))
    counts = np.zeros(n)
    for i, post in enumerate(posts):
        if post.slug in row:
            V[i] = vectors[row[post.slug]]
            counts[i] = seen[post.slug]
    if not counts.any():
        return None
    return CoView(V, item2vec.confidence(counts))


def reader_features(posts: Sequence[Post], settings: Settings, cache_dir: Path | None) -> CoView | None:
    """Read the logs of setting `reader_logs` (through the reader cache in `cache_dir`; None: in memory),
    give their page views to posts that have no other figure, log one summary line, and return the
    co-view feature (None if no session has two posts or the weight `related_coview` is 0).
    Raises PostkinError when a dependency is missing."""
    from .store import ReaderStore

    require()
    files = log_files(settings.reader_logs or ())
    if not files:
        log.warning("reader_logs %s matched no file: no co-view signal, no page views from logs",
                    list(settings.reader_logs or ()))
        return None
    paths = PostPaths(posts)
    with ReaderStore(cache_dir) as store:
        summary = read_logs(files, store, paths, settings.reader_log_format)
        by_key: dict[str, float] = {}
        for page, count in store.views().items():
            key = paths.key(page)
            if key is not None:
                by_key[key] = by_key.get(key, 0.0) + count
        for post in posts:
            if post.popularity is None and by_key.get(post.slug):
                post.popularity = by_key[post.slug]
        summary.posts_with_views = len(by_key)
        sessions = post_sessions(store.sessions(), paths)
        summary.sessions = len(sessions)
        log.info("%s", summary.line())
        if not settings.related_coview or not sessions:
            return None
        return coview_feature(posts, sessions, settings.seed, store)
