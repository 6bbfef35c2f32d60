"""The one pipeline every entry point drives (CLI build, Pelican, suggest-tags and its pre-commit hook,
eval): each stage is a typed value made by the module of the same name.

    Corpus (corpus.py)  ->  Features (features.py)  ->  Similarity (similarity.py)
        ->  Related (related.py) | Topics (topics.py) | TagSuggestions (tags.py)
        ->  PostContext + SiteContext (context.py)  ->  outputs (outputs.py) or a host's templates

    build = run(corpus.posts, settings, cache_dir=...)   # Build: contexts, site, stats
    build.contexts["my-slug"].related[0].url
    build.stages.topics.centroids                        # the stage values themselves (the report reads them):
                                                         # run(..., stages=True), else None when nothing changed
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import controls as controls_stage
from . import features as features_stage
from . import similarity as similarity_stage
from . import tags
from .cache import EmbeddingCache
from .context import PostContext, SiteContext, post_contexts, site_context
from .corpus import Corpus, Post, check_unique_slugs, listed, render_url
from .encoders import Encoder
from .features import Features, Progress
from .popularity import apply_popularity
from .related import Related, related_posts
from .settings import Settings
from .timing import stage
from .topics import STATE_KIND, Topics, TopicState, find_topics

if TYPE_CHECKING:
    from .dialects import Dialect

log = logging.getLogger("postkin")


@dataclass
class Stats:
    """What a build did, for the one-line summary."""

    posts: int = 0
    embedded: int = 0
    cached: int = 0
    indexed: int = 0  # posts tokenised now for the lexical index (text changed or new)
    indexed_cached: int = 0  # posts whose token counts came from the cache
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # stage name -> seconds (timing.stage)


@dataclass
class Stages:
    """The stage values a build made, row i of each being posts[i]: for a host that shows more than the
    contexts (the report) without computing any of them again."""

    posts: list[Post]
    listed: np.ndarray  # bool (n,): posts that may be listed on other pages (recommendable)
    features: Features
    similarity: similarity_stage.Similarity
    related: Related
    topics: Topics
    suggestions: tags.TagSuggestions
    languages: Languages  # the language and translation limits the lists were made under
    controls: controls_stage.Controls | None = None  # the editorial controls (None: none set)
    tag_model: dict[str, Any] = field(default_factory=dict)  # what tags.suggest fitted (its `fitted`)


@dataclass
class Build:
    """Every post's context by slug, the site-wide context, what the build did, and its stage values
    (None for a site without posts, and for a build that reused the last one's results: `unchanged`, or
    a large site's incremental build); with setting recommend_for_you, the vectors file of "Recommended
    for you" (readers.browser.vectors_file). `posts`: the site's posts; `texts`: each post's context as
    canonical JSON text (outputs.json_text), where a build already has them."""

    contexts: Mapping[str, PostContext] = field(default_factory=dict)
    site: SiteContext = field(default_factory=SiteContext)
    stats: Stats = field(default_factory=Stats)
    recommend: bytes | None = None
    stages: Stages | None = None
    posts: list[Post] = field(default_factory=list)
    texts: dict[str, str] | None = None
    unchanged: bool = False  # no input changed since the last build: everything above is what it stored
    fingerprint: str = ""  # of every input of this build (incremental.fingerprint)

    def posts_json(self) -> dict[str, dict[str, Any]]:
        """slug -> the post's context as JSON data."""
        if self.texts is not None and not isinstance(self.contexts, dict):  # stored: no objects made yet
            return {slug: json.loads(text) for slug, text in self.texts.items()}
        return {slug: ctx.to_json() for slug, ctx in self.contexts.items()}

    def post_texts(self) -> dict[str, str]:
        """slug -> the post's context as canonical JSON text (what posts/<slug>.json holds, without the
        final newline), made once."""
        if self.texts is None:
            from .outputs import json_text

            self.texts = {slug: json_text(ctx.to_json()) for slug, ctx in self.contexts.items()}
        return self.texts


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread inside the block: the matrices of a blog are small, and BLAS threads
    fighting for shared cores made the fused similarity 14x slower (8.5 s vs 0.6 s on 2 busy cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with the bundled encoder
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


@contextlib.contextmanager
def open_cache(cache_dir: Path | None) -> Iterator[EmbeddingCache | None]:
    """The cache in cache_dir, or None when there is no cache folder."""
    if cache_dir is None:
        yield None
        return
    with EmbeddingCache(cache_dir) as cache:
        yield cache


def recommendable(corpus: Corpus | list[Post]) -> np.ndarray:
    """bool (n,): posts that may be listed on other pages (see corpus.listed)."""
    if isinstance(corpus, list):
        return listed(corpus)
    return listed(corpus.posts, build_future=corpus.build_future, build_expired=corpus.build_expired)


@dataclass
class Languages:
    """Which posts may be listed on which: `same` restricts lists to the post's language; translations
    (posts sharing a translation key) are never each other's related posts."""

    same: bool
    lang_ids: np.ndarray  # (n,) int: the language of each post as a number
    groups: np.ndarray  # (n,) int: translation group of each post, -1 for none

    @classmethod
    def of(cls, corpus: Corpus, settings: Settings) -> Languages:
        """The rules for a corpus: settings.related_languages, 'auto' = same when the site declares
        several languages."""
        posts = corpus.posts
        mode = settings.related_languages
        same = mode == "same" or (mode == "auto" and len(corpus.languages) > 1)
        langs = {lang: n for n, lang in enumerate(sorted({p.lang for p in posts}))}
        keys = [p.translation_key for p in posts]
        counts: dict[str, int] = {}
        for key in keys:
            if key:
                counts[key] = counts.get(key, 0) + 1
        group_ids = {key: n for n, key in enumerate(sorted(k for k, c in counts.items() if c > 1))}
        return cls(same, np.array([langs[p.lang] for p in posts], dtype=np.int64),
                   np.array([group_ids.get(k, -1) for k in keys], dtype=np.int64))

    def related(self, fused: similarity_stage.FusedSimilarity, listed_posts: np.ndarray, k: int,
                controls: controls_stage.Controls | None = None) -> Related:
        """The related lists a build makes under these rules: related.related_posts with the language and
        translation limits; listed_posts: bool (n,); k posts per row at most."""
        return related_posts(fused, listed_posts, k, lang_ids=self.lang_ids if self.same else None,
                             groups=self.groups, controls=controls)


@dataclass(frozen=True)
class StageFunctions:
    """The functions of the Topics and TagSuggestions stages, with find_topics's and tags.suggest's
    signatures: a host that runs them elsewhere (postkin.distributed, on a Dask cluster) replaces them."""

    topics: Callable[..., Topics] = find_topics
    suggest: Callable[..., tags.TagSuggestions] = tags.suggest


def compute(corpus: Corpus | list[Post], features: Features, settings: Settings,
            previous_topics: TopicState | None = None, functions: StageFunctions = StageFunctions()) -> Build:
    """Every stage after Features: numpy/scipy on the vectors and the lexical index (no I/O).
    `previous_topics`: the last build's topics (run() reads them from the cache), which stay put."""
    corpus = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
    posts = corpus.posts
    n = len(posts)
    listed_posts = recommendable(corpus)
    languages = Languages.of(corpus, settings)
    controls = controls_stage.of(posts, settings, listed_posts, base_path=corpus.base_path)  # issue #17
    vocab = tags.vocabulary(posts, listed_posts, ignore=controls_stage.ignored_tag(settings))
    explained = None
    fitted: dict[str, Any] = {}
    times: dict[str, float] = {}
    with one_blas_thread():
        with stage("similarity", times):
            sims = similarity_stage.compute(posts, features, settings)
        with stage("related", times) as notes:
            related = languages.related(sims.related, listed_posts, settings.related_k, controls)
            notes.append(f"up to {settings.related_k} per post among {int(listed_posts.sum())} listed posts")
        with stage("tags", times) as notes:
            suggest_extra = {"fitted": fitted} if functions.suggest is tags.suggest else {}  # the model kept
            suggestions = functions.suggest(posts, features, sims, vocab, settings.tags_k, explain=settings.signals,
                                            **suggest_extra)
            notes.append(f"{len(vocab.keys)} tags in the blog's vocabulary")
        if settings.signals:
            ok = related.idx >= 0
            rows = np.broadcast_to(np.arange(n)[:, None], related.idx.shape)[ok]
            explained = {}
            for name, a in {"semantic": features.vectors, "lexical": features.lexical.tfidf}.items():
                explained[name] = np.zeros(related.idx.shape)
                explained[name][ok] = similarity_stage.pair_cosines(a, rows, related.idx[ok])
    with stage("topics", times) as notes:
        topics = functions.topics(posts, features.semantic,
                                  listed_posts if controls is None else controls.static, vocab, settings,
                                  previous=previous_topics, own=features.vectors)
        notes.append(f"{len(topics.centroids)} topics")
    contexts = post_contexts(posts, features, related, topics, suggestions, cluster_k=settings.cluster_k,
                             explained=explained, listed=listed_posts,
                             lang_ids=languages.lang_ids if languages.same else None, groups=languages.groups,
                             tags_min_score=settings.tags_min_score, controls=controls)
    build = Build(contexts, site_context(posts, features, topics), stats=Stats(stages=times),
                  stages=Stages(posts, listed_posts, features, sims, related, topics, suggestions, languages,
                                controls=controls, tag_model=fitted), posts=posts)
    if settings.recommend_for_you:  # issue #19: every post that may be listed, in the reader's browser
        from .readers.browser import vectors_file

        may = listed_posts if controls is None else controls.candidates
        shown = [posts[i] for i in np.flatnonzero(may)]
        build.recommend = vectors_file([p.slug for p in shown], [p.url for p in shown], [p.title for p in shown],
                                       features.semantic[may])
    return build


def run(corpus: Corpus | list[Post], settings: Settings, *, cache_dir: Path | None = None,
        encoder: Encoder | None = None, progress: Progress | None = None, full: bool = False,
        stages: bool = False, record: bool = True, functions: StageFunctions = StageFunctions()) -> Build:
    """Every stage for a Corpus (or a host's list of posts: URLs already set, or made from
    settings.url_pattern), through the cache, computing only what changed since the last build
    (incremental.py): a build whose inputs are all unchanged returns the stored results (`unchanged`),
    a large site's build after a few edits updates them.

    `full`: compute everything again, as a first build would (`postkin build --full`); `stages`: the
    build must carry every stage value (the report reads them), so it computes them all.
    The corpus's freshly parsed posts are stored in the cache once the build has succeeded. A site with
    no posts gives an empty Build without loading any model. With a cache, the build's record (diff.py:
    what `postkin diff` compares) is kept there unless `record` is false. Raises PostkinError (two posts
    with one slug, an encoder that cannot load, a cache that fails).
    """
    from .incremental import build as incremental_build

    started = time.perf_counter()
    stages = stages or bool(settings.report)
    corpus = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
    posts = corpus.posts
    check_unique_slugs(posts)
    for post in posts:
        if not post.url:
            post.url = render_url(settings.url_pattern, post)
    if not posts:
        return Build(stats=Stats(seconds=time.perf_counter() - started))
    with open_cache(cache_dir) as cache:
        build = incremental_build(corpus, settings, cache, cache_dir, encoder=encoder, progress=progress,
                                  full=full, stages=stages, record=record, functions=functions)
    build.stats.seconds = time.perf_counter() - started
    return build


def full_build(corpus: Corpus, settings: Settings, cache: EmbeddingCache | None, *, encoder: Encoder | None = None,
               progress: Progress | None = None, fresh_topics: bool = False, record: bool = True,
               functions: StageFunctions = StageFunctions(), cache_dir: Path | None = None) -> Build:
    """Every stage from the features on, as a build did before it kept anything but the embeddings,
    token counts and topics (`fresh_topics`: fit the topics afresh, as a first build would); the build's
    record for `postkin diff` kept in the cache unless `record` is false."""
    posts = corpus.posts
    times: dict[str, float] = {}
    with stage("features", times) as notes:
        feats = features_stage.extract(posts, settings, cache=cache, encoder=encoder, progress=progress,
                                       readers=True)
        notes.append(f"embedded {feats.embedded} now, {len(posts) - feats.embedded} from cache")
        notes.append(f"words indexed {feats.indexed} now, {len(posts) - feats.indexed} from cache")
    corpus.store_parsed(cache)
    state_key = _topics_key(corpus, feats, settings, cache_dir)
    previous, stored = None, None
    if cache is not None:
        stored = cache.get_derived(STATE_KIND, [state_key]).get(state_key)
        previous = TopicState.from_bytes(stored) if stored is not None and not fresh_topics else None
    build = compute(corpus, feats, settings, previous_topics=previous, functions=functions)
    state = build.stages.topics.state if build.stages is not None else None
    if cache is not None and state is not None:
        data = state.to_bytes()
        if data != stored:  # a build that changed nothing writes nothing (a read-only cache stays quiet)
            cache.put_derived(STATE_KIND, {state_key: data})
    if cache is not None and record:  # issue #17: what `postkin diff` compares the next build with
        from .diff import keep_record

        keep_record(cache, build, settings)
    build.stats = Stats(posts=len(posts), embedded=feats.embedded, cached=len(posts) - feats.embedded,
                        indexed=feats.indexed, indexed_cached=len(posts) - feats.indexed,
                        stages={**times, **build.stats.stages})
    return build


def _topics_key(corpus: Corpus, features: Features, settings: Settings, cache_dir: Path | None) -> str:
    """The cache key of a site's topic state: the site (Corpus.site_key: relative to the cache, so a moved
    project keeps its topics), the encoder and the settings that shape topics (another configuration
    starts its own topics instead of inheriting these)."""
    import hashlib

    parts = [corpus.site_key(cache_dir), features.encoder_id, str(settings.clusters),
             str(settings.seed), str(settings.cluster_label_tags), ",".join(settings.embed_fields)]
    parts += [part for part in [controls_stage.topics_fingerprint(settings)] if part]  # only when set: keys stay
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def read_site(dialect: Dialect, settings: Settings) -> Corpus:
    """The Corpus of a site, read by its dialect through the cache of parsed posts, with page views from
    the popularity file. Raises PostkinError (a configuration or popularity file that cannot be read)."""
    with stage("reading") as notes, open_cache(dialect.cache_folder()) as cache:
        corpus = dialect.read(cache)
        notes.append(describe_read(corpus))
    apply_popularity(corpus.posts, settings)
    return corpus


def describe_read(corpus: Corpus) -> str:
    """What reading a site found, for --verbose: "508 posts (3 drafts), 1 unreadable, 2 not posts, 1 opted out
    (a jekyll site)"."""
    drafts = sum(1 for p in corpus.posts if p.draft)
    parts = [f"{len(corpus.posts)} posts" + (f" ({drafts} drafts)" if drafts else "")]
    if corpus.problems:
        parts.append(f"{len(corpus.problems)} unreadable")
    if corpus.not_posts:
        parts.append(f"{len(corpus.not_posts)} not posts")
    if corpus.opted_out:
        parts.append(f"{corpus.opted_out} opted out")
    article = "an" if corpus.dialect[:1] in "aeiou" else "a"
    kind = "a generic folder of posts" if corpus.dialect == "generic" else f"{article} {corpus.dialect} site"
    return f"{', '.join(parts)} ({kind})"


def read_folder(given: Path, settings: Settings) -> Corpus:
    """The Corpus of the site at (or above) `given` (see dialects.find_site and read_site)."""
    from .dialects import find_site

    return read_site(find_site(Path(given), settings), settings)


def build_folder(given: Path, settings: Settings, progress: Progress | None = None) -> tuple[Corpus, Build]:
    """Read a site and run every stage: (the Corpus, the Build)."""
    corpus = read_folder(given, settings)
    return corpus, run(corpus, settings, cache_dir=corpus.cache_dir, progress=progress, stages=True)


def suggest_tags(targets: list[Post], others: list[Post], settings: Settings, cache_dir: Path | None,
                 ) -> list[list[tags.Suggestion]]:
    """Suggested tags for `targets` (new or edited posts), learnt from the tags of `others` (the rest of
    the blog, drafts left out), with the same features and fused similarity as a build."""
    everything = others + targets
    with stage("features") as notes, open_cache(cache_dir) as cache:
        feats = features_stage.extract(everything, settings, cache=cache)
        notes.append(f"embedded {feats.embedded} now, {len(everything) - feats.embedded} from cache")
    use = listed(everything) & (np.arange(len(everything)) < len(others))
    vocab = tags.vocabulary(everything, use, ignore=controls_stage.ignored_tag(settings))
    query = np.arange(len(everything)) >= len(others)
    with one_blas_thread():  # the same method as a build: the text similarities, calibrated on the blog
        with stage("similarity"):
            sims = similarity_stage.compute(everything, feats, settings)
        with stage("tags"):
            suggestions = tags.suggest(everything, feats, sims, vocab, settings.tags_k, query)
    return suggestions[len(others):]


