"""Embedding as a map over partitions of texts, the encoder loaded once per worker.

    vectors, embedded, encoder = embed(client, texts, settings, cache)

The cache is the build's one SQLite embedding cache, read and written by the client: only the texts
whose hash it lacks go to the workers, and each partition's vectors are stored as soon as it comes
back, so a build killed half-way keeps every finished partition (as the single machine keeps every
finished CHUNK). Per-worker caches merged afterwards were not chosen: SQLite must not be shared over
a network file system, a worker that is replaced would lose its cache, and a vector (2 KB) costs far
less to send back than to compute (the bundled encoder makes ~200 a second per core). The same cache
then serves a later build on one machine, and the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from distributed import Client, as_completed

from ..cache import EmbeddingCache
from ..features import Progress
from ..settings import Settings
from ..text import text_hash
from .cluster import task_threads, worker_encoder

PARTITION = 1024  # texts per task: ~5 s of the bundled encoder on one core, against ~2 ms of Dask overhead


def _encoder_identity(settings: Settings) -> tuple[str, int]:
    """(cache id, dim) of this worker's encoder (builds the encoder; a model loads only if cache_id needs it)."""
    encoder = worker_encoder(settings)
    return encoder.cache_id, int(encoder.dim)


def _encode_partition(texts: list[str], settings: Settings) -> np.ndarray:
    """(len(texts), dim) float32 unit rows, by this worker's encoder, in batches of settings.batch_size."""
    with task_threads():
        encoder = worker_encoder(settings)
        size = settings.batch_size
        return np.concatenate([encoder.encode(texts[b:b + size]) for b in range(0, len(texts), size)])


@dataclass
class ServedEncoder:
    """An Encoder that serves vectors the cluster already made, by text hash: what the single-machine
    Features stage is given, so it embeds nothing itself."""

    cache_id: str
    dim: int
    vectors: dict[str, np.ndarray]
    name: str = "served"

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32: the vectors of these texts. Raises KeyError for a text not served."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.vectors[text_hash(t)] for t in texts]).astype(np.float32, copy=False)


def embed(client: Client, texts: Sequence[str], settings: Settings, cache: EmbeddingCache | None = None,
          partition: int = PARTITION, progress: Progress | None = None,
          ) -> tuple[np.ndarray, int, ServedEncoder]:
    """Vectors (len(texts), dim) float32 unit rows of `texts` by the encoder of `settings`, the texts the
    cache lacks embedded on the cluster, `partition` distinct texts per task; returns (vectors, number
    embedded now, a ServedEncoder holding them). Raises PostkinError (the workers' encoder cannot load,
    the cache fails); a worker's other exceptions propagate as Dask raises them."""
    identity = client.submit(_encoder_identity, settings, pure=False).result()
    cache_id, dim = identity
    hashes = [text_hash(t) for t in texts]
    found = cache.get_many(cache_id, hashes) if cache is not None else {}
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in found and h not in missing:
            missing[h] = t
    todo = list(missing.items())
    parts = [todo[s:s + partition] for s in range(0, len(todo), max(1, partition))]
    futures = client.map(_encode_partition, [[t for _, t in part] for part in parts], settings=settings,
                         pure=False)
    which = {future.key: part for future, part in zip(futures, parts)}
    done = 0
    for future in as_completed(futures, loop=client.loop):
        new = {h: v for (h, _), v in zip(which[future.key], future.result())}
        if cache is not None:
            cache.put_many(cache_id, new)
        found.update(new)
        done += len(new)
        if progress is not None:
            progress(done, len(todo))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        out[i] = found[h]
    return out, len(todo), ServedEncoder(cache_id, dim, found)
