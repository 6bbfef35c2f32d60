"""Lexical features of posts: language-agnostic tokens, TF-IDF and LSI (numpy + scipy.sparse).

The embedding sees a post's title, lede and headings; the lexical model sees its whole text, so the
two signals disagree usefully (see similarity.py for how they are fused). Measured on two real blogs
(English 18F, Japanese efcl), TF-IDF over words + adjacent-word bigrams with CJK runs as character
bigrams beat every word-only and character-n-gram variant, and LSI on top of it helped again.

Tokenising is the costly step, so each post's token counts are cached by (TOKENIZER_VERSION, sha256 of
its lexical text) in the embedding cache's SQLite file: a warm build tokenises only edited posts.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .text import strip_urls, text_hash

if TYPE_CHECKING:  # pragma: no cover
    from .cache import EmbeddingCache
    from .posts import Post

# Bump when tokens() or lexical_text() change what they produce: cached token counts are keyed by it.
TOKENIZER_VERSION = "tok2"

# CJK runs (kana, ideographs, hangul, half-width kana) become character bigrams, other scripts words.
_CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f"
_WORD = re.compile(rf"[^\W_{_CJK}]{{2,}}")
_CJK_SPLIT = re.compile(rf"([{_CJK}]+)")
_CJK_ONLY = re.compile(rf"[{_CJK}]+")

MIN_DF = 2  # a term in one post only says nothing about how posts relate
MAX_DF = 0.5  # a term in over half the posts is a function word, in any language: no stop list needed
LSI_DIM = 64


def _parts(post: Post) -> list[str]:
    lede = post.lede if post.lede and not post.body.startswith(post.lede[:40]) else ""
    title = post.plain_title
    return [p for p in [title, title, lede, *post.headings] if p]


def lexical_text(post: Post) -> str:
    """The text the lexical model reads: the title twice (it is the densest summary), the lede when the
    front matter gave one (else it is the body's first paragraph already), headings, body."""
    return "\n".join([*_parts(post), strip_urls(post.body)] if post.body else _parts(post))


def source_key(post: Post) -> str:
    """Cache key of a post's token counts: the hash of what lexical_text is made from, so a warm build
    need not strip the URLs of every body again (0.05 s for 18F) just to look its counts up."""
    return text_hash("\n".join([*_parts(post), "\x00", post.body]))


_TAGGER: Any = None


def japanese_words(run: str) -> list[str] | None:
    """The words of a run of Japanese text, by MeCab (fugashi with the bundled unidic-lite dictionary, a
    well-kept segmenter); None when it is not installed (character pairs are used then)."""
    global _TAGGER
    if _TAGGER is None:
        try:
            import fugashi

            _TAGGER = fugashi.Tagger()
        except (ImportError, RuntimeError):
            _TAGGER = False
    if _TAGGER is False:
        return None
    return [word.surface for word in _TAGGER(run)]


def tokens(text: str, word_bigrams: bool = True, lang: str = "") -> list[str]:
    """Tokens of lowercased text: words of >= 2 letters/digits (not all digits), bigrams of consecutive
    words in each non-CJK stretch, and for CJK runs: in a Japanese post (lang 'ja') MeCab's words, else
    character bigrams (a lone CJK character is kept).

    MeCab's words beat character pairs on the Japanese blog efcl (related Dice@4 0.4157 -> 0.4224, tags
    MAP@10 0.5047 -> 0.5120; words and pairs together 0.4119 / 0.4993, words and word pairs 0.4108 /
    0.5007). Chinese and Korean keep character pairs: no Chinese or Korean blog was at hand to measure a
    segmenter on."""
    text = text.lower()
    parts = _CJK_SPLIT.split(text)
    out: list[str] = []
    bigrams: list[str] = []
    # MeCab reads the whole text at once (one call per post, not per run: 98,424 calls took 3 s on
    # efcl); its words written in CJK characters stand for the runs, in order
    japanese = japanese_words(text) if lang == "ja" and len(parts) > 1 else None
    if japanese is not None:
        out += [w for w in japanese if _CJK_ONLY.fullmatch(w)]
    for n, segment in enumerate(parts):
        if n % 2:  # a CJK run (split() puts captured runs at odd positions)
            if japanese is None:
                out += [segment] if len(segment) == 1 else [segment[i:i + 2] for i in range(len(segment) - 1)]
        elif segment:
            words = [w for w in _WORD.findall(segment) if not w.isdigit()]
            out += words
            if word_bigrams and len(words) > 1:
                bigrams += [a + " " + b for a, b in zip(words, words[1:])]
    return out + bigrams


# A post's distinct tokens as 64-bit keys (first-seen order) and how often each occurs. Keys, not
# strings, are what the cache stores and the index is built from: a warm build then handles no token
# strings at all (building a vocabulary dict over a blog's ~600,000 cached token strings took longer
# than the rest of the TF-IDF).
TokenCounts = tuple[np.ndarray, np.ndarray]


def token_keys(toks: list[str]) -> np.ndarray:
    """Stable 64-bit keys of tokens: CRC-32 and Adler-32 of the UTF-8 bytes side by side (C speed; two
    of a blog's ~200,000 distinct tokens sharing a key is a ~1e-6 event, and would merge two rare terms)."""
    enc = [t.encode("utf-8") for t in toks]
    hi = np.fromiter(map(zlib.crc32, enc), dtype=np.uint64, count=len(enc))
    lo = np.fromiter(map(zlib.adler32, enc), dtype=np.uint64, count=len(enc))
    return (hi << np.uint64(32)) | lo


def token_counts(text: str, word_bigrams: bool = True, lang: str = "") -> TokenCounts:
    """Keys of a text's distinct tokens and how often each occurs."""
    counts = Counter(tokens(text, word_bigrams, lang))
    return token_keys(list(counts)), np.fromiter(counts.values(), dtype=np.uint32, count=len(counts))


@dataclass
class LexicalIndex:
    """TF-IDF rows of the posts, and which (unfiltered) tokens each post contains."""

    tfidf: Any  # scipy csr (n_posts, n_terms) float32, rows L2-normalised
    presence: Any  # scipy csr (n_posts, n_tokens) float32 0/1 over every token seen
    keys: np.ndarray  # sorted token keys: the columns of `presence`
    terms: np.ndarray | None = None  # uint64 (n_terms,): the token key of each TF-IDF column (sorted)
    idf: np.ndarray | None = None  # float32 (n_terms,): each column's idf

    def contains(self, phrases: list[str], langs: list[str] | None = None) -> np.ndarray:
        """(n_posts, len(phrases)) bool: every word / CJK token of the phrase occurs in the post (one
        sparse product per segmenter, no loop over posts). `langs`: each post's language, so a phrase is
        tokenised the way that post's text was (MeCab's words in Japanese posts)."""
        langs = langs if langs is not None else [""] * self.presence.shape[0]
        tools = np.array([segmenter(lang) for lang in langs])
        out = np.zeros((self.presence.shape[0], len(phrases)), bool)
        for tool in sorted(set(tools)):
            rows = np.flatnonzero(tools == tool)
            out[rows] = self._contains(phrases, "ja" if tool else "", rows)
        return out

    def _contains(self, phrases: list[str], lang: str, rows: np.ndarray) -> np.ndarray:
        import scipy.sparse as sp

        keys = self.keys
        cols: list[int] = []
        indptr = [0]
        usable = []
        for phrase in phrases:
            wanted = token_keys(list(dict.fromkeys(tokens(phrase, word_bigrams=False, lang=lang))))
            at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
            ok = bool(len(wanted)) and len(keys) > 0 and bool((keys[at] == wanted).all())
            usable.append(ok)
            cols.extend(at.tolist() if ok else [])
            indptr.append(len(cols))
        needed = sp.csr_matrix((np.ones(len(cols), np.float32), np.asarray(cols, np.int64), np.asarray(indptr)),
                               shape=(len(phrases), self.presence.shape[1]))
        hits = (self.presence[rows] @ needed.T).toarray()
        return (hits >= np.diff(needed.indptr)[None, :]) & np.asarray(usable, bool)[None, :]


def build_index(counts: list[TokenCounts], min_df: int = MIN_DF, max_df: float = MAX_DF) -> LexicalIndex:
    """TF-IDF from per-post token counts: sublinear tf 1 + ln tf, smooth idf ln((1+n)/(1+df)) + 1 (as
    scikit-learn), terms kept if min_df <= df <= max_df * n, rows L2-normalised.
    Columns are in key order, so the matrix depends only on the posts, never on cache history."""
    import scipy.sparse as sp

    n = len(counts)
    lengths = np.fromiter((len(k) for k, _ in counts), dtype=np.int64, count=n)
    all_keys = np.concatenate([k for k, _ in counts]) if n else np.zeros(0, np.uint64)
    tf = np.concatenate([c for _, c in counts]).astype(np.float32) if n else np.zeros(0, np.float32)
    keys, col = np.unique(all_keys, return_inverse=True)
    col = col.ravel()
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    presence = sp.csr_matrix((np.ones(len(col), np.float32), col, indptr), shape=(n, len(keys)))
    df = np.bincount(col, minlength=len(keys))
    kept = (df >= min(min_df, max(n - 1, 1))) & (df <= max(max_df * n, min_df))
    new_col = np.cumsum(kept) - 1  # column among the kept terms
    idf = (np.log((1.0 + n) / (1.0 + df[kept])) + 1.0).astype(np.float32)
    take = kept[col]
    rows = np.repeat(np.arange(n), lengths)[take]
    c = new_col[col[take]]
    w = (1.0 + np.log(tf[take])) * idf[c]
    norms = np.sqrt(np.bincount(rows, weights=w.astype(np.float64) ** 2, minlength=n))
    w = (w / np.where(norms > 0, norms, 1.0)[rows]).astype(np.float32)
    X = sp.csr_matrix((w, c, np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])),
                      shape=(n, int(kept.sum())))
    return LexicalIndex(X, presence, keys, keys[kept], idf)


