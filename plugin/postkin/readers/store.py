"""The readers' cache: sessions and page views of every log already read, and trained co-view vectors.

One SQLite file, `readers.sqlite3`, in the build's cache folder. A log is known by its fingerprint,
the SHA-256 of its first line: a live `access.log` that grew since the last build has the same first
line and is read again (its longer self replaces it); once rotated and compressed (`access.log.2.gz`)
the same bytes are recognised and not read again. The training data is every session stored, so old
logs that have been deleted still count; delete this file to forget them. Rows hold the paths of posts
only (other pages are dropped while reading): no client, no time, no query string, and sessions are
stored in sorted order, not the order they happened in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from ..cache import move_aside, transaction
from .logs import open_bytes

log = logging.getLogger("postkin")

FILE_NAME = "readers.sqlite3"
SCHEMA = "1"
KEEP_MODELS = 4  # trained vector sets kept (the newest), so switching settings back is free


@dataclass(frozen=True)
class Identity:
    """How a log file is recognised: fingerprint (first line), decompressed size and digest."""

    fingerprint: str
    size: int
    digest: str


def identify(path: Path) -> Identity:
    """Read a log once (gunzipping if needed) for its fingerprint, size and SHA-256; OSError if unreadable."""
    digest = hashlib.sha256()
    first = b""
    size = 0
    with open_bytes(path) as handle:
        while chunk := handle.read(1 << 20):
            if not first:
                first = (chunk.lstrip().split(b"\n", 1)[0] or chunk[:4096])
            digest.update(chunk)
            size += len(chunk)
    return Identity(hashlib.sha256(first).hexdigest(), size, digest.hexdigest())


class ReaderStore:
    """Stored logs, their sessions and views, and co-view vectors. `folder=None`: kept in memory."""

    def __init__(self, folder: Path | None) -> None:
        self.path = Path(folder) / FILE_NAME if folder is not None else None
        try:
            self.db = self._connect()
        except sqlite3.DatabaseError as exc:
            assert self.path is not None
            aside = move_aside(self.path)
            log.warning("%s: reader cache unusable (%s); moved to %s, logs will be read again",
                        self.path, exc, aside.name)
            self.db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path or ":memory:", timeout=60, isolation_level=None)
        try:
            self._prepare(db, wal=self.path is not None)
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _prepare(db: sqlite3.Connection, wal: bool) -> None:
        db.execute("PRAGMA busy_timeout = 60000")
        if wal:
            db.execute("PRAGMA journal_mode = WAL")
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            with transaction(db):
                db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                db.execute("CREATE TABLE logs (fingerprint TEXT PRIMARY KEY, size INTEGER NOT NULL, "
                           "digest TEXT NOT NULL)")
                db.execute("CREATE TABLE sessions (fingerprint TEXT NOT NULL, paths TEXT NOT NULL)")
                db.execute("CREATE INDEX sessions_log ON sessions (fingerprint)")
                db.execute("CREATE TABLE views (fingerprint TEXT NOT NULL, path TEXT NOT NULL, count REAL NOT NULL)")
                db.execute("CREATE INDEX views_log ON views (fingerprint)")
                db.execute("CREATE TABLE models (key TEXT PRIMARY KEY, made REAL NOT NULL, keys TEXT NOT NULL, "
                           "dim INTEGER NOT NULL, vectors BLOB NOT NULL)")
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
        elif db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() != (SCHEMA,):
            raise sqlite3.DatabaseError("not a postkin reader cache of this version")

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> ReaderStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ logs
    def covers(self, identity: Identity) -> bool:
        """True when this log, or a longer version of it, is already stored."""
        row = self.db.execute("SELECT size, digest FROM logs WHERE fingerprint = ?", (identity.fingerprint,)).fetchone()
        return row is not None and (row[1] == identity.digest or row[0] >= identity.size)

    def put_log(self, identity: Identity, sessions: list[list[str]], views: dict[str, float]) -> None:
        """Store (or replace) one log's sessions and page views, in one transaction."""
        fp = identity.fingerprint
        with transaction(self.db):
            for table in ("logs", "sessions", "views"):
                self.db.execute(f"DELETE FROM {table} WHERE fingerprint = ?", (fp,))
            self.db.execute("INSERT INTO logs VALUES (?, ?, ?)", (fp, identity.size, identity.digest))
            self.db.executemany("INSERT INTO sessions VALUES (?, ?)",
                                [(fp, text) for text in sorted(json.dumps(s, ensure_ascii=False) for s in sessions)])
            self.db.executemany("INSERT INTO views VALUES (?, ?, ?)",
                                [(fp, p, float(n)) for p, n in sorted(views.items())])

    def sessions(self) -> list[list[str]]:
        """Every stored session (lists of paths as url_keys), in a stable order."""
        rows = self.db.execute("SELECT paths FROM sessions ORDER BY fingerprint, rowid")
        return [json.loads(text) for (text,) in rows]

    def views(self) -> dict[str, float]:
        """Page views per path (url_key) over every stored log."""
        return dict(self.db.execute("SELECT path, SUM(count) FROM views GROUP BY path ORDER BY path"))

    # ------------------------------------------------------------------ co-view vectors
    def get_vectors(self, key: str) -> tuple[list[str], np.ndarray] | None:
        """(post keys, float32 vectors) trained for `key`, or None."""
        row = self.db.execute("SELECT keys, dim, vectors FROM models WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        keys = json.loads(row[0])
        return keys, np.frombuffer(row[2], np.float32).reshape(len(keys), row[1]).copy()

    def put_vectors(self, key: str, keys: list[str], vectors: np.ndarray) -> None:
        """Store trained vectors under `key`, keeping only the KEEP_MODELS newest sets."""
        with transaction(self.db):
            self.db.execute("INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?)",
                            (key, time.time(), json.dumps(keys, ensure_ascii=False), int(vectors.shape[1]),
                             np.ascontiguousarray(vectors, np.float32).tobytes()))
            self.db.execute("DELETE FROM models WHERE key NOT IN (SELECT key FROM models ORDER BY made DESC LIMIT ?)",
                            (KEEP_MODELS,))
