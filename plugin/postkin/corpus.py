"""The Corpus stage: the posts of a site, read once, with their metadata, URLs and visibility.

`Post` is the pipeline's one input type, whatever generator the site uses; `Corpus` is a site's posts
plus the files that could not be read. Reading a site the way its generator does is the dialects'
job (`postkin.dialects`): front-matter values are read by `metadata` (the one normaliser), URLs
compared by `urls.url_key` (the one URL normaliser).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import PostkinError, Problem

if TYPE_CHECKING:
    from .cache import EmbeddingCache

log = logging.getLogger("postkin")

_UNSAFE_SLUG = re.compile(r"[\x00-\x1f/\\]|^\.+$|^$")


@dataclass
class Post:
    """One blog post as the pipeline sees it, whatever site generator it came from. Display fields
    (title, tags, categories, url, date) are exactly as the author or the generator wrote them; only the
    embedded and indexed text is cleaned of markup."""

    source: str  # path relative to the content folder, with '/' separators
    slug: str  # the post's key: unique in the corpus, the name of its posts/<slug>.json
    title: str
    url: str = ""
    lede: str = ""
    headings: list[str] = field(default_factory=list)
    body: str = ""  # plain text of the body (markup, code and shortcodes removed)
    tags: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date: dt.datetime | None = None
    draft: bool = False
    popularity: float | None = None
    slug_from_name: bool = False  # slug derived from the file name, not set in front matter
    links: list[str] = field(default_factory=list)  # link targets in the source (see links.py)
    permalink: str = ""  # the URL the front matter gives (Jekyll permalink, Hugo url): wins over url_pattern
    url_slug: str = ""  # the slug for {slug} in url_pattern when `slug` had to be made unique
    aliases: list[str] = field(default_factory=list)  # other URLs of this post (permalink, redirect_from)
    lang: str = ""  # language code ('' when the site declares none and the post names none)
    translation_key: str = ""  # posts sharing a non-empty key are translations of one another
    ref: str = ""  # the generator's own identifier of the page, as its templates read it (Hugo .Path...)
    publish_date: dt.datetime | None = None  # not listed before this moment (unless the site builds future posts)
    expiry_date: dt.datetime | None = None  # not listed after this moment (Hugo expiryDate)
    pins: list[str] = field(default_factory=list)  # posts listed first on this post's page, as written (controls.py)
    recommend: bool = True  # False: listed on no other page (front matter `postkin_recommend: false`)

    @property
    def plain_title(self) -> str:
        """The title as text (Markdown and HTML markup removed, entities decoded): what is embedded and
        indexed. What is shown is `title`, exactly as written."""
        from .text import inline_text

        return inline_text(self.title)

    def sort_date(self) -> float:
        """Seconds since the epoch (naive dates read as UTC); undated posts sort as oldest."""
        if self.date is None:
            return float("-inf")
        date = self.date if self.date.tzinfo else self.date.replace(tzinfo=dt.timezone.utc)
        return date.timestamp()


def check_slug(slug: str, source: str) -> str:
    """A slug that is safe as a file name inside the output folder, or PostkinError."""
    if _UNSAFE_SLUG.search(slug) or ".." in PurePosixPath(slug).parts or slug.startswith("."):
        raise PostkinError(f"{source}: slug {slug!r} is not allowed "
                           "(no '/', '\\', '..', leading dot or control characters)")
    return slug


def parser_version() -> str:
    """Changes whenever the code that turns a file into a Post changes, so cached posts never go stale."""
    global _PARSER_VERSION
    if _PARSER_VERSION is None:
        digest = hashlib.sha256()
        here = Path(__file__).parent
        names = ["corpus.py", "metadata.py", "text.py", "links.py", "urls.py"]
        names += sorted(f"dialects/{p.name}" for p in (here / "dialects").glob("*.py"))
        for name in names:
            digest.update((here / name).read_bytes())
        _PARSER_VERSION = digest.hexdigest()[:16]
    return _PARSER_VERSION


_PARSER_VERSION: str | None = None


_DATE_FIELDS = ("date", "publish_date", "expiry_date")


def post_to_json(post: Post | None) -> str:
    """A parsed post (None: opted out) as JSON text, for the parsed-post cache."""
    if post is None:
        return "null"
    data = dataclasses.asdict(post)
    for name in _DATE_FIELDS:
        data[name] = data[name].isoformat() if data[name] else None
    return json.dumps(data, ensure_ascii=False)


def post_from_json(text: str) -> Post | str | None:
    """What post_to_json wrote: a Post, None (opted out), or the reason a file is not a post."""
    data = json.loads(text)
    if data is None:
        return None
    if "not_a_post" in data:
        return str(data["not_a_post"])
    for name in _DATE_FIELDS:
        data[name] = dt.datetime.fromisoformat(data[name]) if data[name] else None
    return Post(**data)


def _permalink(metadata: dict[str, Any]) -> str:
    """The post's own URL from front matter, unless it is a pattern (Jekyll ':year', Hugo ':slug')."""
    for key in ("permalink", "url"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip() and ":" not in value.split("://")[-1]:
            return value.strip()
    return ""


@dataclass
class Corpus:
    """A site's posts (in a stable order: sorted by source), the files that could not be used, the
    files that are not posts under the site's generator, how many posts opted out (`postkin: false`),
    and what the site declares (its dialect, languages, whether it builds future or expired posts)."""

    posts: list[Post]
    problems: list[Problem] = field(default_factory=list)
    opted_out: int = 0
    # Posts parsed in this run (parsed-post cache key -> JSON): the pipeline stores them only once the
    # build has succeeded, so a failed run leaves the cache as it was.
    parsed: dict[str, str] = field(default_factory=dict, repr=False)
    not_posts: list[Problem] = field(default_factory=list)
    dialect: str = "generic"
    languages: tuple[str, ...] = ()
    build_future: bool = False
    build_expired: bool = False
    base_path: str = ""
    root: Path | None = None
    content: Path | None = None
    cache_dir: Path | None = None  # where this site's cache lives (None: no cache)

    def site_key(self, cache_dir: Path | None = None) -> str:
        """The site as the cache names it (one cache may serve several sites): its folder relative to the
        cache folder's parent, so a project moved or copied with its cache, or a CI cache restored in another
        workspace, keeps its state; the absolute folder when they share no ancestor. '' for a host's list
        of posts. `cache_dir`: the cache folder (default: this corpus's)."""
        site = self.root or self.content
        if site is None:
            return ""
        site, cache = Path(site).resolve(), cache_dir or self.cache_dir
        if cache is None:
            return str(site)
        try:
            return os.path.relpath(site, Path(cache).resolve().parent)
        except ValueError:  # another drive (Windows)
            return str(site)

    def store_parsed(self, cache: EmbeddingCache | None) -> None:
        """Keep this run's parsed posts in the cache (called once the build has succeeded)."""
        if cache is not None and self.parsed:
            cache.put_parsed(parser_version(), self.parsed)
            self.parsed = {}


def clock() -> dt.datetime:
    """Now, in UTC (one place, so tests can set the time)."""
    return dt.datetime.now(dt.timezone.utc)


def listed(posts: list[Post], *, build_future: bool = False, build_expired: bool = False,
           now: dt.datetime | None = None) -> np.ndarray:
    """bool (n,): posts that may be listed on other pages. Not drafts (nor `hidden` posts, which
    dialects mark as drafts), not yet published unless the site builds future posts, not expired unless
    it builds expired ones. Decided at build time, not when the file is read: a scheduled post appears
    on the first build after its date without its file changing."""
    now = now or clock()

    def aware(when: dt.datetime) -> dt.datetime:
        return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)

    out = np.ones(len(posts), dtype=bool)
    for i, post in enumerate(posts):
        publish = post.publish_date or post.date
        if post.draft:
            out[i] = False
        elif not build_future and publish is not None and aware(publish) > now:
            out[i] = False
        elif not build_expired and post.expiry_date is not None and aware(post.expiry_date) <= now:
            out[i] = False
    return out


