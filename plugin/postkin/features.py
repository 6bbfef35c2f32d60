"""The Features stage: what the similarity stage compares, read through the cache.

    features = extract(posts, settings, cache=cache)   # embeddings, lexical index, links
    features.vectors          # (n, d) float32, unit rows: the encoder's vectors of title + lede
    features.lexical          # TF-IDF of each post's whole text (lexical.LexicalIndex)
    features.links            # symmetric sparse (n, n) link weights, or None
    features.coview           # co-view vectors learnt from the site's reader logs (readers=True), or None

Only texts whose hash the cache lacks are embedded; only posts whose lexical text changed are
tokenised. `from_vectors` makes the same Features from vectors a caller already has (tests, eval).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import lexical, links
from .cache import EmbeddingCache
from .corpus import Post
from .encoders import Encoder, get_encoder
from .languages import centre_by_group, detector_kind, language_groups, post_languages
from .settings import Settings
from .text import text_hash

# Embed and store this many missing texts at a time: a killed build keeps every finished batch.
CHUNK = 256

Progress = Callable[[int, int], None]  # (done, total) texts embedded


@dataclass
class CoView:
    """What readers read together (setting reader_logs, issue #19): item2vec vectors learnt from the
    site's reading sessions (readers.item2vec.coview_vectors), row i for posts[i], zeros for a post
    without one; `confidence` (n,) in [0, 1) is each post's trust (readers.item2vec.confidence), 0 for those."""

    vectors: np.ndarray  # (n, d) float32, inner products are the co-view similarity
    confidence: np.ndarray  # (n,) float64


@dataclass
class Features:
    """Per-post features; row i of every matrix is posts[i]."""

    vectors: np.ndarray  # (n, d) float32 unit rows
    encoder_id: str
    lexical: lexical.LexicalIndex
    links: Any  # scipy.sparse csr (n, n) float64 symmetric link weights (setting related_links), or None
    embedded: int = 0  # texts embedded in this run
    indexed: int = 0  # posts tokenised in this run
    coview: CoView | None = None  # from the reader logs (extract(readers=True)); related posts only
    languages: list[str] = field(default_factory=list)  # each post's language (declared or detected)
    groups: np.ndarray | None = None  # (n,) int language group (languages.language_groups); None: one
    centred: np.ndarray | None = None  # (n, d) vectors with each language's offset removed (ranking, topics)

    @property
    def semantic(self) -> np.ndarray:
        """The vectors that rank and group posts: centred by language on a multilingual blog, else the
        encoder's own. Shown scores stay the encoder's cosines (`vectors`)."""
        return self.centred if self.centred is not None else self.vectors


def embed_text(post: Post, fields: Sequence[str]) -> str:
    """The exact text embedded for a post (title + lede by default)."""
    parts = {
        "title": [post.plain_title],
        "lede": [post.lede],
        "headings": post.headings,
        "body": [post.body],
    }
    return "\n".join(p for name in fields for p in parts[name] if p)


def lookup(texts: list[str], encoder: Encoder, cache: EmbeddingCache | None,
           ) -> tuple[list[str], dict[str, np.ndarray]]:
    """(hash of each text, the cached vectors found for them)."""
    hashes = [text_hash(t) for t in texts]
    return hashes, cache.get_many(encoder.cache_id, hashes) if cache is not None else {}


def embed(texts: list[str], encoder: Encoder, cache: EmbeddingCache | None, batch_size: int,
          progress: Progress | None = None, looked_up: tuple[list[str], dict[str, np.ndarray]] | None = None,
          ) -> tuple[np.ndarray, int]:
    """Vectors (len(texts), dim) float32 for texts, from the cache where present; returns (vectors,
    number embedded now). Missing texts are embedded CHUNK at a time, each chunk stored at once."""
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


def link_edges(posts: Sequence[Post], weight: float) -> Any:
    """Symmetric sparse (n, n) matrix: `weight` where one post links to the other, or None."""
    pairs = links.link_pairs(posts) if weight else []
    if not pairs:
        return None
    import scipy.sparse as sp

    i, j = np.array(pairs).T
    edges = sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(len(posts), len(posts))).tocsr()
    return ((edges + edges.T) > 0).astype(np.float64) * weight  # either direction counts once


def extract(posts: list[Post], settings: Settings, *, cache: EmbeddingCache | None = None,
            encoder: Encoder | None = None, progress: Progress | None = None, readers: bool = False) -> Features:
    """Embeddings (through the cache), the TF-IDF index and the link graph of `posts`.

    `readers` (a build; not tag suggestions): also read the logs of setting reader_logs, through the
    reader cache beside the embedding cache: page views become the popularity of posts that have none,
    and the sessions give `coview` (issue #19; see postkin.readers).

    Token counts found now are stored in the cache only after the embedding succeeded, so a build whose
    encoder fails leaves the cache as it was. Raises PostkinError when the encoder cannot load or the
    readers extra is missing.
    """
    encoder = encoder or get_encoder(settings)
    texts = [embed_text(p, settings.embed_fields) for p in posts]
    looked_up = lookup(texts, encoder, cache)
    if hasattr(encoder, "prefetch") and len(looked_up[1]) < len(set(looked_up[0])):
        # The model loads in background threads (zlib, numpy and sentencepiece, outside the GIL)
        # while the posts are tokenised and the TF-IDF is built, which need no vectors. The
        # tokenizer alone takes 0.35 s to parse: a warm build that embeds one edited title spends
        # that time building the TF-IDF instead of waiting.
        encoder.prefetch()
    langs, new_langs = post_languages(posts, cache)
    counts, new_counts = lexical.count_posts(posts, cache, langs)
    lex = lexical.build_index(counts)
    coview = None
    if readers and settings.reader_logs:  # while the model loads
        from .readers import reader_features

        coview = reader_features(posts, settings, cache.path.parent if cache is not None else None)
    vectors, embedded = embed(texts, encoder, cache, settings.batch_size, progress, looked_up)
    if cache is not None and new_counts:
        cache.put_tokens(lexical.TOKENIZER_VERSION, new_counts)
    if cache is not None and new_langs:
        cache.put_derived(detector_kind(), new_langs)
    return _with_languages(Features(vectors, encoder.cache_id, lex, link_edges(posts, settings.related_links),
                                    embedded=embedded, indexed=_counted(posts, langs, new_counts), coview=coview),
                           langs)


def _with_languages(features: Features, langs: list[str]) -> Features:
    """Features with the posts' languages, their groups and (on a multilingual blog) centred vectors."""
    groups = language_groups(langs)
    features.languages = langs
    if len(groups) and groups.max() > 0:
        features.groups = groups
        features.centred = centre_by_group(features.vectors, groups)
    return features


def _counted(posts: Sequence[Post], langs: list[str], new_counts: dict[str, lexical.TokenCounts]) -> int:
    """Posts whose token counts were computed now (posts with the same text count each)."""
    return sum(lexical.count_key(p, lang) in new_counts for p, lang in zip(posts, langs))


def from_vectors(posts: list[Post], vectors: np.ndarray, settings: Settings, *, encoder_id: str = "",
                 lexical_index: lexical.LexicalIndex | None = None) -> Features:
    """Features from vectors the caller already has (the TF-IDF is built now unless given)."""
    langs = post_languages(posts)[0]
    lex = lexical_index if lexical_index is not None else \
        lexical.build_index(lexical.count_posts(posts, None, langs)[0])
    return _with_languages(Features(np.asarray(vectors, np.float32), encoder_id, lex,
                                    link_edges(posts, settings.related_links)), langs)
