"""The report's analysis: ReportInput in, ReportData out (numpy, scipy; no HTML here).

Topics are listed in the leaf order of a Ward dendrogram on the cosine distances of their centres, as
the source talk did; each shows the posts nearest its centre, its latest and most-read posts, and what
changed since the previous report. Thresholds for outliers and tag problems: model.Thresholds.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ..tags import tag_key
from .model import ReportData, ReportInput, ReportPost, Snapshot, Thresholds, Topic, TopicChange
from .projection import PERPLEXITY, tsne_2d
from .requirements import require

CENTRAL = 5  # posts nearest each topic's centre
LATEST = 3
MOST_READ = 3
RELATED_CHANGES = 20  # posts listed whose related list changed most
BLOCK = 1024  # rows of the similarity matrix held at once (memory O(BLOCK * n))


def analyse(inp: ReportInput) -> ReportData:
    """The whole report of one blog (see module docstring). Cost: O(n^2 d) for the neighbour scans
    and Barnes-Hut t-SNE, about 2 s for 800 posts."""
    n = len(inp.posts)
    t = inp.thresholds
    vectors = np.asarray(inp.vectors, np.float32)
    topic_of = inp.topic_of()  # stable topic ids (Topics.ids), as the build's JSON gives them
    coords = tsne_2d(vectors, inp.seed) if n else np.zeros((0, 2))
    posts = {
        p.key: {"title": p.title, "url": safe_url(p.url), "date": p.date, "tags": list(p.tags), "draft": p.draft,
                "popularity": p.popularity, "topic": int(topic_of[i]),
                "x": round(float(coords[i, 0]), 2), "y": round(float(coords[i, 1]), 2),
                "related": list(inp.related[i]),
                "suggested_tags": [{"tag": tag, "score": round(float(s), 2)} for tag, s in inp.suggested_tags[i]]}
        for i, p in enumerate(inp.posts)}
    tree = dendrogram(np.asarray(inp.topics.centroids, np.float64))
    topics = [_topic(inp, vectors, topic_of, c) for c in tree["order"]]
    tree["order"] = [topic.id for topic in topics]  # leaves named by the topics' stable ids
    if inp.previous is not None:
        for topic in topics:
            topic.change = topic_change(topic, inp, topic_of, inp.previous)
    outliers = _outliers(inp, vectors, t)
    hygiene = tag_hygiene(inp.posts, t)
    summary = {
        "posts": n, "published": sum(not p.draft for p in inp.posts), "drafts": sum(p.draft for p in inp.posts),
        "topics": len(topics), "tags": hygiene.pop("count"), "tagged_posts": sum(bool(p.tags) for p in inp.posts),
        "has_previous": inp.previous is not None,
    }
    perplexity = min(PERPLEXITY, (n - 1) / 3) if n >= 4 else None
    projection = {"method": "t-SNE (scikit-learn), cosine distance, PCA initialisation", "points": n,
                  "perplexity": None if perplexity is None else round(perplexity, 2)}
    return ReportData(summary, posts, topics, tree, projection, hygiene, outliers, inp.evaluation, t)


def safe_url(url: str) -> str:
    """The URL if a link to it is harmless (relative, http, https), else '' (no link)."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in ("", "http", "https") else ""


# ----------------------------------------------------------------------------- topics
def dendrogram(centroids: np.ndarray) -> dict[str, Any]:
    """Ward linkage on the cosine distances of the (k, d) topic centres, leaves ordered so neighbours
    are similar (scipy's optimal_ordering): {"order": leaf topic ids top to bottom, "icoord",
    "dcoord": scipy.cluster.hierarchy.dendrogram's line coordinates (leaf i at 5 + 10 i)}.
    Ward's method assumes Euclidean input; cosine distance of unit vectors is half their squared
    Euclidean distance, so it merges in nearly the same order, and it is what the source talk used."""
    k = len(centroids)
    method = "Ward linkage on cosine distance of topic centres (scipy), optimal leaf ordering"
    if k < 2:
        return {"order": list(range(k)), "icoord": [], "dcoord": [], "method": method}
    from scipy.cluster import hierarchy
    from scipy.spatial.distance import pdist

    distances = np.clip(pdist(centroids, "cosine"), 0.0, None)
    links = hierarchy.linkage(distances, method="ward", optimal_ordering=True)
    drawn = hierarchy.dendrogram(links, no_plot=True)
    return {"order": [int(c) for c in drawn["leaves"] or []],
            "icoord": [[round(float(v), 4) for v in line] for line in drawn["icoord"]],
            "dcoord": [[round(float(v), 4) for v in line] for line in drawn["dcoord"]], "method": method}


