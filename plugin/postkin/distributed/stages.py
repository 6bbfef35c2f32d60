"""Topics and tag suggestions on the cluster, each a map of the single-machine functions.

Topics: spherical k-means (topics.spherical_kmeans) on a sample of the listed posts, run by one worker;
the centroids are broadcast and every partition of posts is assigned to its nearest centroid by the
workers; the client names the topics and lists their posts (topics.find_topics). Up to TOPIC_SAMPLE
listed posts the sample is all of them, so the topics are the single machine's.

Tags: tags.suggest over partitions of the query posts, the posts, features, similarity and vocabulary
broadcast once to every worker.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from distributed import Client

from .. import tags, topics
from ..corpus import Post
from ..features import Features
from ..settings import Settings
from ..similarity import Similarity
from .cluster import task_threads, worker_addresses

# Listed posts k-means is trained on. k-means costs n * k * d per iteration: at 692,821 posts and the
# default k (372) a full run is 25 x 132 GFLOP; a sample of 100,000 (269 points per centroid, faiss
# itself samples 256 per centroid by default) costs a seventh of that.
TOPIC_SAMPLE = 100_000
ASSIGN_PARTITION = 65_536  # posts per assignment task (128 MB of float32 vectors at 512 dims)


def _kmeans(vectors: np.ndarray, k: int, seed: int, init: np.ndarray | None) -> np.ndarray:
    with task_threads():
        return topics.kmeans_centroids(vectors, k, seed, init)


def _nearest(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n,) int64: the nearest centroid (inner product) of each row."""
    with task_threads():
        return topics.nearest_topic(vectors, centroids)


def find_topics(client: Client, posts: list[Post], vectors: np.ndarray, recommendable: np.ndarray,
                vocab: tags.Vocabulary, settings: Settings, previous: topics.TopicState | None = None,
                own: np.ndarray | None = None, sample: int = TOPIC_SAMPLE) -> topics.Topics:
    """The Topics stage on the cluster (see the module docstring): topics.find_topics, whose k-means runs
    on one worker over up to `sample` listed posts (a seeded choice; all of them when fewer) and whose
    assignment of every post to its nearest centroid is a map over partitions. `previous` keeps the
    topics put as on one machine; `own`: the encoder's own vectors when `vectors` are centred by language."""

    def fit(train: np.ndarray, k: int, seed: int, init: np.ndarray | None) -> np.ndarray:
        if len(train) > sample:
            train = train[np.sort(np.random.default_rng(seed).choice(len(train), size=sample, replace=False))]
        return client.submit(_kmeans, train, k, seed, init, pure=False).result()

    def nearest(all_vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        shared = share(client, centroids)
        parts = [client.submit(_nearest, all_vectors[s:s + ASSIGN_PARTITION], shared, pure=False)
                 for s in range(0, len(all_vectors), ASSIGN_PARTITION)]
        return np.concatenate(client.gather(parts)) if parts else np.zeros(0, np.int64)

    return topics.find_topics(posts, vectors, recommendable, vocab, settings, previous, own, fit=fit,
                              nearest=nearest)


def _suggest(rows: np.ndarray, posts: list[Post], features: Features, similarity: Similarity,
             vocab: tags.Vocabulary, k: int, explain: bool) -> list[list[tags.Suggestion]]:
    query = np.zeros(len(posts), bool)
    query[rows] = True
    with task_threads():
        out = tags.suggest(posts, features, similarity, vocab, k, query, explain=explain)
    return [out[i] for i in rows]


def suggest_block(n: int) -> int:
    """Query posts tags.suggest scores together for n posts (its `block`): with fewer than
    tags.MIN_TAGGED tagged posts each block is standardised by its own statistics, so partitions are
    cut at multiples of it to give the single machine's scores."""
    return max(64, 4_000_000 // max(n, 1))


def suggest_tags(client: Client, posts: list[Post], features: Features, similarity: Similarity,
                 vocab: tags.Vocabulary, k: int, partitions: int | None = None, explain: bool = False,
                 ) -> tags.TagSuggestions:
    """The TagSuggestions stage on the cluster: tags.suggest over `partitions` partitions of the posts
    (default: 2 per worker), the inputs broadcast once. Row i: post i's suggestions, best first."""
    n = len(posts)
    if n == 0:
        return []
    # with enough tagged posts the weights are fitted, and any rows may go together; with fewer, each
    # block of tags.suggest is standardised by its own statistics, so partitions keep its blocks whole
    fitted = int(vocab.membership.any(axis=1).sum()) >= tags.MIN_TAGGED
    block = 1 if fitted else suggest_block(n)
    blocks = -(-n // block)
    partitions = max(1, min(blocks, partitions or 2 * len(worker_addresses(client))))
    cuts = [min(n, round(blocks * p / partitions) * block) for p in range(partitions + 1)]
    shared = [share(client, x) for x in (posts, features, similarity, vocab)]
    futures = [client.submit(_suggest, np.arange(a, b), *shared, k, explain, pure=False)
               for a, b in zip(cuts, cuts[1:]) if b > a]
    out: tags.TagSuggestions = []
    for part in client.gather(futures):
        out.extend(part)
    return out


def share(client: Client, value: Any) -> Any:
    """`value` sent once to every worker: a future that tasks take as an argument (a list is sent
    whole, not element by element as Client.scatter would)."""
    return client.scatter([value], broadcast=True, hash=False)[0]
