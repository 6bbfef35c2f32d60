"""The generic dialect: a folder of Markdown posts with front matter and no generator configuration.

Its rules are the ones most generators share, so a folder copied out of a Jekyll or Hugo blog reads
sensibly: a post is a Markdown file with YAML (`---`) or TOML (`+++`) front matter; its date is the
front-matter `date` (a value, Material's `created`/`updated` mapping or Eleventy's `Created` / `Last
Modified`), else a Jekyll-style `YYYY-MM-DD-` file name; its key is the front-matter `slug`, else the
file name without that date; its URL is the front-matter `permalink`/`url`, else the `url_pattern`
setting; tags are a list, a string or a comma-separated string. A file without front matter (a
README) is not a post; one with Pelican's `Title:` header lines is refused with a hint.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..corpus import Post, check_slug, disambiguate_slugs, render_url
from ..metadata import first, opted_out
from .base import Dialect, Document, NotAPost, Site

if TYPE_CHECKING:
    from ..settings import Settings

_DATED_NAME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-(.+)$")
# Pelican's Markdown metadata: `Key: value` lines at the top of the file, `Title:` among them.
_PELICAN_HEADER = re.compile(r"\A(?:[A-Za-z][\w -]*:[^\n]*\n)*?title:[^\n]*\n", re.I)


def permalink(metadata: dict[str, Any]) -> str:
    """The post's own URL from front matter, unless it is a pattern (Jekyll ':year', Hugo ':slug')."""
    for key in ("permalink", "url"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip() and ":" not in value.split("://")[-1]:
            return value.strip()
    return ""


class GenericDialect(Dialect):
    """A folder of Markdown posts (see the module docstring)."""

    name = "generic"
    label = "a folder of Markdown posts"

    def post(self, doc: Document) -> Post | None:
        if not doc.has_front_matter:
            if _PELICAN_HEADER.match(doc.body.lstrip("\ufeff")):
                raise ValueError("Pelican metadata (Title: ...) without a Pelican site: point postkin at the "
                                 "folder holding pelicanconf.py, or set generator = 'pelican'")
            raise NotAPost("no front matter (--- or +++)")
        m = doc.metadata
        if opted_out(m):
            return None
        dated = _DATED_NAME.match(doc.stem)
        title = str(m.get("title") or "").strip() or (dated.group(4) if dated else doc.stem).replace("-", " ")
        date = self.date_of(doc, "date")
        if date is None and dated:
            y, mo, d = (int(g) for g in dated.groups()[:3])
            try:
                date = dt.datetime(y, mo, d)
            except ValueError:
                raise ValueError(f"file name date {'-'.join(dated.groups()[:3])} is not a date") from None
        slug = str(m.get("slug") or (dated.group(4) if dated else doc.stem)).strip()
        lang = str(first(m, "lang", "language") or "").strip()
        return self.common_post(
            doc, key=check_slug(slug, doc.source), title=title, date=date,
            expiry_date=self.date_of(doc, "expirydate", "expiry_date"),
            lang=lang, translation_key=str(first(m, "translationkey", "translation_key") or "").strip(),
            permalink=permalink(m), slug_from_name=not m.get("slug"),
        )

    def finish(self, posts: list[Post]) -> None:
        """Keys made unique (dated stems for colliding file names), URLs from url_pattern, and
        translations grouped: posts with one slug and different `lang` are translations (Pelican's
        rule), as are posts sharing a `translationKey` (Hugo's)."""
        disambiguate_slugs(posts)
        group_translations(posts)
        for post in posts:
            post.url = render_url(self.settings.url_pattern, post)


def group_translations(posts: list[Post]) -> None:
    """Give posts that share a slug in different languages one translation key (when they have none),
    and make slugs unique by language: the post whose file is named like the slug (else the first by
    path) keeps `sourdough`, the others become `sourdough-fr`."""
    by_slug: dict[str, list[Post]] = {}
    for post in posts:
        by_slug.setdefault(post.slug, []).append(post)
    for slug, group in by_slug.items():
        langs = {p.lang for p in group}
        if len(group) < 2 or len(langs) < len(group):
            continue
        for post in group:
            post.translation_key = post.translation_key or slug
        for post in sorted(group, key=lambda p: (PurePosixPath(p.source).stem != slug, p.source))[1:]:
            post.url_slug = post.url_slug or post.slug
            post.slug = f"{slug}-{post.lang}" if post.lang else post.slug


def post_from_source(raw: bytes, source: str, settings: Settings | None = None, path: Path | None = None,
                     ) -> Post | None:
    """One file read by the generic dialect (key, title, date, tags... but no URL: that needs the whole
    site). None when it opts out; raises NotAPost or ValueError (one-line reason)."""
    from ..settings import Settings as SettingsType

    settings = settings or SettingsType()
    dialect = GenericDialect(Site(root=Path("."), content=Path(".")), settings)
    return dialect.post(dialect.document(raw, source, path or Path(source)))
