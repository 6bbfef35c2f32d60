"""The embedding cache: one SQLite file of vectors keyed by (encoder cache id, sha256 of the text).

The same file keeps each post's lexical token counts (table `token_counts`: 64-bit token keys and
counts), keyed by (tokenizer version, sha256 of the lexical text) under the same rules, so a warm build
tokenises only edited posts.

Keys never involve file names or mtimes, so renaming a post costs nothing and a different encoder
can never serve stale vectors. SQLite gives the rest: each batch is one transaction (a build killed
mid-write loses at most the batch in flight), WAL mode lets two builds read and write at once.

The cache only saves time, so it never stops a build, and it tells "damaged" from "cannot write now":

- damaged: a file SQLite says is not a database, one that fails `PRAGMA quick_check`, or an SQLite
  file that is not a postkin cache is moved aside (never deleted) and started afresh;
- cannot write now (full disk, read-only file, folder or mount, locked by another process past
  BUSY_TIMEOUT): the cache is read as it is (read-only; `immutable` when SQLite cannot even create
  its -shm file there), new results are computed but not stored, and one warning line names the
  file, the cause and what to do. The file is left exactly as it was.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from .errors import os_error

log = logging.getLogger("postkin")

SCHEMA_VERSION = 1
FILE_NAME = "embeddings.sqlite3"
BUSY_TIMEOUT = 60.0  # seconds a write waits for another build's transaction before giving up
CACHE_ELSEWHERE = "set cache_dir elsewhere"

# Warnings already given in this process, (file, line): two caches opened on one file in one build
# (reading posts, then embedding) say it once. A successful write forgets the file's warnings.
_WARNED: set[tuple[str, str]] = set()


class _NotOurs(sqlite3.DatabaseError):
    """A readable SQLite file that is not a postkin cache (other tables, or another schema version)."""


def _error_name(exc: sqlite3.Error) -> str:
    """SQLite's result code name (SQLITE_FULL, SQLITE_NOTADB, ...); from the message before Python 3.11."""
    name = getattr(exc, "sqlite_errorname", None)
    if name:
        return name
    message = str(exc).lower()
    for needle, code in (("not a database", "SQLITE_NOTADB"), ("malformed", "SQLITE_CORRUPT"),
                         ("readonly", "SQLITE_READONLY"), ("full", "SQLITE_FULL"),
                         ("locked", "SQLITE_BUSY"), ("i/o", "SQLITE_IOERR"), ("unable to open", "SQLITE_CANTOPEN")):
        if needle in message:
            return code
    return "SQLITE_ERROR"


def _damaged(exc: sqlite3.Error) -> bool:
    return isinstance(exc, _NotOurs) or _error_name(exc).startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))


def _quick_check(path: Path) -> str | None:
    """'ok', what PRAGMA quick_check found wrong, or None when the check itself could not run (I/O)."""
    try:
        db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        try:
            return " ".join("; ".join(str(row[0]) for row in db.execute("PRAGMA quick_check(3)")).split())
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc) if _damaged(exc) else None