def tfidf_rows(counts: list[TokenCounts], terms: np.ndarray, idf: np.ndarray) -> Any:
    """TF-IDF rows of posts under a kept model (the `terms` and `idf` of a LexicalIndex): scipy csr
    (len(counts), len(terms)) float32, each row equal, bit for bit, to the row build_index gave a post
    with these counts; tokens outside `terms` are left out. The incremental path of large sites
    (largesite.py) folds new and edited posts into the model of its last full fit this way."""
    import scipy.sparse as sp

    n = len(counts)
    lengths = np.fromiter((len(k) for k, _ in counts), dtype=np.int64, count=n)
    all_keys = np.concatenate([k for k, _ in counts]) if n else np.zeros(0, np.uint64)
    tf = np.concatenate([c for _, c in counts]).astype(np.float32) if n else np.zeros(0, np.float32)
    at = np.minimum(np.searchsorted(terms, all_keys), max(len(terms) - 1, 0))
    take = (terms[at] == all_keys) if len(terms) else np.zeros(len(all_keys), bool)
    rows = np.repeat(np.arange(n), lengths)[take]
    c = at[take]
    # the arithmetic of build_index, step for step
    w = (1.0 + np.log(tf[take])) * idf[c]
    norms = np.sqrt(np.bincount(rows, weights=w.astype(np.float64) ** 2, minlength=n))
    w = (w / np.where(norms > 0, norms, 1.0)[rows]).astype(np.float32)
    return sp.csr_matrix((w, c, np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])),
                         shape=(n, len(terms)))