def disambiguate_slugs(posts: list[Post]) -> None:
    """Posts whose file-name slugs collide (2023-05-08-x.md, 2024-01-12-x.md) keep their dated stem.

    Jekyll tells such posts apart by the date in their URL; postkin needs unique slugs as keys, so it
    uses the whole file stem for them. Slugs set in front matter are never changed.
    """
    count: dict[str, int] = {}
    for post in posts:
        count[post.slug] = count.get(post.slug, 0) + 1
    for post in posts:
        if count[post.slug] > 1 and post.slug_from_name:
            post.url_slug = post.slug  # the URL keeps the name: Jekyll's dated URLs tell them apart
            post.slug = PurePosixPath(post.source).stem


def check_unique_slugs(posts: list[Post]) -> None:
    """Two posts with one slug would overwrite each other's output: an error naming both files."""
    seen: dict[str, str] = {}
    for post in posts:
        if post.slug in seen:
            raise PostkinError(
                f"{post.source}: slug {post.slug!r} is also used by {seen[post.slug]}; give one of them another slug")
        seen[post.slug] = post.source


def render_url(pattern: str, post: Post) -> str:
    """A post's URL: its front-matter permalink, else the pattern such as '/{year}/{month}/{day}/{slug}/'."""
    if post.permalink:
        return post.permalink
    date = post.date
    values: Mapping[str, str] = {
        "slug": post.url_slug or post.slug,
        "year": f"{date.year:04d}" if date else "",
        "month": f"{date.month:02d}" if date else "",
        "day": f"{date.day:02d}" if date else "",
        "category": post.categories[0] if post.categories else "",
        "source_stem": PurePosixPath(post.source).stem,
    }
    try:
        url = pattern.format_map(values)
    except (KeyError, ValueError, IndexError) as exc:
        raise PostkinError(f"url_pattern {pattern!r}: unknown field {exc}; "
                           "use {slug} {year} {month} {day} {category} {source_stem}") from None
    return re.sub(r"(?<!:)/{2,}", "/", url)
