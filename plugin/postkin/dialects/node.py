"""What the Node.js generators' dialects (Eleventy, Astro) share: JavaScript's truthiness, the site's
languages from its posts, and writing postkin's data keyed by the generator's own page identifier.

Eleventy and Astro templates cannot compute postkin's key of a page, but they know the generator's own
identifier of it (Eleventy `page.inputPath`, Astro `entry.id`): both dialects write

    site.json    the site-wide part (encoder, topics in dendrogram order, post count, extras)
    posts.json   {identifier: the post's context}, every listed item also carrying the identifier

so a template looks its page up in one step (`postkin.posts[page.inputPath]`, `posts[post.id]`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import os_error
from ..files import remove_stale_temps, replace_all

if TYPE_CHECKING:
    from ..corpus import Post
    from ..pipeline import Build
    from .base import Site

SITE_FILE = "site.json"
POSTS_FILE = "posts.json"
ITEM_LISTS = ("translations", "related", "cluster_latest", "cluster_popular")


def js_truthy(value: Any) -> bool:
    """JavaScript's truthiness, as the drafts recipes test `data.draft`: false, 0, '' and null are
    false; every other value, the string 'false' included, is true."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def assign_languages(site: Site, posts: list[Post], default: str = "") -> None:
    """The site's languages from its posts (neither generator declares them): when the posts name two
    or more, `site.languages` lists them, `default` (else the most common) first."""
    counts = Counter(p.lang for p in posts if p.lang)
    if len(counts) < 2:
        return
    first = default if default in counts else counts.most_common(1)[0][0]
    site.languages = (first, *sorted(lang for lang in counts if lang != first))


def write_keyed(out: Path, build: Build, field: str, extra_site: dict[str, Any] | None = None,
                url_of: Callable[[Post], str | None] | None = None) -> tuple[int, int]:
    """Write OUT/site.json and OUT/posts.json keyed by each post's `ref`; every context and listed
    item gets the ref under `field` ('inputPath', 'id'), and its `url` from `url_of` (None: the URL
    is not known, the template finds it itself). Only files whose bytes change are written, each
    atomically (postkin.outputs' rules). Returns (files written, 0)."""
    from ..outputs import OUT_ELSEWHERE, _changed, dumps

    posts = build.posts
    by_slug = {p.slug: p for p in posts}

    def item(data: dict[str, Any]) -> dict[str, Any]:
        post = by_slug.get(data.get("slug", ""))
        if post is None:
            return data
        return {**data, field: post.ref, "url": url_of(post) if url_of else post.url}

    contexts: dict[str, Any] = {}
    for slug, ctx in build.posts_json().items():
        ctx = item(ctx)
        for name in ITEM_LISTS:
            ctx[name] = [item(x) for x in ctx[name]]
        contexts[by_slug[slug].ref] = ctx
    site = build.site.to_json()
    site["clusters"] = [{**c, "members": [item(m) for m in c["members"]]} for c in site["clusters"]]
    site.update(extra_site or {})
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(out, exc, OUT_ELSEWHERE) from None
    remove_stale_temps(out)
    files = [(out / SITE_FILE, dumps(site)), (out / POSTS_FILE, dumps(contexts))]
    changed = [(path, data) for path, data in files if _changed(path, data)]
    try:
        replace_all(changed)
    except OSError as exc:
        raise os_error(exc.filename or out, exc, OUT_ELSEWHERE) from None
    return len(changed), 0
