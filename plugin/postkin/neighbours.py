"""Nearest neighbours by cosine (inner product of L2-normalised rows) behind one small interface.

`build_index(vectors, backend)` returns an object with `search(queries, k) -> (idx, scores)`.
`exact` is a blocked numpy matrix product: exact, deterministic, and never an n x n matrix in memory.
Approximate backends (faiss, ScaNN) live in the `postkin.ann` subpackage and register themselves
here, importing their library only when an index is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from .errors import PostkinError

# Rows of queries scored at once: at most 1024, and fewer for large n so that a block's scores and
# argpartition's int64 indices stay near BLOCK_BYTES (at 692,821 vectors a fixed 1024 rows peaked at 10.8 GB).
BLOCK = 1024
BLOCK_BYTES = 256 * 2**20


def block_rows(n: int) -> int:
    """Query rows per block against n vectors: 4-byte scores plus 8-byte indices within BLOCK_BYTES."""
    return max(1, min(BLOCK, BLOCK_BYTES // (12 * max(n, 1))))


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
        # argpartition keeps any of the columns tied at the k-th score: keep the lowest-numbered ones
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1)[:, None]
        tied = (scores >= kth).sum(axis=1) > k_eff
        if tied.any():
            s, t = scores[tied], kth[tied]
            equal = s == t
            need = k_eff - (s > t).sum(axis=1, keepdims=True)
            part[tied] = np.nonzero((s > t) | (equal & (np.cumsum(equal, axis=1) <= need)))[1].reshape(-1, k_eff)
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
        rows = block_rows(len(self.vectors))
        for start in range(0, len(queries), rows):
            block = queries[start:start + rows] @ self.vectors.T
            idx[start:start + rows], scores[start:start + rows] = top_k_rows(block, k)
        return idx, scores


_BACKENDS: dict[str, Callable[..., NeighbourIndex]] = {"exact": ExactIndex}


def register(name: str) -> Callable[[Callable[..., NeighbourIndex]], Callable[..., NeighbourIndex]]:
    """Decorator: register an index factory `(vectors, **options) -> NeighbourIndex` under `name`."""

    def wrap(factory: Callable[..., NeighbourIndex]) -> Callable[..., NeighbourIndex]:
        _BACKENDS[name] = factory
        return factory

    return wrap


def as_f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def pad_result(idx: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """int64 / float32 results, -1 / -inf where a library returned nothing, padded to k columns."""
    idx = np.asarray(idx).astype(np.int64, copy=False)
    scores = np.asarray(scores).astype(np.float32, copy=True)
    if idx.shape[1] < k:
        pad = k - idx.shape[1]
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    scores[idx < 0] = -np.inf
    idx[~np.isfinite(scores)] = -1
    return idx, scores


def backends() -> list[str]:
    """Registered backend names (plus 'auto')."""
    _load_backends()
    return sorted(_BACKENDS) + ["auto"]


# 'auto' keeps exact search below this many vectors.  postkin queries every post against all posts
# (q = n), so exact costs ~n^2.  benchmarks/ann.py --auto-sizes (the database's first n vectors queried
# with themselves, build + search, 2 cores): exact 20.6 s / 84.5 s / 246 s at n = 30,000 / 60,000 /
# 100,000; the faiss IVF default 4.2 s / 9.6 s / 18.7 s at recall@10 0.954 / 0.950 / 0.956.  Below
# 50,000 posts exact costs under a minute and gives the exact neighbours; above it the index is 9x+
# cheaper at recall 0.95.
AUTO_INDEX_MIN = 50_000


def _faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def scann_available() -> bool:
    """True when ScaNN imports (it fails, for example, next to TensorFlow 2.21)."""
    from .ann.scann_index import scann_available as available

    return available()


def _load_backends() -> None:
    """Register the approximate backends (their libraries still load only when an index is built)."""
    from . import ann  # noqa: F401


def choose_backend(n: int) -> str:
    """The backend 'auto' picks for n vectors: exact below AUTO_INDEX_MIN, else faiss IVF (pca-pq4fs),
    else ScaNN, else exact.  faiss comes first: on the same 692,821 x 512 data and 21,072 queries (2
    cores) its defaults answered in 2.65 s at recall 0.960 (36.7x exact faiss's 97.1 s) against
    ScaNN's 4.80 s at 0.955 (21.5x of 103.1 s), built in 120 s instead of 315 s, without importing
    TensorFlow."""
    if n < AUTO_INDEX_MIN:
        return "exact"
    if _faiss_available():
        return "faiss-ivf"
    if scann_available():
        return "scann"
    return "exact"


def build_index(vectors: np.ndarray, backend: str = "auto", **options: Any) -> NeighbourIndex:
    """An index over `vectors` (rows L2-normalised) with the named backend."""
    _load_backends()
    name = choose_backend(len(vectors)) if backend == "auto" else backend
    try:
        factory = _BACKENDS[name]
    except KeyError:
        raise PostkinError(f"unknown neighbors backend {backend!r}; available: {', '.join(backends())}") from None
    return factory(vectors, **options)
