"""Nearest neighbours by cosine (inner product of L2-normalised rows) behind one small interface.

`build_index(vectors, backend)` returns an object with `search(queries, k) -> (idx, scores)`.
`exact` is a blocked numpy matrix product: exact, deterministic, and never an n x n matrix in memory.
Approximate backends (faiss, ScaNN) register themselves here too, importing their library only
when used.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from .errors import PostkinError

# Rows of queries scored at once: a block of 1024 x n float32 scores stays small for any blog and
# bounded (1024 * n * 4 bytes) for large sites.
BLOCK = 1024


class NeighbourIndex(Protocol):
    """A searchable set of vectors."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product: (indices int64 (q, k), scores float32 (q, k)); -1 / -inf pad."""


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k columns of each row, best first; ties broken by the lower column index (stable)."""
    n = scores.shape[1]
    k_eff = min(k, n)
    if k_eff <= 0:
        q = scores.shape[0]
        return np.full((q, k), -1, dtype=np.int64), np.full((q, k), -np.inf, dtype=np.float32)
    if k_eff < n:
        # argpartition is deterministic for the same input, so ties at the boundary resolve the
        # same way on every build; the sort below orders the chosen columns by (score, index).
        part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    else:
        part = np.broadcast_to(np.arange(n), scores.shape)
    sub = np.take_along_axis(scores, part, axis=1)
    order = np.take_along_axis(part, np.lexsort((part, -sub), axis=1), axis=1)
    top = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    idx = order.astype(np.int64)
    idx[~np.isfinite(top)] = -1
    if k_eff < k:
        pad = k - k_eff
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        top = np.pad(top, ((0, 0), (0, pad)), constant_values=-np.inf)
    return idx, top


class ExactIndex:
    """Brute force in blocks: the right choice for blogs (thousands of posts take milliseconds)."""

    name = "exact"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        idx = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for start in range(0, len(queries), BLOCK):
            block = queries[start:start + BLOCK] @ self.vectors.T
            idx[start:start + BLOCK], scores[start:start + BLOCK] = top_k_rows(block, k)
        return idx, scores


_BACKENDS: dict[str, Callable[..., NeighbourIndex]] = {"exact": ExactIndex}


def register(name: str) -> Callable[[Callable[..., NeighbourIndex]], Callable[..., NeighbourIndex]]:
    """Decorator: register an index factory `(vectors, **options) -> NeighbourIndex` under `name`."""

    def wrap(factory: Callable[..., NeighbourIndex]) -> Callable[..., NeighbourIndex]:
        _BACKENDS[name] = factory
        return factory

    return wrap


def backends() -> list[str]:
    """Registered backend names (plus 'auto')."""
    return sorted(_BACKENDS) + ["auto"]


def choose_backend(n: int) -> str:
    """The backend 'auto' picks for n vectors."""
    return "exact"


def build_index(vectors: np.ndarray, backend: str = "auto", **options) -> NeighbourIndex:
    """An index over `vectors` (rows L2-normalised) with the named backend."""
    name = choose_backend(len(vectors)) if backend == "auto" else backend
    try:
        factory = _BACKENDS[name]
    except KeyError:
        raise PostkinError(f"unknown neighbors backend {backend!r}; available: {', '.join(backends())}") from None
    return factory(vectors, **options)
