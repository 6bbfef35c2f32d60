"""The incremental build of a large site (issue #21): after a few posts changed, compute what they touch
and keep the rest of the last build.

A full fit (pipeline.full_build) of a site with more than INCREMENTAL_MIN posts is kept by `capture`:
the TF-IDF's terms and idf, the projection that folds a post into the LSI, each post's vectors, the
candidate engine (largesite.Candidates), the related lists, the tag model, the language offsets. The
next builds (`update`) then, with those kept:

- embed and index only the edited and new posts, with the kept idf and LSI projection (tokens the
  kept model lacks are left out, as a term below min_df is);
- update the candidate engine (largesite.update) and recompute the related lists of the rows whose
  fused scores changed, with the same related_posts;
- score the tags of those rows, the edited posts and the posts whose tags changed with the kept model
  (tags.tag_features and rank_tags: its weights and the tags' TF-IDF sums of the fit; the tags' counts
  and embedding sums of now);
- fit the topics as every build does (they stay put within topics.TOPIC_DRIFT);
- make the contexts of the posts whose page data changed, and take the others' JSON text as stored.

Statistics that every post shares (idf, LSI components, the row statistics of unchanged posts, the tag
model) move a little with every edit: they are fitted again, in full, once more than REFIT_DRIFT of the
posts changed, were added or removed since the last full fit (or on `postkin build --full`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import largesite, lexical, similarity
from . import tags as tags_module
from .context import post_contexts, site_context, topic_lists
from .controls import ignored_tag
from .features import embed, embed_text, link_edges
from .languages import centre_with, group_offsets, language_groups, post_languages
from .related import Related, related_posts
from .similarity import LARGE_SITE, QE_K
from .state import Generation, Kept, pack_strings
from .tags import Suggestion, rank_tags, tag_features

if TYPE_CHECKING:
    from pathlib import Path

    from .cache import EmbeddingCache
    from .corpus import Corpus, Post
    from .encoders import Encoder
    from .features import Features, Progress
    from .incremental import Digests
    from .pipeline import Build, Stages
    from .settings import Settings

log = logging.getLogger("postkin")

INCREMENTAL_MIN = LARGE_SITE  # more posts than this: the candidate engine, kept up to date between builds
# A full fit happens when more than this share of the posts the last one saw changed, were added or removed.
REFIT_DRIFT = 0.1

# Arrays of a full fit, kept unchanged (hard links) until the next one.
FIT_ARRAYS = ("fit.slugs.bytes", "fit.slugs.ends", "fit.text_digest", "fit.tags_digest", "lex.terms", "lex.idf",
              "lsi.projection", "tags.sums_t.data", "tags.sums_t.indices", "tags.sums_t.indptr", "tags.sums_norm2",
              "tags.keys.bytes", "tags.keys.ends", "tags.weights", "tags.mean", "tags.spread", "offsets", "params")


def why_full(n: int, settings: Settings) -> str | None:
    """Why a site of n posts with these settings computes every stage at every build (None: it need not)."""
    if n <= INCREMENTAL_MIN:
        return f"{n} posts: a blog's exact fusion"
    if settings.related_method != "hybrid" or settings.related_use_tags:
        return "related_method other than hybrid or related_use_tags"
    if settings.reader_logs:
        return "reader logs (their co-view signal and page views are read in full)"
    if settings.signals:
        return "setting signals"
    if (settings.exclude_tags or settings.exclude_categories or settings.exclude_posts
            or settings.max_age_days is not None or not settings.include_newer
            or settings.recency_half_life_days is not None or settings.related_min_score is not None
            or settings.related_fallback != "none"):
        return "editorial controls (controls.py)"
    return None


def _digest(value: Any) -> np.ndarray:
    return np.frombuffer(hashlib.blake2b(repr(value).encode("utf-8", "surrogatepass"), digest_size=16).digest(),
                         np.uint8)


def list_signature(posts: list[Post], topics: Any, i: int, cluster_k: int, lang_ids: np.ndarray | None,
                   ) -> tuple[np.ndarray, list[int]]:
    """A digest of post i's topic and topic lists (what its page shows of them, by key), and the posts
    those lists hold."""
    c, latest, popular, _ = topic_lists(topics, i, cluster_k, lang_ids)
    topic = (topics.ids[c] if topics.ids else c, topics.labels[c]) if c is not None else None
    return _digest((topic, [posts[j].slug for j in latest], [posts[j].slug for j in popular])), latest + popular


def tag_signature(suggestions: list[Suggestion], min_score: float) -> np.ndarray:
    """A digest of the suggestions a page shows."""
    return _digest([(s.tag, s.score) for s in tags_module.shown(suggestions, min_score)])


def capture(stages: Stages, settings: Settings, digests: Digests) -> dict[str, np.ndarray | Kept]:
    """What a full fit of a large site keeps for the incremental builds after it (empty: nothing, the
    next build fits in full again: a site without terms, or too few tagged posts for a fitted model).
    `digests`: the build's own Digests of stages.posts (incremental.build made them)."""
    posts, feats, sims = stages.posts, stages.features, stages.similarity
    cand = sims.text.engine
    lsi = next((s for s in sims.text.signals if s.name == "lsi"), None)
    model = stages.tag_model
    if cand is None or lsi is None or lsi.fold is None or feats.lexical.terms is None or model.get("mean") is None \
            or "sums_t" not in model:
        return {}
    X = feats.lexical.tfidf
    projection = np.asarray(X.T @ lsi.fold, np.float32)
    sums_t = model["sums_t"]
    vocab = tags_module.vocabulary(posts, stages.listed, ignore=ignored_tag(settings))
    arrays: dict[str, np.ndarray | Kept] = {
        **{f"fit.{k}": v for k, v in pack_strings([p.slug for p in posts], "slugs").items()},
        "fit.text_digest": digests.text, "fit.tags_digest": digests.tags,
        "lex.terms": feats.lexical.terms, "lex.idf": np.asarray(feats.lexical.idf), "lsi.projection": projection,
        "tags.sums_t.data": sums_t.data, "tags.sums_t.indices": sums_t.indices.astype(np.int32),
        "tags.sums_t.indptr": sums_t.indptr.astype(np.int64), "tags.sums_norm2": model["sums_norm2"],
        **{f"tags.{k}": v for k, v in pack_strings(vocab.keys, "keys").items()},
        "tags.weights": model["weights"], "tags.mean": model["mean"], "tags.spread": np.asarray(model["spread"]),
        "offsets": group_offsets(feats.vectors, feats.groups) if feats.groups is not None else np.zeros((0, 0)),
        "params": np.array([similarity.CANDIDATES, QE_K], np.int64),
    }
    languages = stages.languages
    arrays.update(_per_build(posts, feats.vectors, feats.centred, lsi.vectors, feats.languages,
                             feats.groups, cand, stages.related, feats.links))
    lang_ids = languages.lang_ids if languages.same else None
    arrays["list_sig"] = np.stack([list_signature(posts, stages.topics, i, settings.cluster_k, lang_ids)[0]
                                   for i in range(len(posts))])
    arrays["tag_sig"] = np.stack([tag_signature(s, settings.tags_min_score) for s in stages.suggestions])
    arrays.update(_vocabulary_arrays(vocab))
    return arrays


