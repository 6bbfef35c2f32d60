"""The fused similarity of large sites on candidate pairs, fitted in full or kept up to date edit by edit.

Above similarity.LARGE_SITE posts no n x n matrix is formed (see similarity.py): each post retrieves
`c` candidates by the dense signals (one index over [LSI, embedding], inner product = their summed
cosines), the unordered pairs that either side retrieved (and linked pairs) make a symmetric pattern,
and the fused score lives on that pattern only:

    F0_ij = sum_s weight_s / 2 * ((cos_s(i, j) - m_s,i) / sd_s,i + (cos_s(i, j) - m_s,j) / sd_s,j) + link_ij
    F1    = F0 + (W F0 + (W F0)^T) / 2     on the pattern (W: the uniform QE_K-nearest graph of F0)

with each row's mean m and spread sd of every signal estimated over a fixed sample of about
STATS_SAMPLE posts. `fit` computes it all; `Candidates.update` recomputes, after some posts changed,
exactly the parts that depend on them, given the row statistics of the other posts (kept from the last
fit: an edit moves another row's statistics by at most one sample column in STATS_SAMPLE):

- the candidate lists of the changed posts, and of the posts whose list they enter or leave;
- the pattern where those lists changed, F0 on every pair with a changed post or a new pair;
- each row's QE_K nearest where its F0 row changed, W F0 on the rows whose nearest (or their rows)
  changed, and so F1 on those rows and their columns.

The sample is chosen by a hash of each post's key, not by position: adding a post then changes the
sample by at most a post (a sample drawn by position changed entirely with the number of posts, which
moved every row's statistics and reordered lists all over a 20,000-post site whenever a post was added).
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .neighbours import ExactIndex, build_index, top_k_rows
from .similarity import _dot, _sparse, pair_cosines

STATS_SAMPLE = 2000  # columns sampled for the row statistics


def stats_sample(keys: Sequence[str] | None, n: int, size: int = STATS_SAMPLE) -> np.ndarray:
    """Sorted indices of the posts whose statistics columns estimate every row's mean and spread: all
    posts up to `size`, else those whose key hashes (CRC-32) below size / n of the range (about `size`
    of them; keys: each post's key, None: its position)."""
    if n <= size:
        return np.arange(n)
    names = keys if keys is not None else [str(i) for i in range(n)]
    hashes = np.fromiter((zlib.crc32(k.encode("utf-8")) for k in names), dtype=np.uint64, count=n)
    return np.flatnonzero(hashes < np.uint64(int(size / n * 2**32)))


def row_stats(rows: Any, sample: Any, row_ids: np.ndarray, sample_ids: np.ndarray,
              known: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread (+1e-9) of each row's cosines with the sample's posts, itself left out; `known`:
    bool per sample post (None: all), the others left out too (a signal some posts lack)."""
    S = _dot(rows, sample)
    S[row_ids[:, None] == sample_ids[None, :]] = np.nan
    if known is not None:
        S[:, ~known] = np.nan
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no known column: stats 0
        return np.nan_to_num(np.nanmean(S, axis=1)), np.nan_to_num(np.nanstd(S, axis=1)) + 1e-9


@dataclass
class Signal:
    """One signal as the engine reads it: its weight, and either every post's vectors (`vectors`: a dense
    array or scipy sparse matrix, inner product = cosine) or a way to fetch some posts' rows (`fetch`: the
    incremental path does not hold the TF-IDF of every post), with an optional per-post confidence."""

    name: str
    weight: float
    vectors: Any = None
    fetch: Callable[[np.ndarray], Any] | None = None
    confidence: np.ndarray | None = None

    @property
    def dense(self) -> bool:
        return self.vectors is not None and not _sparse(self.vectors)

    def rows(self, idx: np.ndarray) -> Any:
        """The vectors of posts idx."""
        if self.vectors is not None:
            return self.vectors[idx]
        assert self.fetch is not None, f"signal {self.name} has neither vectors nor fetch"
        return self.fetch(idx)


def _entry_rows(indptr: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))


def _slices(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions of every entry of `rows` (in row order, each row's entries in order)."""
    starts, ends = indptr[rows], indptr[rows + 1]
    lengths = ends - starts
    if not len(rows) or not lengths.sum():
        return np.zeros(0, np.int64)
    offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + offsets


