"""Popularity: page views from front matter or from an analytics export (JSON or CSV)."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import PostkinError
from .metadata import number, quote
from .urls import url_key

if TYPE_CHECKING:
    from .corpus import Post
    from .settings import Settings

log = logging.getLogger("postkin")

_KEY_COLUMNS = ("url", "path", "page", "slug", "pagepath", "page path", "page_path", "pathname")
_COUNT_COLUMNS = ("views", "pageviews", "page views", "count", "visits", "hits", "screenpageviews")


def _number(value: Any, where: str) -> float:
    try:
        views = number(value, "views")
    except ValueError:
        raise PostkinError(f"{where}: page views {quote(value)} is not a number") from None
    return views or 0.0


def read_pageviews(path: Path) -> dict[str, float]:
    """url-or-slug -> views from JSON ({key: n} or [{url/path/slug: .., views/count: ..}]) or CSV."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PostkinError(f"{path}: cannot read popularity file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise PostkinError(f"{path}: popularity file is not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    out: dict[str, float] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PostkinError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        if isinstance(data, dict):
            rows = [{"key": k, "views": v} for k, v in data.items()]
        elif isinstance(data, list):
            rows = data
        else:
            raise PostkinError(f"{path}: expected an object of url-or-slug -> views, or a list of rows")
        for n, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise PostkinError(f"{path}: row {n} is not an object")
            lower = {str(k).lower(): v for k, v in row.items()}
            key = lower.get("key", next((lower[c] for c in _KEY_COLUMNS if c in lower), None))
            count = lower.get("views", next((lower[c] for c in _COUNT_COLUMNS if c in lower), None))
            if key is None or count is None:
                raise PostkinError(f"{path}: row {n} needs a url/path/slug and a views/count field")
            out[url_key(str(key))] = out.get(url_key(str(key)), 0.0) + _number(count, f"{path} row {n}")
        return out
    lines = text.splitlines()
    skipped = 0
    while skipped < len(lines) and (lines[skipped].startswith("#") or not lines[skipped].strip()):
        skipped += 1  # Google Analytics exports open with '# ----' comment lines
    reader = csv.DictReader(lines[skipped:])
    columns = {c.lower().strip(): c for c in reader.fieldnames or []}
    key_col = next((columns[c] for c in _KEY_COLUMNS if c in columns), None)
    count_col = next((columns[c] for c in _COUNT_COLUMNS if c in columns), None)
    if key_col is None or count_col is None:
        raise PostkinError(f"{path}: CSV needs a header with a url/path/slug column and a views/pageviews/count column")
    for n, row in enumerate(reader, skipped + 2):
        if not row.get(key_col) or not (row.get(count_col) or "").strip():
            continue  # a blank line, a totals row without a page, or a page without a count
        key = url_key(row[key_col])
        out[key] = out.get(key, 0.0) + _number(row[count_col], f"{path} line {n}")
    return out


def apply_popularity(posts: list[Post], settings: Settings) -> None:
    """Page views from the `popularity_file` setting, when set, over those from front matter (the file
    wins): one step for every host. Raises PostkinError when the file cannot be read."""
    if settings.popularity_file:
        views = read_pageviews(Path(settings.popularity_file).expanduser())
        matched = apply_pageviews(posts, views)
        log.debug("popularity file matched %d of %d posts", matched, len(posts))


def apply_pageviews(posts: list[Post], views: dict[str, float]) -> int:
    """Set popularity from a pageviews table (url_key -> views) matched by url, alias (permalink,
    redirect_from) or slug; returns how many posts matched.

    A page path of the table that matches no post is tried again without its first one or two
    segments (readers.paths.MAX_PREFIX_SEGMENTS), as the reader logs are: a site served below /blog/
    reports /blog/2024/x/ for the post Jekyll calls /2024/x/."""
    from .readers.paths import MAX_PREFIX_SEGMENTS

    shortened: dict[str, float] = {}
    for key, count in views.items():
        parts = key.split("/")
        for drop in range(1, min(MAX_PREFIX_SEGMENTS, len(parts) - 1) + 1):
            shortened.setdefault("/".join(parts[drop:]), count)
    matched = 0
    for post in posts:
        keys = (url_key(post.url), *(url_key(a) for a in post.aliases), url_key(post.slug))
        found = next((views[k] for k in keys if k in views), None)
        if found is None:
            found = next((shortened[k] for k in keys[:-1] if k and k in shortened), None)
        if found is not None:
            post.popularity = found
            matched += 1
    return matched