def _vocabulary_arrays(vocab: tags_module.Vocabulary) -> dict[str, np.ndarray | Kept]:
    """The tags a build could suggest, and the name it showed each under."""
    return {**{f"vocab.{k}": v for k, v in pack_strings(vocab.keys, "keys").items()},
            **{f"vocab.{k}": v for k, v in pack_strings([vocab.display[k] for k in vocab.keys], "display").items()}}


def _per_build(posts: list[Post], vectors: np.ndarray, centred: np.ndarray | None, Z: np.ndarray, langs: list[str],
               groups: np.ndarray | None, cand: largesite.Candidates, related: Related, edges: Any,
               ) -> dict[str, np.ndarray | Kept]:
    """The arrays every build saves anew, row i = posts[i]."""
    coo = edges.tocoo() if edges is not None else None
    out: dict[str, np.ndarray | Kept] = {
        "vectors": np.asarray(vectors, np.float32), "lsi": np.asarray(Z, np.float32),
        **pack_strings(langs, "langs"),
        "groups": groups if groups is not None else np.zeros(len(posts), np.int64),
        "cand.found": cand.found.astype(np.int32), "cand.kth": cand.kth, "cand.mean": cand.mean, "cand.std": cand.std,
        "cand.indptr": cand.indptr, "cand.indices": cand.indices.astype(np.int32), "cand.f0": cand.f0,
        "cand.wf": cand.wf, "cand.nbr": cand.nbr.astype(np.int32),
        "related.idx": related.idx.astype(np.int32), "related.fused": related.fused,
        "edges.row": coo.row.astype(np.int64) if coo is not None else np.zeros(0, np.int64),
        "edges.col": coo.col.astype(np.int64) if coo is not None else np.zeros(0, np.int64),
        "edges.weight": coo.data if coo is not None else np.zeros(0),
    }
    if centred is not None:
        out["semantic"] = np.asarray(centred, np.float32)
    return out


