"""postkin on a Dask cluster, for platform-sized corpora (the `distributed` extra).

The single-machine functions stay the unit of work; the cluster maps them over partitions, and what
they need again (the encoder's model, a shard of the neighbour index) lives once in each worker:

    from postkin import distributed as pd

    client = pd.connect()                                  # a local cluster of 2 worker processes
    client = pd.connect("tcp://scheduler:8786")            # or an existing cluster
    build = pd.run(corpus, settings, client, cache_dir=cache)          # = postkin.pipeline.run's Build
    vectors, embedded, _ = pd.embed(client, texts, settings, cache)    # model loaded once per worker
    with pd.ShardedIndex(client, vectors) as index:                    # one faiss shard per worker
        idx, scores = index.related(10)                                # every row's top-10 other rows
    pd.close(client)

Dask was chosen over Ray (benchmarks/distributed_engines.py, README "Beyond one machine"): 15 MB
installed against 199 MB, an idle local cluster in 97 MB against 388 MB, a faster start, and the same
speed on postkin's seconds-long tasks; Ray's lower per-task overhead (0.6 ms against 1.7 ms) and
shared-memory broadcasts do not matter at that size.
"""

from __future__ import annotations

try:
    import distributed as _distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    from ..errors import PostkinError

    raise PostkinError("postkin.distributed needs Dask: pip install 'postkin[distributed]'") from exc

from .cluster import close, connect, local_cluster, register_encoder, worker_threads
from .embedding import embed
from .index import ShardedIndex, merge_top_k
from .pipeline import run, stage_functions
from .stages import find_topics, suggest_tags

__all__ = ["ShardedIndex", "close", "connect", "embed", "find_topics", "local_cluster", "merge_top_k",
           "register_encoder", "run", "stage_functions", "suggest_tags", "worker_threads"]