@dataclass
class Candidates:
    """A large site's candidate lists, row statistics and fused scores on the candidate pattern (a
    symmetric CSR matrix with sorted columns and no diagonal), row i = post i."""

    found: np.ndarray  # (n, c + 1) int64: each post's nearest by the dense signals (itself among them), -1 pad
    kth: np.ndarray  # (n,) float32: the score of its last one (a post scoring above it enters the list)
    mean: np.ndarray  # (n, signals) float64: each row's mean cosine with the sample, per signal
    std: np.ndarray  # (n, signals) float64: and its spread (+1e-9)
    indptr: np.ndarray  # (n + 1,) int64
    indices: np.ndarray  # (nnz,) int64: column of each entry
    f0: np.ndarray  # (nnz,) float64: F0 on the pattern
    wf: np.ndarray  # (nnz,) float64: (W F0) on the pattern
    nbr: np.ndarray  # (n, qe_k) int64: each row's QE_K nearest by F0 (-1 pad)

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    def keys(self) -> np.ndarray:
        """row * n + column of every entry, sorted (the pattern's own order)."""
        return _entry_rows(self.indptr) * self.n + self.indices

    def f1(self, rows: np.ndarray, keys: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positions, F1 values) of the entries of `rows`: F0 + (WF + WF^T) / 2."""
        at = _slices(self.indptr, rows)
        keys = self.keys() if keys is None else keys
        r = np.repeat(rows, np.diff(self.indptr)[rows])
        back = np.searchsorted(keys, self.indices[at] * self.n + r)  # (j, i) of each (i, j): the pattern is symmetric
        return at, self.f0[at] + 0.5 * (self.wf[at] + self.wf[back])

    def f1_matrix(self) -> Any:
        """F1 as a scipy csr matrix (n, n)."""
        import scipy.sparse as sp

        n = self.n
        _, data = self.f1(np.arange(n))
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(n, n))


def _top_by_row(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The k columns of largest value in each of `rows` (ties to the lower column), -1 padded."""
    out = np.full((len(rows), k), -1, np.int64)
    at = _slices(indptr, rows)
    if not len(at) or k == 0:
        return out
    r = np.repeat(np.arange(len(rows)), np.diff(indptr)[rows])
    order = np.lexsort((indices[at], -data[at], r))
    r, c = r[order], indices[at][order]
    start = np.searchsorted(r, np.arange(len(rows)))
    rank = np.arange(len(r)) - start[r]
    keep = rank < k
    out[r[keep], rank[keep]] = c[keep]
    return out


def _wf(cand: Candidates, at: np.ndarray, keys: np.ndarray, qe_k: int) -> np.ndarray:
    """W F0 at the entries `at`: the mean of F0[u, j] over each entry's row's QE_K nearest u (a pair
    outside the pattern counts as 0, a typical z-score)."""
    r = _entry_rows(cand.indptr)[at] if len(at) else np.zeros(0, np.int64)
    cols = cand.indices[at]
    wf = np.zeros(len(at))
    n = cand.n
    for t in range(qe_k):
        k_rows = cand.nbr[r, t]
        valid = k_rows >= 0
        probe = np.where(valid, k_rows * n + cols, -1)
        hit_at = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
        hit = valid & (keys[hit_at] == probe)
        wf += np.where(hit, cand.f0[hit_at], 0.0)
    return wf / qe_k if qe_k else wf


