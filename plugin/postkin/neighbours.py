"""Nearest neighbours by cosine (inner product of L2-normalised rows) behind one small interface.

`build_index(vectors, backend)` returns an object with `search(queries, k) -> (idx, scores)`.
`exact` is a blocked numpy matrix product: exact, deterministic, and never an n x n matrix in memory.
Approximate backends (faiss, ScaNN) register themselves here too, importing their library only
when used.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Protocol

import numpy as np

from .errors import PostkinError

# Rows of queries scored at once: at most 1024, and fewer for large n so that a block's scores and
# argpartition's int64 indices stay near BLOCK_BYTES (at 692,821 vectors a fixed 1024 rows peaked at 10.8 GB).
BLOCK = 1024
BLOCK_BYTES = 256 * 2**20


def block_rows(n: int) -> int:
    """Query rows per block against n vectors: 4-byte scores plus 8-byte indices within BLOCK_BYTES."""
    return max(1, min(BLOCK, BLOCK_BYTES // (12 * max(n, 1))))


class NeighbourIndex(Protocol):
    """A searchable set of vectors."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product: (indices int64 (q, k), scores float32 (q, k)); -1 / -inf pad."""


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k columns of each row, best first; ties broken by the lower column index (stable)."""
    n = scores.shape[1]
    k_eff = min(k, n)
    if k_eff <= 0:
        q = scores.shape[0]
        return np.full((q, k), -1, dtype=np.int64), np.full((q, k), -np.inf, dtype=np.float32)
    if k_eff < n:
        # argpartition is deterministic for the same input, so ties at the boundary resolve the
        # same way on every build; the sort below orders the chosen columns by (score, index).
        part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    else:
        part = np.broadcast_to(np.arange(n), scores.shape)
    sub = np.take_along_axis(scores, part, axis=1)
    order = np.take_along_axis(part, np.lexsort((part, -sub), axis=1), axis=1)
    top = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    idx = order.astype(np.int64)
    idx[~np.isfinite(top)] = -1
    if k_eff < k:
        pad = k - k_eff
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        top = np.pad(top, ((0, 0), (0, pad)), constant_values=-np.inf)
    return idx, top


class ExactIndex:
    """Brute force in blocks: the right choice for blogs (thousands of posts take milliseconds)."""

    name = "exact"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        idx = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        rows = block_rows(len(self.vectors))
        for start in range(0, len(queries), rows):
            block = queries[start:start + rows] @ self.vectors.T
            idx[start:start + rows], scores[start:start + rows] = top_k_rows(block, k)
        return idx, scores


_BACKENDS: dict[str, Callable[..., NeighbourIndex]] = {"exact": ExactIndex}


def register(name: str) -> Callable[[Callable[..., NeighbourIndex]], Callable[..., NeighbourIndex]]:
    """Decorator: register an index factory `(vectors, **options) -> NeighbourIndex` under `name`."""

    def wrap(factory: Callable[..., NeighbourIndex]) -> Callable[..., NeighbourIndex]:
        _BACKENDS[name] = factory
        return factory

    return wrap


# ----------------------------------------------------------------------------- approximate backends
# Parameters come from benchmarks/ann.py (692,821 x 512 USE-like vectors, 21,072 queries, top-10,
# 2 cores); see that file's docstring for the measured table.  Every library import happens inside
# the factory, so importing postkin never imports faiss, ScaNN or TensorFlow.


# faiss IVF defaults, scaled to n, from benchmarks/ann.py (692,821 x 512 USE-like vectors, 21,072
# queries, top-10, 2 cores).  The default storage "pca-pq4fs" scans 4-bit fast-scan codes of the
# vectors in a rotated PCA space of d/2 dims (USE-like vectors keep 86% of their variance in 256 of
# 512 dims, and their exact top-50 there holds 99.9% of the true top-10), so the coarse step and the
# codes cost half; candidates are re-ranked by 8-bit codes of the full vectors, then exact floats.
# Finer cells find more of the true neighbours per vector scanned (at 1/32 of the cells scanned:
# 1024 cells 0.89, 2048 0.92, 4096 0.95 of the top-10 among the candidates), so it uses ~10 sqrt(n)
# cells and probes 1/48 of them: recall@10 ~0.956.  The other storages keep ~5 sqrt(n) cells, 1/32.
IVF_DEFAULTS = {
    "nlist": lambda n: max(1, min(65_536, round(5 * np.sqrt(n)))),
    "nprobe": lambda nlist: min(nlist, max(8, round(nlist / 32))),
    "nlist_pca": lambda n: max(1, min(65_536, round(10 * np.sqrt(n)))),
    # small sites have few vectors per cell (n // 39 caps the cells): recall@10 0.95 needs ~96 probes
    # there (30,000 vectors: 16 probes 0.82, 96 probes 0.954; 100,000: 53 -> 0.93, 96 -> 0.956)
    "nprobe_pca": lambda nlist: min(nlist, max(96, round(nlist / 48))),
}
STORAGES = ("flat", "sq8", "pq4fs", "pca-pq4fs")


def pca_rotation(sample: np.ndarray, dim: int, seed: int) -> np.ndarray:
    """A (d, dim) matrix: the top `dim` principal directions of `sample`, then a random rotation.

    Not centred, so inner products of projected vectors approximate the original inner products (a
    centred PCA would add a per-vector bias to every score).  The rotation spreads the variance evenly
    over the dims: PCA alone piles it into the first product-quantizer blocks, and the 4-bit codes of
    those blocks lose the ranking (candidates holding the true top-10: 0.876 without, 0.919 with)."""
    x = np.asarray(sample, dtype=np.float64)
    cov = x.T @ x / max(len(x), 1)
    _, vecs = np.linalg.eigh(cov)
    top = vecs[:, ::-1][:, :dim]
    rot, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return np.ascontiguousarray((top @ rot).astype(np.float32))


def _f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def _pad_result(idx: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """int64 / float32 results, -1 / -inf where a library returned nothing, padded to k columns."""
    idx = np.asarray(idx).astype(np.int64, copy=False)
    scores = np.asarray(scores).astype(np.float32, copy=True)
    if idx.shape[1] < k:
        pad = k - idx.shape[1]
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    scores[idx < 0] = -np.inf
    idx[~np.isfinite(scores)] = -1
    return idx, scores


def _import_faiss():
    try:
        import faiss
    except ImportError as exc:
        raise PostkinError("this neighbours backend needs faiss: pip install 'postkin[ann]'") from exc
    return faiss


@contextmanager
def _faiss_threads(faiss, threads: int | None):
    """Run faiss on `threads` OpenMP threads inside the block (None: faiss's default, all cores)."""
    if not threads:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(threads))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