def _remap_rows(old: np.ndarray, old_of_new: np.ndarray, fill: Any = 0) -> np.ndarray:
    """Rows of `old` in the new order of posts (new posts: `fill`)."""
    out = np.full((len(old_of_new), *old.shape[1:]), fill, dtype=old.dtype)
    kept = old_of_new >= 0
    out[kept] = old[old_of_new[kept]]
    return out


def update(last: Generation, corpus: Corpus, settings: Settings, cache: EmbeddingCache | None, *,
           encoder: Encoder, progress: Progress | None, digests: Digests, listed: np.ndarray, settings_key: str,
           cache_dir: Path | None = None) -> tuple[Build, dict[str, np.ndarray | Kept]] | str:
    """The build after the one `last` holds, computing what changed (see the module docstring); or why it
    must compute every stage instead."""
    import scipy.sparse as sp

    from .pipeline import Build, Languages, Stats, _topics_key, one_blas_thread
    from .topics import STATE_KIND, TopicState, find_topics

    manifest = last.manifest
    if not manifest.get("large") or not last.has("cand.found"):
        return "no full fit of this site kept yet"
    if any(p.pins or not p.recommend for p in corpus.posts):
        return "editorial controls (pins or postkin_recommend: false)"
    if manifest.get("settings") != settings_key:
        return "settings changed"
    posts = corpus.posts
    n = len(posts)
    slugs = [p.slug for p in posts]
    # -- what changed: since the last full fit (the drift bound), since the last build (the work)
    fit_slugs = last.strings("fit.slugs")
    at_fit = {s: i for i, s in enumerate(fit_slugs)}
    fit_of_new = np.array([at_fit.get(s, -1) for s in slugs], np.int64)
    seen = fit_of_new >= 0
    moved = ~seen
    moved[seen] = (digests.text[seen] != last.array("fit.text_digest")[fit_of_new[seen]]).any(1) | \
        (digests.tags[seen] != last.array("fit.tags_digest")[fit_of_new[seen]]).any(1)
    drift = (int(moved.sum()) + len(fit_slugs) - int(seen.sum())) / max(len(fit_slugs), 1)
    if drift > REFIT_DRIFT:
        return f"{drift:.0%} of the posts changed since the last full fit (more than {REFIT_DRIFT:.0%})"
    old_slugs = last.strings("slugs")
    before = {s: i for i, s in enumerate(old_slugs)}
    old_of_new = np.array([before.get(s, -1) for s in slugs], np.int64)
    kept = old_of_new >= 0

    def changed(name: str, now: np.ndarray) -> np.ndarray:
        out = ~kept
        out[kept] = (now[kept] != last.array(name)[old_of_new[kept]]).any(1)
        return out

    fresh = changed("text_digest", digests.text)  # new, or its text changed: its features change
    tags_changed = changed("tags_digest", digests.tags)
    meta_changed = changed("meta_digest", digests.meta)
    listed_before = _remap_rows(np.asarray(last.array("listed")), old_of_new, False)
    listing = kept & (listed_before != listed)
    V = np.flatnonzero(fresh)
    fresh_posts = [posts[i] for i in V]
    # -- features of the fresh posts, with the kept model
    langs = _remap_list(last.strings("langs"), old_of_new)
    fresh_langs, new_langs = post_languages(fresh_posts, cache)
    for i, lang in zip(V, fresh_langs):
        langs[i] = lang
    groups = language_groups(langs)
    old_groups = _remap_rows(np.asarray(last.array("groups")), old_of_new, -1)
    offsets = np.asarray(last.array("offsets"))
    multi = groups.max(initial=0) > 0
    if (groups[kept & ~fresh] != old_groups[kept & ~fresh]).any() or (multi and groups.max() >= len(offsets)) \
            or multi != bool(len(offsets)):
        return "the site's languages changed"
    texts = [embed_text(p, settings.embed_fields) for p in fresh_posts]
    if hasattr(encoder, "prefetch") and texts:
        encoder.prefetch()  # loads in the background while the posts are tokenised
    counts_fresh, new_counts = lexical.count_posts(fresh_posts, cache, fresh_langs)
    terms, idf = np.asarray(last.array("lex.terms")), np.asarray(last.array("lex.idf"))
    X_fresh = lexical.tfidf_rows(counts_fresh, terms, idf)
    raw_fresh, embedded = embed(texts, encoder, cache, settings.batch_size, progress) if texts else \
        (np.zeros((0, last.array("vectors").shape[1]), np.float32), 0)
    vectors = _remap_rows(np.asarray(last.array("vectors")), old_of_new)
    vectors[V] = raw_fresh
    semantic = vectors
    if multi:
        semantic = _remap_rows(np.asarray(last.array("semantic")), old_of_new)
        semantic[V] = centre_with(raw_fresh, groups[V], offsets)
    Z = _remap_rows(np.asarray(last.array("lsi")), old_of_new)
    Z[V] = lexical.l2_rows(np.asarray(X_fresh @ last.array("lsi.projection"), np.float64)).astype(np.float32)
    fresh_counts = dict(zip(V.tolist(), counts_fresh))

    def counts_of(idx: np.ndarray) -> list[lexical.TokenCounts]:
        """Token counts of any posts (the fresh ones' of now, the others' from the cache)."""
        missing = [int(i) for i in idx if int(i) not in fresh_counts]
        looked = dict(zip(missing, lexical.count_posts([posts[i] for i in missing], cache,
                                                       [langs[i] for i in missing])[0]))
        return [fresh_counts[int(i)] if int(i) in fresh_counts else looked[int(i)] for i in idx]

    def tfidf(idx: np.ndarray) -> Any:
        """TF-IDF rows of any posts under the kept model."""
        return lexical.tfidf_rows(counts_of(idx), terms, idf)

    # -- links, the candidate engine, F1
    edges = link_edges(posts, settings.related_links)
    er, ec = _remap_index(np.asarray(last.array("edges.row")), old_of_new), \
        _remap_index(np.asarray(last.array("edges.col")), old_of_new)
    ok = (er >= 0) & (ec >= 0)
    old_edges = sp.csr_matrix((np.asarray(last.array("edges.weight"))[ok], (er[ok], ec[ok])), shape=(n, n)) \
        if ok.any() else None
    c, qe_k = (int(v) for v in last.array("params"))
    if min(c, n - 1) + 1 != last.array("cand.found").shape[1]:  # a site of fewer posts than CANDIDATES grew
        return "the candidate lists' length changes with the number of posts"
    cand = largesite.Candidates(*(np.array(last.array(f"cand.{name}"), dtype=dtype) for name, dtype in (
        ("found", np.int64), ("kth", np.float32), ("mean", np.float64), ("std", np.float64), ("indptr", np.int64),
        ("indices", np.int64), ("f0", np.float64), ("wf", np.float64), ("nbr", np.int64))))
    cand, lost = largesite.remap(cand, old_of_new)
    signals = [largesite.Signal("lexical", 1.0, fetch=tfidf), largesite.Signal("lsi", 1.0, Z),
               largesite.Signal("semantic", 1.0, semantic)]
    with one_blas_thread():
        change = largesite.update(cand, signals, fresh, edges, old_edges, c=c, qe_k=qe_k,
                                  sample=largesite.stats_sample(slugs, n), lost=lost)
    view = largesite.candidate_view(cand)
    # -- related posts of the rows whose scores, or whose candidates' listing, changed
    languages = Languages.of(corpus, settings)
    lang_ids = languages.lang_ids if languages.same else None
    new_of_old = np.full(len(old_slugs), -1, np.int64)
    new_of_old[old_of_new[kept]] = np.flatnonzero(kept)
    old_idx = _remap_rows(np.asarray(last.array("related.idx"), np.int64), old_of_new, -1)
    previous = Related(np.where(old_idx >= 0, new_of_old[np.maximum(old_idx, 0)], -1),
                       _remap_rows(np.asarray(last.array("related.fused")), old_of_new, -np.inf))
    redo = np.zeros(n, bool)
    redo[change.f1_rows] = True
    redo |= fresh | listing | meta_changed | ((old_idx >= 0) & (previous.idx < 0)).any(1)
    shifted = np.flatnonzero(listing | meta_changed | fresh)  # its listing or language may differ now
    redo[cand.indices[largesite._slices(cand.indptr, shifted)]] = True
    with one_blas_thread():
        related = related_posts(view, listed, settings.related_k, lang_ids=lang_ids, groups=languages.groups,
                                rows=np.flatnonzero(redo), previous=previous)
    # -- tag suggestions of the rows whose inputs changed, with the kept model
    vocab = tags_module.vocabulary(posts, listed, ignore=ignored_tag(settings))
    old_texts = last.strings("texts")
    rescore = redo | tags_changed
    fit_keys = last.strings("tags.keys")
    gone_or_renamed = _tags_gone_or_renamed(vocab, last.strings("vocab.keys"), last.strings("vocab.display"))
    if gone_or_renamed:  # a tag no longer suggested under that name: the rows showing it
        needles = [f'"tag":{json.dumps(name, ensure_ascii=False)}' for name in gone_or_renamed]
        for i in np.flatnonzero(kept):
            text = old_texts[old_of_new[i]]
            if any(needle in text for needle in needles):
                rescore[i] = True
    scored = np.flatnonzero(rescore)
    with one_blas_thread():
        suggestions = _suggest_rows(posts, scored, view, vocab, semantic, counts_of, terms, idf, langs, last,
                                    fit_keys, settings)
    # -- topics, as every build fits them
    state_key = _topics_key(corpus, _FeatureView(vectors, encoder.cache_id, langs), settings, cache_dir)
    stored = cache.get_derived(STATE_KIND, [state_key]).get(state_key) if cache is not None else None
    topics = find_topics(posts, semantic, listed, vocab, settings,
                         previous=TopicState.from_bytes(stored) if stored is not None else None, own=vectors)
    # -- contexts: made for the posts whose page data changed, the others' JSON kept
    shown_changed = meta_changed | listing | ~kept
    for v in V[kept[V]].tolist():
        shown_changed[v] |= posts[v].title != json.loads(old_texts[old_of_new[v]])["title"] or \
            not np.array_equal(vectors[v], last.array("vectors")[old_of_new[v]])
    changed_posts = np.flatnonzero(shown_changed)
    dirty = shown_changed | (related.idx != previous.idx).any(1) | np.isin(related.idx, changed_posts).any(1)
    list_sig = np.empty((n, 16), np.uint8)
    changed_set = set(changed_posts.tolist())
    for row in range(n):
        list_sig[row], members = list_signature(posts, topics, row, settings.cluster_k, lang_ids)
        dirty[row] |= bool(changed_set) and not changed_set.isdisjoint(members)
    dirty |= (list_sig != _remap_rows(np.asarray(last.array("list_sig")), old_of_new)).any(1)
    tag_sig = _remap_rows(np.asarray(last.array("tag_sig")), old_of_new)
    for i, found in zip(scored, suggestions):
        sig = tag_signature(found, settings.tags_min_score)
        dirty[i] |= not np.array_equal(sig, tag_sig[i])
        tag_sig[i] = sig
    if languages.groups is not None and (languages.groups >= 0).any():  # translations list each other
        moved_groups = set(languages.groups[changed_posts].tolist()) - {-1}
        dirty |= np.isin(languages.groups, list(moved_groups))
    rows = np.flatnonzero(dirty)
    all_suggestions: list[list[Suggestion]] = [[] for _ in range(n)]
    for i, found in zip(scored, suggestions):
        all_suggestions[i] = found
    for i in rows[~rescore[rows]]:  # unchanged suggestions: as stored
        all_suggestions[i] = [Suggestion(t["tag"], t["score"])
                              for t in json.loads(old_texts[old_of_new[i]])["suggested_tags"]]
    made = post_contexts(posts, _FeatureView(vectors, encoder.cache_id, langs), related, topics, all_suggestions,
                         cluster_k=settings.cluster_k, listed=listed, lang_ids=lang_ids, groups=languages.groups,
                         tags_min_score=settings.tags_min_score, rows=rows.tolist())
    from .outputs import json_text

    texts_out = {slug: old_texts[old_of_new[i]] for i, slug in enumerate(slugs) if not dirty[i]}
    texts_out.update({slug: json_text(ctx.to_json()) for slug, ctx in made.items()})
    texts_out = {slug: texts_out[slug] for slug in slugs}
    # -- keep what changed: the cache's new detections and token counts, the topics, the arrays
    corpus.store_parsed(cache)
    if cache is not None:
        if new_counts:
            cache.put_tokens(lexical.TOKENIZER_VERSION, new_counts)
        if new_langs:
            from .languages import detector_kind

            cache.put_derived(detector_kind(), new_langs)
        state = topics.state
        data = state.to_bytes() if state is not None else None
        if data is not None and data != stored:  # a build that changed nothing writes nothing
            cache.put_derived(STATE_KIND, {state_key: data})
    from .incremental import StoredContexts

    recommend = None
    if settings.recommend_for_you:
        from .readers.browser import vectors_file

        shown = np.flatnonzero(listed)
        recommend = vectors_file([posts[i].slug for i in shown], [posts[i].url for i in shown],
                                 [posts[i].title for i in shown], semantic[listed])
    result = Build(StoredContexts(texts_out), site_context(posts, _FeatureView(vectors, encoder.cache_id, langs),
                                                          topics),
                   Stats(posts=n, embedded=embedded, cached=n - embedded, indexed=len(new_counts),
                         indexed_cached=n - len(new_counts)),
                   recommend, None, posts, texts_out)
    arrays: dict[str, np.ndarray | Kept] = {name: last.keep(name) for name in FIT_ARRAYS if last.has(name)}
    arrays.update(_per_build(posts, vectors, semantic if multi else None, Z, langs, groups if multi else None,
                             cand, related, edges))
    arrays["list_sig"], arrays["tag_sig"] = list_sig, tag_sig
    arrays.update(_vocabulary_arrays(vocab))
    log.debug("incremental build: %d posts changed, %d removed; %d candidate lists searched, %d rows of scores, "
              "%d related lists, %d tag suggestions, %d contexts made", len(V), len(old_slugs) - int(kept.sum()),
              len(change.searched), len(change.f1_rows), int(redo.sum()), len(scored), len(rows))
    return result, arrays