def l2_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


# Posts up to this many: the LSI comes from an exact eigendecomposition of the TF-IDF Gram matrix
# (0.02 s at 509 posts, ~0.3 s at 1,000); more: a randomized subspace iteration on the sparse TF-IDF,
# which costs O(nnz) per pass where the Gram matrix would cost O(n^2).
EXACT_LSI_MAX = 1000


def lsi_weights(count: int, k: int) -> np.ndarray:
    """A soft cut-off for LSI's components: weight 1 / (1 + exp((t - k) / (k / 4))) for component t (0.5
    at k, 0.02 at 2k). A hard cut at k made the related posts of 18F jump whenever a post was added (the
    components near the cut swap with the ones just below it): 146 of 508 lists changed when one post
    was added, 61 with this; related Dice@4 0.4765 -> 0.4765 (18F), 0.4197 -> 0.4206 (efcl)."""
    t = np.arange(count, dtype=np.float64)
    return 1.0 / (1.0 + np.exp((t - k) / (k / 4)))


# The width of the soft cut-off of lsi(cut="value"), in natural-log units of the eigenvalue.
LSI_TAU = 0.15


def lsi_value_weights(eigvals: np.ndarray, k: int, tau: float = LSI_TAU) -> np.ndarray:
    """A soft cut-off for LSI's components by their *eigenvalue*, not their rank: weight
    1 / (1 + exp(-ln(lambda / lambda_k) / tau)) for eigenvalues (descending) `eigvals` of X X^T, 0.5 at the
    k-th eigenvalue lambda_k. The LSI Gram matrix U diag(lambda w) U^T is then a smooth function of X X^T
    (lambda -> lambda w(lambda)), so it moves by at most (1 + 1 / (4 tau)) times what the TF-IDF moves:
    eigenvectors of near-equal eigenvalues that rotate into each other for a one-sentence edit (18F's
    spectrum near k = 64 has gaps of 0.003) no longer carry different weights. With weights by rank
    (lsi_weights) that rotation moved 10 of the 16 related lists one sentence added to one 18F post
    changed; sentence edits of 10 posts spread over 18F rewrote 89 post files, 47 with this (tau 0.15;
    0.1: 73, 0.3: 38 but efcl tags MAP@10 0.5045). Dice@4 / MAP@10: 18F 0.4768 / 0.4137 -> 0.4738 /
    0.4100, efcl 0.4216 / 0.5128 -> 0.4203 / 0.5112."""
    lam = np.maximum(np.asarray(eigvals, np.float64), 1e-300)
    ref = lam[min(k, len(lam)) - 1]
    return 1.0 / (1.0 + np.exp(np.clip(-np.log(lam / ref) / tau, -700, 700)))