def _f0_pairs(signals: list[Signal], mean: np.ndarray, std: np.ndarray, pi: np.ndarray, pj: np.ndarray,
              edges: Any) -> np.ndarray:
    """F0 of the unordered pairs (pi < pj)."""
    f0 = np.zeros(len(pi))
    ends = np.unique(np.r_[pi, pj])
    li, lj = np.searchsorted(ends, pi), np.searchsorted(ends, pj)
    for s, sig in enumerate(signals):
        # the endpoints' rows only, unless the whole matrix is at hand (a pair's cosine depends only on
        # its two rows: the same either way)
        cos = pair_cosines(sig.vectors, pi, pj) if sig.vectors is not None else pair_cosines(sig.rows(ends), li, lj)
        z = (cos - mean[pi, s]) / std[pi, s] + (cos - mean[pj, s]) / std[pj, s]
        if sig.confidence is not None:
            z *= sig.confidence[pi] * sig.confidence[pj]
        f0 += (0.5 * sig.weight) * z
    if edges is not None:
        f0 += np.asarray(edges[pi, pj]).ravel()
    return f0


def _search(signals: list[Signal], queries: np.ndarray | None, k: int, backend: str) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest of `queries` (all posts: None) by the dense signals' weighted inner product."""
    dense = [s for s in signals if s.dense]
    total = sum(s.weight for s in dense)
    D = np.hstack([np.asarray(s.vectors, np.float32) * np.sqrt(s.weight / total) for s in dense])
    if queries is None:
        return build_index(D, backend).search(D, k)
    return ExactIndex(D).search(D[queries], k)


def fit(signals: list[Signal], n: int, edges: Any, *, c: int, qe_k: int, sample: np.ndarray,
        backend: str = "auto", block: int = 1024) -> Candidates:
    """Every part of the fused score of n posts on candidate pairs (see the module docstring). `edges`:
    symmetric sparse (n, n) link weights or None; `sample`: stats_sample's indices; `block`: rows whose
    statistics are computed at once."""
    import scipy.sparse as sp

    c = min(c, n - 1)
    if any(s.dense for s in signals):
        found, scores = _search(signals, None, c + 1, backend)
    else:  # one sparse signal: its own top scores, in blocks of rows
        A = signals[0].vectors
        parts = [top_k_rows(_dot(A[b:b + block], A), c + 1) for b in range(0, n, block)]
        found, scores = np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])
    kth = scores[:, -1].astype(np.float32)
    rows = np.repeat(np.arange(n), found.shape[1])
    cols = found.ravel()
    ok = (cols >= 0) & (cols != rows)
    rows, cols = rows[ok], cols[ok]
    coo = edges.tocoo() if edges is not None and edges.nnz else None
    if coo is not None:  # linked posts are always candidates of each other
        rows, cols = np.r_[rows, coo.row], np.r_[cols, coo.col]
    key = np.unique(np.minimum(rows, cols) * n + np.maximum(rows, cols))  # each unordered pair once
    pi, pj = key // n, key % n
    mean, std = np.empty((n, len(signals))), np.empty((n, len(signals)))
    for s, sig in enumerate(signals):
        sample_rows = sig.rows(sample)
        known = sig.confidence[sample] > 0 if sig.confidence is not None else None
        for b in range(0, n, block):
            ids = np.arange(b, min(n, b + block))
            mean[ids, s], std[ids, s] = row_stats(sig.rows(ids), sample_rows, ids, sample, known)
    f0 = _f0_pairs(signals, mean, std, pi, pj, edges if coo is not None else None)
    F0 = sp.coo_matrix((np.r_[f0, f0], (np.r_[pi, pj], np.r_[pj, pi])), shape=(n, n)).tocsr()
    F0.sort_indices()
    cand = Candidates(found.astype(np.int64), kth, mean, std, F0.indptr.astype(np.int64),
                      F0.indices.astype(np.int64), F0.data.astype(np.float64), np.zeros(F0.nnz),
                      np.full((n, qe_k), -1, np.int64))
    everything = np.arange(n)
    cand.nbr = _top_by_row(cand.indptr, cand.indices, cand.f0, everything, qe_k)
    if qe_k:
        cand.wf[:] = _wf(cand, np.arange(len(cand.f0)), cand.keys(), qe_k)
    return cand


