"""The neighbour index sharded across the workers: each worker builds the single-machine index
(postkin.neighbours.build_index) over its contiguous range of rows and keeps it in its own memory;
every query goes to every shard, and the client merges each query's results into the global top-k.

    index = ShardedIndex(client, vectors)           # backend "auto": chosen for the whole n, as on one machine
    idx, scores = index.search(queries, 10)         # the NeighbourIndex interface
    idx, scores = index.related(10)                 # every indexed row's top-10 other rows (the talk's workload)

Merging exact shards is exact: the global top-k of a query is among the union of its per-shard top-k.
Ties are broken as on one machine, by the lower (global) row index. An approximate backend answers per
shard with its own recall; the union of the shards' top-k is at least as good per query as one shard's.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections import deque
from typing import Any

import numpy as np
from distributed import Client

from ..errors import PostkinError
from ..neighbours import NeighbourIndex, as_f32, build_index, choose_backend
from .cluster import forget_state, task_threads, worker_addresses, worker_state

QUERY_BLOCK = 32_768  # queries sent at once: ~64 MB of float32 at 512 dims, results ~3 MB per shard
IN_FLIGHT = 3  # blocks of queries on the workers at once: the next is sent while one is searched


def merge_top_k(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top-k of each query over every shard's answer: parts are (idx int64 (q, k_s) global rows, -1
    for none; scores float32 (q, k_s), -inf for none); ties go to the lower row index. Returns
    (idx int64 (q, k), scores float32 (q, k)), -1 / -inf padded."""
    idx = np.concatenate([p[0] for p in parts], axis=1)
    scores = np.concatenate([p[1] for p in parts], axis=1).astype(np.float32, copy=False)
    if idx.shape[1] < k:
        pad = k - idx.shape[1]
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    missing = idx < 0
    order = np.lexsort((np.where(missing, np.iinfo(np.int64).max, idx), np.where(missing, np.inf, -scores)),
                       axis=1)[:, :k]
    idx, scores = np.take_along_axis(idx, order, axis=1), np.take_along_axis(scores, order, axis=1)
    idx[~np.isfinite(scores)] = -1
    return idx, scores