def lsi(X: Any, k: int = LSI_DIM, n_iter: int = 6, seed: int = 0, gram: np.ndarray | None = None,
        oversample: int = 16, cut: str = "value") -> np.ndarray:
    """Latent semantic indexing with a soft cut-off: the posts' coordinates on the TF-IDF's principal
    components, U * s * sqrt(w), with a sign convention and unit rows, (n, components) float32.

    cut="value" (the default, what builds use): w by eigenvalue (lsi_value_weights), over every
    component of the exact path whose weight is at least 1e-4; cut="rank": w by rank (lsi_weights) over
    2k components (the "LSI" anchor of postkin eval, the classic method).

    With `gram` (X X^T, a blog's, already computed for the cosines) and at most EXACT_LSI_MAX posts: an
    exact eigendecomposition of it. Otherwise a randomized truncated SVD of X (Halko et al. 2011, fixed
    seed) for 2k components with `oversample` extra vectors and `n_iter` subspace iterations, forming no
    n x n or terms x terms matrix."""
    return lsi_model(X, k, n_iter, seed, gram, oversample, cut)[0]


def lsi_model(X: Any, k: int = LSI_DIM, n_iter: int = 6, seed: int = 0, gram: np.ndarray | None = None,
              oversample: int = 16, cut: str = "value") -> tuple[np.ndarray, np.ndarray]:
    """lsi's coordinates (n, m) float32 and what folds a new post in: `fold` (n, m) float64, U * sqrt(w) / s
    with the same signs, so that the projection P = X^T fold (terms x m) gives a new TF-IDF row x its
    coordinates as l2_rows(x P) (Deerwester et al. 1990's folding-in: for a post of X, x P = U s sqrt(w)).
    Components with a zero singular value fold to 0."""
    import scipy.sparse as sp

    n = X.shape[0]
    m = min(2 * k, min(X.shape) - 1)
    if m < 2 or k < 2:
        return np.zeros((n, 0), np.float32), np.zeros((n, 0))
    if gram is not None and n <= EXACT_LSI_MAX:
        eigval, eigvec = np.linalg.eigh(np.asarray(gram, np.float64))
        order = np.argsort(-eigval, kind="stable")
        basis = eigvec
    else:
        rng = np.random.default_rng(seed)
        Xs = sp.csr_matrix(X, dtype=np.float64)
        XT = Xs.T.tocsr()

        def times_gram(Q: np.ndarray) -> np.ndarray:
            return np.asarray(Xs @ (XT @ Q))

        Q = np.linalg.qr(times_gram(rng.standard_normal((n, min(m + oversample, n)))))[0]
        for _ in range(n_iter):
            Q = np.linalg.qr(times_gram(Q))[0]
        # B = Q^T X: its singular pairs come from B B^T = Q^T (X X^T) Q
        BBt = Q.T @ times_gram(Q)
        eigval, eigvec = np.linalg.eigh((BBt + BBt.T) / 2)
        order = np.argsort(-eigval, kind="stable")[:m]
        basis = Q @ eigvec
    lam = np.maximum(eigval[order], 0)
    if cut == "rank":
        order, lam = order[:m], lam[:m]
        w = lsi_weights(m, k)[:len(order)]
    else:
        w = lsi_value_weights(lam, k)
        keep = w >= 1e-4
        order, lam, w = order[keep], lam[keep], w[keep]
    U = basis[:, order]
    Z = U * np.sqrt(lam * w)
    # SVD signs are arbitrary: make each component's largest entry positive, so output is stable.
    sign = np.where(Z[np.argmax(np.abs(Z), axis=0), np.arange(Z.shape[1])] < 0, -1.0, 1.0)
    Z *= sign
    s = np.sqrt(lam)
    fold = U * (np.sqrt(w) * sign / np.where(s > 1e-12, s, np.inf))
    return l2_rows(Z).astype(np.float32), fold


