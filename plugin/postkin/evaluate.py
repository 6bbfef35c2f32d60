"""`postkin eval`: how good are related posts and tag suggestions on *your* blog, against baselines.

The blog's own tags are the ground truth, with two protocols (the ones postkin's defaults were chosen by):

* related posts: every tag is hidden from the engine; for each tagged post, the top-4 related posts
  score the Dice overlap of their tag sets with the post's (case-insensitive), weighted 1/log2(rank+1)
  and normalised by the weights' sum; a related post without tags scores 0. Averaged over tagged posts.
* tags: posts sorted by date (then source file); the newest round(0.17 n) are the test posts and
  lose their tags; the vocabulary is the other posts' tags. MAP@10 over test posts with tags, AP@10
  divided by min(number of true tags, 10); true tags outside the vocabulary still count.

Drafts are treated as in a build: never recommended, their tags not in the vocabulary.

Reference numbers (postkin's defaults, USE multilingual v3): 18F (508 posts) related 0.46, tags 0.40;
efcl (832, Japanese) related 0.41, tags 0.51.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import features as features_stage
from . import lexical, similarity, tags
from .corpus import Post
from .encoders import Encoder, get_encoder
from .features import embed, embed_text
from .neighbours import top_k_rows
from .pipeline import one_blas_thread, open_cache
from .pipeline import recommendable as recommendable_posts
from .related import related_posts
from .settings import Settings

RELATED_K = 4
TAGS_K = 10
TEST_FRACTION = 0.17


@dataclass
class Score:
    """One method's scores (None: the method does not do that task) and its compute time."""

    method: str
    related: float | None = None
    tags: float | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Rounded, for JSON."""
        return {"method": self.method, "related": None if self.related is None else round(self.related, 4),
                "tags": None if self.tags is None else round(self.tags, 4), "seconds": round(self.seconds, 3)}


@dataclass
class Report:
    """Scores of the configured method and of the baselines on one blog."""

    posts: int
    tagged: int
    test_posts: int
    scores: list[Score]

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for --json."""
        return {"posts": self.posts, "tagged": self.tagged, "test_posts": self.test_posts,
                "methods": [s.to_dict() for s in self.scores]}

    def table(self) -> str:
        """A text table, best of each column marked."""
        lines = [f"{self.posts} posts, {self.tagged} tagged; tags protocol: newest {self.test_posts} posts as test",
                 f"{'method':<34} {'related Dice@4':>14} {'tags MAP@10':>12} {'seconds':>8}"]
        for s in self.scores:
            rel = "-" if s.related is None else f"{s.related:.4f}"
            tag = "-" if s.tags is None else f"{s.tags:.4f}"
            lines.append(f"{s.method:<34} {rel:>14} {tag:>12} {s.seconds:>8.2f}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- protocols
def tag_sets(posts: list[Post]) -> list[set[str]]:
    """Each post's tags as case-insensitive keys."""
    return [{k for k in map(tags.tag_key, p.tags) if k} for p in posts]


def related_dice(idx: np.ndarray, truth: list[set[str]]) -> float:
    """Mean over tagged posts of the rank-weighted Dice overlap of their related posts' tags."""
    k = idx.shape[1]
    w = 1.0 / np.log2(np.arange(1, k + 1) + 1)
    w /= w.sum()
    total, count = 0.0, 0
    for i, own in enumerate(truth):
        if not own:
            continue
        dice = [2 * len(own & truth[j]) / (len(own) + len(truth[j])) if j >= 0 and truth[j] else 0.0 for j in idx[i]]
        total += float(np.dot(w, dice))
        count += 1
    return total / count if count else 0.0


def tag_split(posts: list[Post], fraction: float = TEST_FRACTION) -> np.ndarray:
    """bool mask of the test posts: the newest round(fraction * n), by (date, source)."""
    order = sorted(range(len(posts)), key=lambda i: (posts[i].sort_date(), posts[i].source))
    test = np.zeros(len(posts), bool)
    n_test = int(round(fraction * len(posts)))
    if n_test:
        test[order[len(posts) - n_test:]] = True
    return test


def map_at_10(ranked: list[list[str]], truth: list[set[str]]) -> float:
    """MAP@10 over posts with true tags; AP@10 divided by min(#true, 10)."""
    aps = []
    for r, t in zip(ranked, truth):
        if not t:
            continue
        hits, s = 0, 0.0
        for rank, tag in enumerate(r[:TAGS_K]):
            if tag in t:
                hits += 1
                s += hits / (rank + 1)
        aps.append(s / min(len(t), TAGS_K))
    return float(np.mean(aps)) if aps else 0.0


# ----------------------------------------------------------------------------- baselines
def _top_related(S: np.ndarray, recommendable: np.ndarray, k: int = RELATED_K) -> np.ndarray:
    S = np.array(S, np.float32)
    S[:, ~recommendable] = -np.inf
    np.fill_diagonal(S, -np.inf)
    return top_k_rows(S, k)[0]


def _rank_tags(scores: np.ndarray, vocab: tags.Vocabulary, rows: np.ndarray) -> list[list[str]]:
    order = np.lexsort((np.broadcast_to(np.arange(scores.shape[1]), scores.shape), -scores), axis=1)[:, :TAGS_K]
    return [[vocab.keys[j] for j in order[a]] for a in range(len(rows))]


def _unigram_tfidf(posts: list[Post]) -> Any:
    """Classic TF-IDF: words (and CJK bigrams) of the same lexical text, no word bigrams."""
    return lexical.build_index([lexical.token_counts(lexical.lexical_text(p), word_bigrams=False)
                                for p in posts]).tfidf


def evaluate(posts: list[Post], settings: Settings, cache_dir: Path | None = None, *, encoder: Encoder | None = None,
             baselines: bool = True, progress: Callable[[str], None] | None = None) -> Report:
    """Both protocols for the configured method (and the baselines) on a blog's posts."""
    say = progress or (lambda message: None)
    encoder = encoder or get_encoder(settings)
    n = len(posts)
    truth = tag_sets(posts)
    hidden = [dataclasses.replace(p, tags=[]) for p in posts]  # the engine never sees a tag
    recommendable = recommendable_posts(posts)
    test = tag_split(posts)
    split_posts = [dataclasses.replace(p, tags=[] if test[i] else p.tags) for i, p in enumerate(posts)]
    vocab = tags.vocabulary(split_posts, ~test & recommendable)
    test_rows = np.flatnonzero(test)
    test_truth = [truth[i] for i in test_rows]
    texts: dict[str, list[str]] = {}
    if baselines:
        texts["title"] = [p.plain_title for p in posts]
        texts["tlh"] = [embed_text(p, ("title", "lede", "headings")) for p in posts]
        texts["tag names"] = [vocab.display[k] for k in vocab.keys]
    with open_cache(cache_dir) as cache:
        say("embedding (through the cache)")
        # the configured method's features, exactly as a build makes them (tags hidden)
        feats = features_stage.extract(hidden, settings, cache=cache, encoder=encoder)
        vec = {name: embed(t, encoder, cache, settings.batch_size)[0] if t else np.zeros((0, encoder.dim), np.float32)
               for name, t in texts.items()}
    vec["configured"] = feats.vectors
    scores: list[Score] = []

    with one_blas_thread():
        say("configured method")
        started = time.perf_counter()
        sims = similarity.compute(hidden, feats, settings)
        idx = related_posts(sims.related, recommendable, RELATED_K).idx
        rel = related_dice(idx, truth)
        sug = tags.suggest(split_posts, feats, sims, vocab, TAGS_K, query=test)
        tag_score = map_at_10([[tags.tag_key(s.tag) for s in sug[i]] for i in test_rows], test_truth)
        name = f"postkin ({settings.related_method}" + (
            f", tags {settings.related_use_tags}" if settings.related_use_tags else "") + ")"
        scores.append(Score(name, rel, tag_score, time.perf_counter() - started))
        if not baselines:
            return Report(n, sum(map(bool, truth)), len(test_rows), scores)

        say("baselines")

        def timed(name: str, related_fn: Callable[[], np.ndarray] | None = None,
                  tags_fn: Callable[[], list[list[str]]] | None = None) -> None:
            started = time.perf_counter()
            r = related_dice(related_fn(), truth) if related_fn else None
            t = map_at_10(tags_fn(), test_truth) if tags_fn else None
            scores.append(Score(name, r, t, time.perf_counter() - started))

        def random_related() -> np.ndarray:
            return np.vstack([_top_related(np.random.default_rng(seed).random((n, n)), recommendable)
                              for seed in range(3)]).reshape(3, n, -1)

        started = time.perf_counter()
        rng_idx = random_related() if n else np.zeros((3, 0, RELATED_K), int)
        rand_rel = float(np.mean([related_dice(rng_idx[s], truth) for s in range(3)])) if n else 0.0
        shape = (len(test_rows), len(vocab.keys))
        rand_tags = float(np.mean([map_at_10(_rank_tags(np.random.default_rng(s).random(shape),
                                                         vocab, test_rows), test_truth) for s in range(3)]))
        scores.append(Score("random (3 seeds)", rand_rel, rand_tags, time.perf_counter() - started))

        tfidf = _unigram_tfidf(posts)
        timed("TF-IDF full body", lambda: _top_related(similarity._dot(tfidf, tfidf, np.float32), recommendable))

        def lsi_related() -> np.ndarray:
            Z = lexical.lsi(tfidf, 100)
            return _top_related(Z @ Z.T, recommendable)

        timed("LSI (TF-IDF + SVD 100)", lsi_related)
        for label, key in (("USE title only", "title"), ("USE title+lede+headings", "tlh")):
            timed(label, functools.partial(lambda k: _top_related(vec[k] @ vec[k].T, recommendable), key))

        tlh = vec["tlh"]
        train = np.flatnonzero(vocab.membership.any(axis=1))

        def ranked(score_fn: Callable[[], np.ndarray]) -> Callable[[], list[list[str]]]:
            return lambda: _rank_tags(score_fn(), vocab, test_rows) if len(vocab.keys) else [[] for _ in test_rows]

        timed("tag-name embedding", tags_fn=ranked(lambda: tlh[test_rows] @ vec["tag names"].T))
        timed("tag = mean of its posts", tags_fn=ranked(lambda: tlh[test_rows] @ tags.tag_vectors(tlh, vocab).T))

        def knn_vote(k: int = 10) -> np.ndarray:
            S = tlh[test_rows] @ tlh[train].T
            nb, sc = top_k_rows(S, k)
            W = np.zeros_like(S)
            r, c = np.nonzero(nb >= 0)  # padding (-1, under k training posts) must not write to column 0
            W[r, nb[r, c]] = np.maximum(sc[r, c], 0)
            return W @ vocab.membership[train].astype(np.float32)

        timed("k-nearest-posts vote (k=10)", tags_fn=ranked(knn_vote))
        timed("most frequent tags", tags_fn=ranked(lambda: np.broadcast_to(vocab.counts.astype(np.float32),
                                                                            (len(test_rows), len(vocab.keys)))))
    return Report(n, sum(map(bool, truth)), len(test_rows), scores)
