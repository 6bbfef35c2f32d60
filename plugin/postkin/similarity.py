"""Related posts: a fusion of similarity signals, then one query-expansion step.

Each signal is a matrix of post vectors whose inner products are cosines: the sentence embedding of
title + lede ("semantic"), the TF-IDF of the whole text ("lexical"), its LSI ("lsi"),
optionally the post's tags. Cosines of different signals live on different scales, so each is
z-scored per row over all other posts and then symmetrised, zs_ij = (z_ij + z_ji) / 2 (a hubness
correction: a post close to everything no longer crowds every list). The fused score is

    F0 = sum_s weight_s * zs_s,    F1 = F0 + (W F0 + F0 W^T) / 2

where W is the uniform 10-nearest-neighbour graph of F0 (one diffusion / query-expansion step: posts
that share neighbours move closer). Measured with tags as ground truth (Dice@4, benchmarks/quality.py):
18F 0.4729 and efcl 0.4157 against 0.4403 / 0.3868 for LSI alone (postkin eval, with links).

Links between posts are not a vector signal: a linked pair gets `edges` (1.0 z-units by default,
setting related_links) added to F0 before the diffusion step (18F: 546 linked pairs).

Co-view ("readers also read", learnt from the site's logs: features.CoView, issue #19) joins the
related-posts fusion only, with weight related_coview. It exists for the posts readers opened, so its
Signal carries a per-post `confidence`: rows are z-scored over those posts only and a pair counts
confidence_i * confidence_j, so co-view adds exactly 0 to F0 for every pair with a post no reader opened.

Adding a signal (categories...) is appending a `Signal(name, vectors, weight)` to
the list `text_signals` returns: any post x feature matrix whose row inner products are the
similarity (e.g. L2-normalised rows of a sparse post x link-target matrix). Tag suggestions use the
same fused similarity, so they see the new signal too; measure both with benchmarks/quality.py.

The stage's value is `Similarity` (from `compute(posts, features, settings)`): the fused text
similarity that tag suggestions use, the related-posts similarity of the configured method, and the
TF-IDF Gram matrix both share.

Blogs (up to LARGE_SITE posts) get the exact n x n matrix in blocks of rows. Larger sites retrieve
CANDIDATES posts per post from the dense signals with `neighbours.build_index`, estimate the row
statistics from a fixed sample of columns, and fuse on the candidate pairs only (largesite.py, which
also keeps that fusion up to date edit by edit).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .neighbours import top_k_rows

if TYPE_CHECKING:
    from .corpus import Post
    from .features import Features
    from .settings import Settings

LARGE_SITE = 5000  # above this many posts: candidate retrieval instead of the exact n x n scores
CANDIDATES = 100  # candidates per post on large sites
QE_K = 10  # neighbours in the query-expansion step
BLOCK_ENTRIES = 4_000_000  # scores held at once on large sites (32 MB of float64)


@dataclass
class Signal:
    """Post vectors (dense array or scipy sparse, rows L2-normalised: inner product = cosine)."""

    name: str
    vectors: Any
    weight: float = 1.0
    gram: np.ndarray | None = None  # vectors @ vectors.T if already computed (blogs only)
    # Per-post trust in [0, 1] for signals that exist for some posts only (co-view, issue #19): rows are
    # z-scored over the posts with confidence > 0, and pair (i, j) counts confidence_i * confidence_j, so
    # a post without data adds exactly 0 (an average z-score) to every pair it is in.
    confidence: np.ndarray | None = None
    # A lexical signal (words, or their LSI) is compared only between posts of one language group: see
    # FusedSimilarity's `groups` and languages.py.
    lexical: bool = False
    # LSI only: U sqrt(w) / s (lexical.lsi_model), from which a large site's state keeps the projection
    # that folds a new post in
    fold: np.ndarray | None = None


def _sparse(a: Any) -> bool:
    return hasattr(a, "tocsr")


def _dot(a: Any, b: Any, dtype: Any = np.float64) -> np.ndarray:
    """a @ b.T as a dense array, whatever a and b are."""
    r = a @ b.T
    return np.asarray(r.toarray() if _sparse(r) else r, dtype=dtype)


def gram(a: Any, dtype: Any = np.float32, block: int = 1024) -> np.ndarray:
    """a @ a.T as a dense array, in blocks of rows: a sparse product of the whole would hold every
    pair as a sparse entry (12+ bytes each) before densifying."""
    n = a.shape[0]
    out = np.empty((n, n), dtype)
    for b in range(0, n, block):
        out[b:b + block] = _dot(a[b:b + block], a, dtype)
    return out


def pair_cosines(a: Any, rows: np.ndarray, cols: np.ndarray, block: int = 512) -> np.ndarray:
    """Cosine (inner product) of rows[t] and cols[t] for every pair t. Each value depends only on the
    two rows (dense: one float64 einsum per pair; sparse: a block product read at the pair), so a pair
    computed among others in a full fit equals the same pair computed alone by an update (largesite)."""
    out = np.zeros(len(rows), np.float64)
    if not _sparse(a):
        a = np.asarray(a)
        for s in range(0, len(rows), 65536):
            out[s:s + 65536] = np.einsum("ij,ij->i", a[rows[s:s + 65536]], a[cols[s:s + 65536]], dtype=np.float64)
        return out
    # sparse: group pairs by row block, one product per block against the columns it needs
    order = np.argsort(rows, kind="stable")
    r_sorted, c_sorted = rows[order], cols[order]
    bounds = np.searchsorted(r_sorted, np.arange(0, int(rows.max(initial=-1)) + block + 1, block))
    for b in range(len(bounds) - 1):
        lo, hi = bounds[b], bounds[b + 1]
        if lo == hi:
            continue
        ur, ri = np.unique(r_sorted[lo:hi], return_inverse=True)
        uc, ci = np.unique(c_sorted[lo:hi], return_inverse=True)
        out[order[lo:hi]] = _dot(a[ur], a[uc])[ri, ci]
    return out


class FusedSimilarity:
    """The fused score F1 between posts; `rows(r)` gives F1[r, :] (self on the diagonal is 0)."""

    def __init__(self, signals: list[Signal], qe_k: int = QE_K, large_site: int | None = None,
                 backend: str = "auto", candidates: int | None = None, edges: Any = None,
                 keep_sum: bool = False, groups: np.ndarray | None = None, keys: list[str] | None = None) -> None:
        """`keep_sum`: keep the signals' summed z-scores (blogs only) for one later `plus`; `groups`:
        (n,) language group of each post (languages.language_groups), None or all zeros for one; `keys`:
        each post's key, which picks the sample of a large site's row statistics (largesite.stats_sample);
        `large_site`: above this many posts, candidate retrieval of `candidates` posts per post (default:
        LARGE_SITE and CANDIDATES, read at each call)."""
        large_site = LARGE_SITE if large_site is None else large_site
        candidates = CANDIDATES if candidates is None else candidates
        self._options = (qe_k, large_site, backend, candidates, edges, groups)
        self.keys = keys
        self.engine: Any = None  # a large site's largesite.Candidates
        self.groups = groups if groups is not None and len(groups) and groups.max() > 0 else None
        self._sum: np.ndarray | None = None
        self.signals = [s for s in signals if s.weight and s.vectors.shape[1] > 0]
        # Links between posts: a symmetric sparse (n, n) matrix of weights in z-score units, added to F0.
        self.edges = edges.tocoo() if edges is not None and edges.nnz else None
        self.n = n = signals[0].vectors.shape[0] if signals else 0
        self.qe_k = max(0, min(qe_k, n - 1))
        self.large = n > large_site
        self.block = max(64, BLOCK_ENTRIES // max(n, 1)) if self.large else max(n, 1)
        self._full: np.ndarray | None = None
        self._sparse: Any = None
        self.cross_scale: float | None = None  # the calibration of cross-language pairs (see _calibrate)
        if not self.signals or n == 0:
            self._full = np.zeros((n, n))
        elif not self.large:
            self._exact(np.zeros((n, n), np.float32), self.signals, keep_sum)
        else:
            self._candidates(backend, candidates)

    # ------------------------------------------------------------------ blogs: exact n x n
    def _exact(self, F: np.ndarray, signals: list[Signal], keep_sum: bool = False) -> None:
        """F1 from F, the z-scores already summed (zeros, or a kept sum), plus those of `signals`."""
        # float32: a 5,000-post site needs 100 MB per matrix, and scores are rounded to 4 digits anyway
        n = self.n
        Z = np.empty((n, n), np.float32)  # one scratch matrix for every signal
        grouped = self.groups is not None and any(s.lexical for s in signals) and \
            any(s.name == "semantic" for s in signals)
        semantic_sum: np.ndarray | None = None
        for sig in signals:
            S = sig.gram if sig.gram is not None else gram(sig.vectors)
            d = S.diagonal().astype(np.float64)
            if grouped and sig.lexical:  # statistics over the posts that share the row's language
                m, s = _group_stats(S, d, self.groups)  # type: ignore[arg-type]  # grouped: not None
            elif sig.confidence is None:
                m = (S.sum(axis=1, dtype=np.float64) - d) / max(n - 1, 1)  # mean, spread over all *other* posts
                sq = np.einsum("ij,ij->i", S, S, dtype=np.float64)
                s = np.sqrt(np.maximum((sq - d * d) / max(n - 1, 1) - m * m, 0)) + 1e-9
            else:  # the same statistics over the posts that have this signal
                m, s = _known_stats(S, d, sig.confidence > 0)
            np.subtract(S, m[:, None].astype(np.float32), out=Z)
            Z *= (0.5 * sig.weight / s)[:, None].astype(np.float32)
            if sig.confidence is not None:
                c = sig.confidence.astype(np.float32)
                Z *= c[:, None]
                Z *= c[None, :]
            F += Z
            F += Z.T  # row z-scores, symmetrised
            if grouped and sig.name == "semantic":
                semantic_sum = Z + Z.T
            del S
        del Z
        if grouped and semantic_sum is not None:
            text = sum(s.weight for s in signals if s.lexical or s.name == "semantic")
            semantic = next(s.weight for s in signals if s.name == "semantic")
            self._calibrate(F, semantic_sum, text / semantic)
            del semantic_sum
        if keep_sum:
            self._sum = F.copy()
        if self.edges is not None:
            np.add.at(F, (self.edges.row, self.edges.col), self.edges.data.astype(np.float32))
        if self.qe_k:
            np.fill_diagonal(F, -np.inf)  # a post is not its own neighbour (no n x n copy to say so)
            nbr = top_k_rows(F, self.qe_k)[0]
        np.fill_diagonal(F, 0.0)
        if self.qe_k:
            WF = np.zeros((n, n), np.float32)  # W F0 (F0 is symmetric, so F0 W^T = (W F0)^T) ...
            for t in range(self.qe_k):  # ... one neighbour rank at a time: no (n, k, n) gather
                WF += F[nbr[:, t]]
            WF *= 0.5 / self.qe_k
            F += WF
            F += WF.T
            np.fill_diagonal(F, 0.0)
        self._full = F

    def _calibrate(self, F: np.ndarray, semantic_sum: np.ndarray, factor: float) -> None:
        """Cross-language pairs, in place: their lexical signals say nothing (different languages share
        few words), so their text score is the semantic one scaled to the weight of all text signals,
        then calibrated so that its spread over cross-language pairs equals the spread of the fused
        score over same-language pairs (both are z-scores, mean ~0): a post gets neighbours from
        another language exactly when they are as close in meaning as its own language's best.
        Measured on site_example (32 English, 14 Japanese posts), related Dice@4 English/Japanese:
        0.3435/0.0917 before, 0.2603/0.2682 semantic only, 0.3988/0.3348 with this and languages.py's
        centring."""
        groups = self.groups
        assert groups is not None
        n = self.n
        same_sq = same_n = cross_sq = cross_n = 0.0
        for b in range(0, n, 1024):
            r = slice(b, min(n, b + 1024))
            same = groups[r][:, None] == groups[None, :]
            same[np.arange(same.shape[0]), np.arange(b, min(n, b + 1024))] = False  # the diagonal
            cross = groups[r][:, None] != groups[None, :]
            same_sq += float(np.square(F[r], dtype=np.float64)[same].sum())
            same_n += float(same.sum())
            cross_sq += float(np.square(semantic_sum[r] * factor, dtype=np.float64)[cross].sum())
            cross_n += float(cross.sum())
        if not same_n or not cross_n or not cross_sq:
            return
        self.cross_scale = scale = float(np.sqrt((same_sq / same_n) / (cross_sq / cross_n))) * factor
        for b in range(0, n, 1024):
            r = slice(b, min(n, b + 1024))
            cross = groups[r][:, None] != groups[None, :]
            F[r][cross] = (semantic_sum[r] * scale)[cross]

    def plus(self, extra: list[Signal]) -> FusedSimilarity:
        """The fusion of this one's signals and `extra`, with the same options: equal to
        FusedSimilarity(signals + extra, ...). When this fusion kept its sum (keep_sum, blogs), only
        `extra` is z-scored and the sum is handed over (so once only); otherwise every signal is fused again."""
        if self._sum is None:
            qe_k, large_site, backend, candidates, edges, groups = self._options
            return FusedSimilarity(self.signals + extra, qe_k, large_site, backend, candidates, edges, groups=groups,
                                   keys=self.keys)
        out = copy.copy(self)
        out.signals = self.signals + [s for s in extra if s.weight and s.vectors.shape[1] > 0]
        F, self._sum = self._sum, None
        out._exact(F, out.signals[len(self.signals):])
        return out

    # ------------------------------------------------------------------ large sites: candidates
    def _candidates(self, backend: str, c: int) -> None:
        from . import largesite

        n = self.n
        signals = [largesite.Signal(s.name, s.weight, s.vectors, confidence=s.confidence) for s in self.signals]
        # row statistics from a sample of columns chosen by the posts' keys (the exact ones would cost n x n)
        sample = largesite.stats_sample(self.keys, n)
        self.engine = largesite.fit(signals, n, self.edges.tocsr() if self.edges is not None else None,
                                    c=c, qe_k=self.qe_k, sample=sample, backend=backend, block=self.block)
        self._sparse = self.engine.f1_matrix()

    # ------------------------------------------------------------------ access
    def rows(self, r: np.ndarray) -> np.ndarray:
        """F1[r, :] as float64; on large sites pairs outside the candidates are -inf."""
        r = np.asarray(r, np.int64)
        if self._full is not None:
            return self._full[r]
        sub = self._sparse[r]
        out = np.full((len(r), self.n), -np.inf)
        coo = sub.tocoo()
        out[coo.row, coo.col] = coo.data
        out[np.arange(len(r)), r] = 0.0
        return out


def _group_stats(S: np.ndarray, d: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and standard deviation of S over the other posts of the row's group."""
    m, s = np.zeros(len(d)), np.ones(len(d))
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        sub = S[np.ix_(idx, idx)]
        count = max(len(idx) - 1, 1)
        mg = (sub.sum(axis=1, dtype=np.float64) - d[idx]) / count
        sq = np.einsum("ij,ij->i", sub, sub, dtype=np.float64)
        m[idx] = mg
        s[idx] = np.sqrt(np.maximum((sq - d[idx] ** 2) / count - mg * mg, 0)) + 1e-9
    return m, s


