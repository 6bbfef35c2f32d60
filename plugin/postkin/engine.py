"""The engine: posts in, per-post context and site-wide data out. Knows nothing of any site generator.

    results = build(posts, settings)            # posts: list[Post], urls already set (or from url_pattern)
    results.posts["my-slug"]["related"]         # [{source, slug, title, url, date, score}, ...]
    results.site["clusters"]                    # dendrogram order: [{id, label, size, members}, ...]
"""

from __future__ import annotations

import contextlib
import logging
import time
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import clusters as clustering
from . import lexical, links, similarity, tags
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
    indexed: int = 0  # posts tokenised now for the lexical index (text changed or new)
    indexed_cached: int = 0  # posts whose token counts came from the cache
    seconds: float = 0.0


@dataclass
class Results:
    """Per-post context by slug, site-wide data, and build statistics."""

    posts: dict[str, dict[str, Any]]
    site: dict[str, Any]
    stats: Stats = field(default_factory=Stats)


def embed_text(post: Post, fields: tuple[str, ...]) -> str:
    """The exact text embedded for a post (title + lede by default)."""
    parts = {
        "title": [post.title],
        "lede": [post.lede],
        "headings": post.headings,
        "body": [post.body],
    }
    return "\n".join(p for name in fields for p in parts[name] if p)


def lookup(texts: list[str], encoder: Encoder, cache: EmbeddingCache | None) -> tuple[list[str], dict[str, np.ndarray]]:
    """(hash of each text, the cached vectors found for them)."""
    hashes = [text_hash(t) for t in texts]
    return hashes, cache.get_many(encoder.cache_id, hashes) if cache is not None else {}


def embed(texts: list[str], encoder: Encoder, cache: EmbeddingCache | None, batch_size: int,
          progress: Progress | None = None, looked_up: tuple[list[str], dict[str, np.ndarray]] | None = None,
          ) -> tuple[np.ndarray, int]:
    """Vectors for texts, from the cache where present; returns (vectors, number embedded now)."""
    hashes, found = looked_up or lookup(texts, encoder, cache)
    model = encoder.cache_id
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


def _related(post: Post, cosine: float, fused: float, signals: dict[str, float] | None) -> dict[str, Any]:
    """A related item. Its `score` is the embedding cosine of the two posts, not the fused score that
    ordered the list: the fused score is normalised over the whole blog, so one edited post nudges every
    post's scores in the 4th decimal and every output file would be rewritten for nothing. The cosine
    changes only when one of the two posts changes. With `signals`, the fused score is shown too."""
    item = _item(post, cosine)
    if signals is not None:
        item["signals"] = {"fused": round(float(fused), 4), **{name: round(float(c), 4) for name, c in signals.items()}}
    return item


def _tag(suggestion: tags.Suggestion, signals: bool) -> dict[str, Any]:
    # The probability comes from a model fitted on the whole blog, so any edit nudges every post's
    # probabilities. One decimal keeps that from rewriting pages: after a body edit on site_example,
    # 15 of 46 contexts changed at two decimals.
    item: dict[str, Any] = {"tag": suggestion.tag, "score": round(suggestion.score, 1)}
    if signals and suggestion.signals is not None:
        item["signals"] = {name: round(c, 4) for name, c in suggestion.signals.items()}
    return item


