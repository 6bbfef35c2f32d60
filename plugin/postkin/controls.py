"""Editorial control over the lists (issue #17): pins, exclusions, tags that are no signal, recency and
direction, a minimum score with its fallback.

`Controls` is one value made once per build from the settings and the posts (`of`; None when nothing is
set, so a build without controls runs exactly the code it ran before), then applied where the lists are
made:

- `related.related_posts`, in its row-block loop: `pin_scores` keeps the pinned pairs' fused scores before
  the build's own masks (drafts, the post itself, language, translations), `select` ranks the block;
- `context.post_contexts`: `allowed` filters a topic's latest and most read posts for one post, `fallback`
  fills a short related list;
- `pipeline.compute`: topics are fitted on the `static` posts (not excluded), "Recommended for you" lists
  the `candidates`; `ignored_tag` keeps tags out of the tag vocabulary (tags.vocabulary).

Every rule is a function of the row's post and the columns, so any subset of rows can be recomputed alone.
The rules, in the order they win:

1. Visibility: a draft, hidden, scheduled or expired post (`listed` False) is never listed, pinned or not,
   and a post never lists itself.
2. Pins: the posts a post names in front matter (`postkin_pin`: key, source path or URL; an MkDocs blog
   post's `links:` entries that are posts) come first, in the author's order, and count toward related_k
   (the first related_k are listed). A pin wins over every rule below, and over the language rules.
3. Exclusions (`static`): a post with `postkin_recommend: false`, or whose tag, category, key, source
   path or URL matches a pattern of exclude_tags / exclude_categories / exclude_posts, is listed on no
   other page (related, topics and their latest / most read lists, "Recommended for you"); it keeps its
   own lists. Patterns are `fnmatch` patterns (`*` any characters, `/` included; `?` one; `[seq]`),
   compared case-insensitively; a URL is compared as `urls.url_key` makes it (no host, no outer slashes).
4. The window (`candidates`): with max_age_days, only posts dated in the last N days before the build.
5. Direction: with include_newer = false, a post lists only posts not newer than itself (Hugo's
   `related.includeNewer`, https://gohugo.io/content-management/related-content/): its lists then change
   only when an older post changes, not each time a post is published. Undated posts count as oldest,
   as everywhere in postkin (Hugo: their zero date is older than every dated page).
6. The recency prior (recency_half_life_days = h): related posts are ranked by F + ln 2 * (t_j - t_0) / h,
   t_j the candidate's date in days. That is ranking by the relevance exp(F) weighted by the exponential
   time decay 2^(-age / h), the half-life form of Ding and Li's time weight for recommendations ("Time
   weight collaborative filtering", CIKM 2005), written in the fused score's log scale; t_0 (the newest
   date) adds the same amount to every candidate of a row, so the order depends only on the candidates'
   dates. A post one half-life older needs ln 2 = 0.69 more fused score to rank the same. The prior only
   orders: the scores kept, and the threshold, are the fused scores themselves.
7. The threshold: a related post whose fused score is below related_min_score is not listed. The fused
   score (similarity.py) is a sum over the signals of the pair's z-score among the post's pairs (0: an
   average pair; each signal adds its number of standard deviations above the post's mean), plus half
   the mean score of the pair's nearest neighbours (the diffusion step), so it grows with the number of
   signals that agree. On 18F and efcl the listed related posts score 9.8 / 12.3 at the 10th percentile
   and 15.5 / 18.5 at the median; `postkin eval` prints a blog's own distribution and the share of
   posts whose list stays full. A list left shorter than related_k is filled by related_fallback:
   nothing ('none'), or the newest posts of the post's topic that its lists may show ('latest'),
   marked `fallback`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from .neighbours import top_k_rows
from .tags import tag_key
from .urls import url_key

if TYPE_CHECKING:
    from .corpus import Post
    from .settings import Settings

log = logging.getLogger("postkin")

DAY = 86400.0
# Settings that change which posts are listed or which tags are signals (a change starts fresh topics).
TOPIC_SETTINGS = ("exclude_tags", "exclude_categories", "exclude_posts", "ignore_tags")


def ignored_tag(settings: Settings) -> Callable[[str], bool] | None:
    """A test of a tag key (tags.tag_key) for the ignore_tags setting, None when it is not set: an ignored
    tag is no signal (never suggested, never a topic's label, not in related_use_tags)."""
    patterns = [tag_key(p) for p in settings.ignore_tags]
    if not patterns:
        return None
    return lambda key: any(fnmatch.fnmatchcase(key, p) for p in patterns)


def topics_fingerprint(settings: Settings) -> str:
    """'' when no setting that shapes topics is given, else a digest of them (for the topic state's key)."""
    given = [f"{name}={sorted(getattr(settings, name))}" for name in TOPIC_SETTINGS if getattr(settings, name)]
    return hashlib.sha256("\0".join(given).encode()).hexdigest()[:16] if given else ""


def _first_match(values: Sequence[str], patterns: Sequence[str]) -> str | None:
    """The first pattern any of `values` matches (both already folded), or None."""
    for pattern in patterns:
        if any(fnmatch.fnmatchcase(v, pattern) for v in values):
            return pattern
    return None


def _path(text: str) -> str:
    """A source path or page reference in one comparable form: no './' or outer '/', any case."""
    text = text.strip()
    if text.startswith("{filename}"):  # Pelican's link to another source file
        text = text[len("{filename}"):]
    while text.startswith("./"):
        text = text[2:]
    return text.strip("/").casefold()


class PostLookup:
    """The index of a post named by its key, its source path (with or without its suffix), the
    generator's own reference to it (Post.ref) or any of its URLs (urls.url_key)."""

    def __init__(self, posts: Sequence[Post], base_path: str = "") -> None:
        self.base_path = base_path
        self.keys: dict[str, int] = {}
        self.paths: dict[str, int] = {}
        self.urls: dict[str, int] = {}
        for i, post in enumerate(posts):
            self.keys.setdefault(post.slug, i)
            for ref in (post.source, str(PurePosixPath(post.source).with_suffix("")), post.ref):
                if ref:
                    self.paths.setdefault(_path(ref), i)
            for url in (post.url, *post.aliases):
                if url:
                    self.urls.setdefault(url_key(url, base_path), i)
        self.urls.pop("", None)

    def find(self, ref: str) -> int | None:
        """The index of the post `ref` names, or None."""
        ref = ref.strip()
        if ref in self.keys:
            return self.keys[ref]
        found = self.paths.get(_path(ref))
        if found is None and ref:
            found = self.urls.get(url_key(ref, self.base_path))
        return found


@dataclass
class Controls:
    """The controls of one build (see the module docstring); row i of every array is posts[i]."""

    listed: np.ndarray  # bool (n,): visible posts (not drafts, hidden, scheduled or expired)
    static: np.ndarray  # bool (n,): listed and not excluded: the posts topics are fitted on
    candidates: np.ndarray  # bool (n,): static and inside the window: what any list may show
    excluded: list[str]  # (n,) why a listed post is not a candidate ('' when it is one)
    dates: np.ndarray  # float64 (n,): Post.sort_date(), seconds (undated: -inf)
    pins: dict[int, np.ndarray] = field(default_factory=dict)  # row -> pinned columns, author's order
    include_newer: bool = True
    prior: np.ndarray | None = None  # float64 (n,): the recency prior's ranking bonus, <= 0
    min_score: float | None = None
    fallback: str = "none"

    # ------------------------------------------------------------------ related posts (related.py)
    def pin_scores(self, F: np.ndarray, rows: np.ndarray) -> dict[int, np.ndarray]:
        """Block row -> the fused scores of that row's pins (F: the block of rows `rows`, before any mask;
        a pair outside a large site's candidates, -inf there, counts 0: an average pair)."""
        out = {}
        for a, i in enumerate(rows.tolist()):
            cols = self.pins.get(i)
            if cols is not None:
                s = np.asarray(F[a, cols], np.float64)
                out[a] = np.where(np.isfinite(s), s, 0.0)
        return out

    def select(self, F: np.ndarray, rows: np.ndarray, k: int, pinned: dict[int, np.ndarray]) -> tuple[
            np.ndarray, np.ndarray]:
        """The top-k related posts of a block of rows: (idx (b, k) int64, -1 past the end; fused scores
        (b, k) float32, -inf past the end). F (b, n): the fused scores of `rows` with the build's own masks
        (-inf: never listed), changed in place; `pinned`: pin_scores of the block before those masks."""
        if not self.include_newer:
            F[self.dates[None, :] > self.dates[rows][:, None]] = -np.inf
        if self.min_score is not None:
            F[F < self.min_score] = -np.inf
        for a, i in enumerate(rows.tolist()):
            if i in self.pins:
                F[a, self.pins[i]] = -np.inf  # listed first below, never twice
        if self.prior is not None:
            F += self.prior[None, :]
        idx, top = top_k_rows(F, k)
        if self.prior is not None:
            top = np.where(idx >= 0, top - self.prior[np.maximum(idx, 0)], top).astype(np.float32)
        for a, scores in pinned.items():
            cols = self.pins[int(rows[a])][:k]
            m = len(cols)
            idx[a] = np.concatenate([cols, idx[a, :k - m]])
            top[a] = np.concatenate([scores[:m], top[a, :k - m]]).astype(np.float32)
        return idx, top

    # ------------------------------------------------------------------ topic lists (context.py)
    def allowed(self, i: int, js: Sequence[int]) -> list[int]:
        """The posts of `js` (in order) that post i's lists may show: candidates, and with include_newer
        false, not newer than post i."""
        a = np.asarray(js, np.int64)
        if not len(a):
            return []
        keep = self.candidates[a]
        if not self.include_newer:
            keep &= self.dates[a] <= self.dates[i]
        return [int(j) for j in a[keep]]

    def fallback_posts(self, i: int, latest: Sequence[int], taken: set[int], room: int) -> list[int]:
        """With related_fallback 'latest': up to `room` posts of `latest` (post i's topic, newest first)
        that its lists may show and that are not `taken`; [] otherwise."""
        if self.fallback != "latest" or room <= 0:
            return []
        return [j for j in self.allowed(i, latest) if j != i and j not in taken][:room]

    def is_pinned(self, i: int, j: int) -> bool:
        """Whether post i pins post j."""
        cols = self.pins.get(i)
        return cols is not None and bool((cols == j).any())


def of(posts: Sequence[Post], settings: Settings, listed: np.ndarray, *, base_path: str = "",
       now: dt.datetime | None = None) -> Controls | None:
    """The Controls of a build, None when no control is set (no setting of the module docstring, no pin,
    no `postkin_recommend: false`). Logs one warning line per pin that names no post (naming both)."""
    active = (settings.exclude_tags or settings.exclude_categories or settings.exclude_posts
              or settings.max_age_days is not None or not settings.include_newer
              or settings.recency_half_life_days is not None or settings.related_min_score is not None
              or settings.related_fallback != "none" or any(p.pins or not p.recommend for p in posts))
    if not active:
        return None
    from .corpus import clock

    listed = np.asarray(listed, bool)
    dates = np.array([p.sort_date() for p in posts], np.float64)
    excluded = _exclusions(posts, settings, base_path)
    static = listed & np.array([not why for why in excluded], bool)
    candidates = static.copy()
    if settings.max_age_days is not None:
        cutoff = (now or clock()).timestamp() - settings.max_age_days * DAY
        old = static & (dates < cutoff)
        candidates &= ~old
        for j in np.flatnonzero(old):
            excluded[j] = f"older than max_age_days ({settings.max_age_days})"
    prior = None
    if settings.recency_half_life_days is not None and np.isfinite(dates).any():
        known = np.isfinite(dates)
        days = np.where(known, dates, dates[known].min()) / DAY
        prior = math.log(2) * (days - days.max()) / settings.recency_half_life_days
    return Controls(listed, static, candidates, excluded, dates, _pins(posts, listed, settings, base_path),
                    settings.include_newer, prior, settings.related_min_score, settings.related_fallback)


def _exclusions(posts: Sequence[Post], settings: Settings, base_path: str) -> list[str]:
    """(n,) why each post is excluded by its front matter or the exclude_* settings ('' when it is not)."""
    tag_patterns = [tag_key(p) for p in settings.exclude_tags]
    category_patterns = [tag_key(p) for p in settings.exclude_categories]
    post_patterns = [(_path(p), url_key(p, base_path)) for p in settings.exclude_posts]
    out = []
    for post in posts:
        why = "" if post.recommend else "postkin_recommend: false"
        if not why and tag_patterns:
            found = _first_match([tag_key(t) for t in post.tags], tag_patterns)
            why = f"exclude_tags {found!r}" if found else ""
        if not why and category_patterns:
            found = _first_match([tag_key(c) for c in post.categories], category_patterns)
            why = f"exclude_categories {found!r}" if found else ""
        if not why and post_patterns:
            names = [post.slug.casefold(), _path(post.source)]
            address = url_key(post.url, base_path) if post.url else None
            for raw, as_url in post_patterns:
                if any(fnmatch.fnmatchcase(v, raw) for v in names) or \
                        (address is not None and fnmatch.fnmatchcase(address, as_url)):
                    why = f"exclude_posts {raw!r}"
                    break
        out.append(why)
    return out


def _pins(posts: Sequence[Post], listed: np.ndarray, settings: Settings, base_path: str) -> dict[int, np.ndarray]:
    """Row -> the columns it pins: posts that exist, are listed and are not the row itself, in the author's
    order without repeats. A pin that names no post is one warning line naming both."""
    if not any(p.pins for p in posts):
        return {}
    lookup = PostLookup(posts, base_path)
    out: dict[int, np.ndarray] = {}
    for i, post in enumerate(posts):
        cols: list[int] = []
        for ref in post.pins:
            j = lookup.find(ref)
            if j is None:
                log.warning("%s: postkin_pin %r names no post; write another post's key, source path or URL",
                            post.source, ref)
            elif not listed[j]:
                log.debug("%s: pinned post %s is a draft, hidden, scheduled or expired: not listed",
                          post.source, posts[j].source)
            elif j != i and j not in cols:
                cols.append(j)
        if len(cols) > settings.related_k:
            log.info("%s: %d pinned posts and related_k is %d: the first %d are listed", post.source, len(cols),
                     settings.related_k, settings.related_k)
        if cols:
            out[i] = np.array(cols, np.int64)
    return out