def _topic(inp: ReportInput, vectors: np.ndarray, topic_of: np.ndarray, c: int) -> Topic:
    """Topic row c of inp.topics (topic_of: each post's stable topic id, ReportInput.topic_of)."""
    posts = inp.posts
    topic_id = inp.topic_id(c)
    rows = np.flatnonzero(topic_of == topic_id)
    published = [int(i) for i in rows if not posts[i].draft]
    cosine = vectors[published] @ np.asarray(inp.topics.centroids[c], np.float32) if published else np.zeros(0)
    nearest = np.lexsort((np.array(published), -cosine))[:CENTRAL] if published else np.zeros(0, np.int64)
    return Topic(
        id=topic_id, label=inp.topics.labels[c], size=len(published),
        central=[{"key": posts[published[a]].key, "cosine": round(float(cosine[a]), 4)} for a in nearest],
        latest=[posts[i].key for i in inp.topics.by_date[c][:LATEST]],  # the build's lists: what pages show
        most_read=[posts[i].key for i in inp.topics.by_views[c][:MOST_READ]],
        drafts=[posts[int(i)].key for i in rows if posts[i].draft])


def previous_topic(topic_id: int, previous: Snapshot) -> int | None:
    """The previous report's topic that this topic continues, or None (a new topic).

    The one place that decides topic identity across reports: the Topics stage keeps a topic's id from
    build to build (topics.find_topics: a refit matches old and new centroids), so a topic continues
    the previous report's topic of the same id, as the site's pages (cluster.id) see it."""
    return topic_id if topic_id in previous.topic_labels else None


def topic_change(topic: Topic, inp: ReportInput, topic_of: np.ndarray, previous: Snapshot) -> TopicChange:
    """The topic against the previous report's topic of the same id (previous_topic): its posts that
    are new since then, and those that were in another topic (with that topic's id and label)."""
    members = [p.key for i, p in enumerate(inp.posts) if topic_of[i] == topic.id and not p.draft]
    new = [k for k in members if k not in previous.topic_of]
    matched = previous_topic(topic.id, previous)
    moved = [{"key": k, "from_id": previous.topic_of[k],
              "from": previous.topic_labels.get(previous.topic_of[k], f"topic {previous.topic_of[k]}")}
             for k in members if previous.topic_of.get(k, topic.id) not in (topic.id, -1)]
    return TopicChange(matched, None if matched is None else previous.topic_labels[matched], new, moved)


