"""Topic clusters: spherical k-means (faiss) on post vectors, ordered by Ward clustering of centroids.

Ward's ordering puts similar clusters next to each other, so a list of topics reads like a map of the
blog rather than a random shuffle (the source talk's dendrogram).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .encoders import available_cores


@dataclass
class Clustering:
    """Cluster of each post, centroids (unit length), and the dendrogram order of cluster ids."""

    assignment: np.ndarray  # (n,) int: cluster id of each post
    centroids: np.ndarray  # (k, d) float32, unit rows
    order: list[int]  # cluster ids in dendrogram order


def default_k(n: int) -> int:
    """Clusters for n posts: about sqrt(n / 5) (10 for a 500-post blog), at least 1, at most n."""
    if n <= 0:
        return 0
    return max(1, min(n, round(math.sqrt(n / 5))))


def spherical_kmeans(vectors: np.ndarray, k: int, seed: int = 0, niter: int = 25) -> Clustering:
    """Spherical k-means with faiss; cluster ids renumbered by dendrogram order (0 = first)."""
    n, d = vectors.shape
    k = max(1, min(k, n))
    if k == 1:
        centroid = vectors.mean(axis=0, keepdims=True)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        return Clustering(np.zeros(n, dtype=np.int64), centroid.astype(np.float32), [0])
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    kmeans = faiss.Kmeans(d, k, niter=niter, seed=seed, spherical=True, nredo=1, verbose=False,
                          min_points_per_centroid=1, max_points_per_centroid=1_000_000)
    # OpenMP threads cost more than they save on a blog-sized problem (0.17 s vs 1 ms for 500 posts
    # on 2 cores): use one thread unless the work is large.
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1 if n * k < 2_000_000 else available_cores())
    try:
        kmeans.train(x)
    finally:
        faiss.omp_set_num_threads(previous)
    centroids = kmeans.centroids.copy()
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    assignment = np.argmax(x @ centroids.T, axis=1)
    # Drop centroids that ended up with no posts, so every listed cluster has members.
    used = np.unique(assignment)
    centroids = centroids[used]
    assignment = np.searchsorted(used, assignment)
    order = ward_order(centroids)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return Clustering(rank[assignment], centroids[order], list(range(len(order))))


def ward_order(centroids: np.ndarray) -> list[int]:
    """Leaf order of the Ward dendrogram of the centroids (optimal leaf ordering: neighbours similar)."""
    k = len(centroids)
    if k <= 2:
        return list(range(k))
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering

    z = linkage(centroids.astype(np.float64), method="ward")
    z = optimal_leaf_ordering(z, centroids.astype(np.float64))
    return [int(i) for i in leaves_list(z)]
