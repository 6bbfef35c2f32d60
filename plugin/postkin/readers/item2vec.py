"""Item2vec: post embeddings learned from reading sessions with word2vec's skip-gram.

Barkan & Koenigstein, "Item2Vec: Neural Item Embedding for Collaborative Filtering" (2016): items in one
session are words in one sentence; skip-gram with negative sampling (Mikolov et al. 2013) learns an
input vector and an output vector per post. The source talk trains gensim's Word2Vec on page sequences.

Which similarity: word2vec's usual one, the cosine of two input vectors, says "these posts are read in
similar company" (second order). "Readers also read" is first order: the input vector of one post
against the output vector of the other estimates how much more often they are read together than by
chance (SGNS factorises shifted PMI: Levy & Goldberg 2014; the IN-OUT reading: Nalisnick et al. 2016).
`coview_vectors` turns the symmetrised IN-OUT cosines into ordinary post vectors (their positive
eigen-part), so the fusion treats co-view like any other signal. On the reader model of
benchmarks/readers.py (18F / efcl, 20 sessions per post), next-page hit@5: IN-IN 0.080 / 0.070, these
vectors 0.119 / 0.122, the exact symmetrised IN-OUT matrix 0.147 / 0.150 (not used: it is no Gram
matrix, and the fusion takes post vectors).

Parameters (PARAMS), and why:
- sg=1, negative sampling (hs=0, negative=5): the talk's and the paper's method; 5 noise posts per pair
  is word2vec's default for small corpora.
- window=5: sessions are short (a few posts); 5 covers nearly all of a session on each side, as
  item2vec's whole-session context does, while a long session of 20 pages does not tie its first post
  to its last.
- min_count=2: a post read in one session only has a vector made of noise; it gets none (and the
  fusion leaves it alone, see `confidence`).
- sample=1e-3 (word2vec's default): the most read posts are down-sampled, as frequent words are, so
  "every session passes the home-page favourite" does not make it everyone's neighbour.
- ns_exponent=-0.5: noise posts drawn with probability proportional to count^-0.5 instead of word2vec's
  count^0.75. Caselles-Dupre et al., "Word2vec applied to recommendation: hyperparameters matter"
  (RecSys 2018) found a negative exponent best on real session data, where a few items take most views;
  on both corpora of the benchmark it also gave the better IN-OUT ranking (hit@5 0.089 -> 0.147 on 18F,
  0.109 -> 0.150 on efcl at 20 sessions per post; both at 0.75 and -0.5 measured, nothing else).
- vector_size=64: a blog has hundreds to a few thousand posts; item2vec used 40-100 dimensions.
- epochs: word2vec's 5 passes are for corpora of millions of words; a blog's sessions are far fewer,
  so the number of passes grows until about EPOCH_TOKENS tokens are seen (at most MAX_EPOCHS).

Determinism: one worker thread and a fixed seed. gensim 4's initial vectors come from
numpy.random.default_rng(seed), not from Python's string hash, so PYTHONHASHSEED does not change them
(tests/test_readers_item2vec.py trains in two processes with different PYTHONHASHSEED and compares the
bytes); more than one worker thread makes the result depend on thread timing.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Sequence

import numpy as np

VECTOR_SIZE = 64
PARAMS = {"vector_size": VECTOR_SIZE, "window": 5, "min_count": 2, "sg": 1, "hs": 0, "negative": 5,
          "ns_exponent": -0.5, "sample": 1e-3}
EPOCH_TOKENS = 2_000_000  # tokens seen in training, over all passes
MAX_EPOCHS = 50
MIN_EPOCHS = 5
CONFIDENCE_SESSIONS = 10  # sessions at which a post's co-view row gets half its weight in the fusion


def _stable_hash(text: str) -> int:
    # gensim asks for `hashfxn` for its (legacy) seeded vectors; Python's hash() changes per process.
    return zlib.crc32(text.encode("utf-8"))


def epochs_for(tokens: int) -> int:
    """Training passes for a corpus of `tokens` post views: about EPOCH_TOKENS in all."""
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(EPOCH_TOKENS / max(tokens, 1)))))


def training_key(sessions: Sequence[Sequence[str]], seed: int) -> str:
    """Cache key of a training run: the exact sessions, the parameters, the seed and gensim's version."""
    import gensim

    digest = hashlib.sha256()
    digest.update(json.dumps([PARAMS, EPOCH_TOKENS, MAX_EPOCHS, MIN_EPOCHS, seed, gensim.__version__]).encode())
    for session in sessions:
        digest.update(json.dumps(list(session), ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _unit_rows(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def train(sessions: Sequence[Sequence[str]], seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Skip-gram input and output vectors of the items in `sessions` (lists of post keys): (keys sorted,
    IN, OUT), rows L2-normalised float64. Items seen fewer than PARAMS['min_count'] times get no vector.
    Deterministic for the same sessions and seed (one worker thread). Raises ImportError without gensim."""
    from gensim.models import Word2Vec

    corpus = [list(s) for s in sessions if len(s) > 1]
    # The learning rate decays over the corpus: a fixed shuffle keeps one log's sessions from all
    # getting the high early rate.
    order = np.random.default_rng(seed).permutation(len(corpus))
    corpus = [corpus[i] for i in order]
    empty = np.zeros((0, VECTOR_SIZE))
    if not corpus:
        return [], empty, empty
    model = Word2Vec(sentences=corpus, epochs=epochs_for(sum(len(s) for s in corpus)), seed=seed, workers=1,
                     hashfxn=_stable_hash, **PARAMS)
    keys = sorted(model.wv.index_to_key)
    if not keys:
        return [], empty, empty
    rows = [model.wv.key_to_index[k] for k in keys]
    IN = _unit_rows(model.wv.vectors[rows].astype(np.float64))
    return keys, IN, _unit_rows(model.syn1neg[rows].astype(np.float64))


def coview_vectors(IN: np.ndarray, OUT: np.ndarray) -> np.ndarray:
    """Post vectors X (n, <= 2d) whose Gram matrix is the positive part of S = (IN OUT^T + OUT IN^T) / 2,
    the symmetrised first-order co-view similarity. S = B M B^T with B = [IN OUT] and M = [[0, I/2],
    [I/2, 0]]; with B = QR, the eigenpairs of the small R M R^T give S's (n stays out of the cubic part)."""
    d = IN.shape[1]
    if not len(IN):
        return np.zeros((0, d), np.float32)
    Q, R = np.linalg.qr(np.hstack([IN, OUT]))
    M = np.zeros((2 * d, 2 * d))
    M[:d, d:] = M[d:, :d] = 0.5 * np.eye(d)
    lam, U = np.linalg.eigh(R @ M @ R.T)
    keep = lam > 1e-9 * max(float(np.abs(lam).max()), 1e-30)
    U = U[:, keep] * np.where(U[:, keep][np.abs(U[:, keep]).argmax(axis=0), np.arange(keep.sum())] < 0, -1, 1)
    return ((Q @ U) * np.sqrt(lam[keep])).astype(np.float32)


def confidence(sessions_with_post: np.ndarray) -> np.ndarray:
    """Weight in [0, 1) of each post's co-view row in the fusion: n / (n + CONFIDENCE_SESSIONS) for a
    post read in n sessions (a shrinkage estimate: little data, little say), 0 for a post without a
    vector."""
    n = np.asarray(sessions_with_post, np.float64)
    return n / (n + CONFIDENCE_SESSIONS)
