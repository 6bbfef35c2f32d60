"""The PostContext stage: what every page gets, as typed values, serialised to JSON in one place.

`PostContext` is one post's context (its related posts, its topic with that topic's latest and most
popular posts, its suggested tags); `SiteContext` is the site-wide part (the encoder, the topics in
dendrogram order). `to_json()` gives the exact dicts that the JSON outputs hold and that hosts hand to
templates; `plugin/postkin/schema/postkin.schema.json` describes them (checked by the tests).

Scores are rounded where they are made, so an edit elsewhere in the blog does not change this post's
bytes: a related item's `score` is the embedding cosine of the two posts (4 decimals), not the fused
score that ordered the list (normalised over the whole blog, so one edited post would nudge every
post's scores); a suggested tag's score is a probability with 1 decimal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .tags import shown as shown_tags

if TYPE_CHECKING:
    from .controls import Controls
    from .corpus import Post
    from .features import Features
    from .related import Related
    from .tags import Suggestion, TagSuggestions
    from .topics import Topics


def _iso(post: Post) -> str | None:
    return post.date.isoformat() if post.date else None


@dataclass(frozen=True)
class PostItem:
    """A post listed on another page: enough to link to it and show it."""

    source: str
    slug: str
    title: str
    url: str
    date: str | None
    score: float | None = None  # cosine of the two posts' embeddings, 4 decimals (None in topic member lists)
    popularity: float | None = None  # page views, in "popular" lists only
    signals: dict[str, float] | None = None  # with the `signals` setting: the fused score and each signal's
    lang: str | None = None  # in "translations" only: the translation's language
    pinned: bool = False  # in "related": the post's front matter pins this post (controls.py)
    fallback: bool = False  # in "related": filled in by the related_fallback setting, not by similarity

    @classmethod
    def of(cls, post: Post, score: float | None = None, **extra: Any) -> PostItem:
        """The item for `post`, its score rounded to 4 decimals."""
        return cls(post.source, post.slug, post.title, post.url, _iso(post),
                   None if score is None else round(float(score), 4), **extra)

    def to_json(self) -> dict[str, Any]:
        """The item as in the JSON outputs (keys that do not apply are left out)."""
        out: dict[str, Any] = {"source": self.source, "slug": self.slug, "title": self.title, "url": self.url,
                               "date": self.date}
        if self.score is not None:
            out["score"] = self.score
        if self.signals is not None:
            out["signals"] = self.signals
        if self.popularity is not None:
            out["popularity"] = self.popularity
        if self.lang is not None:
            out["lang"] = self.lang
        if self.pinned:
            out["pinned"] = True
        if self.fallback:
            out["fallback"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PostItem:
        """The item to_json() gave (a build's stored contexts are read back this way)."""
        return cls(data["source"], data["slug"], data["title"], data["url"], data["date"], data.get("score"),
                   data.get("popularity"), data.get("signals"), data.get("lang"), bool(data.get("pinned")),
                   bool(data.get("fallback")))


@dataclass(frozen=True)
class TagItem:
    """A suggested tag (the blog's most used spelling) and its probability, 1 decimal."""

    tag: str
    score: float
    signals: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        """The suggestion as in the JSON outputs."""
        out: dict[str, Any] = {"tag": self.tag, "score": self.score}
        if self.signals is not None:
            out["signals"] = self.signals
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TagItem:
        """The suggestion to_json() gave."""
        return cls(data["tag"], data["score"], data.get("signals"))


@dataclass(frozen=True)
class TopicRef:
    """A post's topic: its id (position in dendrogram order) and its label (the nearest tags)."""

    id: int
    label: str


@dataclass
class PostContext:
    """Everything postkin gives one post's page."""

    source: str
    slug: str
    url: str
    title: str
    date: str | None
    draft: bool  # true: the post is listed on no other page (a draft, hidden, scheduled or expired)
    lang: str = ""
    translations: list[PostItem] = field(default_factory=list)
    related: list[PostItem] = field(default_factory=list)
    cluster: TopicRef | None = None
    cluster_latest: list[PostItem] = field(default_factory=list)
    cluster_popular: list[PostItem] = field(default_factory=list)
    suggested_tags: list[TagItem] = field(default_factory=list)
    excluded: str = ""  # why a published post is listed on no other page (controls.py), '' when it may be

    def to_json(self) -> dict[str, Any]:
        """The context as in `posts/<slug>.json` and in `postkin.json`'s `posts`."""
        out = {
            "source": self.source, "slug": self.slug, "url": self.url, "title": self.title, "date": self.date,
            "draft": self.draft, "lang": self.lang,
            "translations": [item.to_json() for item in self.translations],
            "related": [item.to_json() for item in self.related],
            "cluster": {"id": self.cluster.id, "label": self.cluster.label} if self.cluster else None,
            "cluster_latest": [item.to_json() for item in self.cluster_latest],
            "cluster_popular": [item.to_json() for item in self.cluster_popular],
            "suggested_tags": [tag.to_json() for tag in self.suggested_tags],
        }
        if self.excluded:
            out["excluded"] = self.excluded
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PostContext:
        """The context to_json() gave (a build that changed nothing hands a host the stored ones)."""
        items = PostItem.from_json
        cluster = data["cluster"]
        return cls(data["source"], data["slug"], data["url"], data["title"], data["date"], data["draft"], data["lang"],
                   [items(x) for x in data["translations"]], [items(x) for x in data["related"]],
                   TopicRef(cluster["id"], cluster["label"]) if cluster is not None else None,
                   [items(x) for x in data["cluster_latest"]], [items(x) for x in data["cluster_popular"]],
                   [TagItem.from_json(x) for x in data["suggested_tags"]], data.get("excluded", ""))


@dataclass
class Topic:
    """One topic of the site: id, label, number of posts and its posts, newest first."""

    id: int
    label: str
    size: int
    members: list[PostItem]

    def to_json(self) -> dict[str, Any]:
        """The topic as in `postkin.json`'s `clusters`."""
        return {"id": self.id, "label": self.label, "size": self.size,
                "members": [m.to_json() for m in self.members]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Topic:
        """The topic to_json() gave."""
        return cls(data["id"], data["label"], data["size"], [PostItem.from_json(m) for m in data["members"]])


@dataclass
class SiteContext:
    """The site-wide data: the encoder that made the vectors, the topics in dendrogram order, post count."""

    encoder_id: str = ""
    encoder_dim: int = 0
    clusters: list[Topic] = field(default_factory=list)
    post_count: int = 0
    # "Recommended for you" (setting recommend_for_you): the two files' paths below the site's base, set by
    # the host that writes them, so a generator's template shows the block only when they exist
    recommend_for_you: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        """`postkin.json` without its `posts` (outputs.py adds them)."""
        data: dict[str, Any] = {"encoder": {"id": self.encoder_id, "dim": self.encoder_dim},
                                "clusters": [c.to_json() for c in self.clusters], "post_count": self.post_count}
        if self.recommend_for_you is not None:
            data["recommend_for_you"] = dict(self.recommend_for_you)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SiteContext:
        """The site context to_json() gave."""
        return cls(data["encoder"]["id"], data["encoder"]["dim"], [Topic.from_json(c) for c in data["clusters"]],
                   data["post_count"])


def _tag_item(suggestion: Suggestion, signals: bool) -> TagItem:
    # The probability comes from a model fitted on the whole blog, so any edit nudges every post's
    # probabilities. One decimal keeps that from rewriting pages: after a body edit on site_example,
    # 15 of 46 contexts changed at two decimals.
    explained = {name: round(c, 4) for name, c in suggestion.signals.items()} \
        if signals and suggestion.signals is not None else None
    return TagItem(suggestion.tag, round(suggestion.score, 1), explained)


def post_contexts(posts: list[Post], features: Features, related: Related, topics: Topics,
                  suggestions: TagSuggestions, *, cluster_k: int,
                  explained: dict[str, np.ndarray] | None = None, listed: np.ndarray | None = None,
                  lang_ids: np.ndarray | None = None, groups: np.ndarray | None = None,
                  tags_min_score: float = 0.0, controls: Controls | None = None,
                  rows: Iterable[int] | None = None) -> dict[str, PostContext]:
    """Every post's context by slug. `explained`: per-signal cosines (n, related_k) of each related
    pair, shown with the fused score when the `signals` setting is on; `listed`: (n,) bool, posts that
    may appear on other pages; `lang_ids`: (n,) languages, when lists keep to the post's language;
    `groups`: (n,) translation groups (-1: none); `tags_min_score`: suggestions below it are not shown;
    `controls`: the build's editorial controls (controls.py), which filter the topic's lists, mark pins and
    fill short related lists; `rows`: only these posts' contexts (an incremental build makes those whose
    inputs changed)."""
    vectors = features.vectors
    n = len(posts)
    shown = np.ones(n, bool) if listed is None else listed
    members: dict[int, list[int]] = {}
    if groups is not None:
        for j in np.flatnonzero(groups >= 0):
            members.setdefault(int(groups[j]), []).append(int(j))
    contexts: dict[str, PostContext] = {}
    for i in range(n) if rows is None else rows:
        post = posts[i]
        c, latest, popular, by_date = topic_lists(topics, i, cluster_k, lang_ids, controls)
        group = int(groups[i]) if groups is not None else -1
        translations = sorted((j for j in members.get(group, []) if j != i and shown[j]),
                              key=lambda j: (posts[j].lang, posts[j].source))
        items = []
        for r, (j, s) in enumerate(zip(related.idx[i], related.fused[i])):
            if j < 0:
                continue
            signals = None
            if explained is not None:
                signals = {"fused": round(float(s), 4),
                           **{name: round(float(cos[i, r]), 4) for name, cos in explained.items()}}
            items.append(PostItem.of(posts[j], vectors[i] @ vectors[j], signals=signals,
                                     pinned=controls is not None and controls.is_pinned(i, int(j))))
        if controls is not None:
            taken = {int(j) for j in related.idx[i] if j >= 0}
            items += [PostItem.of(posts[j], vectors[i] @ vectors[j], fallback=True)
                      for j in controls.fallback_posts(i, by_date, taken, related.idx.shape[1] - len(items))]
        contexts[post.slug] = PostContext(
            source=post.source, slug=post.slug, url=post.url, title=post.title, date=_iso(post),
            draft=not bool(shown[i]), lang=post.lang,
            translations=[PostItem.of(posts[j], lang=posts[j].lang) for j in translations],
            related=items,
            cluster=TopicRef(topics.ids[c] if topics.ids else c, topics.labels[c]) if c is not None else None,
            cluster_latest=[PostItem.of(posts[j], vectors[i] @ vectors[j]) for j in latest],
            cluster_popular=[PostItem.of(posts[j], vectors[i] @ vectors[j], popularity=posts[j].popularity)
                             for j in popular],
            suggested_tags=[_tag_item(t, explained is not None) for t in shown_tags(suggestions[i], tags_min_score)],
            excluded=controls.excluded[i] if controls is not None and shown[i] else "",
        )
    return contexts


def topic_lists(topics: Topics, i: int, cluster_k: int, lang_ids: np.ndarray | None = None,
                controls: Controls | None = None) -> tuple[int | None, list[int], list[int], list[int]]:
    """Post i's topic (None: the site has none), the latest and most popular posts of that topic shown
    on its page (itself left out; of its language only when `lang_ids` is given; those `controls` allow),
    and the topic's posts by date that may be listed (the candidates of the related list's fallback)."""
    c = int(topics.assignment[i]) if len(topics.centroids) else None
    by_date = topics.by_date[c] if c is not None else []
    by_views = topics.by_views[c] if c is not None else []
    if lang_ids is not None:  # lists keep to the post's language
        by_date = [j for j in by_date if lang_ids[j] == lang_ids[i]]
        by_views = [j for j in by_views if lang_ids[j] == lang_ids[i]]
    if controls is not None:  # kept for the fallback: its candidates, not newer when asked
        by_date, by_views = controls.allowed(i, by_date), controls.allowed(i, by_views)
    latest = [j for j in by_date[:cluster_k + 1] if j != i][:cluster_k]
    popular = [j for j in by_views[:cluster_k + 1] if j != i][:cluster_k]
    return c, latest, popular, by_date


def site_context(posts: list[Post], features: Features, topics: Topics) -> SiteContext:
    """The site-wide context: encoder, topics in dendrogram order with their members, post count."""
    vectors = features.vectors
    return SiteContext(
        encoder_id=features.encoder_id,
        encoder_dim=int(vectors.shape[1]) if vectors.ndim == 2 else 0,
        clusters=[Topic(topics.ids[c] if topics.ids else c, topics.labels[c], len(topics.by_date[c]),
                        [PostItem.of(posts[i]) for i in topics.by_date[c]])
                  for c in range(len(topics.centroids))],
        post_count=len(posts),
    )
