"""Tag vocabulary, tag suggestions and cluster labels.

Tags are compared case-insensitively (JavaScript = javascript) and shown in the blog's most used
spelling. A tag's vector is the mean of its posts' vectors: the source talk found this beats
embedding the tag name (MAP@10 0.5749 vs 0.3336), since rare technical terms are outside the model's
vocabulary. Suggestions fuse that with votes of similar posts and the lexical evidence (`suggest`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .corpus import Post

if TYPE_CHECKING:
    from .features import Features
    from .similarity import Similarity


def tag_key(tag: str) -> str:
    """The form tags are compared in."""
    return " ".join(tag.casefold().split())


@dataclass
class Vocabulary:
    """The blog's tags: keys, display spellings, and which posts carry each."""

    keys: list[str]  # sorted tag keys
    display: dict[str, str]  # key -> most used spelling
    membership: np.ndarray  # (n_posts, n_tags) bool: post carries tag

    @property
    def counts(self) -> np.ndarray:
        """Posts per tag."""
        return self.membership.sum(axis=0)


def vocabulary(posts: list[Post], use: np.ndarray | None = None,
               ignore: Callable[[str], bool] | None = None) -> Vocabulary:
    """The vocabulary of tags carried by posts[i] where use[i] (default: all posts), less the tags whose
    key `ignore` says are no signal (controls.ignored_tag)."""
    spellings: dict[str, Counter[str]] = {}
    for i, post in enumerate(posts):
        if use is not None and not use[i]:
            continue
        for tag in post.tags:
            spellings.setdefault(tag_key(tag), Counter())[tag] += 1
    keys = sorted(k for k in spellings if k and (ignore is None or not ignore(k)))
    # Most used spelling; ties go to the alphabetically first so output is stable.
    display = {k: min(spellings[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in keys}
    column = {k: j for j, k in enumerate(keys)}
    membership = np.zeros((len(posts), len(keys)), dtype=bool)
    for i, post in enumerate(posts):
        if use is not None and not use[i]:
            continue
        for tag in post.tags:
            j = column.get(tag_key(tag))
            if j is not None:
                membership[i, j] = True
    return Vocabulary(keys, display, membership)


def tag_vectors(vectors: np.ndarray, vocab: Vocabulary) -> np.ndarray:
    """(n_tags, d) unit vectors: each tag as the normalised mean of its posts' vectors."""
    sums = vocab.membership.T.astype(np.float32) @ vectors
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


# ----------------------------------------------------------------------------- suggestions
# Suggested tags fuse nine features of each (post, tag) pair, weighted by a logistic regression that is
# fitted at build time on the blog's own tagged posts (leave-one-out, so a post never sees its own
# tags). Measured (MAP@10, newest 17 % of posts as test, benchmarks/quality.py): 18F 0.397, efcl 0.513,
# against 0.332 / 0.432 for the best single feature. Hand-set weights differ between blogs (18F wants
# broad votes, efcl narrow ones); the fit removes that knob.
FEATURES = ("vote_k10_t1", "vote_k50_t4", "cent_lex", "cent_lex_z", "cent_sem", "cent_sem_z",
            "log_freq", "in_text", "in_title")
VOTES = ((10, 1.0), (50, 4.0))  # (neighbours, softmax temperature in fused-score units)
# Below MIN_TAGGED tagged posts there is too little to fit: fixed weights on standardised features
# (rounded fits on the two evaluation blogs; alone they score 18F 0.404, efcl 0.531), last = bias.
DEFAULT_WEIGHTS = np.array([0.1, 0.33, 0.1, 0.6, 0.05, 0.25, -0.05, 0.35, 0.1, -5.5])
MIN_TAGGED = 30
# The weights' L2 penalty. Fitted on every tagged post (not 300 evenly spaced ones, whose choice moved
# with every added post) tags MAP@10 was, for penalties 1 / 10 / 100 / 1000: 18F 0.402 / 0.406 / 0.414 /
# 0.411, efcl 0.509 / 0.509 / 0.513 / 0.522; 100 is the middle of the good range on both.
FIT_L2 = 100.0
MAX_FIT_POSTS = 1000  # tagged posts the weights are fitted on at most (a sample by key hash above)


@dataclass
class Suggestion:
    """A suggested tag (display spelling), its score (0-1), and per-feature contributions if asked."""

    tag: str
    score: float
    signals: dict[str, float] | None = None


def tag_fold(tag: str) -> str:
    """A tag in the form its spellings share: Unicode-normalised (NFKC), case-folded, without spaces and
    punctuation (`Node.js`, `nodejs` and `NodeJS` are one tag to the author). Suggestions never repeat
    a post's own tags in any of these spellings."""
    import unicodedata

    return "".join(ch for ch in unicodedata.normalize("NFKC", tag).casefold() if ch.isalnum())


def fit_sample(posts: list[Post], train: np.ndarray) -> np.ndarray:
    """The tagged posts the weights are fitted on: all of them, or about MAX_FIT_POSTS chosen by a hash of
    their key. Evenly spaced rows (every other post) meant that adding one post shifted the whole sample
    and refitted every weight: 112 of 18F's posts changed their suggestions when one post was added."""
    import zlib

    step = max(1, int(np.ceil(len(train) / MAX_FIT_POSTS)))
    if step == 1:
        return train
    chosen = [i for i in train if zlib.crc32(posts[int(i)].slug.encode("utf-8")) % step == 0]
    return np.asarray(chosen, dtype=train.dtype) if len(chosen) >= MIN_TAGGED else train[::step]


def shown(suggestions: list[Suggestion], min_score: float) -> list[Suggestion]:
    """The suggestions an author sees: scores at one decimal, those below `min_score` left out, ordered
    by the shown score and then by name, so that two tags whose probabilities differ in the third decimal
    (and swap with any edit elsewhere in the blog) are listed the same way every build."""
    kept = [Suggestion(s.tag, round(s.score, 1), s.signals) for s in suggestions if round(s.score, 1) >= min_score]
    return sorted(kept, key=lambda s: (-s.score, tag_key(s.tag), s.tag))


def fit_logreg(A: np.ndarray, y: np.ndarray, l2: float = FIT_L2, iters: int = 30,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L2-regularised logistic regression by Newton steps on standardised features (deterministic):
    (weights with the bias last, feature means, feature spreads)."""
    mu = A.mean(0)
    sd = A.std(0) + 1e-9
    A = np.hstack([(A - mu) / sd, np.ones((len(A), 1))])
    w = np.zeros(A.shape[1])
    reg = l2 * np.r_[np.ones(A.shape[1] - 1), 0.0]
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(A @ w, -30, 30)))
        step = np.linalg.solve((A * (p * (1 - p))[:, None]).T @ A + np.diag(reg + 1e-9), A.T @ (p - y) + reg * w)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w, mu, sd


def _zrow(S: np.ndarray) -> np.ndarray:
    return (S - S.mean(1, keepdims=True)) / (S.std(1, keepdims=True) + 1e-9)


TagSuggestions = list[list[Suggestion]]  # row i: post i's suggestions, best first



def tag_sums(vocab: Vocabulary, semantic: np.ndarray, train: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray,
                                                                                 np.ndarray, np.ndarray]:
    """What the tag features need of the tagged posts `train` (indices into the posts): their membership
    (a (len(train), V) CSR matrix), each post's row in it (n,) (-1: untagged), the embeddings as float64
    (n, d), each tag's centroid as the sum of its posts' vectors (V, d), and those sums' squared norms (V,):
    the cosine to a centroid is a dot product over norms."""
    import scipy.sparse as sp

    Ytr = sp.csr_matrix(vocab.membership[train].astype(np.float64))
    pos = np.full(len(vocab.membership), -1)
    pos[train] = np.arange(len(train))
    sem = np.asarray(semantic, np.float64)
    Usum = np.asarray(Ytr.T @ sem[train])
    return Ytr, pos, sem, Usum, (Usum * Usum).sum(1)

def suggest(posts: list[Post], features: Features, similarity: Similarity, vocab: Vocabulary, k: int,
            query: np.ndarray | None = None, explain: bool = False, fitted: dict[str, Any] | None = None,
            ) -> TagSuggestions:
    """The TagSuggestions stage: up to k suggested tags per post (for posts where query[i]; default
    all), never a post's own tags.

    features: the posts' Features (vectors, TF-IDF); similarity: their Similarity (the fused text
    similarity and the TF-IDF Gram matrix); vocab: the tags of the training posts
    (tags.vocabulary(posts, use)). A query post that is itself a training post is scored
    leave-one-out: not its own neighbour, not in its tags' centroids or counts. `fitted`: a dict that
    receives the model (weights, mean and spread of the features; on a large site the tags' TF-IDF sums
    transposed and their squared norms), which the incremental path of large sites keeps.
    """
    import scipy.sparse as sp

    from .lexical import build_index as lexical_index
    from .lexical import token_counts

    fused, semantic, lexical = similarity.text, features.semantic, features.lexical

    n = len(posts)
    out: list[list[Suggestion]] = [[] for _ in range(n)]
    V = len(vocab.keys)
    queries = np.flatnonzero(np.ones(n, bool) if query is None else np.asarray(query, bool))
    train = np.flatnonzero(vocab.membership.any(axis=1))
    if k == 0 or V == 0 or len(train) == 0 or len(queries) == 0:
        return out
    Ytr, pos, sem, Usum, Unrm2 = tag_sums(vocab, semantic, train)
    X = lexical.tfidf if lexical.tfidf.shape[1] else None
    gram = similarity.lexical_gram if X is not None else None
    if gram is not None:  # a blog: centroid dots from the post-post Gram matrix, |sum|^2 = diag(Y^T K Y)
        KY = np.asarray(gram[:, train] @ Ytr, np.float64)  # (n, V): each post . each tag's sum
        Cnrm2 = np.asarray(cast(Any, Ytr.multiply(KY[train])).sum(axis=0)).ravel()  # (V,)
        selfnorm = np.asarray(gram.diagonal(), np.float64)
    elif X is not None:  # a large site: sparse tag sums (tags x terms)
        Csum = sp.csr_matrix(Ytr.T @ X[train].astype(np.float64))
        Cnrm2 = np.asarray(Csum.multiply(Csum).sum(1)).ravel()
        CsumT = Csum.T.tocsr()  # once: `Xr @ Csum.T` converted the CSC transpose in every row block, 29%
        # of a one-edit build of 100,000 posts
    cnt = np.asarray(Ytr.sum(0)).ravel()
    langs = features.languages or None
    in_text = lexical.contains(vocab.keys, langs)
    titles = [token_counts(p.plain_title, lang=lang) for p, lang in zip(posts, langs or [""] * n)]
    in_title = lexical_index(titles, min_df=1, max_df=1.0).contains(vocab.keys, langs)
    block = max(64, 4_000_000 // max(n, 1))

    def feature_rows(rows: np.ndarray) -> np.ndarray:  # leave-one-out: a post never votes for itself
        m = len(rows)
        Fr = fused.rows(rows)[:, train]
        selfY = np.zeros((m, V))
        r = np.flatnonzero(pos[rows] >= 0)
        Fr[r, pos[rows][r]] = -np.inf
        selfY[r] = vocab.membership[rows[r]]
        if gram is not None:
            lex = (KY[rows], Cnrm2, selfnorm[rows, None])
        elif X is not None:
            Xr = X[rows].astype(np.float64)
            lex = ((Xr @ CsumT).toarray(), Cnrm2, np.asarray(Xr.multiply(Xr).sum(1)))
        else:
            lex = (np.zeros((m, V)), np.ones(V), np.zeros((m, 1)))
        return tag_features(Fr, Ytr, selfY, lex, (sem[rows] @ Usum.T, Unrm2, (sem[rows] ** 2).sum(1, keepdims=True)),
                            cnt, in_text[rows], in_title[rows])

    cached = None
    if len(train) >= MIN_TAGGED:  # self-calibration on a sample of the tagged posts
        fit_rows = fit_sample(posts, train)
        if len(queries) <= block and np.isin(fit_rows, queries).all():  # one feature pass serves both
            cached = feature_rows(queries)
            Ff = cached[np.searchsorted(queries, fit_rows)]
        else:
            Ff = feature_rows(fit_rows)
        w, mu, sd = fit_logreg(Ff.reshape(-1, Ff.shape[-1]), vocab.membership[fit_rows].reshape(-1).astype(float))
    else:
        w, mu, sd = DEFAULT_WEIGHTS, None, None
    if fitted is not None:
        fitted.update(weights=w, mean=mu, spread=sd)
        if gram is None and X is not None:
            fitted.update(sums_t=CsumT, sums_norm2=Cnrm2)

    for b in range(0, len(queries), block):
        rows = queries[b:b + block]
        Fq = cached if cached is not None else feature_rows(rows)
        for i, found in zip(rows, rank_tags(Fq, [posts[i].tags for i in rows], vocab, k, w, mu, sd, explain)):
            out[i] = found
    return out


def tag_features(Fr: np.ndarray, Ytr: Any, selfY: np.ndarray, lexical: tuple[np.ndarray, np.ndarray, np.ndarray],
                 semantic: tuple[np.ndarray, np.ndarray, np.ndarray], cnt: np.ndarray, in_text: np.ndarray,
                 in_title: np.ndarray) -> np.ndarray:
    """The FEATURES of m posts x V tags, (m, V, 9) float64. Fr: (m, n_train) fused score of each post to
    each training post (-inf: never a voter, the post itself included); Ytr: csr (n_train, V) tags of
    the training posts; selfY: (m, V) the post's own tags when it is a training post (leave-one-out),
    else 0; lexical / semantic: (dots (m, V) of the post with each tag's sum of member vectors, squared
    norms (V,) of those sums, the post's squared norm (m, 1)); cnt: (V,) training posts per tag;
    in_text / in_title: (m, V) bool, the tag's words occur in the post's text / title."""
    import scipy.sparse as sp

    m, n_train = Fr.shape
    feats = []
    Kmax = max(1, min(max(K for K, _ in VOTES), n_train - 1))
    part = np.argpartition(-Fr, Kmax - 1, axis=1)[:, :Kmax] if Kmax < n_train else \
        np.broadcast_to(np.arange(n_train), (m, n_train))
    pv = np.take_along_axis(Fr, part, 1)
    o = np.lexsort((part, -pv), axis=1)  # best first, ties to the lower post index
    top, topv = np.take_along_axis(part, o, 1), np.take_along_axis(pv, o, 1)
    for K, temp in VOTES:  # similarity-weighted share of the K nearest training posts with the tag
        K = min(K, Kmax)
        idx, v = top[:, :K], topv[:, :K]
        fin = np.isfinite(v)
        best = np.where(np.isfinite(v[:, :1]), v[:, :1], 0.0)
        w = np.where(fin, np.exp((np.where(fin, v, best) - best) / temp), 0.0)
        w /= np.maximum(w.sum(1, keepdims=True), 1e-12)
        Wk = sp.csr_matrix((w.ravel(), idx.ravel(), np.arange(0, m * K + 1, K)), shape=(m, n_train))
        feats.append((Wk @ Ytr).toarray())
    for dots, nrm2, qq in (lexical, semantic):
        # leave-one-out: |sum - x|^2 = |sum|^2 - 2 x.sum + |x|^2 for the post's own tags
        nrm = nrm2[None, :] - selfY * (2 * dots - qq)
        cos = (dots - selfY * qq) / np.sqrt(np.maximum(nrm, 1e-12))
        feats += [cos, _zrow(cos)]
    feats += [np.log1p(np.maximum(cnt[None, :] - selfY, 0)), in_text, in_title]
    return np.stack(feats, -1)


def rank_tags(Fq: np.ndarray, own_tags: list[list[str]], vocab: Vocabulary, k: int, w: np.ndarray,
              mu: np.ndarray | None, sd: np.ndarray | None, explain: bool = False) -> TagSuggestions:
    """Up to k suggestions for each of m posts from their tag_features Fq (m, V, 9), weighted by `w`
    (bias last) on features standardised by mu / sd (None: by these posts' own statistics, the unfitted
    DEFAULT_WEIGHTS), never one of the post's `own_tags` in any spelling (tag_fold)."""
    V = len(vocab.keys)
    flat = Fq.reshape(-1, Fq.shape[-1])
    mu_, sd_ = (flat.mean(0), flat.std(0) + 1e-9) if mu is None else (mu, sd)  # no fit: own statistics
    contrib = ((Fq - mu_) / sd_) * w[:-1]
    s = contrib.sum(-1) + w[-1]
    folded = [tag_fold(key) for key in vocab.keys]
    for a, tags in enumerate(own_tags):
        own = {tag_fold(t) for t in tags}
        s[a, [j for j, key in enumerate(vocab.keys) if folded[j] in own]] = -np.inf  # never the post's own
    order = np.lexsort((np.broadcast_to(np.arange(V), s.shape), -s), axis=1)[:, :k]
    top = np.take_along_axis(s, order, 1)
    prob = (1.0 / (1.0 + np.exp(-np.where(np.isfinite(top), top, 0.0)))).tolist()  # 0-1, same order
    names = [vocab.display[key] for key in vocab.keys]
    return [[Suggestion(names[j], prob[a][t], dict(zip(FEATURES, contrib[a, j].tolist())) if explain else None)
             for t, j in enumerate(order[a].tolist()) if np.isfinite(top[a, t])] for a in range(len(own_tags))]


def cluster_labels(centroids: np.ndarray, vectors: np.ndarray, vocab: Vocabulary, assignment: np.ndarray,
                   n_tags: int) -> list[str]:
    """Each cluster named by the tags nearest its centroid, among tags its own posts carry."""
    if not vocab.keys:
        return [f"Topic {c + 1}" for c in range(len(centroids))]
    near = centroids @ tag_vectors(vectors, vocab).T
    labels = []
    for c in range(len(centroids)):
        present = vocab.membership[assignment == c].any(axis=0)
        scores = np.where(present, near[c], -np.inf)
        best = [j for j in np.lexsort((np.arange(len(scores)), -scores))[:n_tags] if np.isfinite(scores[j])]
        labels.append(", ".join(vocab.display[vocab.keys[j]] for j in best) or f"Topic {c + 1}")
    return labels
