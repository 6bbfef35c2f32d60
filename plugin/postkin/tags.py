"""Tag vocabulary and tag suggestions.

Tags are compared case-insensitively (JavaScript = javascript) and shown in the blog's most used
spelling. A tag's vector is the mean of its posts' vectors: the source talk found this beats
embedding the tag name (MAP@10 0.5749 vs 0.3336), since rare technical terms are outside the model's
vocabulary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .posts import Post


def tag_key(tag: str) -> str:
    """The form tags are compared in."""
    return " ".join(tag.casefold().split())


@dataclass
class Vocabulary:
    """The blog's tags: keys, display spellings, and which posts carry each."""

    keys: list[str]  # sorted tag keys
    display: dict[str, str]  # key -> most used spelling
    membership: np.ndarray  # (n_posts, n_tags) bool: post carries tag

    @property
    def counts(self) -> np.ndarray:
        """Posts per tag."""
        return self.membership.sum(axis=0)


def vocabulary(posts: list[Post], use: np.ndarray | None = None) -> Vocabulary:
    """The vocabulary of tags carried by posts[i] where use[i] (default: all posts)."""
    spellings: dict[str, Counter] = {}
    for i, post in enumerate(posts):
        if use is not None and not use[i]:
            continue
        for tag in post.tags:
            spellings.setdefault(tag_key(tag), Counter())[tag] += 1
    keys = sorted(k for k in spellings if k)
    # Most used spelling; ties go to the alphabetically first so output is stable.
    display = {k: min(spellings[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in keys}
    column = {k: j for j, k in enumerate(keys)}
    membership = np.zeros((len(posts), len(keys)), dtype=bool)
    for i, post in enumerate(posts):
        if use is not None and not use[i]:
            continue
        for tag in post.tags:
            j = column.get(tag_key(tag))
            if j is not None:
                membership[i, j] = True
    return Vocabulary(keys, display, membership)


def tag_vectors(vectors: np.ndarray, vocab: Vocabulary) -> np.ndarray:
    """(n_tags, d) unit vectors: each tag as the normalised mean of its posts' vectors."""
    sums = vocab.membership.T.astype(np.float32) @ vectors
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


def suggest(vectors: np.ndarray, posts: list[Post], vocab: Vocabulary, k: int) -> list[list[tuple[str, float]]]:
    """For every post, up to k (tag, score) from the vocabulary that it does not carry yet."""
    if k == 0 or not vocab.keys:
        return [[] for _ in posts]
    scores = vectors @ tag_vectors(vectors, vocab).T
    return rank_tags(scores, posts, vocab, k)


def rank_tags(scores: np.ndarray, posts: list[Post], vocab: Vocabulary, k: int) -> list[list[tuple[str, float]]]:
    """Top-k tags per post from a (n_posts, n_tags) score matrix, skipping tags a post already has."""
    column = {key: j for j, key in enumerate(vocab.keys)}
    scores = scores.astype(np.float32, copy=True)
    for i, post in enumerate(posts):
        own = [column[key] for key in map(tag_key, post.tags) if key in column]
        scores[i, own] = -np.inf
    order = np.lexsort((np.broadcast_to(np.arange(scores.shape[1]), scores.shape), -scores), axis=1)[:, :k]
    out = []
    for i in range(len(posts)):
        out.append([(vocab.display[vocab.keys[j]], float(scores[i, j])) for j in order[i] if np.isfinite(scores[i, j])])
    return out


def cluster_labels(centroids: np.ndarray, vectors: np.ndarray, vocab: Vocabulary, assignment: np.ndarray,
                   n_tags: int) -> list[str]:
    """Each cluster named by the tags nearest its centroid, among tags its own posts carry."""
    if not vocab.keys:
        return [f"Topic {c + 1}" for c in range(len(centroids))]
    near = centroids @ tag_vectors(vectors, vocab).T
    labels = []
    for c in range(len(centroids)):
        present = vocab.membership[assignment == c].any(axis=0)
        scores = np.where(present, near[c], -np.inf)
        best = [j for j in np.lexsort((np.arange(len(scores)), -scores))[:n_tags] if np.isfinite(scores[j])]
        labels.append(", ".join(vocab.display[vocab.keys[j]] for j in best) or f"Topic {c + 1}")
    return labels