@contextlib.contextmanager
def one_blas_thread():
    """numpy's BLAS on one thread inside the block: the matrices of a blog are small, and BLAS threads
    fighting for shared cores made the fused similarity 14x slower (8.5 s vs 0.6 s on 2 busy cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with the bundled encoder
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


@contextlib.contextmanager
def open_cache(cache_dir: Path | None):
    """The cache in cache_dir, or None when there is no cache folder."""
    if cache_dir is None:
        yield None
        return
    with EmbeddingCache(cache_dir) as cache:
        yield cache


def prepare(posts: list[Post], settings: Settings, *, encoder: Encoder | None = None,
            cache_dir: Path | None = None, progress: Progress | None = None,
            ) -> tuple[np.ndarray, int, Encoder, lexical.LexicalIndex, int]:
    """Everything a build reads through the cache: (vectors, embedded now, encoder,
    TF-IDF index of the posts' lexical text, posts tokenised now)."""
    encoder = encoder or get_encoder(settings)
    texts = [embed_text(p, settings.embed_fields) for p in posts]
    with open_cache(cache_dir) as cache:
        looked_up = lookup(texts, encoder, cache)
        if hasattr(encoder, "prefetch") and len(looked_up[1]) < len(set(looked_up[0])):
            # The model loads in background threads (zlib, numpy and sentencepiece, outside the GIL)
            # while the posts are tokenised and the TF-IDF is built, which need no vectors. The
            # tokenizer alone takes 0.35 s to parse: a warm build that embeds one edited title spends
            # that time building the TF-IDF instead of waiting.
            encoder.prefetch()
        counts, counted = lexical.count_posts(posts, cache)
        lex = lexical.build_index(counts)
        vectors, embedded = embed(texts, encoder, cache, settings.batch_size, progress, looked_up)
    return vectors, embedded, encoder, lex, counted


def build(posts: list[Post], settings: Settings, *, encoder: Encoder | None = None,
          cache_dir: Path | None = None, progress: Progress | None = None) -> Results:
    """Related posts, clusters, cluster lists and tag suggestions for every post."""
    started = time.perf_counter()
    check_unique_slugs(posts)
    for post in posts:
        if not post.url:
            post.url = render_url(settings.url_pattern, post)
    vectors, embedded, encoder, lex, counted = prepare(posts, settings, encoder=encoder, cache_dir=cache_dir,
                                                       progress=progress)
    stats = Stats(posts=len(posts), embedded=embedded, cached=len(posts) - embedded,
                  indexed=counted, indexed_cached=len(posts) - counted)
    results = compute(posts, vectors, settings, encoder_id=encoder.cache_id, lexical_index=lex)
    stats.seconds = time.perf_counter() - started
    results.stats = stats
    return results


@dataclass
class Similarities:
    """The fused similarities of a build and the features they came from."""

    lexical: lexical.LexicalIndex | None
    text: similarity.FusedSimilarity  # text signals only: what tag suggestions use
    related: similarity.FusedSimilarity  # the related_method's signals (+ tags if related_use_tags)


# Signals of each related_method; 'hybrid' (TF-IDF + LSI + embedding, equal weights) is the default.
METHOD_SIGNALS = {"hybrid": ("lexical", "lsi", "semantic"), "lexical": ("lexical", "lsi"), "semantic": ("semantic",)}


def text_signals(vectors: np.ndarray, lex: lexical.LexicalIndex | None) -> list[similarity.Signal]:
    """Every text signal: TF-IDF, its LSI (when there are terms) and the embedding."""
    signals = []
    if lex is not None and lex.tfidf.shape[1]:
        X = lex.tfidf
        # a blog's X X^T is small: computed once, it serves the TF-IDF cosines and the LSI
        gram = similarity.gram(X) if X.shape[0] <= similarity.LARGE_SITE else None
        lex.gram = gram
        signals += [similarity.Signal("lexical", X, gram=gram), similarity.Signal("lsi", lexical.lsi(X, gram=gram))]
    signals.append(similarity.Signal("semantic", vectors))
    return signals


def similarities(posts: list[Post], vectors: np.ndarray, settings: Settings,
                 lexical_index: lexical.LexicalIndex | None = None) -> Similarities:
    """Lexical index (as `prepare` built it, else built now) and fused similarities of the posts."""
    lex = lexical_index if lexical_index is not None else lexical.build_index(lexical.count_posts(posts)[0])
    signals = text_signals(vectors, lex)
    edges = link_edges(posts, settings.related_links)
    text = similarity.FusedSimilarity(signals, backend=settings.neighbors, edges=edges)
    related = text
    if settings.related_method != "hybrid" or settings.related_use_tags:
        chosen = [s for s in signals if s.name in METHOD_SIGNALS[settings.related_method]] or signals[-1:]
        share = settings.related_use_tags
        if share:
            import scipy.sparse as sp

            # the tag signal gets `share` of the score, the text signals (1 - share) between them
            membership = lexical.l2_rows(tags.vocabulary(posts).membership.astype(np.float32))
            chosen = [dataclasses.replace(s, weight=s.weight * (1 - share)) for s in chosen]  # keeps s.gram
            chosen.append(similarity.Signal("tags", sp.csr_matrix(membership), share * len(chosen)))
        related = similarity.FusedSimilarity(chosen, backend=settings.neighbors, edges=edges)
    return Similarities(lex, text, related)


def link_edges(posts: list[Post], weight: float):
    """Symmetric sparse (n, n) matrix: `weight` where one post links to the other, or None."""
    pairs = links.link_pairs(posts) if weight else []
    if not pairs:
        return None
    import scipy.sparse as sp

    i, j = np.array(pairs).T
    edges = sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(len(posts), len(posts))).tocsr()
    edges = ((edges + edges.T) > 0).astype(np.float64) * weight  # either direction counts once
    return edges


def compute(posts: list[Post], vectors: np.ndarray, settings: Settings, encoder_id: str = "",
            lexical_index: lexical.LexicalIndex | None = None) -> Results:
    """Everything after embedding: numpy/scipy on the post vectors and the lexical index (tested with any vectors)."""
    n = len(posts)
    vectors = np.asarray(vectors, np.float32)
    recommendable = np.array([not p.draft for p in posts], dtype=bool)
    vocab = tags.vocabulary(posts, recommendable)
    with one_blas_thread():
        sims = similarities(posts, vectors, settings, lexical_index)
        related_idx, related_scores = similarity.related(sims.related, recommendable, settings.related_k)
        suggestions = tags.suggest(sims.text, vectors, sims.lexical, posts, vocab, settings.tags_k,
                                   explain=settings.signals)
        if settings.signals:
            ok = related_idx >= 0
            rows = np.broadcast_to(np.arange(n)[:, None], related_idx.shape)[ok]
            explained = {"semantic": vectors, "lexical": sims.lexical.tfidf}
            cosines = {name: np.zeros(related_idx.shape) for name in explained}
            for name, a in explained.items():
                cosines[name][ok] = similarity.pair_cosines(a, rows, related_idx[ok])

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
            "related": [
                _related(posts[j], vectors[i] @ vectors[j], s,
                         {name: cos[i, r] for name, cos in cosines.items()} if settings.signals else None)
                for r, (j, s) in enumerate(zip(related_idx[i], related_scores[i])) if j >= 0
            ],
            "cluster": {"id": c, "label": labels[c]} if c is not None else None,
            "cluster_latest": [_item(posts[j], vectors[i] @ vectors[j]) for j in latest],
            "cluster_popular": [
                {**_item(posts[j], vectors[i] @ vectors[j]), "popularity": posts[j].popularity} for j in popular
            ],
            "suggested_tags": [_tag(t, settings.signals) for t in suggestions[i]],
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
