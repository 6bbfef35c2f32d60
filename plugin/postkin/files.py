"""Files postkin writes: atomic replacement with the umask's modes, names that fit, and cleaning up
the temporary files of builds that were killed.

Every file is written to a temporary file beside it, `.<name>.<8 random characters>.tmp`, then renamed
over the target, so a reader never sees half a file. The temporary file is created with mode 0666
and the kernel applies the umask (and any default ACL), as for any file a program creates:
`tempfile.mkstemp` would make it 0600 and a web server running as another user could not read it.

A build killed between creating and renaming leaves its temporary file behind. The next build
removes those that match this naming and are older than `STALE_AFTER` seconds. Age decides, not a
lock: a live build creates, writes and renames a file within a second, so a temporary file ten
minutes old belongs to a dead build (or one stopped for ten minutes, whose rename then fails with an
error rather than anything going missing silently). A lock would need fcntl (not on Windows), a lock
file in the user's output folder and a descriptor per staged file.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

# Longest file name (bytes) on the file systems postkin is used on: ext4, XFS, Btrfs, APFS, NTFS, tmpfs.
NAME_MAX = 255
STALE_AFTER = 600.0  # seconds

# `.<name>.<8 characters>.tmp`: this module's names, and tempfile.mkstemp's from postkin 0.1.
TEMP_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_TEMP_SUFFIX_BYTES = len(".") + len(".") + 8 + len(".tmp")
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def fit_name(stem: str, suffix: str) -> str:
    """`stem + suffix` when it fits in NAME_MAX bytes (UTF-8), else the stem cut at a character
    boundary plus '-' and 16 hex digits of sha256(stem): stable from build to build, and two stems
    that share their first 230 bytes still get different names."""
    name = stem + suffix
    if len(name.encode("utf-8")) <= NAME_MAX:
        return name
    digest = hashlib.sha256(stem.encode("utf-8")).hexdigest()[:16]
    room = NAME_MAX - len(suffix.encode("utf-8")) - 1 - len(digest)
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore")
    return f"{cut}-{digest}{suffix}"


def _temp_path(path: Path) -> Path:
    # The target's name is cut so that a target of NAME_MAX bytes still gets a valid temporary name.
    room = NAME_MAX - _TEMP_SUFFIX_BYTES
    name = path.name.encode("utf-8")[:room].decode("utf-8", "ignore")
    return path.with_name(f".{name}.{secrets.token_hex(4)}.tmp")


def write_temp(path: Path, data: bytes) -> Path:
    """Write `data` to a new temporary file beside `path` (mode 0666 less the umask); returns its path.
    Raises OSError (nothing is left behind)."""
    while True:
        tmp = _temp_path(path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as handle:  # an error on close (NFS: ENOSPC, EDQUOT) counts too
            handle.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def replace_all(files: Iterable[tuple[Path, bytes]]) -> None:
    """Write every file, all or nothing until the renames: each is first written to a temporary file
    beside it; only when all are written are they renamed into place, in the order given.

    A full disk or a read-only folder therefore fails before any target changes (the temporary files
    are removed and the OSError raised, its `filename` the target that failed). No fsync: outputs are
    rebuilt from the posts and the cache at any time, and 509 fsyncs cost 18F's cold build 0.4 s.
    """
    staged: list[tuple[Path, Path]] = []
    done = 0
    path = None
    try:
        for path, data in files:
            staged.append((write_temp(path, data), path))
        for tmp, path in staged:
            os.replace(tmp, path)
            done += 1
    except OSError as exc:
        exc.filename, exc.filename2 = str(path), None  # the file being written, not its temporary name
        raise
    finally:
        for tmp, _ in staged[done:]:
            tmp.unlink(missing_ok=True)


def remove_stale_temps(folder: Path, pattern: re.Pattern[str] = TEMP_FILE, older_than: float = STALE_AFTER) -> int:
    """Remove files (or folders) in `folder` whose names match `pattern` and that nothing has written
    to for `older_than` seconds: what a killed build left. Returns how many; never raises."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not pattern.match(entry.name):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if now - _newest_mtime(entry.path) < older_than:
                    continue
                shutil.rmtree(entry.path)
            else:
                if now - entry.stat(follow_symlinks=False).st_mtime < older_than:
                    continue
                os.unlink(entry.path)
            removed += 1
        except OSError:  # gone already (another build cleaned it) or a read-only folder
            continue
    return removed


def _newest_mtime(folder: str) -> float:
    newest = os.stat(folder).st_mtime
    for entry in os.scandir(folder):
        newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest
