"""`postkin eval`: how good are related posts and tag suggestions on *your* blog, against baselines.

The blog's own tags are the ground truth, with two protocols (the ones postkin's defaults were chosen by):

* related posts: every tag is hidden from the engine; for each tagged post, the top-4 related posts
  score the Dice overlap of their tag sets with the post's (case-insensitive), weighted 1/log2(rank+1)
  and normalised by the weights' sum; a related post without tags scores 0. Averaged over tagged posts.
* tags: posts sorted by date (then source file); the newest round(0.17 n) are the test posts and
  lose their tags; the vocabulary is the other posts' tags. MAP@10 over test posts with tags, AP@10
  divided by min(number of true tags, 10); true tags outside the vocabulary still count.

Drafts are treated as in a build: never recommended, their tags not in the vocabulary. The editorial
controls (controls.py) apply as in a build: excluded posts are never related posts, pins come first, the
threshold cuts lists short, tags of ignore_tags are neither suggested nor ground truth.

Beside the scores, `related_lists` says how full the build's related lists are (related_k items, before
any related_fallback) and how the fused scores of listed related posts are distributed: the number
related_min_score is compared with (a sum of per-post z-scores: 0 is an average pair).

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

from . import controls as controls_stage
from . import features as features_stage
from . import lexical, similarity, tags
from .corpus import Corpus, Post
from .encoders import Encoder, get_encoder
from .features import embed, embed_text
from .languages import MIN_GROUP
from .neighbours import top_k_rows
from .pipeline import Languages, Stages, one_blas_thread, open_cache
from .pipeline import recommendable as recommendable_posts
from .related import Related, related_posts
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
    # On a blog in several languages: related Dice@4 of each language's posts (language -> score)
    related_by_language: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Rounded, for JSON."""
        out: dict[str, Any] = {"method": self.method,
                               "related": None if self.related is None else round(self.related, 4),
                               "tags": None if self.tags is None else round(self.tags, 4),
                               "seconds": round(self.seconds, 3)}
        if self.related_by_language:
            out["related_by_language"] = {k: round(v, 4) for k, v in self.related_by_language.items()}
        return out


QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass
class ListFill:
    """How full the configured method's related lists are: `k` (related_k), the share of posts whose list
    has k posts before any fallback, and quantiles of the fused scores of the listed related posts (pins
    left out), overall and at rank 1 and rank k; None without any listed post (at rank k: without any
    full list, as on a site whose languages each have k posts or fewer)."""

    k: int
    full_share: float
    fused: dict[str, float] | None = None  # 'p10', 'p25', 'median', 'p75', 'p90'
    first_median: float | None = None
    last_median: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Rounded, for JSON."""
        return {"k": self.k, "full_share": round(self.full_share, 4),
                "fused": None if self.fused is None else {q: round(v, 3) for q, v in self.fused.items()},
                "first_median": None if self.first_median is None else round(self.first_median, 3),
                "last_median": None if self.last_median is None else round(self.last_median, 3)}

    def line(self) -> str:
        """One line for the text table."""
        out = f"related lists (related_k {self.k}): {100 * self.full_share:.1f}% of posts have a full list"
        if self.fused is not None:
            quantiles = ", ".join(f"{q} {v:.2f}" for q, v in self.fused.items())
            first, at_k = ("none" if v is None else f"{v:.2f}" for v in (self.first_median, self.last_median))
            out += (f"; fused score of listed related posts: {quantiles} (median at rank 1 {first}, "
                    f"at rank {self.k} {at_k}); 0 is an average pair, related_min_score cuts here")
        return out


def list_fill(related: Related, controls: controls_stage.Controls | None) -> ListFill:
    """The ListFill of a build's related lists (related.Related, k = its columns = related_k), as the build
    made them: language and translation limits, editorial controls; pins (from `controls`) left out of
    the score quantiles."""
    k = related.idx.shape[1]
    n = related.idx.shape[0]
    if not n or not k:
        return ListFill(k, 0.0)
    full = float(np.mean((related.idx >= 0).sum(axis=1) == k))
    shown = related.idx >= 0
    if controls is not None:
        for i, cols in controls.pins.items():
            shown[i, :min(len(cols), k)] = False
    scores = related.fused.astype(np.float64)
    if not shown.any():
        return ListFill(k, full)
    names = {0.1: "p10", 0.25: "p25", 0.5: "median", 0.75: "p75", 0.9: "p90"}
    values = np.quantile(scores[shown], QUANTILES)
    first = scores[:, 0][shown[:, 0]]
    last = scores[:, k - 1][shown[:, k - 1]]
    return ListFill(k, full, {names[q]: float(v) for q, v in zip(QUANTILES, values)},
                    float(np.median(first)) if len(first) else None, float(np.median(last)) if len(last) else None)


@dataclass
class Report:
    """Scores of the configured method and of the baselines on one blog, and how full its related lists are."""

    posts: int
    tagged: int
    test_posts: int
    scores: list[Score]
    related_lists: ListFill | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for --json."""
        return {"posts": self.posts, "tagged": self.tagged, "test_posts": self.test_posts,
                "methods": [s.to_dict() for s in self.scores],
                "related_lists": None if self.related_lists is None else self.related_lists.to_dict()}

    def table(self) -> str:
        """A text table, best of each column marked."""
        lines = [f"{self.posts} posts, {self.tagged} tagged; tags protocol: newest {self.test_posts} posts as test",
                 f"{'method':<34} {'related Dice@4':>14} {'tags MAP@10':>12} {'seconds':>8}"]
        for s in self.scores:
            rel = "-" if s.related is None else f"{s.related:.4f}"
            tag = "-" if s.tags is None else f"{s.tags:.4f}"
            lines.append(f"{s.method:<34} {rel:>14} {tag:>12} {s.seconds:>8.2f}")
            for lang, score in (s.related_by_language or {}).items():
                lines.append(f"{'  posts in ' + lang:<34} {score:>14.4f}")
        if self.related_lists is not None:
            lines.append(self.related_lists.line())
        return "\n".join(lines)


# ----------------------------------------------------------------------------- protocols
def tag_sets(posts: list[Post], ignore: Callable[[str], bool] | None = None) -> list[set[str]]:
    """Each post's tags as case-insensitive keys, less those `ignore` says are no signal."""
    return [{k for k in map(tags.tag_key, p.tags) if k and (ignore is None or not ignore(k))} for p in posts]


def related_dice_rows(idx: np.ndarray, truth: list[set[str]]) -> np.ndarray:
    """(n,) rank-weighted Dice overlap of each post's related posts' tags with its own; nan for a post
    without tags."""
    k = idx.shape[1]
    w = 1.0 / np.log2(np.arange(1, k + 1) + 1)
    w /= w.sum()
    out = np.full(len(truth), np.nan)
    for i, own in enumerate(truth):
        if not own:
            continue
        dice = [2 * len(own & truth[j]) / (len(own) + len(truth[j])) if j >= 0 and truth[j] else 0.0 for j in idx[i]]
        out[i] = float(np.dot(w, dice))
    return out


def related_dice(idx: np.ndarray, truth: list[set[str]]) -> float:
    """Mean over tagged posts of the rank-weighted Dice overlap of their related posts' tags."""
    rows = related_dice_rows(idx, truth)
    return float(np.nanmean(rows)) if np.isfinite(rows).any() else 0.0


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


