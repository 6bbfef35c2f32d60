"""faiss backends for large sites: exact flat search, IVF with PCA + 4-bit fast-scan codes, and HNSW.

Registered with `postkin.neighbours` under "faiss-flat", "faiss-ivf" and "faiss-hnsw"; faiss itself is
imported only when an index is built.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ..errors import PostkinError
from ..neighbours import as_f32, pad_result, register

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


def _import_faiss():
    try:
        import faiss
    except ImportError as exc:
        raise PostkinError("this neighbours backend needs faiss, a postkin dependency: pip install faiss-cpu") from exc
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
        queries = as_f32(queries)
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
        return pad_result(idx, scores, k)


@register("faiss-flat")
class FaissFlatIndex(_FaissIndex):
    """Exact inner product with faiss (IndexFlatIP): the fastest exact search here."""

    name = "faiss-flat"

    def __init__(self, vectors: np.ndarray, threads: int | None = None) -> None:
        faiss = _import_faiss()
        vectors = as_f32(vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
        with _faiss_threads(faiss, threads):
            index.add(vectors)
        super().__init__(index, len(vectors), threads)


def _sample(vectors: np.ndarray, size: int, seed: int) -> np.ndarray:
    if size >= len(vectors):
        return vectors
    pick = np.sort(np.random.default_rng(seed).choice(len(vectors), size=size, replace=False))
    return as_f32(vectors[pick])


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
        vectors = as_f32(vectors)
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
        reduced = as_f32(train @ proj)
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
        vectors = as_f32(vectors)
        index = faiss.IndexHNSWFlat(vectors.shape[1], int(M), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(ef_construction)
        with _faiss_threads(faiss, threads):
            index.add(vectors)
        super().__init__(index, len(vectors), threads)
        self.params = {"M": int(M), "ef_construction": int(ef_construction), "ef_search": int(ef_search)}
        self._apply()

    def _apply(self) -> None:
        self.index.hnsw.efSearch = self.params["ef_search"]
