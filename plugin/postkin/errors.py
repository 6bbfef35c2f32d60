"""Errors and per-file problems, each rendered as one line a user can act on."""

from __future__ import annotations

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