INVALID = -2  # a candidate or QE neighbour that was removed from the site (remap): the row is recomputed


def remap(cand: Candidates, old_of_new: np.ndarray) -> tuple[Candidates, np.ndarray]:
    """The candidates in a new order of posts: old_of_new[i] is new post i's old row (-1: a new post,
    whose row is empty until `update` fills it). Returns them and a bool (n,) of the rows that lost a
    pattern entry (its post is gone). Removed posts in the candidate lists and QE neighbours become
    INVALID."""
    n_old, n = cand.n, len(old_of_new)
    new_of_old = np.full(n_old, -1, np.int64)
    kept = old_of_new >= 0
    new_of_old[old_of_new[kept]] = np.flatnonzero(kept)

    def relabel(lists: np.ndarray, width: int) -> np.ndarray:
        out = np.full((n, width), -1, np.int64)
        old = lists[old_of_new[kept]]
        out[kept] = np.where(old >= 0, new_of_old[np.maximum(old, 0)], -1)
        out[kept] = np.where((old >= 0) & (out[kept] < 0), INVALID, out[kept])
        return out

    found = relabel(cand.found, cand.found.shape[1])
    nbr = relabel(cand.nbr, cand.nbr.shape[1])
    kth = np.full(n, np.inf, np.float32)
    kth[kept] = cand.kth[old_of_new[kept]]
    mean, std = np.zeros((n, cand.mean.shape[1])), np.ones((n, cand.std.shape[1]))
    mean[kept], std[kept] = cand.mean[old_of_new[kept]], cand.std[old_of_new[kept]]
    rows = new_of_old[_entry_rows(cand.indptr)]
    cols = new_of_old[cand.indices]
    alive = (rows >= 0) & (cols >= 0)
    lost = np.zeros(n, bool)
    lost[rows[(rows >= 0) & (cols < 0)]] = True
    keys = rows[alive] * n + cols[alive]
    f0, wf = cand.f0[alive], cand.wf[alive]
    if len(keys) > 1 and not (np.diff(keys) > 0).all():  # posts changed their order: sort again
        order = np.argsort(keys, kind="stable")
        keys, f0, wf = keys[order], f0[order], wf[order]
    indptr = np.r_[0, np.cumsum(np.bincount(keys // n, minlength=n))].astype(np.int64)
    return Candidates(found, kth, mean, std, indptr, keys % n, f0, wf, nbr), lost


def _unordered(rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    ok = (rows >= 0) & (cols >= 0) & (rows != cols)
    rows, cols = rows[ok], cols[ok]
    return np.unique(np.minimum(rows, cols) * n + np.maximum(rows, cols))


def _in_lists(lists: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """bool: values[t] is in lists[rows[t]]."""
    if not len(rows):
        return np.zeros(0, bool)
    return (lists[rows] == values[:, None]).any(1)


def _edge_values(edges: Any, pi: np.ndarray, pj: np.ndarray) -> np.ndarray:
    if edges is None or not len(pi):
        return np.zeros(len(pi))
    return np.asarray(edges[pi, pj]).ravel()


@dataclass
class Update:
    """What an update changed: rows whose candidate list was searched again, rows whose F1 changed."""

    searched: np.ndarray
    f1_rows: np.ndarray


def update(cand: Candidates, signals: list[Signal], fresh: np.ndarray, edges: Any, old_edges: Any, *,
           c: int, qe_k: int, sample: np.ndarray, lost: np.ndarray | None = None, block: int = 1024) -> Update:
    """Bring `cand` (already remapped to the posts' order) up to date, in place, after the vectors of the
    `fresh` posts (bool (n,): edited or new) changed and the links went from `old_edges` to `edges`
    (symmetric sparse (n, n) in the new order, or None); the other rows keep their statistics. `lost`:
    rows that lost a pattern entry in remap. Gives the same scores as `fit` given those statistics."""
    n = cand.n
    V = np.flatnonzero(fresh)
    # 1. statistics of the fresh rows, over the sample
    for s, sig in enumerate(signals):
        known = sig.confidence[sample] > 0 if sig.confidence is not None else None
        sample_rows = sig.rows(sample) if len(V) else None
        for b in range(0, len(V), block):
            ids = V[b:b + block]
            cand.mean[ids, s], cand.std[ids, s] = row_stats(sig.rows(ids), sample_rows, ids, sample, known)
    # 2. candidate lists: the fresh posts', those that held a fresh or removed post, those a fresh post enters
    c = min(c, n - 1)
    redo = fresh | (cand.found == INVALID).any(1) | np.isin(cand.found, V).any(1)
    if len(V):
        dense = [s for s in signals if s.dense]
        total = sum(s.weight for s in dense)
        D = np.hstack([np.asarray(s.vectors, np.float32) * np.sqrt(s.weight / total) for s in dense])
        for b in range(0, len(V), 256):
            scores = D @ D[V[b:b + 256]].T
            redo |= (scores >= cand.kth[:, None]).any(1)
    searched = np.flatnonzero(redo)
    before = cand.found[searched].copy()
    if len(searched):
        found, scores = ExactIndex(D).search(D[searched], c + 1) if len(V) else \
            _search(signals, searched, c + 1, "exact")
        cand.found[searched], cand.kth[searched] = found, scores[:, -1]
    # 3. the pattern: pairs no list (nor link) holds any more leave it, new ones join it
    width = cand.found.shape[1]
    old_pairs = _unordered(np.repeat(searched, width), before.ravel(), n)
    new_pairs = _unordered(np.repeat(searched, width), cand.found[searched].ravel(), n)
    changed_edges = np.zeros(0, np.int64)
    if edges is not None or old_edges is not None:
        import scipy.sparse as sp

        diff = (edges if edges is not None else sp.csr_matrix((n, n))) - \
            (old_edges if old_edges is not None else sp.csr_matrix((n, n)))
        diff = sp.csr_matrix(diff)
        diff.eliminate_zeros()
        d = diff.tocoo()
        changed_edges = _unordered(d.row.astype(np.int64), d.col.astype(np.int64), n)
    keys = cand.keys()

    def present(unordered: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(keys, unordered), max(len(keys) - 1, 0))
        return (keys[at] == unordered) if len(keys) else np.zeros(len(unordered), bool)

    maybe_gone = np.union1d(np.setdiff1d(old_pairs, new_pairs), changed_edges)
    lo, hi = maybe_gone // n, maybe_gone % n
    held = _in_lists(cand.found, lo, hi) | _in_lists(cand.found, hi, lo) | (_edge_values(edges, lo, hi) != 0)
    drop = maybe_gone[~held & present(maybe_gone)]
    add = np.union1d(new_pairs, changed_edges[_edge_values(edges, changed_edges // n, changed_edges % n) != 0])
    add = add[~present(add)]

    def directed(unordered: np.ndarray) -> np.ndarray:
        a, b = unordered // n, unordered % n
        return np.sort(np.r_[a * n + b, b * n + a])

    keep = np.ones(len(keys), bool)
    keep[np.searchsorted(keys, directed(drop))] = False
    keys, f0, wf = keys[keep], cand.f0[keep], cand.wf[keep]
    new_keys = directed(add)
    at = np.searchsorted(keys, new_keys)
    keys = np.insert(keys, at, new_keys)
    f0, wf = np.insert(f0, at, 0.0), np.insert(wf, at, 0.0)
    cand.indptr = np.r_[0, np.cumsum(np.bincount(keys // n, minlength=n))].astype(np.int64)
    cand.indices, cand.f0, cand.wf = keys % n, f0, wf
    # 4. F0 of every pair with a fresh post, every new pair and every pair whose link changed
    with_fresh = _slices(cand.indptr, V)
    redo_pairs = np.union1d(_unordered(np.repeat(V, np.diff(cand.indptr)[V]), cand.indices[with_fresh], n),
                            np.union1d(add, changed_edges[present(changed_edges)]))
    pi, pj = redo_pairs // n, redo_pairs % n
    values = _f0_pairs(signals, cand.mean, cand.std, pi, pj, edges)
    at = np.r_[np.searchsorted(keys, pi * n + pj), np.searchsorted(keys, pj * n + pi)]
    old = cand.f0[at].copy()
    cand.f0[at] = np.r_[values, values]
    is_new = np.isin(keys[at], new_keys)
    f0_changed = at[(cand.f0[at] != old) | is_new]
    gone = directed(drop)  # entries that left the pattern: F0 is 0 there now
    entry_rows = _entry_rows(cand.indptr)
    # 5. QE. A row's QE neighbours change only where its F0 row changed; W F0 at (i, j) changes where
    # i's neighbours changed (the whole row), or where F0 changed at (u, j) for one of them, u.
    grown = np.zeros(n, bool)
    grown[new_keys // n] = True
    if lost is not None:
        grown |= lost
    grown[gone // n] = True
    R0 = np.zeros(n, bool)
    R0[entry_rows[f0_changed]] = True
    R0 |= grown
    f1_rows = R0.copy()
    if qe_k:
        rows0 = np.flatnonzero(R0)
        before_nbr = cand.nbr[rows0].copy()
        cand.nbr[rows0] = _top_by_row(cand.indptr, cand.indices, cand.f0, rows0, qe_k)
        whole = grown.copy()
        whole[rows0[(before_nbr != cand.nbr[rows0]).any(1)]] = True
        cols0 = np.zeros(n, bool)
        cols0[cand.indices[f0_changed]] = True
        cols0[gone % n] = True
        reads = np.isin(cand.nbr, rows0).any(1) & ~whole
        part = _slices(cand.indptr, np.flatnonzero(reads))
        at = np.r_[_slices(cand.indptr, np.flatnonzero(whole)), part[cols0[cand.indices[part]]]]
        old = cand.wf[at].copy()
        cand.wf[at] = _wf(cand, at, keys, qe_k)
        wf_changed = at[cand.wf[at] != old]
        f1_rows[entry_rows[wf_changed]] = True
        f1_rows[cand.indices[wf_changed]] = True  # F1 reads W F0 transposed
        f1_rows |= whole
    return Update(searched, np.flatnonzero(f1_rows))


def candidate_view(cand: Candidates) -> Any:
    """A similarity.FusedSimilarity whose rows are `cand`'s F1 (what related_posts and the tag
    suggestions read), -inf outside the pattern and 0 on the diagonal."""
    from .similarity import BLOCK_ENTRIES, FusedSimilarity

    class CandidateView(FusedSimilarity):
        def __init__(self) -> None:  # the fusion is done: nothing of FusedSimilarity's own to compute
            self.n = cand.n
            self.large = True
            self.block = max(64, BLOCK_ENTRIES // max(cand.n, 1))
            self._full = None
            self._keys = cand.keys()

        def rows(self, r: np.ndarray) -> np.ndarray:
            r = np.asarray(r, np.int64)
            out = np.full((len(r), self.n), -np.inf)
            at, values = cand.f1(r, self._keys)
            out[np.repeat(np.arange(len(r)), np.diff(cand.indptr)[r]), cand.indices[at]] = values
            out[np.arange(len(r)), r] = 0.0
            return out

    return CandidateView()