# Queries go to faiss in blocks: the IVF index answered 21,072 queries in 2.8 s in blocks of 1,024-4,096
# and in 3.3-4.1 s in one call (per-query tables and candidate lists outgrow the caches); 256 cost 5 s.
QUERY_BLOCK = 4096


class _FaissIndex:
    """Shared search for the faiss backends: `index.search` with per-index runtime parameters."""

    name = "faiss"

    def __init__(self, index, n: int, threads: int | None) -> None:
        self.index, self.n, self.threads = index, n, threads
        self.params: dict = {}

    build_params: frozenset[str] = frozenset()  # fixed once the index is built

    def set_search_params(self, **params) -> None:
        fixed = self.build_params & set(params)
        if fixed:
            raise PostkinError(f"{self.name}: {sorted(fixed)} are build parameters")
        unknown = set(params) - set(self.params)
        if unknown:
            raise PostkinError(f"{self.name}: unknown search parameters {sorted(unknown)}")
        self.params.update(params)
        self._apply()

    def _apply(self) -> None:
        pass

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = _f32(queries)
        if k <= 0 or self.n == 0:
            return (np.full((len(queries), max(k, 0)), -1, dtype=np.int64),
                    np.full((len(queries), max(k, 0)), -np.inf, dtype=np.float32))
        k_found = min(k, self.n)
        scores = np.empty((len(queries), k_found), np.float32)
        idx = np.empty((len(queries), k_found), np.int64)
        with _faiss_threads(_import_faiss(), self.threads):
            for start in range(0, len(queries), QUERY_BLOCK):
                stop = start + QUERY_BLOCK
                scores[start:stop], idx[start:stop] = self.index.search(queries[start:stop], k_found)
        return _pad_result(idx, scores, k)


