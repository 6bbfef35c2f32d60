"""Reader signals (issue #19): what the site's own logs say readers read, and what a reader's browser
may compute for that reader alone.

- `logs`, `exports`: access logs and analytics exports -> page views and sessions of post paths;
- `store`: what was read, kept in the cache so each log is read once and sessions accumulate.

Optional dependencies: `pip install 'postkin[readers]'` (gensim, apachelogs, crawlerdetect).
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PostkinError
from .paths import PostPaths

if TYPE_CHECKING:
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
            identity = identify(path)
            if store.covers(identity):
                continue
            with open_bytes(path) as handle:
                kind = sniff(handle.read(4096))
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
