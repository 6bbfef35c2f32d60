"""Generator dialects: postkin reads a site the way its generator does.

postkin recognises the generator from the site's own configuration, looking in the folder it is given
and the folders above it (up to the repository root), or takes it from the `generator` setting:

    hugo      hugo.toml / hugo.yaml / hugo.json, or config.* with Hugo keys
    jekyll    _config.yml / _config.yaml / _config.toml
    mkdocs    mkdocs.yml / mkdocs.yaml
    eleventy  .eleventy.js, eleventy.config.js / .mjs / .cjs, or a package.json depending on @11ty/eleventy
    astro     astro.config.mjs / .js / .ts / .mts / .cjs / .cts
    pelican   pelicanconf.py
    generic   none of these: a folder of Markdown posts

The dialect then decides which files are posts and each post's key, URL, date, title, tags, visibility
and language (see each module). Every dialect reads values through `postkin.metadata` and compares URLs
with `postkin.urls`.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PostkinError, SettingsError
from .base import Dialect, Document, NotAPost, Site
from .generic import GenericDialect

if TYPE_CHECKING:
    from ..cache import EmbeddingCache
    from ..corpus import Corpus
    from ..settings import Settings

log = logging.getLogger("postkin")

# name -> module defining it (imported only when needed); detection tries them in this order.
DIALECT_MODULES = {
    "hugo": "postkin.dialects.hugo",
    "jekyll": "postkin.dialects.jekyll",
    "mkdocs": "postkin.dialects.mkdocs",
    "eleventy": "postkin.dialects.eleventy",
    "astro": "postkin.dialects.astro",
    "pelican": "postkin.dialects.pelican",
    "generic": "postkin.dialects.generic",
}
GENERATORS = ("auto", *DIALECT_MODULES)


def dialect_class(name: str) -> type[Dialect]:
    """The Dialect subclass of a generator name (raises SettingsError for an unknown one)."""
    if name not in DIALECT_MODULES:
        raise SettingsError(f"unknown generator {name!r}; one of {list(GENERATORS)}")
    if importlib.util.find_spec(DIALECT_MODULES[name]) is None:
        raise PostkinError(f"generator {name!r} is not available in this version of postkin")
    module = importlib.import_module(DIALECT_MODULES[name])
    found = [c for c in vars(module).values()
             if isinstance(c, type) and issubclass(c, Dialect) and getattr(c, "name", "") == name]
    if not found:
        raise PostkinError(f"generator {name!r} is not available in this version of postkin")
    return found[0]


def _available(name: str) -> type[Dialect] | None:
    try:
        return dialect_class(name)
    except PostkinError:
        return None


def locate(start: Path, generator: str = "auto") -> tuple[type[Dialect], Path, Path] | None:
    """(dialect, site folder, configuration file) of the site at or above the folder `start`: the nearest
    folder holding a generator's configuration (with `generator` other than "auto": that generator's);
    the search stops at a repository root, a folder holding `.git`. None: no site configuration."""
    names = [generator] if generator != "auto" else [n for n in DIALECT_MODULES if n != "generic"]
    classes = [c for c in (_available(n) for n in names) if c is not None]
    start = start.resolve()
    for folder in [start, *start.parents]:
        for cls in classes:
            config = cls.config_in(folder)
            if config is not None:
                return cls, folder, config
        if (folder / ".git").exists():
            break
    return None


def find_site(given: Path, settings: Settings) -> Dialect:
    """The dialect that reads `given` (a site folder, or a folder inside one), with its Site loaded.

    With `generator = "auto"` the nearest folder at or above `given` that holds a generator's
    configuration decides (the search stops at a repository root, a folder holding `.git`); no
    configuration means the generic dialect, reading `given` itself. Raises PostkinError when `given`
    does not exist or a configuration cannot be read.
    """
    given = Path(given)
    if not given.is_dir():
        raise PostkinError(f"{given}: content folder not found")
    start = given.resolve()
    names = [settings.generator] if settings.generator != "auto" else [n for n in DIALECT_MODULES if n != "generic"]
    classes = [c for c in (_available(n) for n in names) if c is not None]
    if settings.generator not in ("auto", "generic"):
        if not classes:
            raise PostkinError(f"generator {settings.generator!r} is not available in this version of postkin")
    found = locate(start, settings.generator) if settings.generator != "generic" else None
    if found is not None:
        cls, folder, config = found
        site = cls.load_site(folder, config, given, settings)
        log.debug("reading %s as a %s site (content: %s)", folder, cls.name, site.content)
        return cls(site, settings)
    if settings.generator not in ("auto", "generic") and classes:
        cls = classes[0]
        return cls(cls.load_site(start, None, given, settings), settings)
    return GenericDialect(GenericDialect.load_site(start, None, given, settings), settings)


def read_site(given: Path, settings: Settings, cache: EmbeddingCache | None = None) -> Corpus:
    """The Corpus of the site at (or above) `given`, read by its generator's dialect."""
    return find_site(given, settings).read(cache)


__all__ = ["DIALECT_MODULES", "GENERATORS", "Dialect", "Document", "NotAPost", "Site", "dialect_class",
           "find_site", "locate", "read_site"]