@dataclass
class Protocol:
    """Both protocols' ground truth on one blog: each post's tag keys, the posts that may be listed, and
    the tag protocol's split (the test posts lose their tags; the vocabulary is the other posts')."""

    truth: list[set[str]]
    recommendable: np.ndarray  # bool (n,)
    test: np.ndarray  # bool (n,): the newest posts (tag_split)
    split_posts: list[Post]  # the posts, the test posts without their tags
    vocab: tags.Vocabulary  # tags of the training posts (not test, not drafts)

    @property
    def test_rows(self) -> np.ndarray:
        """Indices of the test posts."""
        return np.flatnonzero(self.test)

    @property
    def test_truth(self) -> list[set[str]]:
        """The test posts' true tags."""
        return [self.truth[i] for i in self.test_rows]

    def report(self, scores: list[Score], related_lists: ListFill | None = None) -> Report:
        """The Report of these scores on this blog."""
        return Report(len(self.truth), sum(map(bool, self.truth)), int(self.test.sum()), scores, related_lists)


def protocol(posts: list[Post], recommendable: np.ndarray | None = None,
             ignore: Callable[[str], bool] | None = None) -> Protocol:
    """The ground truth and split of both protocols for a blog's posts; `recommendable` (bool (n,)): the
    posts a build may list, as it decided them (default: pipeline.recommendable of the posts); `ignore`:
    tags that are no signal (controls.ignored_tag), neither suggested nor ground truth."""
    recommendable = recommendable_posts(posts) if recommendable is None else recommendable
    test = tag_split(posts)
    split_posts = [dataclasses.replace(p, tags=[] if test[i] else p.tags) for i, p in enumerate(posts)]
    return Protocol(tag_sets(posts, ignore), recommendable, test, split_posts,
                    tags.vocabulary(split_posts, ~test & recommendable, ignore=ignore))


def method_name(settings: Settings) -> str:
    """The configured method's row label, e.g. 'postkin (hybrid)'."""
    return f"postkin ({settings.related_method}" + (
        f", tags {settings.related_use_tags}" if settings.related_use_tags else "") + ")"


def score_method(name: str, proto: Protocol, feats: features_stage.Features, sims: similarity.Similarity,
                 controls: controls_stage.Controls | None = None) -> Score:
    """Both protocols for the method whose features and similarity (made with every tag hidden) are given,
    with the build's editorial controls (None: none)."""
    started = time.perf_counter()
    idx = related_posts(sims.related, proto.recommendable, RELATED_K, controls=controls).idx
    sug = tags.suggest(proto.split_posts, feats, sims, proto.vocab, TAGS_K, query=proto.test)
    tag_score = map_at_10([[tags.tag_key(s.tag) for s in sug[i]] for i in proto.test_rows], proto.test_truth)
    rows = related_dice_rows(idx, proto.truth)
    by_language = None
    if feats.groups is not None:  # a blog in several languages: each language's posts on their own
        langs = np.array(feats.languages)
        by_language = {str(lang): float(np.nanmean(rows[(langs == lang) & np.isfinite(rows)]))
                       for lang in sorted(set(feats.languages))
                       if ((langs == lang) & np.isfinite(rows)).sum() >= MIN_GROUP}
    return Score(name, related_dice(idx, proto.truth), tag_score, time.perf_counter() - started,
                 related_by_language=by_language)


def random_anchor(proto: Protocol) -> Score:
    """The floor: random related posts and random tags, averaged over 3 seeds."""
    started = time.perf_counter()
    n, rows = len(proto.truth), proto.test_rows
    rand_rel = float(np.mean([related_dice(_top_related(np.random.default_rng(seed).random((n, n)),
                                                        proto.recommendable), proto.truth)
                              for seed in range(3)])) if n else 0.0
    shape = (len(rows), len(proto.vocab.keys))
    rand_tags = float(np.mean([map_at_10(_rank_tags(np.random.default_rng(s).random(shape), proto.vocab, rows),
                                         proto.test_truth) for s in range(3)]))
    return Score("random (3 seeds)", rand_rel, rand_tags, time.perf_counter() - started)


def most_frequent_anchor(proto: Protocol) -> Score:
    """Tags only: the blog's most used tags, the same for every post."""
    started = time.perf_counter()
    rows, vocab = proto.test_rows, proto.vocab
    ranked = _rank_tags(np.broadcast_to(vocab.counts.astype(np.float32), (len(rows), len(vocab.keys))), vocab, rows) \
        if len(vocab.keys) else [[] for _ in rows]
    return Score("most frequent tags", None, map_at_10(ranked, proto.test_truth), time.perf_counter() - started)