def _FeatureView(vectors: np.ndarray, encoder_id: str, langs: list[str]) -> Features:
    """What topics' cache key, post_contexts and site_context read of features.Features (the vectors, the
    encoder's id, the languages): an incremental build has no TF-IDF of every post to give them."""
    view = SimpleNamespace(vectors=vectors, encoder_id=encoder_id, languages=langs)
    return cast("Features", view)


def _remap_list(old: list[str], old_of_new: np.ndarray) -> list[str]:
    return [old[i] if i >= 0 else "" for i in old_of_new.tolist()]


def _remap_index(old: np.ndarray, old_of_new: np.ndarray) -> np.ndarray:
    """Old row numbers as new ones (-1: the post is gone)."""
    new_of_old = np.full(max(int(old_of_new.max(initial=-1)) + 1, int(old.max(initial=-1)) + 1), -1, np.int64)
    kept = old_of_new >= 0
    new_of_old[old_of_new[kept]] = np.flatnonzero(kept)
    return new_of_old[old] if len(old) else old.astype(np.int64)


def _tags_gone_or_renamed(vocab: tags_module.Vocabulary, keys: list[str], display: list[str]) -> list[str]:
    """Names the last build showed tags under (its vocabulary: keys and display names) that this one will
    not: tags no listed post carries any more, tags now shown in another spelling."""
    return [name for key, name in zip(keys, display) if vocab.display.get(key) != name]


