"""ScaNN backend ("scann"): a k-means tree with SOAR spilling, anisotropic hashing and exact re-ranking.

ScaNN (and the TensorFlow it pulls in when installed) is imported only when an index is built.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import PostkinError
from ..neighbours import as_f32, pad_result, register


def _import_scann():
    # ScaNN imports TensorFlow when it is installed: keep TF's start-up chatter out of build logs.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from scann.scann_ops.py import scann_ops_pybind
    except ImportError as exc:
        raise PostkinError(
            "the scann backend needs ScaNN 1.4.2 (and, if TensorFlow is installed, TensorFlow 2.20 with "
            f"tensorflow-text 2.20): pip install 'postkin[ann]' ({exc})") from exc
    return scann_ops_pybind


def scann_available() -> bool:
    """True when ScaNN imports (it fails, for example, next to TensorFlow 2.21)."""
    try:
        _import_scann()
    except Exception:
        return False
    return True


# Below this many vectors ScaNN scores every vector with asymmetric hashing (no tree): partitions
# of fewer than a few hundred points cost more than they save.
SCANN_TREE_MIN = 20_000
# Measured at 692,821 x 512 (benchmarks/ann.py): 2000 leaves, SOAR spilling (lambda 1.5), 60 leaves
# searched, 2 dims per AH block, reorder 100 -> recall@10 0.955 at 7.8 CPU-s for 21,072 queries
# (exact faiss: 204 CPU-s).  Without SOAR the tree caps recall: 0.906 at 100 leaves, 0.930 at 150,
# and reordering more (250) adds nothing, so spilling is on by default.
SCANN_DEFAULTS: dict[str, Any] = {
    "num_leaves": lambda n: max(2, round(2.4 * np.sqrt(n))),
    "leaves_to_search": lambda leaves: max(1, round(leaves * 0.03)),
    "soar_lambda": 1.5,
}


@register("scann")
class ScannIndex:
    """ScaNN: spherical k-means tree (`num_leaves`, searching `leaves_to_search`; each vector also
    spilled to a second leaf by SOAR, `soar_lambda`, None: off) + anisotropic
    4-bit asymmetric hashing (`dims_per_block` dims per code) + exact float re-ranking of the
    `reorder` best candidates; batches of queries run in parallel on `threads` threads (same
    results as one thread).  Training runs on `training_threads` (default 1: reproducible)."""

    name = "scann"

    def __init__(self, vectors: np.ndarray, num_leaves: int | None = None,
                 leaves_to_search: int | None = None, dims_per_block: int = 2,
                 anisotropic_threshold: float = 0.2, reorder: int = 100,
                 training_sample_size: int | None = None, spherical: bool = True,
                 quantize_centroids: bool = False, soar_lambda: float | None = SCANN_DEFAULTS["soar_lambda"],
                 threads: int | None = None, training_threads: int = 1) -> None:
        scann_ops_pybind = _import_scann()
        vectors = as_f32(vectors)
        n = len(vectors)
        self.n, self.threads = n, int(threads or os.cpu_count() or 1)
        self.params: dict = {"dims_per_block": int(dims_per_block), "reorder": int(reorder)}
        self.searcher: Any = None
        if n == 0:
            return
        builder = scann_ops_pybind.builder(vectors, 10, "dot_product")
        if n >= SCANN_TREE_MIN:
            num_leaves = int(num_leaves or SCANN_DEFAULTS["num_leaves"](n))
            leaves_to_search = int(leaves_to_search or SCANN_DEFAULTS["leaves_to_search"](num_leaves))
            sample = int(training_sample_size or min(n, max(100_000, 50 * num_leaves)))
            builder = builder.tree(num_leaves=num_leaves, num_leaves_to_search=leaves_to_search,
                                   training_sample_size=sample, spherical=spherical,
                                   quantize_centroids=quantize_centroids, soar_lambda=soar_lambda,
                                   random_init=False)  # k-means++ seeding: reproducible trees
            self.params.update(num_leaves=num_leaves, leaves_to_search=leaves_to_search,
                               soar_lambda=soar_lambda)
        builder = builder.score_ah(int(dims_per_block), anisotropic_quantization_threshold=anisotropic_threshold)
        builder = builder.reorder(int(reorder))
        # ScaNN's multi-threaded training is not reproducible (k-means / AH codebooks differ from
        # run to run) and neither is its random k-means init; k-means++ on one training thread keeps
        # related posts identical across builds.
        builder.set_n_training_threads(int(training_threads))
        self.searcher = builder.build()
        self.searcher.set_num_threads(self.threads)

    def set_search_params(self, **params) -> None:
        unknown = set(params) - {"leaves_to_search", "reorder"}
        if unknown:
            raise PostkinError(f"scann: {sorted(unknown)} are build parameters or unknown")
        if "num_leaves" not in self.params:  # no tree below SCANN_TREE_MIN
            params.pop("leaves_to_search", None)
        self.params.update({key: int(value) for key, value in params.items()})

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = as_f32(queries)
        kk = min(k, self.n)
        if kk <= 0 or len(queries) == 0:
            return (np.full((len(queries), max(k, 0)), -1, dtype=np.int64),
                    np.full((len(queries), max(k, 0)), -np.inf, dtype=np.float32))
        extra = {"final_num_neighbors": kk, "pre_reorder_num_neighbors": max(kk, self.params["reorder"])}
        if "leaves_to_search" in self.params:
            extra["leaves_to_search"] = self.params["leaves_to_search"]
        if self.threads > 1 and len(queries) > 1:
            idx, scores = self.searcher.search_batched_parallel(queries, **extra)
        else:
            idx, scores = self.searcher.search_batched(queries, **extra)
        return pad_result(np.asarray(idx, dtype=np.int64), scores, k)