# ----------------------------------------------------------------------------- outliers
def _scan(X: Any, threshold: float) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], float]]:
    """Each row's nearest other row (index, cosine) and every pair i < j with cosine >= threshold, for
    unit rows X (dense or scipy sparse), BLOCK rows at a time."""
    n = X.shape[0]
    nearest = np.full(n, -1, np.int64)
    best = np.full(n, -np.inf)
    pairs: dict[tuple[int, int], float] = {}
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        S = X[start:stop] @ X.T
        S = np.asarray(S.toarray() if hasattr(S, "toarray") else S, np.float64)
        S[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        if n > 1:
            nearest[start:stop] = np.argmax(S, axis=1)
            best[start:stop] = S[np.arange(stop - start), nearest[start:stop]]
        i, j = np.nonzero(S >= threshold)
        for a, b in zip((i + start).tolist(), j.tolist()):
            if a < b:
                pairs[(a, b)] = float(S[a - start, b])
    return nearest, best, pairs


def _pair_cosine(X: Any, a: int, b: int) -> float:
    value = X[a] @ X[b].T
    return float(value.toarray()[0, 0] if hasattr(value, "toarray") else value)


def _outliers(inp: ReportInput, vectors: np.ndarray, t: Thresholds) -> dict[str, Any]:
    posts = inp.posts
    n = len(posts)
    text = inp.text_vectors if inp.text_vectors is not None and inp.text_vectors.shape[1] else None
    nearest, best, dup = _scan(vectors, t.duplicate_cosine) if n else (np.zeros(0, int), np.zeros(0), {})
    text_best: np.ndarray | None = None
    text_dup: dict[tuple[int, int], float] = {}
    if text is not None and n:
        _, text_best, text_dup = _scan(text, t.duplicate_text)
    orphans = [i for i in range(n) if nearest[i] >= 0 and best[i] < t.orphan_cosine
               and (text_best is None or text_best[i] < t.orphan_text)]
    orphans.sort(key=lambda i: (best[i], posts[i].key))
    found = []
    for a, b in sorted(set(dup) | set(text_dup)):
        cosine = dup.get((a, b), float(vectors[a] @ vectors[b]))
        text_cos = text_dup.get((a, b), _pair_cosine(text, a, b)) if text is not None else None
        found.append((max(cosine, text_cos or 0.0), a, b, cosine, text_cos))
    found.sort(key=lambda f: (-round(f[0], 4), posts[f[1]].key, posts[f[2]].key))
    duplicates = [{"a": posts[a].key, "b": posts[b].key, "cosine": round(cosine, 4),
                   "text_cosine": None if text_cos is None else round(text_cos, 4),
                   "why": "title and lede" if (a, b) in dup else "text"} for _, a, b, cosine, text_cos in found]
    return {
        "orphans": [{"key": posts[i].key, "nearest": posts[int(nearest[i])].key, "cosine": round(float(best[i]), 4),
                     "text_cosine": None if text_best is None else round(float(text_best[i]), 4)} for i in orphans],
        "near_duplicates": duplicates,
        "related_changes": related_changes(inp) if inp.previous is not None else [],
    }


def related_changes(inp: ReportInput, limit: int = RELATED_CHANGES) -> list[dict[str, Any]]:
    """Posts whose related list gained the most posts since the previous report (most first)."""
    previous = inp.previous.related if inp.previous is not None else {}
    changes: list[tuple[int, str, list[str], list[str]]] = []
    for post, after in zip(inp.posts, inp.related):
        before = previous.get(post.key)
        if before is None:
            continue
        gained = [k for k in after if k not in before]
        if gained:
            changes.append((len(gained), post.key, list(before), list(after)))
    changes.sort(key=lambda c: (-c[0], c[1]))
    return [{"key": key, "changed": changed, "before": before, "after": after}
            for changed, key, before, after in changes[:limit]]


# ----------------------------------------------------------------------------- tags
_SEPARATORS = re.compile(r"[\s._\-\u30fb/]+")  # spaces, dots, underscores, hyphens, katakana middle dot, slash


def fold(tag: str) -> str:
    """The form in which spellings of one tag coincide: Unicode NFKC (full-width letters to ASCII),
    case-folded, separators removed ('Node.js', 'nodejs', 'GitHub Actions', 'GitHubActions').
    Symbols stay: 'C++', 'C#' and 'C' are three tags."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", tag).casefold())


def tag_hygiene(posts: Sequence[ReportPost], t: Thresholds) -> dict[str, Any]:
    """Tag spellings to unify, near spellings (likely typos, plurals), merge candidates (Jaccard of post
    sets), tags on one post, and untagged posts. Tags are counted in posts (a tag twice in one post
    counts once)."""
    spellings: dict[str, Counter[str]] = {}
    carriers: dict[str, set[int]] = {}
    for i, post in enumerate(posts):
        for tag in dict.fromkeys(post.tags):
            key = fold(tag)
            if key:
                spellings.setdefault(key, Counter())[tag] += 1
                carriers.setdefault(key, set()).add(i)
    keys = sorted(spellings)
    display = {k: min(spellings[k].items(), key=_most_first)[0] for k in keys}
    size = {k: len(carriers[k]) for k in keys}

    variants = []
    for k in sorted((k for k in keys if len(spellings[k]) > 1),
                    key=lambda k: (-sum(spellings[k].values()), min(spellings[k].items(), key=_most_first)[0])):
        same_case = len({tag_key(s) for s in spellings[k]}) == 1
        ranked = sorted(spellings[k].items(), key=_most_first)
        variants.append({"kind": "case" if same_case else "spelling",
                         "spellings": [{"tag": s, "posts": c} for s, c in ranked]})

    def pair(a: str, b: str, **extra: Any) -> dict[str, Any]:
        if (-size[b], display[b]) < (-size[a], display[a]):
            a, b = b, a
        return {"tags": [display[a], display[b]], "posts": [size[a], size[b]], **extra}

    near = [pair(keys[a], keys[b], kind=kind) for a, b, kind in near_spellings(keys, t.typo_min_length)]
    near.sort(key=lambda p: (-sum(p["posts"]), p["tags"]))
    return {"count": len(keys), "variants": variants, "near_spellings": near,
            "merge_candidates": merge_candidates(keys, carriers, len(posts), t, pair),
            "used_once": sorted(({"tag": display[k], "key": posts[next(iter(carriers[k]))].key}
                                 for k in keys if size[k] == 1), key=lambda u: (u["tag"], u["key"])),
            "untagged": [p.key for p in posts if not any(fold(tag) for tag in p.tags)]}


def _most_first(spelling: tuple[str, int]) -> tuple[int, str]:
    """Sort key of (spelling, posts): most used first, then alphabetical."""
    return -spelling[1], spelling[0]


def near_spellings(keys: list[str], min_length: int) -> list[tuple[int, int, str]]:
    """(i, j, kind) for folded tags one Damerau-Levenshtein edit apart (rapidfuzz): 'plural' when one is
    the other plus 's' (3+ letters), 'typo' when the shorter has min_length+ characters and both
    have the same digits."""
    if len(keys) < 2:
        return []
    process = require("rapidfuzz.process", "rapidfuzz")
    from rapidfuzz.distance import DamerauLevenshtein

    distance = process.cdist(keys, keys, scorer=DamerauLevenshtein.distance, score_cutoff=1, dtype=np.int32,
                             workers=1)
    found = []
    for i, j in zip(*np.nonzero(np.triu(distance == 1, 1))):
        a, b = sorted((keys[i], keys[j]), key=len)
        if b == a + "s" and len(a) >= 3:
            found.append((int(i), int(j), "plural"))
        elif len(a) >= min_length and re.findall(r"\d", a) == re.findall(r"\d", b):
            found.append((int(i), int(j), "typo"))
    return found


def merge_candidates(keys: list[str], carriers: dict[str, set[int]], n: int, t: Thresholds,
                     pair: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs of tags, each on merge_min_posts+ posts, whose post sets have Jaccard >= merge_jaccard."""
    import scipy.sparse as sp

    usable = [k for k in keys if len(carriers[k]) >= t.merge_min_posts]
    if len(usable) < 2:
        return []
    rows = np.concatenate([sorted(carriers[k]) for k in usable])
    cols = np.repeat(np.arange(len(usable)), [len(carriers[k]) for k in usable])
    M = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, len(usable)))
    shared = sp.triu(M.T @ M, k=1).tocoo()
    sizes = np.asarray(M.sum(axis=0)).ravel()
    jaccard = shared.data / (sizes[shared.row] + sizes[shared.col] - shared.data)
    out = [pair(usable[a], usable[b], shared=int(s), jaccard=round(float(j), 4))
           for a, b, s, j in zip(shared.row, shared.col, shared.data, jaccard) if j >= t.merge_jaccard]
    out.sort(key=lambda p: (-p["jaccard"], -p["shared"], p["tags"]))
    return out
