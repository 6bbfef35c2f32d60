"""Pelican articles as postkin Posts, and postkin results as template context that links back to them.

The Pelican plugin (`pelican.plugins.postkin`) only wires signals to the functions here. Pelican has
already read and rendered every article, so a Post is made from the article's metadata and its HTML.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any

from ..corpus import Post
from ..errors import PostkinError
from ..links import all_aliases, extract_links
from ..metadata import as_list, lower_keys, number, opted_out, pins, recommended
from ..outputs import write_outputs
from ..pipeline import Build, Stats
from ..pipeline import run as run_pipeline
from ..popularity import apply_popularity
from ..settings import Settings
from ..text import first_paragraph, inline_text

# A child of Pelican's logger, so Pelican's handlers, log-level flags and --fatal behave as users expect.
log = logging.getLogger("pelican.plugins.postkin")

SETTINGS_SOURCE = "pelicanconf.py POSTKIN"
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Text inside these says nothing about what a post is about (code) or is not prose at all.
_SKIP = {"pre", "script", "style", "template", "svg", "math", "noscript", "iframe"}
_BLOCKS = _HEADINGS | {"p", "div", "li", "ul", "ol", "blockquote", "table", "tr", "td", "th", "dd", "dt",
                       "section", "article", "figure", "figcaption", "br", "hr", "details", "summary"}
_UNSAFE_KEY = re.compile(r"[\x00-\x1f/\\]")


class Linked(dict):
    """A postkin result (a plain dict, as in the JSON outputs) that templates may also read as attributes.

    Items that name a post also carry `article`, the Pelican article itself, so a theme writes
    `{{ item.article.title }}` or `{{ item.article.summary }}`.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class _TextParser(HTMLParser):
    """Headings and paragraphs of rendered HTML, leaving out code blocks, scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[str] = []
        self.paragraphs: list[str] = []
        self._skip = 0
        self._heading = False
        self._buffer: list[str] = []

    def _flush(self) -> None:
        text = inline_text(" ".join(self._buffer))
        self._buffer = []
        if not text:
            return
        if self._heading:
            self.headings.append(text)
        elif re.search(r"\w", text):
            self.paragraphs.append(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCKS and not self._skip:
            self._flush()
            self._heading = tag in _HEADINGS

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS and not self._skip:
            self._flush()
            self._heading = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_text(html: str) -> tuple[list[str], list[str]]:
    """(headings, paragraphs) of an article's HTML: the same parts the Markdown reader takes."""
    parser = _TextParser()
    parser.feed(html or "")
    parser.close()
    return parser.headings, parser.paragraphs


def resolve_settings(pelican_settings: Mapping[str, Any]) -> tuple[Settings, Path]:
    """POSTKIN from pelicanconf.py, validated, with relative paths made absolute; and the cache folder.

    Relative paths are taken from the site folder: the folder holding pelicanconf.py when it sits in
    the content folder (PATH = "."), else the content folder's parent, where pelicanconf.py usually is.
    """
    content = Path(pelican_settings["PATH"]).resolve()
    base = content if (content / "pelicanconf.py").is_file() else content.parent
    settings = Settings.from_mapping(pelican_settings.get("POSTKIN") or {}, SETTINGS_SOURCE, host="pelican",
                                     base_dir=base)
    if settings.report:
        from ..report.requirements import check_installed

        check_installed(SETTINGS_SOURCE)
    return settings, settings.cache_folder(content)


def _article_key(article: Any) -> str:
    """A post's key in postkin's results: its slug, or slug-lang for a translation."""
    slug = str(getattr(article, "slug", "") or PurePosixPath(article.source_path).stem)
    if not getattr(article, "in_default_lang", True):
        slug = f"{slug}-{getattr(article, 'lang', '')}"
    slug = _UNSAFE_KEY.sub("-", slug).lstrip(".") or "post"
    return slug.replace("..", "-")


def post_from_article(article: Any, key: str, settings: Settings, recommendable: bool) -> Post:
    """A Post from a Pelican article (metadata and rendered HTML); raises ValueError on a bad value."""
    metadata = lower_keys(getattr(article, "metadata", {}) or {})
    html = getattr(article, "_content", "") or ""
    headings, paras = html_text(html)
    lede = inline_text(str(metadata["summary"])) if metadata.get("summary") else first_paragraph(paras)
    popularity = number(metadata.get(settings.popularity_key.lower()), settings.popularity_key)
    category = getattr(article, "category", None)
    return Post(
        source=str(getattr(article, "relative_source_path", "") or article.source_path).replace("\\", "/"),
        slug=key,
        title=str(getattr(article, "title", "") or "") or key,
        url=str(article.url),
        lede=lede,
        headings=headings,
        body="\n".join(paras),
        tags=as_list([str(t) for t in getattr(article, "tags", []) or []]),
        categories=[str(category)] if category else [],
        date=getattr(article, "date", None),
        draft=not recommendable,
        popularity=popularity,
        links=extract_links(html),  # Pelican has resolved {filename} links to URLs already
        aliases=all_aliases(metadata),
        lang=str(getattr(article, "lang", "") or ""),
        # Pelican's translations are the articles sharing a slug in other languages
        translation_key=str(getattr(article, "slug", "") or ""),
        pins=pins(metadata),
        recommend=recommended(metadata),
    )


