"""The report's one input (ReportInput) and its output data (ReportData), both plain typed values.

ReportInput is everything the analysis reads: the build's stage values (glue.report_input fills it from
a pipeline.Build); ReportData is what `postkin report --json` prints and the HTML shows. Lists refer to
posts by key; `ReportData.posts[key]` holds each post's title, URL, date, tags and map position.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..topics import Topics

SNAPSHOT_VERSION = 2  # 2: topic ids are the build's stable ids (1: rows in dendrogram order)


@dataclass(frozen=True)
class ReportPost:
    """One post as the report shows it."""

    key: str  # unique per blog (the slug today)
    title: str  # as text (markup removed)
    url: str  # as links should use it (absolute when the caller gave a site URL)
    date: str | None = None  # ISO 8601
    tags: tuple[str, ...] = ()
    popularity: float | None = None  # page views, if known
    draft: bool = False  # not listed on other pages: a draft, or (as its generator decides) future or expired


@dataclass(frozen=True)
class Thresholds:
    """Where an outlier or a tag problem starts. Cosines are of USE multilingual v3 embeddings of title +
    lede (`cosine`) and of the whole text's TF-IDF (`text`); measured on 18F (508 posts) and efcl (832):

    - a post's nearest-neighbour embedding cosine has 1st-99th percentiles 0.33-0.90 (18F) and 0.32-0.90
      (efcl). Below 0.35, with no post's whole text close either (TF-IDF cosine < 0.25), is an orphan:
      8 posts on 18F, 13 on efcl, each a one-off subject on reading;
    - 0.90 and above is the top 1 % of nearest neighbours: series parts and yearly posts with the same
      title (2 pairs on 18F, 9 on efcl); a TF-IDF cosine of 0.70 and above, far past the 99th percentile
      of nearest neighbours (0.48 / 0.59), catches bodies that repeat each other whatever the title
      (4 pairs on efcl);
    - two tags on at least 2 posts each whose post sets have a Jaccard index >= 0.5 are a merge
      candidate (6 pairs on 18F, 14 on efcl);
    - two tag spellings one edit apart (Damerau-Levenshtein, letters swapped count as one) are a likely
      typo when the shorter has >= 5 characters and both have the same digits (firefox3 / firefox4 are
      two tags), or one is the other plus 's' (14 pairs on efcl: textlint / textlitn, TravisCI /
      TraivsCI, WebCompoents / WebComponents, module / modules...; also HTTP / HTTPS: these are
      candidates for an editor, not changes).
    """

    orphan_cosine: float = 0.35
    orphan_text: float = 0.25
    duplicate_cosine: float = 0.90
    duplicate_text: float = 0.70
    merge_jaccard: float = 0.5
    merge_min_posts: int = 2
    typo_min_length: int = 5


@dataclass
class Snapshot:
    """What the next report compares with: each post's topic and related list, each topic's label."""

    topic_labels: dict[int, str]
    topic_of: dict[str, int]  # post key -> topic id in that build (Topics.ids: the JSON's cluster.id)
    related: dict[str, list[str]]  # post key -> related post keys, best first

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the cache file."""
        return {"version": SNAPSHOT_VERSION,
                "topics": [{"id": c, "label": label} for c, label in sorted(self.topic_labels.items())],
                "posts": {k: {"topic": self.topic_of.get(k, -1), "related": self.related.get(k, [])}
                          for k in sorted(set(self.topic_of) | set(self.related))}}

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        """Read what to_dict wrote; ValueError when it is not that."""
        if not isinstance(data, dict) or data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"not a version-{SNAPSHOT_VERSION} report snapshot")
        try:
            labels = {int(t["id"]): str(t["label"]) for t in data["topics"]}
            posts = data["posts"]
            topic_of = {str(k): int(v["topic"]) for k, v in posts.items()}
            related = {str(k): [str(r) for r in v["related"]] for k, v in posts.items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed report snapshot ({exc.__class__.__name__}: {exc})") from None
        return cls(labels, topic_of, related)


@dataclass
class ReportInput:
    """Everything the report reads. n posts, d embedding dimensions, k topics.

    vectors: (n, d) float32, unit rows (the posts' embeddings);
    topics: the build's Topics stage (topics.py): each post's topic (drafts: their nearest), the (k, d)
    unit centroids, their stable ids (the report names topics by them, as the build's JSON does), k labels
    (the tags nearest each centre), each topic's published posts newest first and most read first;
    suggested_tags: per post, (tag, probability 0-1) best first; related: per post, related post keys,
    best first; text_vectors: optional scipy sparse (n, terms), L2-normalised TF-IDF rows of each post's
    whole text (finds bodies that repeat each other); evaluation: `postkin eval`'s Report.to_dict(), or
    None; previous: the previous report's Snapshot, or None.
    """

    posts: list[ReportPost]
    vectors: np.ndarray
    topics: Topics
    suggested_tags: list[list[tuple[str, float]]]
    related: list[list[str]]
    text_vectors: Any = None
    evaluation: dict[str, Any] | None = None
    previous: Snapshot | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    seed: int = 0

    def __post_init__(self) -> None:
        n, k = len(self.posts), len(self.topics.centroids)
        keys = [p.key for p in self.posts]
        if len(set(keys)) != n:
            raise ValueError("ReportInput: post keys must be unique")
        shapes = {"vectors": (np.shape(self.vectors)[0] if np.ndim(self.vectors) == 2 else -1, n),
                  "topics.assignment": (len(self.topics.assignment), n), "topics.labels": (len(self.topics.labels), k),
                  "topics.by_date": (len(self.topics.by_date), k), "topics.by_views": (len(self.topics.by_views), k),
                  "suggested_tags": (len(self.suggested_tags), n), "related": (len(self.related), n)}
        if self.topics.ids:
            shapes["topics.ids"] = (len(self.topics.ids), k)
        for name, (got, want) in shapes.items():
            if got != want:
                raise ValueError(f"ReportInput.{name}: {got} rows for {want}")
        if n and k and (np.min(self.topics.assignment) < 0 or np.max(self.topics.assignment) >= k):
            raise ValueError(f"ReportInput.topics.assignment: ids must be in 0..{k - 1}")

    def topic_id(self, row: int) -> int:
        """The stable id of topic row `row` (Topics.ids, the build JSON's cluster.id); the row itself
        when the Topics value carries no ids."""
        return int(self.topics.ids[row]) if self.topics.ids else int(row)

    def topic_of(self) -> np.ndarray:
        """(n,) int64: each post's topic id (topic_id of its row), -1 for every post of a blog without
        topics (no published post)."""
        if not len(self.topics.centroids):
            return np.full(len(self.posts), -1, np.int64)
        rows = np.asarray(self.topics.assignment, np.int64)
        if not self.topics.ids:
            return rows
        return np.asarray(self.topics.ids, np.int64)[rows]


@dataclass
class TopicChange:
    """How a topic differs from the previous report's topic of the same (stable) id."""

    previous_id: int | None  # the topic's id if the previous report had it; None: a new topic
    previous_label: str | None  # its label then; None: a new topic
    new: list[str]  # keys of posts that did not exist then
    moved_in: list[dict[str, Any]]  # {"key", "from_id", "from": id and label of the post's previous topic}


@dataclass
class Topic:
    """One topic in dendrogram order."""

    id: int
    label: str
    size: int  # published posts
    central: list[dict[str, Any]]  # {"key", "cosine"}: the posts nearest the centre
    latest: list[str]
    most_read: list[str]
    drafts: list[str]
    change: TopicChange | None = None


@dataclass
class ReportData:
    """The report: JSON-ready through to_dict(), shown by html.render_html()."""

    summary: dict[str, Any]
    posts: dict[str, dict[str, Any]]
    topics: list[Topic]
    dendrogram: dict[str, Any]
    map: dict[str, Any]
    tags: dict[str, Any]
    outliers: dict[str, Any]
    quality: dict[str, Any] | None
    thresholds: Thresholds

    def to_dict(self) -> dict[str, Any]:
        """Plain, deterministic data (the --json output)."""
        return asdict(self)

    def snapshot(self) -> Snapshot:
        """What the next report needs to say what changed."""
        return Snapshot({t.id: t.label for t in self.topics},
                        {k: p["topic"] for k, p in self.posts.items()},
                        {k: list(p["related"]) for k, p in self.posts.items()})
