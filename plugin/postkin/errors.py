"""Errors and per-file problems, each rendered as one line a user can act on."""

from __future__ import annotations

import errno
from dataclasses import dataclass


class PostkinError(Exception):
    """A user-facing error: the message is one line that says what is wrong and where."""


class SettingsError(PostkinError):
    """A setting has an unknown key or a bad value."""


@dataclass(frozen=True)
class Problem:
    """A post that could not be used: the build goes on without it unless strict mode is on."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


# errno -> (what happened, what to do); "{elsewhere}" is the setting or flag that moves the folder.
_OS_ERRORS = {
    errno.ENOSPC: ("no space left on device", "free space or {elsewhere}"),
    errno.EROFS: ("read-only file system", "make it writable or {elsewhere}"),
    errno.EACCES: ("permission denied", "give this user write access or {elsewhere}"),
    errno.EPERM: ("operation not permitted", "give this user write access or {elsewhere}"),
    errno.ENAMETOOLONG: ("file name too long", "use a shorter path or {elsewhere}"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "move that file or {elsewhere}"),
    errno.EISDIR: ("is a folder, not a file", "move that folder or {elsewhere}"),
    errno.EIO: ("input/output error", "check the disk or {elsewhere}"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n)"),
}
if hasattr(errno, "EDQUOT"):  # not on Windows
    _OS_ERRORS[errno.EDQUOT] = ("disk quota exceeded", "free space or {elsewhere}")


def describe_os_error(exc: OSError) -> str:
    """What went wrong, in a few words: 'no space left on device' for ENOSPC, else the system's text."""
    known = _OS_ERRORS.get(exc.errno or -1)
    return known[0] if known else (exc.strerror or str(exc)).lower()


def os_error(path: object, exc: OSError, elsewhere: str) -> PostkinError:
    """One line for an OSError at one of postkin's folders: '<path>: <what happened>: <what to do>'.

    `path` is the file or folder postkin was working on (the error's own file name wins when it has
    one); `elsewhere` says how to move that folder, e.g. "set cache_dir elsewhere". ENOSPC gives
    "<path>: no space left on device: free space or set cache_dir elsewhere".
    """
    where = exc.filename if exc.filename is not None else path
    known = _OS_ERRORS.get(exc.errno or -1)
    todo = known[1].format(elsewhere=elsewhere) if known else f"fix that or {elsewhere}"
    return PostkinError(f"{where}: {describe_os_error(exc)}: {todo}")