def _suggest_rows(posts: list[Post], rows: np.ndarray, view: Any, vocab: tags_module.Vocabulary,
                  semantic: np.ndarray, counts_of: Any, terms: np.ndarray, idf: np.ndarray, langs: list[str],
                  last: Generation, fit_keys: list[str], settings: Settings) -> list[list[Suggestion]]:
    """tags.suggest for `rows`, with the model of the last full fit (its weights and the tags' TF-IDF
    sums; the tags' counts and embedding sums of now)."""
    import scipy.sparse as sp

    V = len(vocab.keys)
    if not len(rows) or settings.tags_k == 0 or V == 0:
        return [[] for _ in rows]
    n = len(posts)
    train = np.flatnonzero(vocab.membership.any(axis=1))
    if not len(train):
        return [[] for _ in rows]
    Ytr, pos, sem, Usum, Unrm2 = tags_module.tag_sums(vocab, semantic, train)
    cnt = np.asarray(Ytr.sum(0)).ravel()
    # the fit's tag sums, their columns in today's vocabulary (a tag the fit did not know: none)
    sums_t = sp.csr_matrix((last.array("tags.sums_t.data"), last.array("tags.sums_t.indices"),
                            last.array("tags.sums_t.indptr")), shape=(len(last.array("lex.terms")), len(fit_keys)))
    column = {key: j for j, key in enumerate(vocab.keys)}
    where = np.array([column.get(key, -1) for key in fit_keys], np.int64)
    known = where >= 0
    move = sp.csr_matrix((np.ones(int(known.sum())), (np.flatnonzero(known), where[known])), shape=(len(fit_keys), V))
    CsumT = sums_t @ move  # (terms, V)
    Cnrm2 = np.zeros(V)
    Cnrm2[where[known]] = np.asarray(last.array("tags.sums_norm2"))[known]
    w, mu, sd = (np.asarray(last.array(f"tags.{name}")) for name in ("weights", "mean", "spread"))
    out: list[list[Suggestion]] = []
    block = max(64, 4_000_000 // max(n, 1))
    for b in range(0, len(rows), block):
        r = rows[b:b + block]
        Fr = view.rows(r)[:, train]
        selfY = np.zeros((len(r), V))
        own = np.flatnonzero(pos[r] >= 0)
        Fr[own, pos[r][own]] = -np.inf
        selfY[own] = vocab.membership[r[own]]
        counts = counts_of(r)
        Xr = lexical.tfidf_rows(counts, terms, idf).astype(np.float64)
        lex = ((Xr @ CsumT).toarray(), Cnrm2, np.asarray(Xr.multiply(Xr).sum(1)))
        part_langs = [langs[i] for i in r]
        # whether a post holds a tag's words depends on that post only: an index of these posts answers
        in_text = lexical.build_index(counts).contains(vocab.keys, part_langs)
        titles = [lexical.token_counts(posts[i].plain_title, lang=lang) for i, lang in zip(r, part_langs)]
        in_title = lexical.build_index(titles, min_df=1, max_df=1.0).contains(vocab.keys, part_langs)
        Fq = tag_features(Fr, Ytr, selfY, lex, (sem[r] @ Usum.T, Unrm2, (sem[r] ** 2).sum(1, keepdims=True)),
                          cnt, in_text, in_title)
        out += rank_tags(Fq, [posts[i].tags for i in r], vocab, settings.tags_k, w, mu, sd)
    return out
