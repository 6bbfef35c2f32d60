"""A content folder of Markdown posts made ready for the engine: posts, URLs, popularity, cache path."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem
from .popularity import apply_pageviews, read_pageviews
from .posts import Post, read_posts, render_url
from .settings import Settings

log = logging.getLogger("postkin")

CACHE_DIR_NAME = ".postkin-cache"


@dataclass
class Folder:
    """Posts read from a folder, the files that could not be read, and how many opted out."""

    posts: list[Post]
    problems: list[Problem]
    opted_out: int


def cache_dir(settings: Settings, content_dir: Path) -> Path:
    """The embedding cache folder: the setting, or .postkin-cache beside the content folder."""
    if settings.cache_dir:
        return Path(settings.cache_dir).expanduser()
    return content_dir.resolve().parent / CACHE_DIR_NAME


def load_folder(content_dir: Path, settings: Settings) -> Folder:
    """Read every post (through the cache), give each its URL, and attach page views if a file gives them."""
    if content_dir.is_dir():
        from .cache import EmbeddingCache

        with EmbeddingCache(cache_dir(settings, content_dir)) as cache:
            posts, problems, opted_out = read_posts(content_dir, settings.popularity_key, cache)
    else:
        posts, problems, opted_out = read_posts(content_dir, settings.popularity_key)
    for post in posts:
        post.url = render_url(settings.url_pattern, post)
    if settings.popularity_file:
        views = read_pageviews(Path(settings.popularity_file).expanduser())
        matched = apply_pageviews(posts, views)
        log.debug("popularity file matched %d of %d posts", matched, len(posts))
    return Folder(posts, problems, opted_out)
