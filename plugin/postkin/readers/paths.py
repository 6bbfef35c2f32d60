"""Request paths to posts: the one place where a logged URL becomes a post key.

Paths are compared as `postkin.urls.url_key`s, the project's one URL normaliser (percent-decoding,
query and fragment, scheme and host, `index.html` / `.html`, case), so a logged request, an analytics
export's page path, a link between posts and a popularity file all name a post the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..urls import url_key

if TYPE_CHECKING:
    from ..corpus import Post

# How many leading path segments may be dropped to match a post: a site served under /blog/ logs
# /blog/posts/x.html while its generator calls the post posts/x.html.
MAX_PREFIX_SEGMENTS = 2
_SLASHES = re.compile(r"/{2,}")


def request_key(target: str) -> str:
    """The url_key of a logged request target, doubled slashes in its path merged as the web server
    merged them when it served the page (nginx `merge_slashes`, on by default): '/2024//x/' is '2024/x'."""
    return _SLASHES.sub("/", url_key(target))


class PostPaths:
    """url_key -> post key, for a site's posts (their URL and every alias)."""

    def __init__(self, posts: Iterable[Post]) -> None:
        self.by_path: dict[str, str] = {}
        for post in posts:
            for url in (post.url, *post.aliases):
                if url:
                    self.by_path.setdefault(url_key(url), post.slug)
        self.by_path.pop("", None)  # the home page is no post

    def key(self, path: str) -> str | None:
        """The key of the post at `path` (a url_key), or None for any other page."""
        found = self.by_path.get(path)
        parts = path.split("/")
        for drop in range(1, min(MAX_PREFIX_SEGMENTS, len(parts) - 1) + 1):
            if found is not None:
                break
            found = self.by_path.get("/".join(parts[drop:]))
        return found
