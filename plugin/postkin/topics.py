"""The Topics stage: spherical k-means (faiss) on post vectors, ordered by Ward clustering of centroids,
each topic named by the tags nearest its centre, with its latest and most popular posts.

Ward's ordering puts similar clusters next to each other, so a list of topics reads like a map of the
blog rather than a random shuffle (the source talk's dendrogram).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .encoders import available_cores

if TYPE_CHECKING:
    from .corpus import Post
    from .settings import Settings
    from .tags import Vocabulary

log = logging.getLogger("postkin")


@dataclass
class Clustering:
    """Cluster of each post and centroids (unit length); ids are numbered in dendrogram order."""

    assignment: np.ndarray  # (n,) int: cluster id of each post
    centroids: np.ndarray  # (k, d) float32, unit rows


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
        return Clustering(np.zeros(n, dtype=np.int64), centroid.astype(np.float32))
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
    centroids = np.array(kmeans.centroids, dtype=np.float32)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    assignment = np.argmax(x @ centroids.T, axis=1)
    # Drop centroids that ended up with no posts, so every listed cluster has members.
    used = np.unique(assignment)
    centroids = centroids[used]
    assignment = np.searchsorted(used, assignment)
    order = ward_order(centroids)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return Clustering(rank[assignment], centroids[order])


WARD_BY_SCIPY = 40  # more topics than this: scipy's Ward linkage with optimal leaf ordering


def ward_order(centroids: np.ndarray) -> list[int]:
    """Leaf order of the Ward dendrogram of the centroids, each merge oriented so the two leaves that
    meet are the most similar (neighbouring clusters read as related topics).

    Agglomerative Ward on k centroids (k is tens) costs microseconds here; scipy's hierarchy module
    would cost 0.16 s of imports on every build.
    """
    k = len(centroids)
    if k <= 2:
        return list(range(k))
    if k > WARD_BY_SCIPY:
        # the loop below is O(k^3) in Python: fine for a blog's tens of topics, not for hundreds
        from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering

        x64 = np.asarray(centroids, np.float64)
        return [int(i) for i in leaves_list(optimal_leaf_ordering(linkage(x64, method="ward"), x64))]
    x = centroids.astype(np.float64)
    similar = x @ x.T
    groups: dict[int, tuple[list[int], np.ndarray, int]] = {i: ([i], x[i].copy(), 1) for i in range(k)}
    while len(groups) > 1:
        ids = sorted(groups)
        best: tuple[float, int, int] | None = None
        for a_pos, a in enumerate(ids):
            leaves_a, sum_a, n_a = groups[a]
            for b in ids[a_pos + 1:]:
                leaves_b, sum_b, n_b = groups[b]
                diff = sum_a / n_a - sum_b / n_b
                cost = n_a * n_b / (n_a + n_b) * float(diff @ diff)  # Ward's increase in within-cluster variance
                if best is None or cost < best[0] - 1e-12:
                    best = (cost, a, b)
        assert best is not None  # at least two groups remain
        _, a, b = best
        (leaves_a, sum_a, n_a), (leaves_b, sum_b, n_b) = groups.pop(a), groups.pop(b)
        options = [la + lb for la in (leaves_a, leaves_a[::-1]) for lb in (leaves_b, leaves_b[::-1])]
        joined = max(options, key=lambda o: similar[o[len(leaves_a) - 1], o[len(leaves_a)]])
        groups[min(a, b)] = (joined, sum_a + sum_b, n_a + n_b)
    return next(iter(groups.values()))[0]


@dataclass
class Topics:
    """Topic of every post, the topics' centroids and labels, and each topic's posts listed by date
    (newest first) and by page views (most first, posts without views left out)."""

    assignment: np.ndarray  # (n,) int64; drafts get their nearest topic but are in no list
    centroids: np.ndarray  # (k, d) float32 unit rows, in dendrogram order
    labels: list[str]
    by_date: list[list[int]]
    by_views: list[list[int]]


def topic_count(listed: int, settings: Settings) -> int:
    """Topics for `listed` posts: settings.clusters or default_k, at most half of them (with a warning)."""
    k = settings.clusters or default_k(listed)
    if settings.clusters and listed and k > max(1, listed // 2):
        log.warning("clusters = %d is more than half of the %d listed posts; using %d topics (a topic needs "
                    "at least two posts)", k, listed, max(1, listed // 2))
        k = max(1, listed // 2)
    return k


def find_topics(posts: list[Post], vectors: np.ndarray, recommendable: np.ndarray, vocab: Vocabulary,
                settings: Settings) -> Topics:
    """The Topics stage over the recommendable posts (bool (n,)); k from settings.clusters or default_k."""
    n = len(posts)
    published = np.flatnonzero(recommendable)
    k = topic_count(len(published), settings)
    if len(published):
        clus = spherical_kmeans(vectors[published], k, seed=settings.seed)
        assignment = np.argmax(vectors @ clus.centroids.T, axis=1)  # drafts join their nearest cluster
        assignment[published] = clus.assignment
        centroids = clus.centroids
    else:
        assignment = np.zeros(n, dtype=np.int64)
        centroids = np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
    return topics_of(posts, vectors, recommendable, vocab, settings, centroids, assignment)


def topics_of(posts: list[Post], vectors: np.ndarray, recommendable: np.ndarray, vocab: Vocabulary,
              settings: Settings, centroids: np.ndarray, assignment: np.ndarray) -> Topics:
    """The Topics of a clustering: centroids (k, d) unit rows, assignment (n,) int of every post;
    labels from the tags, each topic's recommendable posts by date and by page views."""
    from .tags import cluster_labels

    published = np.flatnonzero(recommendable)
    labels = cluster_labels(centroids, vectors, vocab, np.where(recommendable, assignment, -1),
                            settings.cluster_label_tags)
    members: list[list[int]] = [[] for _ in range(len(centroids))]
    for i in published:
        members[int(assignment[i])].append(int(i))
    by_date = [sorted(m, key=lambda i: (-posts[i].sort_date(), posts[i].slug)) for m in members]
    by_views = [sorted((i for i in m if posts[i].popularity),
                       key=lambda i: (-(posts[i].popularity or 0.0), posts[i].slug)) for m in members]
    if len(published) and not any(posts[i].popularity for i in published):
        log.info("no popularity data (front-matter key %r or popularity_file): cluster_popular lists are empty",
                 settings.popularity_key)
    return Topics(assignment, centroids, labels, by_date, by_views)