def _known_stats(S: np.ndarray, d: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and standard deviation of S over the `known` columns other than the row's own."""
    k = known.astype(np.float32)
    count = np.maximum(known.sum() - known, 1).astype(np.float64)
    own = np.where(known, d, 0.0)
    m = (S @ k - own) / count
    sq = np.einsum("ij,ij,j->i", S, S, k, dtype=np.float64)
    s = np.sqrt(np.maximum((sq - own * own) / count - m * m, 0)) + 1e-9
    return m, s


@dataclass
class Similarity:
    """The fused similarities of a build: `text` (text signals and links: what tag suggestions use),
    `related` (the related_method's signals, plus tags if related_use_tags and co-view if the features
    have it), and the TF-IDF Gram matrix
    X X^T they were computed from (blogs only; None on large sites)."""

    text: FusedSimilarity
    related: FusedSimilarity
    lexical_gram: np.ndarray | None


# Signals of each related_method; 'hybrid' (TF-IDF + LSI + embedding, equal weights) is the default.
METHOD_SIGNALS = {"hybrid": ("lexical", "lsi", "semantic"), "lexical": ("lexical", "lsi"), "semantic": ("semantic",)}


def text_signals(features: Features) -> tuple[list[Signal], np.ndarray | None]:
    """Every text signal (TF-IDF, its LSI when there are terms, the embedding) and the TF-IDF Gram
    matrix (n, n) float32, computed once for blogs: it serves the TF-IDF cosines, the LSI and the tag
    centroids."""
    from . import lexical

    signals = []
    gram_matrix = None
    X = features.lexical.tfidf
    if X.shape[1]:
        gram_matrix = gram(X) if X.shape[0] <= LARGE_SITE else None
        Z, fold = lexical.lsi_model(X, gram=gram_matrix)
        signals += [Signal("lexical", X, gram=gram_matrix, lexical=True),
                    Signal("lsi", Z, lexical=True, fold=fold if X.shape[0] > LARGE_SITE else None)]
    signals.append(Signal("semantic", features.semantic))
    return signals, gram_matrix


def compute(posts: list[Post], features: Features, settings: Settings) -> Similarity:
    """The Similarity stage: fuse the features' signals (see the module docstring)."""
    from . import lexical, tags
    from .controls import ignored_tag

    signals, gram_matrix = text_signals(features)
    coview = None
    if features.coview is not None and settings.related_coview:  # issue #19: readers also read
        coview = Signal("coview", features.coview.vectors, settings.related_coview,
                        confidence=features.coview.confidence)
    text_only = settings.related_method == "hybrid" and not settings.related_use_tags
    # With co-view on its own, the related fusion is the text fusion plus one signal: it starts from
    # the text fusion's summed z-scores instead of z-scoring the text signals again.
    keys = [p.slug for p in posts]
    text = FusedSimilarity(signals, backend=settings.neighbors, edges=features.links,
                           keep_sum=text_only and coview is not None, groups=features.groups, keys=keys)
    related = text
    if text_only and coview is not None:
        related = text.plus([coview])
    elif not text_only:
        chosen = [s for s in signals if s.name in METHOD_SIGNALS[settings.related_method]] or signals[-1:]
        share = settings.related_use_tags
        if share:
            import scipy.sparse as sp

            # the tag signal gets `share` of the score, the text signals (1 - share) between them
            vocab = tags.vocabulary(posts, ignore=ignored_tag(settings))
            membership = lexical.l2_rows(vocab.membership.astype(np.float32))
            chosen = [dataclasses.replace(s, weight=s.weight * (1 - share)) for s in chosen]  # keeps s.gram
            chosen.append(Signal("tags", sp.csr_matrix(membership), share * len(chosen)))
        if coview is not None:  # related posts only: tag suggestions keep the text similarity
            chosen.append(coview)
        related = FusedSimilarity(chosen, backend=settings.neighbors, edges=features.links, groups=features.groups,
                                  keys=keys)
    return Similarity(text, related, gram_matrix)
