"""Links between posts: a post that links to another is strong evidence the two are related.

Blogs write internal links in many forms: Markdown `[text](/2015/08/18/slug/)`, reference
definitions, raw `href="..."`, Jekyll `{% post_url 2015-08-18-slug %}` and `{{ "/2015/.../" | url }}`,
Hugo `{{< ref "slug" >}}`. They are read from the raw source, before markup is stripped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .urls import is_absolute, url_key

if TYPE_CHECKING:
    from .posts import Post

_TARGET = re.compile(
    r"""(?:\]\(\s*<?|href\s*=\s*["']|\[(?!\^)[^\]\n]*\]:\s*<?)"""  # markdown link, raw HTML, reference
    # definition (not a footnote `[^1]: text`, whose first word is no link)
    r"""(?:\{\{\s*["']|\{\{\s*site\.baseurl\s*\}\})?"""  # Jekyll {{ "/x" | url }}, {{ site.baseurl }}/x
    r"""([^\s)"'<>]+)"""
)
_TEMPLATE_REF = re.compile(r"""\{%\s*(?:post_url|link)\s+([^\s%]+)\s*%\}|\{\{<\s*(?:rel)?ref\s+["']?([^"'\s>]+)""")
_NOT_A_PAGE = re.compile(r"\.(png|jpe?g|gif|svg|webp|avif|pdf|zip|mp4|mp3|css|js|json|xml|txt)$", re.I)
_NOT_A_LINK = ("mailto:", "#", "tel:", "javascript:", "{{", "{%")
_DATED = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}-")


def extract_links(source_text: str) -> list[str]:
    """Link targets in a post's raw Markdown/HTML (site-relative paths, URLs, template references)."""
    found: list[str] = []
    for match in _TARGET.finditer(source_text):
        target = match.group(1)
        if target.startswith(_NOT_A_LINK) or _NOT_A_PAGE.search(target.split("?")[0]):
            continue
        found.append(target)
    for match in _TEMPLATE_REF.finditer(source_text):
        found.append("ref:" + (match.group(1) or match.group(2)))
    return list(dict.fromkeys(found))


def _name(value: str) -> str:
    """A post's name as links write it: last path part, no extension, no Jekyll date."""
    last = value.rstrip("/").rsplit("/", 1)[-1]
    last = re.sub(r"\.(md|markdown|html?)$", "", last, flags=re.I)
    return _DATED.sub("", last).lower()


def link_pairs(posts: Sequence[Post]) -> list[tuple[int, int]]:
    """(i, j) pairs, sorted: post i links to post j (i != j).

    A site-relative link or a template reference matches a post by its URL path, an alias, its slug or
    its file name; an absolute URL (another host, perhaps) only by the full URL path of a post.
    """
    by_path: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for i, post in enumerate(posts):
        for alias in [post.url, *post.aliases]:
            if alias:
                by_path.setdefault(url_key(alias), i)
        for name in (post.slug, _name(post.source)):
            by_name.setdefault(name.lower(), i)
    pairs: set[tuple[int, int]] = set()
    resolved: dict[str, int | None] = {}  # a target resolves alike from every post (posts share many)
    for i, post in enumerate(posts):
        for target in post.links:
            j = resolved[target] if target in resolved else \
                resolved.setdefault(target, _resolve(target, by_path, by_name))
            if j is not None and j != i:
                pairs.add((i, j))
    return sorted(pairs)


def _resolve(target: str, by_path: dict[str, int], by_name: dict[str, int]) -> int | None:
    if target.startswith("ref:"):
        return by_name.get(_name(target[4:]))
    path = url_key(target)
    if path in by_path:
        return by_path[path]
    if is_absolute(target):
        return None
    return by_name.get(_name(path)) if path else None


def all_aliases(metadata: dict[str, Any]) -> list[str]:
    """Other URLs a post is known by: permalink, url, aliases (Hugo), redirect_from (Jekyll)."""
    out: list[str] = []
    for key in ("permalink", "url", "aliases", "redirect_from"):
        value = metadata.get(key)
        values: Iterable[Any] = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        out += [str(v) for v in values if v]
    return out
