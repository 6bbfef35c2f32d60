"""Related posts: for each post, the k most similar other posts that may be recommended."""

from __future__ import annotations

import numpy as np

from .neighbours import BLOCK, build_index, choose_backend, top_k_rows


def related(vectors: np.ndarray, recommendable: np.ndarray, k: int, backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Top-k neighbours of every row among the recommendable rows, itself excluded: (idx, scores).

    idx is -1 (score -inf) where fewer than k candidates exist.
    """
    n = len(vectors)
    if backend == "auto":
        backend = choose_backend(n)
    if backend == "exact":
        idx = np.full((n, k), -1, dtype=np.int64)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        blocked = ~recommendable
        for start in range(0, n, BLOCK):
            block = vectors[start:start + BLOCK] @ vectors.T
            block[:, blocked] = -np.inf
            rows = np.arange(start, min(start + BLOCK, n))
            block[rows - start, rows] = -np.inf
            idx[start:start + BLOCK], scores[start:start + BLOCK] = top_k_rows(block, k)
        return idx, scores
    # Approximate: search only recommendable vectors, ask for one more to drop the post itself.
    pool = np.flatnonzero(recommendable)
    index = build_index(vectors[pool], backend)
    found, found_scores = index.search(vectors, k + 1)
    idx = np.full((n, k), -1, dtype=np.int64)
    scores = np.full((n, k), -np.inf, dtype=np.float32)
    for row in range(n):
        keep = [(pool[j], s) for j, s in zip(found[row], found_scores[row]) if j >= 0 and pool[j] != row][:k]
        for col, (j, s) in enumerate(keep):
            idx[row, col], scores[row, col] = j, s
    return idx, scores
