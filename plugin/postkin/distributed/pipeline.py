"""The pipeline with its heavy stages on a Dask cluster: postkin.pipeline.run, where embedding, topics
and tag suggestions are maps over the workers (embedding.embed, stages.find_topics, stages.suggest_tags);
the lexical index, the fused similarity, related posts and the contexts stay on the client.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from distributed import Client

from .. import pipeline
from ..corpus import Corpus, Post
from ..features import Progress, embed_text
from ..settings import Settings
from .embedding import embed
from .stages import find_topics, suggest_tags


def stage_functions(client: Client) -> pipeline.StageFunctions:
    """The Topics and TagSuggestions stages run on the client's cluster."""
    return pipeline.StageFunctions(topics=partial(find_topics, client), suggest=partial(suggest_tags, client))


def run(corpus: Corpus | list[Post], settings: Settings, client: Client, *, cache_dir: Path | None = None,
        progress: Progress | None = None) -> pipeline.Build:
    """pipeline.run with the texts the cache lacks embedded on the cluster (the client reads and writes
    the cache) and the Topics and TagSuggestions stages on it: the same Build as on one machine.
    Raises PostkinError as pipeline.run does."""
    started = time.perf_counter()
    corpus = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
    if not corpus.posts:
        return pipeline.run(corpus, settings, cache_dir=cache_dir)
    texts = [embed_text(p, settings.embed_fields) for p in corpus.posts]
    with pipeline.open_cache(cache_dir) as cache:
        _, embedded, served = embed(client, texts, settings, cache, progress=progress)
    build = pipeline.run(corpus, settings, cache_dir=cache_dir, encoder=served, functions=stage_functions(client))
    stats = build.stats
    stats.embedded, stats.cached = embedded, stats.posts - embedded
    stats.seconds = time.perf_counter() - started
    return build