def segmenter(lang: str) -> str:
    """The name of the segmenter a post in `lang` is tokenised with ('' for the default rules): part of
    its token counts' cache key."""
    return "mecab" if lang == "ja" and japanese_words("日本") is not None else ""


def count_key(post: Post, lang: str = "") -> str:
    """Cache key of a post's token counts: its lexical parts, and the segmenter its language uses."""
    tool = segmenter(lang)
    return source_key(post) + (f"|{tool}" if tool else "")


def count_posts(posts: Iterable[Post], cache: EmbeddingCache | None = None, languages: list[str] | None = None,
                ) -> tuple[list[TokenCounts], dict[str, TokenCounts]]:
    """Token counts of every post, from the cache where present: (counts in post order, the counts
    computed now by `count_key`, which the caller stores once its build has succeeded). `languages`:
    each post's language (languages.post_languages), which picks the segmenter of CJK text."""
    posts = list(posts)
    langs = languages if languages is not None else [p.lang for p in posts]
    hashes = [count_key(p, lang) for p, lang in zip(posts, langs)]
    found = cache.get_tokens(TOKENIZER_VERSION, hashes) if cache is not None else {}
    new: dict[str, TokenCounts] = {}
    for h, post, lang in zip(hashes, posts, langs):
        if h not in found and h not in new:
            new[h] = token_counts(lexical_text(post), lang=lang if segmenter(lang) else "")
    found.update(new)
    return [found[h] for h in hashes], new