def evaluate_build(stages: Stages, settings: Settings) -> Report:
    """The configured method and the two anchors (random; most frequent tags) scored on a build's own
    stage values (pipeline.Build.stages), as `evaluate` scores them, with nothing embedded again.

    A build's features and text similarity never see the tags, so they are the ones `evaluate` makes
    with every tag hidden. Its related-posts similarity does see them when related_use_tags > 0: then,
    and only then, that similarity is computed once more with the tags hidden. With co-view from reader
    logs (issue #19) the related posts scored are the build's, co-view included (`evaluate` reads no logs).
    """
    proto = protocol(stages.posts, stages.listed, controls_stage.ignored_tag(settings))
    sims = stages.similarity
    name = method_name(settings)
    if stages.features.coview is not None and settings.related_coview:
        name = name[:-1] + ", co-view)"
    with one_blas_thread():
        if settings.related_use_tags:
            sims = similarity.compute([dataclasses.replace(p, tags=[]) for p in stages.posts], stages.features,
                                      settings)
        scores = [score_method(name, proto, stages.features, sims, stages.controls), random_anchor(proto),
                  most_frequent_anchor(proto)]
        lists = list_fill(stages.related, stages.controls)
    return proto.report(scores, lists)


def evaluate(corpus: Corpus | list[Post], settings: Settings, cache_dir: Path | None = None, *,
             encoder: Encoder | None = None, baselines: bool = True,
             progress: Callable[[str], None] | None = None) -> Report:
    """Both protocols for the configured method (and the baselines) on a blog's posts (a Corpus, whose
    declared languages and future/expired rules apply as in pipeline.run, or a host's list of posts)."""
    say = progress or (lambda message: None)
    encoder = encoder or get_encoder(settings)
    corpus = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
    posts = corpus.posts
    proto = protocol(posts, recommendable_posts(corpus), controls_stage.ignored_tag(settings))
    truth, recommendable, vocab = proto.truth, proto.recommendable, proto.vocab
    controls = controls_stage.of(posts, settings, recommendable, base_path=corpus.base_path)
    test_rows, test_truth = proto.test_rows, proto.test_truth
    hidden = [dataclasses.replace(p, tags=[]) for p in posts]  # the engine never sees a tag
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

    with one_blas_thread():
        say("configured method")
        started = time.perf_counter()
        sims = similarity.compute(hidden, feats, settings)
        configured = score_method(method_name(settings), proto, feats, sims, controls)
        configured.seconds = time.perf_counter() - started  # with the similarity, as for every baseline
        scores = [configured]
        languages = Languages.of(corpus, settings)  # the build's lists (pipeline.compute), tags hidden
        lists = list_fill(languages.related(sims.related, recommendable, settings.related_k, controls), controls)
        if not baselines:
            return proto.report(scores, lists)

        say("baselines")

        def timed(name: str, related_fn: Callable[[], np.ndarray] | None = None,
                  tags_fn: Callable[[], list[list[str]]] | None = None) -> None:
            started = time.perf_counter()
            r = related_dice(related_fn(), truth) if related_fn else None
            t = map_at_10(tags_fn(), test_truth) if tags_fn else None
            scores.append(Score(name, r, t, time.perf_counter() - started))

        scores.append(random_anchor(proto))
        tfidf = _unigram_tfidf(posts)
        timed("TF-IDF full body", lambda: _top_related(similarity._dot(tfidf, tfidf, np.float32), recommendable))

        def lsi_related() -> np.ndarray:
            Z = lexical.lsi(tfidf, 100, cut="rank")  # the classic method, as measured so far
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
        scores.append(most_frequent_anchor(proto))
    return proto.report(scores, lists)