class EmbeddingCache:
    """Vectors by (model, text hash). Use as a context manager or call close().

    `mode` is "rw", "ro" (reads only: new results are not stored) or "off" (nothing to read either);
    `problem` is the one-line reason when it is not "rw". No method raises for a cache problem.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE_NAME
        self.mode = "off"
        self.problem: str | None = None
        self._db: sqlite3.Connection | None = None
        self._db_partial: sqlite3.Connection | None = None
        self._tables: set[str] = set()
        self._damage: sqlite3.Error | None = None
        self._open()

    # -- opening ---------------------------------------------------------------------------------

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.problem = str(os_error(self.path.parent, exc, CACHE_ELSEWHERE))
            return
        try:
            self._db, self.mode = self._connect(None), "rw"
            return
        except sqlite3.DatabaseError as exc:
            self._close_partial()
            failure: sqlite3.Error = exc
        if _damaged(failure) and self._set_aside(failure):
            try:
                self._db, self.mode = self._connect(None), "rw"
                return
            except sqlite3.DatabaseError as exc:
                self._close_partial()
                failure = exc
        self.problem = self.problem or self._describe(failure)
        log.debug("%s: not writable (%s); reading it as it is", self.path, failure)
        if not self.path.exists() or _damaged(failure):
            return
        # Read-only: first as a normal reader (needs the -shm file, or the right to create it), then
        # `immutable` (no -shm, no locks), which is only safe when no other process writes the file.
        uris = [f"file:{quote(str(self.path))}?mode=ro"]
        if not _error_name(failure).startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            uris.append(f"file:{quote(str(self.path))}?mode=ro&immutable=1")
        for uri in uris:
            try:
                self._db, self.mode = self._connect(uri), "ro"
                return
            except sqlite3.DatabaseError as exc:
                self._close_partial()
                log.debug("%s: cannot read it with %s (%s)", self.path, uri, exc)

    def _close_partial(self) -> None:
        if self._db_partial is not None:
            self._db_partial.close()
            self._db_partial = None

    def _connect(self, uri: str | None) -> sqlite3.Connection:
        """A connection to the cache: read-write when `uri` is None (creating the tables as needed),
        else read-only through `uri`. Raises sqlite3.DatabaseError (_NotOurs for a foreign file)."""
        if uri is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        else:
            db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
        self._db_partial = db
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and not {"meta", "vectors"} <= tables:
            raise _NotOurs("not a postkin embedding cache")
        if uri is None:
            # Only a change of journal mode writes: a cache already in WAL mode is opened without one.
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            if not tables:
                with transaction(db):
                    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                    db.execute(
                        "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, text_hash TEXT NOT NULL, "
                        "dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, text_hash)) WITHOUT ROWID")
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                tables = {"meta", "vectors"}
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
            if "derived" not in tables:  # likewise: values derived from text (a post's language...)
                with transaction(db):
                    db.execute(
                        "CREATE TABLE IF NOT EXISTS derived (kind TEXT NOT NULL, key TEXT NOT NULL, "
                        "value BLOB NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID")
            tables |= {"token_counts", "parsed_posts", "derived"}
        if "meta" in tables:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None or row[0] != str(SCHEMA_VERSION):
                raise _NotOurs(f"cache schema {row[0] if row else '?'} is not {SCHEMA_VERSION}")
            db.execute("SELECT count(*) FROM vectors WHERE model = '' ").fetchone()  # touches the table's pages
        self._tables = tables
        self._db_partial = None
        return db

    def _set_aside(self, exc: sqlite3.Error) -> bool:
        """Move a damaged or foreign cache file aside (never delete it); False when it is not damaged
        after all or cannot be moved (then `problem` says why)."""
        if not isinstance(exc, _NotOurs) and _error_name(exc).startswith("SQLITE_CORRUPT"):
            verdict = _quick_check(self.path)
            if verdict is None or verdict == "ok":  # not proven damaged: leave it alone
                return False
            exc = sqlite3.DatabaseError(f"quick_check: {verdict}")
        try:
            aside = move_aside(self.path)
        except OSError as move:
            self.problem = f"{self.path}: unusable ({exc}) and cannot be moved aside ({move.strerror}): " \
                           f"move it away or {CACHE_ELSEWHERE}"
            return False
        log.warning("%s: embedding cache unusable (%s); moved to %s and rebuilding", self.path, exc, aside.name)
        return True

    def _describe(self, exc: sqlite3.Error) -> str:
        """One line for an SQLite error that keeps the cache from being written: the file, the cause
        in the operating system's terms where it can be told (SQLite says only 'disk I/O error' for
        a full disk or a read-only mount), and what to do."""
        name = _error_name(exc)
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return f"{self.path}: locked by another process for {BUSY_TIMEOUT:g} s: let it finish or {CACHE_ELSEWHERE}"
        if _damaged(exc):
            return f"{self.path}: unusable ({exc}): move it away or {CACHE_ELSEWHERE}"
        code = None
        folder = self.path.parent
        try:
            stat = os.statvfs(folder)
            if stat.f_flag & os.ST_RDONLY:
                code = errno.EROFS
            elif not os.access(folder, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
                code = errno.EACCES
            elif name.startswith("SQLITE_FULL") or stat.f_bavail * stat.f_frsize < 1 << 20:
                code = errno.ENOSPC
        except (OSError, AttributeError):  # no statvfs (Windows)
            code = errno.ENOSPC if name.startswith("SQLITE_FULL") else None
        if code is None:
            return f"{self.path}: {exc}: {CACHE_ELSEWHERE} or check the disk"
        return str(os_error(self.path, OSError(code, os.strerror(code)), CACHE_ELSEWHERE))

    # -- reading and writing ---------------------------------------------------------------------

    def _failed(self, exc: sqlite3.Error, writing: bool) -> None:
        """After an error on an open cache: stop writing (or reading) for the rest of this build."""
        if _damaged(exc):
            self._damage = exc  # checked, and set aside if damaged, on close()
            self.mode = "off"
        else:
            self.mode = "ro" if writing and self.mode == "rw" else "off"
        self.problem = self._describe(exc)

    def _not_stored(self) -> None:
        line = f"{self.problem}; new results are not cached in this build (the cache is left as it was)"
        if (str(self.path), line) not in _WARNED:
            _WARNED.add((str(self.path), line))
            log.warning("%s", line)

    def _select(self, table: str, query: str, version: str, keys: Iterable[str]) -> list[tuple[Any, ...]]:
        if self._db is None or self.mode == "off" or table not in self._tables:
            return []
        try:
            return list(self._rows(query, version, keys))
        except sqlite3.DatabaseError as exc:
            self._failed(exc, writing=False)
            self._not_stored()
            return []

    def _store(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.mode != "rw" or self._db is None:
            self._not_stored()
            return
        try:
            with transaction(self._db):
                self._db.executemany(sql, rows)
        except sqlite3.DatabaseError as exc:
            self._failed(exc, writing=True)
            self._not_stored()
            return
        if _WARNED:
            _WARNED.difference_update({w for w in _WARNED if w[0] == str(self.path)})

    def _rows(self, query: str, version: str, keys: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of `query` (with `?` for the version and `{marks}` for the keys), 500 keys at a time."""
        assert self._db is not None  # _select checked
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            yield from self._db.execute(query.format(marks=",".join("?" * len(chunk))), [version, *chunk])

    def get_many(self, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Cached vectors for those hashes that are present."""
        found: dict[str, np.ndarray] = {}
        query = "SELECT text_hash, dim, vector FROM vectors WHERE model = ? AND text_hash IN ({marks})"
        for text_hash, dim, blob in self._select("vectors", query, model, hashes):
            vector = np.frombuffer(blob, dtype="<f4")
            if vector.shape[0] == dim:  # a torn row can not be read back; it is simply re-embedded
                found[text_hash] = vector
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors in one transaction."""
        rows = [(model, h, int(v.shape[0]), np.asarray(v, dtype="<f4").tobytes()) for h, v in items.items()]
        self._store("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)

    def get_tokens(self, version: str, hashes: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Cached token counts (token keys, counts) for those text hashes that are present."""
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        query = "SELECT text_hash, keys, counts FROM token_counts WHERE version = ? AND text_hash IN ({marks})"
        for text_hash, keys_blob, counts_blob in self._select("token_counts", query, version, hashes):
            if len(keys_blob) % 8 or len(counts_blob) != len(keys_blob) // 2:  # torn: tokenised again
                continue
            found[text_hash] = (np.frombuffer(keys_blob, dtype="<u8"), np.frombuffer(counts_blob, dtype="<u4"))
        return found

    def put_tokens(self, version: str, items: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Store token counts in one transaction."""
        rows = [(version, h, np.asarray(keys, dtype="<u8").tobytes(), np.asarray(counts, dtype="<u4").tobytes())
                for h, (keys, counts) in items.items()]
        self._store("INSERT OR REPLACE INTO token_counts VALUES (?, ?, ?, ?)", rows)

    def get_parsed(self, version: str, keys: Iterable[str]) -> dict[str, str]:
        """Cached parsed posts (JSON text) for those keys that are present."""
        return dict(self._select("parsed_posts", "SELECT key, data FROM parsed_posts WHERE version = ? "
                                 "AND key IN ({marks})", version, keys))

    def put_parsed(self, version: str, items: dict[str, str]) -> None:
        """Store parsed posts (JSON text) in one transaction."""
        self._store("INSERT OR REPLACE INTO parsed_posts VALUES (?, ?, ?)", [(version, k, v) for k, v in items.items()])

    def get_derived(self, kind: str, keys: Iterable[str]) -> dict[str, bytes]:
        """Cached derived values of one kind (kind names the producer and its version) by key."""
        return {key: bytes(value) for key, value in self._select(
            "derived", "SELECT key, value FROM derived WHERE kind = ? AND key IN ({marks})", kind, keys)}

    def put_derived(self, kind: str, items: dict[str, bytes]) -> None:
        """Store derived values of one kind in one transaction."""
        self._store("INSERT OR REPLACE INTO derived VALUES (?, ?, ?)", [(kind, k, v) for k, v in items.items()])

    def count(self, model: str | None = None) -> int:
        """Number of vectors stored (for one model, or all); 0 when the cache cannot be read."""
        if self._db is None or self.mode == "off":
            return 0
        if model is None:
            return self._db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        return self._db.execute("SELECT count(*) FROM vectors WHERE model = ?", (model,)).fetchone()[0]

    def close(self) -> None:
        """Close the database; a file that failed as damaged during the build is checked and set aside."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._damage is not None:
            damage, self._damage = self._damage, None
            self._set_aside(damage)

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
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (autocommit connections).

    SQLite rolls some failed transactions back by itself (SQLITE_FULL, SQLITE_IOERR): ROLLBACK is then
    skipped, since "cannot rollback - no transaction is active" would replace the real error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:  # the error that brought us here is the one worth reporting
                pass
