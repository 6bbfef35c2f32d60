"""The embedding cache: one SQLite file of vectors keyed by (encoder cache id, sha256 of the text).

The same file keeps each post's lexical token counts (table `token_counts`: 64-bit token keys and
counts), keyed by (tokenizer version, sha256 of the lexical text) under the same rules, so a warm build
tokenises only edited posts.

Keys never involve file names or mtimes, so renaming a post costs nothing and a different encoder
can never serve stale vectors. SQLite gives the rest: each batch is one transaction (a build killed
mid-write loses at most the batch in flight), WAL mode lets two builds read and write at once, and
a file that is corrupt or not ours is moved aside (never deleted) and started afresh.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("postkin")

SCHEMA_VERSION = 1
FILE_NAME = "embeddings.sqlite3"


class EmbeddingCache:
    """Vectors by (model, text hash). Use as a context manager or call close()."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            aside = move_aside(self.path)
            log.warning("%s: embedding cache unusable (%s); moved to %s and rebuilding", self.path, exc, aside.name)
            return self._connect()

    _db_partial: sqlite3.Connection | None = None

    def _close_quietly(self) -> None:
        db = getattr(self, "_db_partial", None)
        if db is not None:
            db.close()
            self._db_partial = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db_partial = db
        db.execute("PRAGMA busy_timeout = 60000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            with transaction(db):
                db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, text_hash TEXT NOT NULL, "
                    "dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, text_hash)) WITHOUT ROWID")
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif not {"meta", "vectors"} <= tables:
            raise sqlite3.DatabaseError("not a postkin embedding cache")
        if "token_counts" not in tables:  # added after schema 1 shipped: older caches gain the table
            with transaction(db):
                db.execute(
                    "CREATE TABLE IF NOT EXISTS token_counts (version TEXT NOT NULL, text_hash TEXT NOT NULL, "
                    "keys BLOB NOT NULL, counts BLOB NOT NULL, PRIMARY KEY (version, text_hash)) WITHOUT ROWID")
        if "parsed_posts" not in tables:  # likewise: posts parsed from their source bytes
            with transaction(db):
                db.execute(
                    "CREATE TABLE IF NOT EXISTS parsed_posts (version TEXT NOT NULL, key TEXT NOT NULL, "
                    "data TEXT NOT NULL, PRIMARY KEY (version, key)) WITHOUT ROWID")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != str(SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"cache schema {row[0] if row else '?'} is not {SCHEMA_VERSION}")
        db.execute("SELECT count(*) FROM vectors WHERE model = '' ").fetchone()  # touches the table's pages
        self._db_partial = None
        return db

    def _rows(self, query: str, version: str, keys: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of `query` (with `?` for the version and `{marks}` for the keys), 500 keys at a time."""
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            yield from self._db.execute(query.format(marks=",".join("?" * len(chunk))), [version, *chunk])

    def get_many(self, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Cached vectors for those hashes that are present."""
        found: dict[str, np.ndarray] = {}
        query = "SELECT text_hash, dim, vector FROM vectors WHERE model = ? AND text_hash IN ({marks})"
        for text_hash, dim, blob in self._rows(query, model, hashes):
            vector = np.frombuffer(blob, dtype="<f4")
            if vector.shape[0] == dim:  # a torn row can not be read back; it is simply re-embedded
                found[text_hash] = vector
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors in one transaction."""
        rows = [(model, h, int(v.shape[0]), np.asarray(v, dtype="<f4").tobytes()) for h, v in items.items()]
        with transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)

    def get_tokens(self, version: str, hashes: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Cached token counts (token keys, counts) for those text hashes that are present."""
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        query = "SELECT text_hash, keys, counts FROM token_counts WHERE version = ? AND text_hash IN ({marks})"
        for text_hash, keys_blob, counts_blob in self._rows(query, version, hashes):
            if len(keys_blob) % 8 or len(counts_blob) != len(keys_blob) // 2:  # torn: tokenised again
                continue
            found[text_hash] = (np.frombuffer(keys_blob, dtype="<u8"), np.frombuffer(counts_blob, dtype="<u4"))
        return found

    def put_tokens(self, version: str, items: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Store token counts in one transaction."""
        rows = [(version, h, np.asarray(keys, dtype="<u8").tobytes(), np.asarray(counts, dtype="<u4").tobytes())
                for h, (keys, counts) in items.items()]
        with transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO token_counts VALUES (?, ?, ?, ?)", rows)

    def get_parsed(self, version: str, keys: Iterable[str]) -> dict[str, str]:
        """Cached parsed posts (JSON text) for those keys that are present."""
        return dict(self._rows("SELECT key, data FROM parsed_posts WHERE version = ? AND key IN ({marks})",
                               version, keys))

    def put_parsed(self, version: str, items: dict[str, str]) -> None:
        """Store parsed posts (JSON text) in one transaction."""
        with transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO parsed_posts VALUES (?, ?, ?)",
                                 [(version, k, v) for k, v in items.items()])

    def count(self, model: str | None = None) -> int:
        """Number of vectors stored (for one model, or all)."""
        if model is None:
            return self._db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        return self._db.execute("SELECT count(*) FROM vectors WHERE model = ?", (model,)).fetchone()[0]

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def move_aside(path: Path) -> Path:
    """Move an unusable SQLite file (and its -wal and -shm files) to `path`.unusable-<time>, never
    deleting it; returns the new path. OSError if it cannot be moved."""
    aside = path.with_name(f"{path.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
    path.replace(aside)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.replace(aside.with_name(aside.name + suffix))
    return aside


class transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (autocommit connections)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