def posts_from_articles(published: Iterable[Any], others: Iterable[Any],
                        settings: Settings) -> tuple[list[Post], dict[str, Any]]:
    """Posts for Pelican's articles: (posts, key -> article). Only `published` are ever recommended.

    `others` (drafts, hidden articles, translations) get context for previews but are never listed
    on other pages. Articles with `postkin: false` in their metadata are left out entirely.
    """
    candidates = [(a, True) for a in published] + [(a, False) for a in others]
    # Source order, not Pelican's date order, so results do not depend on ARTICLE_ORDER_BY.
    candidates.sort(key=lambda pair: (not pair[1], str(pair[0].source_path)))
    posts: list[Post] = []
    articles: dict[str, Any] = {}
    for article, recommendable in candidates:
        if opted_out(lower_keys(article.metadata)):
            continue
        key = base = _article_key(article)
        n = 2
        while key in articles:
            key, n = f"{base}-{n}", n + 1
        try:
            post = post_from_article(article, key, settings, recommendable)
        except ValueError as exc:
            if settings.strict:
                raise PostkinError(f"{article.source_path}: {exc}") from None
            log.warning("postkin: %s: %s; post left out", article.source_path, exc)
            continue
        posts.append(post)
        articles[key] = article
    return posts, articles


def _link(item: Mapping[str, Any], articles: Mapping[str, Any]) -> Linked:
    linked = Linked(item)
    if "slug" in item and item["slug"] in articles:
        linked["article"] = articles[item["slug"]]
    return linked


def linked_context(context: Mapping[str, Any], articles: Mapping[str, Any]) -> Linked:
    """One post's context, every listed post carrying its Pelican article."""
    out = Linked(context)
    for key in ("related", "cluster_latest", "cluster_popular"):
        out[key] = [_link(item, articles) for item in context.get(key, [])]
    out["suggested_tags"] = [Linked(t) for t in context.get("suggested_tags", [])]
    out["cluster"] = Linked(context["cluster"]) if context.get("cluster") else None
    return out


def linked_site(site: Mapping[str, Any], articles: Mapping[str, Any]) -> Linked:
    """Site-wide data for every template: clusters in dendrogram order, members carrying articles."""
    out = Linked(site)
    out["clusters"] = [
        Linked({**c, "members": [_link(m, articles) for m in c["members"]]}) for c in site.get("clusters", [])
    ]
    out["encoder"] = Linked(site.get("encoder", {}))
    return out


class _Named(logging.Filter):
    """Marks the core's records (logger "postkin") as postkin's in Pelican's log, as this host's own lines
    are: 'postkin: similarity: 0.02 s' under `pelican -D`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("postkin: "):
            record.msg = f"postkin: {record.msg}"
        return True


@contextlib.contextmanager
def named_core_lines() -> Iterator[None]:
    """Inside the block, the core's log lines (stages and their times under `pelican -D`, a cache or
    popularity warning) reach Pelican's handlers as "postkin: ..." lines; Pelican's own log level and
    `--fatal` decide what is shown, as for any of its loggers."""
    core, named = logging.getLogger("postkin"), _Named()
    core.addFilter(named)
    try:
        yield
    finally:
        core.removeFilter(named)


@dataclass
class SiteResults:
    """postkin's results for one Pelican build, linked to the articles."""

    contexts: dict[str, Linked]
    site: Linked
    stats: Stats = field(default_factory=Stats)
    recommend: bytes | None = None  # the "Recommended for you" vectors file (issue #19), if on


def run(published: list[Any], others: list[Any], settings: Settings, cache_dir: Path, *, site_url: str = "",
        site_name: str = "") -> SiteResults:
    """Embed (through the cache) and compute; set `article.postkin` on every article given. With the
    `report` setting, also write the report, its links joined to site_url (Pelican's SITEURL)."""
    with named_core_lines():
        posts, articles = posts_from_articles(published, others, settings)
        apply_popularity(posts, settings)
        build: Build = run_pipeline(posts, settings, cache_dir=cache_dir)
    contexts_json, site_json = build.posts_json(), build.site.to_json()
    if settings.json_output:
        written, removed = write_outputs(Path(settings.json_output), contexts_json, site_json)
        log.debug("postkin: JSON outputs in %s: %d written, %d removed", settings.json_output, written, removed)
    if settings.report:  # from this build's own stage values: nothing embedded or compared again
        from ..report.glue import write_report

        data = write_report(build.stages, settings, cache_dir, Path(settings.report),
                            site_url=site_url.rstrip("/") + "/" if site_url else "",
                            title=f"postkin report: {site_name or 'Pelican site'}")
        log.info("postkin: report of %d posts in %d topics: %s", data.summary["posts"], data.summary["topics"],
                 settings.report)
    for article in [*published, *others]:
        article.postkin = None  # opted out or unreadable: themes test `{% if article.postkin %}`
    contexts = {}
    for key, article in articles.items():
        contexts[key] = linked_context(contexts_json[key], articles)
        article.postkin = contexts[key]
    return SiteResults(contexts, linked_site(site_json, articles), build.stats, build.recommend)
