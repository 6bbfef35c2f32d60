"""The engine: posts in, per-post context and site-wide data out. Knows nothing of any site generator.

    results = build(posts, settings)            # posts: list[Post], urls already set (or from url_pattern)
    results.posts["my-slug"]["related"]         # [{source, slug, title, url, date, score}, ...]
    results.site["clusters"]                    # dendrogram order: [{id, label, size, members}, ...]
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import clusters as clustering
from . import similarity, tags
from .cache import EmbeddingCache
from .encoders import Encoder, get_encoder
from .posts import Post, check_unique_slugs, render_url
from .settings import Settings
from .text import text_hash

log = logging.getLogger("postkin")

# Embed and store this many missing texts at a time: a killed build keeps every finished batch.
CHUNK = 256

Progress = Callable[[int, int], None]  # (done, total) texts embedded


@dataclass
class Stats:
    """What a build did, for the one-line summary."""

    posts: int = 0
    embedded: int = 0
    cached: int = 0
    seconds: float = 0.0


@dataclass
class Results:
    """Per-post context by slug, site-wide data, and build statistics."""

    posts: dict[str, dict[str, Any]]
    site: dict[str, Any]
    stats: Stats = field(default_factory=Stats)


def embed_text(post: Post, fields: tuple[str, ...]) -> str:
    """The exact text embedded for a post (title + lede + headings by default)."""
    parts = {
        "title": [post.title],
        "lede": [post.lede],
        "headings": post.headings,
        "body": [post.body],
    }
    return "\n".join(p for name in fields for p in parts[name] if p)


def embed(texts: list[str], encoder: Encoder, cache: EmbeddingCache | None, batch_size: int,
          progress: Progress | None = None) -> tuple[np.ndarray, int]:
    """Vectors for texts, from the cache where present; returns (vectors, number embedded now)."""
    hashes = [text_hash(t) for t in texts]
    model = encoder.cache_id
    found = cache.get_many(model, hashes) if cache is not None else {}
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in found and h not in missing:
            missing[h] = t
    todo = list(missing.items())
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        vectors = np.concatenate([
            encoder.encode([t for _, t in chunk[b:b + batch_size]]) for b in range(0, len(chunk), batch_size)
        ]) if chunk else np.zeros((0, encoder.dim), np.float32)
        new = {h: v for (h, _), v in zip(chunk, vectors)}
        if cache is not None:
            cache.put_many(model, new)
        found.update(new)
        if progress is not None:
            progress(min(start + CHUNK, len(todo)), len(todo))
    dim = next(iter(found.values())).shape[0] if found else encoder.dim
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        out[i] = found[h]
    return out, len(todo)


def _iso(post: Post) -> str | None:
    return post.date.isoformat() if post.date else None


def _item(post: Post, score: float | None) -> dict[str, Any]:
    item = {"source": post.source, "slug": post.slug, "title": post.title, "url": post.url, "date": _iso(post)}
    if score is not None:
        item["score"] = round(float(score), 4)
    return item


def embed_posts(posts: list[Post], settings: Settings, *, encoder: Encoder | None = None,
                cache_dir: Path | None = None, progress: Progress | None = None) -> tuple[np.ndarray, int, Encoder]:
    """(vectors of posts, number embedded now, encoder used), through the cache when a folder is given."""
    encoder = encoder or get_encoder(settings)
    texts = [embed_text(p, settings.embed_fields) for p in posts]
    if cache_dir is None:
        vectors, embedded = embed(texts, encoder, None, settings.batch_size, progress)
    else:
        with EmbeddingCache(cache_dir) as cache:
            vectors, embedded = embed(texts, encoder, cache, settings.batch_size, progress)
    return vectors, embedded, encoder


def build(posts: list[Post], settings: Settings, *, encoder: Encoder | None = None,
          cache_dir: Path | None = None, progress: Progress | None = None) -> Results:
    """Related posts, clusters, cluster lists and tag suggestions for every post."""
    started = time.perf_counter()
    check_unique_slugs(posts)
    for post in posts:
        if not post.url:
            post.url = render_url(settings.url_pattern, post)
    vectors, embedded, encoder = embed_posts(posts, settings, encoder=encoder, cache_dir=cache_dir,
                                             progress=progress)
    stats = Stats(posts=len(posts), embedded=embedded, cached=len(posts) - embedded)
    results = compute(posts, vectors, settings, encoder_id=encoder.cache_id)
    stats.seconds = time.perf_counter() - started
    results.stats = stats
    return results


def compute(posts: list[Post], vectors: np.ndarray, settings: Settings, encoder_id: str = "") -> Results:
    """Everything after embedding: pure numpy on the post vectors (tested with any vectors)."""
    n = len(posts)
    recommendable = np.array([not p.draft for p in posts], dtype=bool)
    related_idx, related_scores = similarity.related(vectors, recommendable, settings.related_k, settings.neighbors)

    published = np.flatnonzero(recommendable)
    k = settings.clusters or clustering.default_k(len(published))
    if len(published):
        clus = clustering.spherical_kmeans(vectors[published], k, seed=settings.seed)
        assignment = np.argmax(vectors @ clus.centroids.T, axis=1)  # drafts join their nearest cluster
        assignment[published] = clus.assignment
        centroids = clus.centroids
    else:
        assignment = np.zeros(n, dtype=np.int64)
        centroids = np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)

    vocab = tags.vocabulary(posts, recommendable)
    suggestions = tags.suggest(vectors, posts, vocab, settings.tags_k)
    labels = tags.cluster_labels(centroids, vectors, vocab, np.where(recommendable, assignment, -1),
                                 settings.cluster_label_tags)

    members: dict[int, list[int]] = {c: [] for c in range(len(centroids))}
    for i in published:
        members[int(assignment[i])].append(int(i))
    by_date = {c: sorted(m, key=lambda i: (-posts[i].sort_date(), posts[i].slug)) for c, m in members.items()}
    by_views = {
        c: sorted((i for i in m if posts[i].popularity), key=lambda i: (-posts[i].popularity, posts[i].slug))
        for c, m in members.items()
    }
    if len(published) and not any(posts[i].popularity for i in published):
        log.info("no popularity data (front-matter key %r or popularity_file): cluster_popular lists are empty",
                 settings.popularity_key)

    contexts: dict[str, dict[str, Any]] = {}
    for i, post in enumerate(posts):
        c = int(assignment[i]) if len(centroids) else None
        latest = [j for j in by_date.get(c, [])[:settings.cluster_k + 1] if j != i][:settings.cluster_k]
        popular = [j for j in by_views.get(c, [])[:settings.cluster_k + 1] if j != i][:settings.cluster_k]
        context: dict[str, Any] = {
            "source": post.source,
            "slug": post.slug,
            "url": post.url,
            "title": post.title,
            "date": _iso(post),
            "draft": post.draft,
            "related": [_item(posts[j], s) for j, s in zip(related_idx[i], related_scores[i]) if j >= 0],
            "cluster": {"id": c, "label": labels[c]} if c is not None else None,
            "cluster_latest": [_item(posts[j], vectors[i] @ vectors[j]) for j in latest],
            "cluster_popular": [
                {**_item(posts[j], vectors[i] @ vectors[j]), "popularity": posts[j].popularity} for j in popular
            ],
            "suggested_tags": [{"tag": t, "score": round(s, 4)} for t, s in suggestions[i]],
        }
        contexts[post.slug] = context

    site = {
        "encoder": {"id": encoder_id, "dim": int(vectors.shape[1]) if vectors.ndim == 2 else 0},
        "clusters": [
            {
                "id": c,
                "label": labels[c],
                "size": len(members[c]),
                "members": [_item(posts[i], None) for i in by_date[c]],
            }
            for c in range(len(centroids))
        ],
        "post_count": len(posts),
    }
    return Results(contexts, site)