def shard_bounds(n: int, shards: int) -> list[tuple[int, int]]:
    """`shards` contiguous (start, stop) row ranges covering range(n), sizes differing by at most 1."""
    edges = np.linspace(0, n, max(1, shards) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


# ----------------------------------------------------------------------------- inside a worker
def _build_shard(key: str, vectors: np.ndarray, backend: str, options: dict[str, Any]) -> dict[str, Any]:
    """Build this worker's shard with the single-machine build_index and keep it under `key`; returns
    what the client shows about it (the backend's parameters, the process's peak memory)."""
    with task_threads() as threads:
        if backend != "exact":  # the faiss and ScaNN backends take their thread count
            options = {"threads": threads, **options}
        index = worker_state(key, lambda: build_index(as_f32(vectors), backend, **options))
    return {"params": dict(getattr(index, "params", {})), "pid": os.getpid(), "peak_rss_mb": peak_rss_mb()}


def _search_shard(key: str, offset: int, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """This worker's shard's top-k of each query, as global row indices."""
    index = worker_state(key, _lost)
    with task_threads():
        idx, scores = index.search(queries, k)
    return np.where(idx >= 0, idx + offset, -1), scores


def _set_search_params(key: str, params: dict[str, Any]) -> None:
    worker_state(key, _lost).set_search_params(**params)


def _drop_shard(key: str) -> None:
    forget_state(lambda k: k == key)


def _lost() -> NeighbourIndex:
    raise PostkinError("a shard of the sharded index is gone (its worker restarted); build the index again")


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM) in MB; 0 where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ----------------------------------------------------------------------------- on the client
class ShardedIndex:
    """A NeighbourIndex over `vectors` (n, d), rows L2-normalised, split into `shards` contiguous shards
    (default: one per worker), shard s on the s-th worker (sorted by address). `backend` "auto" is
    chosen for the whole n (as one machine would: exact below neighbours.AUTO_INDEX_MIN); `options` go
    to every shard's build_index. The workers must stay up while the index is used; close() frees the
    shards. Raises PostkinError (no workers, a backend that cannot build)."""

    name = "sharded"

    def __init__(self, client: Client, vectors: np.ndarray, backend: str = "auto", shards: int | None = None,
                 **options: Any) -> None:
        self.client = client
        self.vectors = vectors
        self.n = len(vectors)
        self.backend = choose_backend(self.n) if backend == "auto" else backend
        workers = worker_addresses(client)
        self.bounds = shard_bounds(self.n, shards or len(workers))
        self.workers = [workers[s % len(workers)] for s in range(len(self.bounds))]
        self.keys = [f"postkin-shard-{uuid.uuid4().hex}" for _ in self.bounds]
        futures = []
        for key, (lo, hi), worker in zip(self.keys, self.bounds, self.workers):
            data = client.scatter(as_f32(vectors[lo:hi]), workers=[worker], hash=False)
            futures.append(client.submit(_build_shard, key, data, self.backend, options, workers=[worker],
                                         allow_other_workers=False, pure=False))
        self.shard_info = client.gather(futures)

    def _on_shards(self, func: Any, *args: Any) -> list[Any]:
        futures = [self.client.submit(func, key, *args, workers=[w], allow_other_workers=False, pure=False)
                   for key, w in zip(self.keys, self.workers)]
        return list(self.client.gather(futures))

    def set_search_params(self, **params: Any) -> None:
        """Search parameters of every shard's backend (e.g. nprobe of faiss-ivf)."""
        self._on_shards(_set_search_params, params)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows of the index for each query by inner product: (idx int64 (q, k), scores float32
        (q, k)), -1 / -inf padded; queries go to the shards QUERY_BLOCK at a time."""
        q = len(queries)
        idx = np.full((q, max(k, 0)), -1, np.int64)
        scores = np.full((q, max(k, 0)), -np.inf, np.float32)
        if k <= 0 or q == 0 or self.n == 0:
            return idx, scores
        pending: deque[tuple[int, list[Any]]] = deque()

        def collect() -> None:
            start, futures = pending.popleft()
            parts = self.client.gather(futures)
            idx[start:start + len(parts[0][0])], scores[start:start + len(parts[0][0])] = merge_top_k(parts, k)

        for start in range(0, q, QUERY_BLOCK):
            block = self.client.scatter(as_f32(queries[start:start + QUERY_BLOCK]), workers=sorted(set(self.workers)),
                                        broadcast=True, hash=False)
            pending.append((start, [
                self.client.submit(_search_shard, key, lo, block, k, workers=[w], allow_other_workers=False,
                                   pure=False)
                for key, (lo, _), w in zip(self.keys, self.bounds, self.workers)]))
            if len(pending) >= IN_FLIGHT:
                collect()
        while pending:
            collect()
        return idx, scores

    def related(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Every indexed row's top-k other rows (the row itself left out): (idx int64 (n, k), scores
        float32 (n, k)), -1 / -inf padded."""
        found, scores = self.search(self.vectors, k + 1)
        other = found != np.arange(self.n)[:, None]
        # keep each row's first k entries that are not the row itself (if an approximate search missed
        # the row, its last entry goes), in their order
        keep = np.argsort(~other, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(found, keep, axis=1), np.take_along_axis(scores, keep, axis=1)

    def peak_memory_mb(self) -> dict[str, float]:
        """Peak resident memory (MB) of each worker process holding a shard, by worker address."""
        return dict(zip(self.workers, self._on_shards(lambda key: peak_rss_mb())))

    def close(self) -> None:
        """Free the shards in the workers."""
        self._on_shards(_drop_shard)

    def __enter__(self) -> ShardedIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
