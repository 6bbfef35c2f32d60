"""postkin's results as MkDocs template context, and what `--dirty` builds need to stay correct.

Pure functions over plain data and MkDocs' page objects; `plugin.py` only wires MkDocs' events to them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ... import __version__
from ...urls import url_key

# Where the rendered block sits in a built page, with the digest of the context it shows: a `--dirty`
# build compares it with the new context to know which unchanged pages must be written again.
MARKER = re.compile(rb"""data-postkin-context=["']?([0-9a-f]{16})""")
LISTS = ("related", "cluster_latest", "cluster_popular", "translations")


def context_digest(context: Mapping[str, Any], recommend: bool) -> str:
    """16 hex digits that change whenever what the page shows from postkin changes."""
    text = json.dumps([__version__, recommend, context], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def wrap(rendered: str, digest: str) -> str:
    """The partial's output as it is added after a page's content, carrying the context's digest."""
    return f'<div class="postkin-block" data-postkin-context="{digest}">{rendered}</div>'


def built_digest(path: str | os.PathLike[str]) -> str | None:
    """The context digest a page was last built with (None: not built, or built without postkin's block)."""
    try:
        with open(path, "rb") as f:
            found = MARKER.search(f.read())
    except OSError:
        return None
    return found.group(1).decode("ascii") if found else None


def mark_stale(path: str | os.PathLike[str]) -> None:
    """Make MkDocs' `--dirty` build write a page again: its output is dated before any source file
    (`File.is_modified` compares the output's modification time with the source's)."""
    os.utime(path, (0, 0))


def stale_pages(expected: Mapping[str, str]) -> Iterator[str]:
    """The built pages (output path -> digest they should show) whose block shows another context."""
    for path, digest in expected.items():
        if Path(path).is_file() and built_digest(path) != digest:
            yield path


def format_date(value: str | None, date_format: str, locale: str) -> str | None:
    """An item's ISO date as Material shows post dates (Babel, the blog's `post_date_format`, the theme's
    language): `full/long/medium/short` as a date, anything else as a datetime pattern."""
    if not value:
        return None
    from babel.dates import format_date as babel_date
    from babel.dates import format_datetime

    when = dt.datetime.fromisoformat(value)
    locale = locale.replace("-", "_")
    if date_format in ("full", "long", "medium", "short"):
        return str(babel_date(when, format=date_format, locale=locale))
    return str(format_datetime(when, format=date_format, locale=locale))


def pins_of(material_post: Any, posts_by_url: Mapping[str, Mapping[str, Any] | None]) -> list[dict[str, Any]]:
    """A Material post's own `links:` entries (Material 9.7+), as items listed first (`pinned`), with
    the URL Material resolved (a page of the site, or an address elsewhere). A page postkin read is
    the item postkin would list (its title as text, its date), and left out when postkin lists it nowhere
    (a draft: None in `posts_by_url`); others keep the link's title, unescaped (MkDocs keeps the HTML
    entities of titles it takes from a heading)."""
    links = getattr(getattr(material_post, "config", None), "links", None)
    if not links:
        return []
    out = []
    for link in _walk(links.items):
        url = str(getattr(link, "url", "") or "")
        if not url:
            continue
        key = url_key(url)
        if key in posts_by_url and posts_by_url[key] is None:
            continue
        known = posts_by_url.get(key)
        item = dict(known) if known else {"title": html.unescape(str(link.title or url)), "date": None}
        out.append({**item, "url": url, "pinned": True})
    return out


def _walk(items: list[Any]) -> Iterator[Any]:
    for item in items:
        children = getattr(item, "children", None)
        if children:
            yield from _walk(children)
        elif hasattr(item, "url"):
            yield item


def page_context(context: Mapping[str, Any], pins: list[dict[str, Any]], related_k: int, pages: Mapping[str, Any],
                 dates: Any) -> dict[str, Any]:
    """One page's context for templates: postkin's JSON context, with `related` led by the post's own
    `links:` (`pinned`, also under `pinned`) and without postkin's items that point to the same pages,
    at least `related_k` long; every listed item carries `page` (the MkDocs page, when postkin read it)
    and `date_display` (`dates(iso)`: the date as the blog shows dates)."""
    out = dict(context)
    for name in LISTS:
        out[name] = [_item(item, pages, dates) for item in context.get(name, [])]
    pins = [_item(pin, pages, dates) for pin in pins]
    if pins:
        pinned_keys = {url_key(p["url"]) for p in pins}
        rest = [item for item in out["related"] if url_key(item["url"]) not in pinned_keys]
        out["related"] = (pins + rest)[:max(related_k, len(pins))]
    out["pinned"] = pins
    return out


def _item(item: Mapping[str, Any], pages: Mapping[str, Any], dates: Any) -> dict[str, Any]:
    out = dict(item)
    out["page"] = pages.get(str(item.get("slug", "")))
    out["date_display"] = dates(item.get("date"))
    return out