@register("faiss-flat")
class FaissFlatIndex(_FaissIndex):
    """Exact inner product with faiss (IndexFlatIP): the fastest exact search here."""

    name = "faiss-flat"

    def __init__(self, vectors: np.ndarray, threads: int | None = None) -> None:
        faiss = _import_faiss()
        vectors = _f32(vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
        with _faiss_threads(faiss, threads):
            index.add(vectors)
        super().__init__(index, len(vectors), threads)


def _sample(vectors: np.ndarray, size: int, seed: int) -> np.ndarray:
    if size >= len(vectors):
        return vectors
    pick = np.sort(np.random.default_rng(seed).choice(len(vectors), size=size, replace=False))
    return _f32(vectors[pick])


@register("faiss-ivf")
class FaissIVFIndex(_FaissIndex):
    """Inverted lists over spherical k-means cells.  `storage`: flat (exact in the cell), sq8 (8-bit
    scalar), pq4fs (4-bit fast-scan PQ, 2 dims per code, like ScaNN's LUT16, re-ranked with exact
    floats), or pca-pq4fs (the default: pq4fs in a rotated PCA space of `reduce_dim` dims, re-ranked
    with 8-bit codes of the full vectors (`sq_refine_factor` x the next stage's count), then with
    exact floats (`refine_factor` x k))."""

    name = "faiss-ivf"
    build_params = frozenset({"nlist", "storage", "reduce_dim"})

    def __init__(self, vectors: np.ndarray, nlist: int | None = None, storage: str = "pca-pq4fs",
                 nprobe: int | None = None, refine_factor: int | None = None, sq_refine_factor: int = 5,
                 reduce_dim: int | None = None, train_size: int | None = None,
                 seed: int = 1234, threads: int | None = None) -> None:
        faiss = _import_faiss()
        vectors = _f32(vectors)
        n, d = vectors.shape
        if storage not in STORAGES:
            raise PostkinError(f"faiss-ivf: storage must be one of {list(STORAGES)}, not {storage!r}")
        if storage == "pq4fs" and d % 2:
            raise PostkinError("faiss-ivf: storage pq4fs needs an even dimension")
        pca = storage == "pca-pq4fs"
        dim = d
        if pca:  # halve dims that are large enough to have a tail to drop; PQ wants an even count
            dim = int(reduce_dim or (d // 2 if d >= 128 else d))
            dim = min(d, max(2, dim - dim % 2))
        if refine_factor is None:
            refine_factor = 2 if pca else 10
        nlist = int(nlist or IVF_DEFAULTS["nlist_pca" if pca else "nlist"](n))
        nlist = max(1, min(nlist, n // 39))  # faiss wants >= 39 training points per list
        refine = storage != "flat" and bool(refine_factor) and refine_factor > 1
        self.inner = None  # the SQ8 re-rank stage of pca-pq4fs (its k_factor is a search parameter)
        with _faiss_threads(faiss, threads):
            if nlist < 2:  # a handful of vectors: one list would be an exact scan, so do exactly that
                index, ivf, refine, pca = faiss.IndexFlatIP(d), None, False, False
                nlist, storage, dim = 1, "flat", d
            else:
                # 32 points per cell; a small index trains on up to 16,384 points (its PQ needs ~624)
                train = _sample(vectors, int(train_size or min(n, max(32 * nlist, 16_384 if pca else 0))), seed)
                if pca:
                    index, ivf = self._pca_index(faiss, train, d, dim, nlist, seed)
                else:
                    codes = {"flat": "Flat", "sq8": "SQ8", "pq4fs": f"PQ{d // 2}x4fs"}
                    spec = f"IVF{nlist},{codes[storage]}" + (",RFlat" if refine else "")
                    index = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
                    ivf = faiss.extract_index_ivf(index)
                    ivf.cp.seed = seed
                    ivf.cp.niter = 10  # k-means iterations: more cost build time, not recall here
                    ivf.cp.min_points_per_centroid = 1  # the sample size is chosen above: no warnings
                    ivf.cp.max_points_per_centroid = max(1, len(train) // nlist + 1)
                    index.train(train)
            for start in range(0, n, 65_536):  # in chunks: the PCA step copies what it adds
                index.add(vectors[start:start + 65_536])
        super().__init__(index, n, threads)
        self.ivf, self.refine = ivf, refine
        self.params = {"nlist": nlist, "storage": storage,
                       "nprobe": int(nprobe or IVF_DEFAULTS["nprobe_pca" if pca else "nprobe"](nlist)),
                       "refine_factor": int(refine_factor) if refine else 1}
        if pca:
            self.params.update(reduce_dim=dim, sq_refine_factor=int(sq_refine_factor))
        self._apply()

    def _pca_index(self, faiss, train: np.ndarray, d: int, dim: int, nlist: int, seed: int):
        """IndexRefineFlat(IndexRefine(IndexPreTransform(PCA+rotation, IVF-PQ-fast-scan), SQ8)):
        candidates from 4-bit codes of the reduced vectors, re-ranked by 8-bit codes of the full
        vectors, then by the exact floats."""
        proj = pca_rotation(train, dim, seed)
        transform = faiss.LinearTransform(d, dim, False)
        faiss.copy_array_to_vector(np.ascontiguousarray(proj.T).ravel(), transform.A)
        transform.is_trained = True
        reduced = _f32(train @ proj)
        kmeans = faiss.Kmeans(dim, nlist, niter=10, spherical=True, seed=seed,
                              min_points_per_centroid=1, max_points_per_centroid=len(reduced) // nlist + 1)
        kmeans.train(reduced)
        quantizer = faiss.IndexFlatIP(dim)
        quantizer.add(kmeans.centroids)
        ivf = faiss.IndexIVFPQFastScan(quantizer, dim, nlist, dim // 2, 4, faiss.METRIC_INNER_PRODUCT)
        ivf.pq.cp.min_points_per_centroid = 1  # tiny sets: no warning per sub-quantizer, they train fine
        ivf.train(reduced)
        pre = faiss.IndexPreTransform(transform, ivf)
        sq = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        sq.train(train)
        inner = faiss.IndexRefine(pre, sq)
        index = faiss.IndexRefineFlat(inner)
        self.inner = inner  # faiss's wrappers keep each part alive through the index that holds it
        return index, ivf

    def _apply(self) -> None:
        if self.ivf is None:
            return
        self.ivf.nprobe = max(1, min(self.params["nprobe"], self.params["nlist"]))
        if self.refine:
            self.index.k_factor = float(self.params["refine_factor"])
        if self.inner is not None:
            self.inner.k_factor = float(max(1, self.params["sq_refine_factor"]))


@register("faiss-hnsw")
class FaissHNSWIndex(_FaissIndex):
    """Hierarchical navigable small-world graph (IndexHNSWFlat), inner product.  Building on more
    than one thread inserts in a racy order: pass threads=1 for a reproducible graph."""

    name = "faiss-hnsw"
    build_params = frozenset({"M", "ef_construction"})

    def __init__(self, vectors: np.ndarray, M: int = 32, ef_construction: int = 80,
                 ef_search: int = 64, threads: int | None = None) -> None:
        faiss = _import_faiss()
        vectors = _f32(vectors)
        index = faiss.IndexHNSWFlat(vectors.shape[1], int(M), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(ef_construction)
        with _faiss_threads(faiss, threads):
            index.add(vectors)
        super().__init__(index, len(vectors), threads)
        self.params = {"M": int(M), "ef_construction": int(ef_construction), "ef_search": int(ef_search)}
        self._apply()

    def _apply(self) -> None:
        self.index.hnsw.efSearch = self.params["ef_search"]


def _import_scann():
    # ScaNN imports TensorFlow when it is installed: keep TF's start-up chatter out of build logs.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from scann.scann_ops.py import scann_ops_pybind
    except ImportError as exc:
        raise PostkinError(
            "the scann backend needs ScaNN 1.4.2 (and, if TensorFlow is installed, TensorFlow 2.20 with "
            f"tensorflow-text 2.20): pip install 'postkin[scann]' ({exc})") from exc
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
SCANN_DEFAULTS = {
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
        vectors = _f32(vectors)
        n = len(vectors)
        self.n, self.threads = n, int(threads or os.cpu_count() or 1)
        self.params: dict = {"dims_per_block": int(dims_per_block), "reorder": int(reorder)}
        self.searcher = None
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
        queries = _f32(queries)
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
        return _pad_result(np.asarray(idx, dtype=np.int64), scores, k)


def backends() -> list[str]:
    """Registered backend names (plus 'auto')."""
    return sorted(_BACKENDS) + ["auto"]


# 'auto' keeps exact search below this many vectors.  postkin queries every post against all posts
# (q = n), so exact costs ~n^2.  benchmarks/ann.py --auto-sizes (the database's first n vectors queried
# with themselves, build + search, 2 cores): exact 20.6 s / 84.5 s / 246 s at n = 30,000 / 60,000 /
# 100,000; the faiss IVF default 4.2 s / 9.6 s / 18.7 s at recall@10 0.954 / 0.950 / 0.956.  Below
# 50,000 posts exact costs under a minute and gives the exact neighbours; above it the index is 9x+
# cheaper at recall 0.95.
AUTO_INDEX_MIN = 50_000


def _faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(n: int) -> str:
    """The backend 'auto' picks for n vectors: exact below AUTO_INDEX_MIN, else faiss IVF (pca-pq4fs),
    else ScaNN, else exact.  faiss comes first: on the same 692,821 x 512 data and 21,072 queries (2
    cores) its defaults answered in 2.65 s at recall 0.960 (36.7x exact faiss's 97.1 s) against
    ScaNN's 4.80 s at 0.955 (21.5x of 103.1 s), built in 120 s instead of 315 s, without importing
    TensorFlow."""
    if n < AUTO_INDEX_MIN:
        return "exact"
    if _faiss_available():
        return "faiss-ivf"
    if scann_available():
        return "scann"
    return "exact"


def build_index(vectors: np.ndarray, backend: str = "auto", **options) -> NeighbourIndex:
    """An index over `vectors` (rows L2-normalised) with the named backend."""
    name = choose_backend(len(vectors)) if backend == "auto" else backend
    try:
        factory = _BACKENDS[name]
    except KeyError:
        raise PostkinError(f"unknown neighbors backend {backend!r}; available: {', '.join(backends())}") from None
    return factory(vectors, **options)
