"""The Topics stage: spherical k-means (faiss) on post vectors, ordered by Ward clustering of centroids,
each topic named by the tags nearest its centre, with its latest and most popular posts.

Ward's ordering puts similar clusters next to each other, so a list of topics reads like a map of the
blog rather than a random shuffle (the source talk's dendrogram).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
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


def spherical_kmeans(vectors: np.ndarray, k: int, seed: int = 0, niter: int = 25,
                     init: np.ndarray | None = None) -> Clustering:
    """Spherical k-means with faiss; cluster ids renumbered by dendrogram order (0 = first). `init`:
    (k, d) starting centroids (a refit starts from the previous build's topics), else faiss's seeded
    random choice of posts."""
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
        if init is not None and len(init) == k:
            kmeans.train(x, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
        else:
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


# A topic refit happens when more than this share of the posts the topics were fitted on changed, were
# added or removed since (or when the number of topics changes): in between, new and edited posts join
# the nearest existing topic, so adding one post to 18F moves no other post (it moved 259 of 508 when
# every build re-ran k-means) and the topics' labels stay put.
TOPIC_DRIFT = 0.1
# A kept topic is labelled again only when its members changed this much (Jaccard of the member sets
# now and when it was labelled below this).
RELABEL_BELOW = 0.5
STATE_KIND = "topics/1"


@dataclass
class TopicState:
    """What a build kept of its topics for the next one: centroids (k, d) in dendrogram order, their
    stable ids and labels, each topic's members (post keys) when it was labelled, and the posts the
    centroids were fitted on (key -> hash of the vector used)."""

    centroids: np.ndarray
    ids: list[int]
    labels: list[str]
    members: list[list[str]]
    fitted: dict[str, str]
    k: int

    def to_bytes(self) -> bytes:
        """The state as bytes for the cache (numpy's .npz with the lists as JSON)."""
        import io
        import json

        buffer = io.BytesIO()
        meta = json.dumps({"ids": self.ids, "labels": self.labels, "members": self.members,
                           "fitted": self.fitted, "k": self.k}, ensure_ascii=False)
        np.savez(buffer, centroids=self.centroids.astype(np.float32), meta=np.frombuffer(meta.encode(), np.uint8))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TopicState | None:
        """The state from bytes; None when they cannot be read (the topics are then fitted afresh)."""
        import io
        import json

        try:
            arrays = np.load(io.BytesIO(data), allow_pickle=False)
            meta = json.loads(arrays["meta"].tobytes().decode())
            return cls(np.asarray(arrays["centroids"], np.float32), [int(i) for i in meta["ids"]],
                       list(meta["labels"]), [list(m) for m in meta["members"]], dict(meta["fitted"]), int(meta["k"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def vector_hashes(keys: list[str], vectors: np.ndarray) -> dict[str, str]:
    """key -> short hash of that post's vector bytes (what a refit decision compares)."""
    import hashlib

    return {key: hashlib.blake2b(np.ascontiguousarray(v, np.float32).tobytes(), digest_size=8).hexdigest()
            for key, v in zip(keys, vectors)}


@dataclass
class Topics:
    """Topic of every post, the topics' centroids and labels, and each topic's posts listed by date
    (newest first) and by page views (most first, posts without views left out). Rows are in
    dendrogram order; `ids` are the topics' stable ids (kept from build to build)."""

    assignment: np.ndarray  # (n,) int64 row of each post's topic; drafts get their nearest, in no list
    centroids: np.ndarray  # (k, d) float32 unit rows, in dendrogram order
    labels: list[str]
    by_date: list[list[int]]
    by_views: list[list[int]]
    ids: list[int] = field(default_factory=list)
    state: TopicState | None = None  # what the next build starts from
    refitted: bool = True  # False: this build kept the previous build's topics


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def topic_count(listed: int, settings: Settings) -> int:
    """Topics for `listed` posts: settings.clusters or default_k, at most half of them (with a warning)."""
    k = settings.clusters or default_k(listed)
    if settings.clusters and listed and k > max(1, listed // 2):
        log.warning("clusters = %d is more than half of the %d listed posts; using %d topics (a topic needs "
                    "at least two posts)", k, listed, max(1, listed // 2))
        k = max(1, listed // 2)
    return k


Fit = Callable[[np.ndarray, int, int, np.ndarray | None], np.ndarray]
Nearest = Callable[[np.ndarray, np.ndarray], np.ndarray]


def kmeans_centroids(vectors: np.ndarray, k: int, seed: int, init: np.ndarray | None = None) -> np.ndarray:
    """Centroids (k, d) unit rows of spherical k-means on vectors (m, d) (see spherical_kmeans)."""
    return spherical_kmeans(vectors, k, seed=seed, init=init).centroids


def nearest_topic(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n,) int64: the centroid of largest inner product (cosine, for unit rows) of each row."""
    return np.argmax(vectors @ centroids.T, axis=1).astype(np.int64)


def find_topics(posts: list[Post], vectors: np.ndarray, recommendable: np.ndarray, vocab: Vocabulary,
                settings: Settings, previous: TopicState | None = None, own: np.ndarray | None = None, *,
                fit: Fit | None = None, nearest: Nearest | None = None) -> Topics:
    """The Topics stage over the recommendable posts (bool (n,)); k from topic_count.
    `own`: (n, d) the encoder's own vectors when `vectors` are centred by language: what tells which posts
    changed (default: `vectors`). Centring moves every vector a little whenever one post is edited or
    added, so hashing the centred vectors counted every post as changed, refitted the topics and rewrote
    every output file of a two-language blog when one post was added.

    With `previous` (the last build's TopicState) the topics stay put: posts join the nearest kept
    topic, and k-means runs again only when more than TOPIC_DRIFT of the posts changed since the topics
    were fitted or k changes; a refit starts from the previous centroids and keeps each topic's id (and
    label, while its members stay similar) by matching old and new centroids (Hungarian assignment).

    `fit` (vectors (m, d), k, seed, initial centroids or None -> centroids (k, d)) and `nearest`
    (vectors (n, d), centroids (k, d) -> (n,) int) default to spherical_kmeans and an argmax here; a host
    that runs them elsewhere (postkin.distributed, on a Dask cluster) passes its own.
    """
    from .tags import cluster_labels

    fit = fit or kmeans_centroids
    nearest = nearest or nearest_topic
    n = len(posts)
    published = np.flatnonzero(recommendable)
    k = topic_count(len(published), settings)
    keys = [posts[i].slug for i in published]
    hashes = vector_hashes(keys, (vectors if own is None else own)[published])
    keep = previous is not None and previous.k == k and len(previous.centroids) > 0 \
        and previous.centroids.shape[1] == vectors.shape[1] and _drift(previous.fitted, hashes) <= TOPIC_DRIFT
    refitted = not keep
    fitted = previous.fitted if keep and previous is not None else hashes
    if not len(published):
        assignment = np.zeros(n, dtype=np.int64)
        centroids = np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
    elif keep and previous is not None:
        centroids = previous.centroids
    else:
        warm = previous.centroids if previous is not None and previous.k == k and \
            previous.centroids.shape[1] == vectors.shape[1] else None
        centroids = fit(vectors[published], k, settings.seed, warm)
    if len(published):
        assignment = nearest(vectors, centroids)  # drafts join their nearest cluster too
        used = np.unique(assignment[published])
        if len(used) < len(centroids):  # a kept topic that lost every post is dropped
            centroids = centroids[used]
            assignment = nearest(vectors, centroids)
    members: list[list[int]] = [[] for _ in range(len(centroids))]
    for i in published:
        members[int(assignment[i])].append(int(i))
    member_keys = [{posts[i].slug for i in m} for m in members]
    ids, labels, label_members = _identities(previous, centroids, member_keys)
    stale = [c for c in range(len(centroids)) if labels[c] is None
             or _jaccard(member_keys[c], set(label_members[c])) < RELABEL_BELOW]
    if stale:
        fresh = cluster_labels(centroids, vectors, vocab, np.where(recommendable, assignment, -1),
                               settings.cluster_label_tags)
        for c in stale:
            labels[c], label_members[c] = fresh[c], sorted(member_keys[c])
    by_date = [sorted(m, key=lambda i: (-posts[i].sort_date(), posts[i].slug)) for m in members]
    by_views = [sorted((i for i in m if posts[i].popularity),
                       key=lambda i: (-(posts[i].popularity or 0.0), posts[i].slug)) for m in members]
    if len(published) and not any(posts[i].popularity for i in published):
        log.info("no popularity data (front-matter key %r or popularity_file): cluster_popular lists are empty",
                 settings.popularity_key)
    shown = [str(label) for label in labels]
    state = TopicState(np.asarray(centroids, np.float32), ids, shown, [list(m) for m in label_members], fitted, k)
    return Topics(assignment, centroids, shown, by_date, by_views, ids=ids, state=state, refitted=refitted)


def _drift(fitted: dict[str, str], now: dict[str, str]) -> float:
    """Share of the posts the topics were fitted on that changed or went, plus the posts added since."""
    changed = sum(1 for key, h in now.items() if fitted.get(key) != h)
    gone = sum(1 for key in fitted if key not in now)
    return (changed + gone) / max(len(fitted), 1)


def _identities(previous: TopicState | None, centroids: np.ndarray, member_keys: list[set[str]],
                ) -> tuple[list[int], list[str | None], list[list[str]]]:
    """Stable ids for the topics (rows of centroids), and the labels (with the members they were given
    for) kept from `previous` for topics matched to a previous one; None: label afresh."""
    k = len(centroids)
    if previous is None or not len(previous.centroids) or not k:
        return list(range(k)), [None] * k, [sorted(m) for m in member_keys]
    from scipy.optimize import linear_sum_assignment

    old = previous.centroids
    rows, cols = linear_sum_assignment(-(np.asarray(centroids, np.float64) @ np.asarray(old, np.float64).T))
    ids: list[int] = [-1] * k
    labels: list[str | None] = [None] * k
    members: list[list[str]] = [sorted(m) for m in member_keys]
    for r, c in zip(rows.tolist(), cols.tolist()):
        ids[r] = previous.ids[c]
        labels[r], members[r] = previous.labels[c], previous.members[c]
    next_id = max(previous.ids, default=-1) + 1
    for r in range(k):
        if ids[r] < 0:
            ids[r], next_id = next_id, next_id + 1
    return ids, labels, members
