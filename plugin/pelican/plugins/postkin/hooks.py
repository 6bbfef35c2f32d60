"""Pelican signal handlers: validate POSTKIN, run postkin once per build, supply the incremental writer.

A PostkinError (a bad POSTKIN setting, a model or cache that cannot be used, a popularity file that
cannot be read) is one error line in Pelican's log, and Pelican goes on building the site without
postkin's lists (themes guard `article.postkin`); `POSTKIN["strict"] = True` makes it stop the build
instead, and so does Pelican's own `--fatal errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pelican import __version__ as PELICAN_VERSION
from pelican.generators import ArticlesGenerator
from pelican.log import console

from postkin import __version__
from postkin.context import SiteContext
from postkin.errors import PostkinError
from postkin.hosts.pelican import SiteResults, linked_site, log, resolve_settings, run
from postkin.pelican_writer import IncrementalWriter, check_pelican
from postkin.readers.browser import SERVED_FILES, served_paths, write_browser_files
from postkin.settings import Settings


@dataclass
class _Build:
    """postkin's state for one Pelican instance (Pelican's autoreload runs it many times)."""

    settings: Settings
    cache_dir: Any
    results: SiteResults | None = None
    context: dict[str, Any] | None = None
    writer: IncrementalWriter | None = None
    extras: dict[str, Any] = field(default_factory=dict)


# Keyed by id() of Pelican's settings dict, which every generator and the writer share.
_BUILDS: dict[int, _Build] = {}


def _failed(exc: PostkinError, strict: bool) -> None:
    """One error line for a PostkinError, the build going on without postkin; in strict mode, stop it."""
    if strict:
        raise exc
    log.error("postkin: %s; the site is built without postkin's lists (POSTKIN strict = True stops the "
              "build instead)", exc)


def _strict(pelican_settings: Mapping[str, Any]) -> bool:
    """POSTKIN's `strict`, read as given (for settings that did not validate)."""
    given = pelican_settings.get("POSTKIN")
    return isinstance(given, Mapping) and given.get("strict") is True


def check_settings(pelican: Any) -> None:
    """Validate POSTKIN before anything is read: a typo or a bad value is one error line naming the key,
    and postkin stays out of this build (strict mode: the build stops)."""
    _BUILDS.pop(id(pelican.settings), None)
    try:
        settings, cache_dir = resolve_settings(pelican.settings)
    except PostkinError as exc:
        _failed(exc, _strict(pelican.settings))
        return
    _BUILDS[id(pelican.settings)] = _Build(settings, cache_dir)
    if settings.incremental and pelican.settings.get("DELETE_OUTPUT_DIRECTORY"):
        log.info("postkin: DELETE_OUTPUT_DIRECTORY is on, so the output is wiped and every page is rendered "
                 "again; set it to False to let postkin keep the pages that did not change")


def _without_postkin(articles: Any, others: list[Any]) -> None:
    """The context of a build postkin stays out of: `article.postkin` None and an empty site-wide `postkin`
    (no topics), so a theme renders as with the plugin off, whether or not it guards `postkin.clusters`."""
    for article in [*articles.articles, *others]:
        article.postkin = None
    articles.context["postkin"] = linked_site(SiteContext().to_json(), {})


def build_context(generators: list[Any]) -> None:
    """Run postkin over every article; give each `article.postkin` and every template `postkin`."""
    build = _BUILDS.get(id(generators[0].settings))
    articles = next(g for g in generators if isinstance(g, ArticlesGenerator))
    others = [*articles.translations, *articles.hidden_articles, *articles.hidden_translations,
              *articles.drafts, *articles.drafts_translations]
    if build is None:  # POSTKIN did not validate: said in one line by check_settings
        _without_postkin(articles, others)
        return
    try:
        build.results = run(list(articles.articles), others, build.settings, build.cache_dir,
                            site_url=articles.settings.get("SITEURL", ""),
                            site_name=articles.settings.get("SITENAME", ""))
    except PostkinError as exc:
        _without_postkin(articles, others)
        build.results = build.context = None
        _failed(exc, build.settings.strict)
        return
    build.context = articles.context
    build.context["postkin"] = build.results.site
    if build.results.recommend is not None:  # issue #19: themes show "Recommended for you" when set
        build.context["postkin"]["recommend_for_you"] = served_paths(Path(articles.output_path))
    build.writer = None
    # Inputs of every page that are not in the template context.
    build.extras = {"postkin": __version__, "settings": build.settings.to_dict()}


def writer(pelican: Any) -> type | None:
    """The incremental writer for this build (None leaves Pelican's own Writer)."""
    build = _BUILDS.get(id(pelican.settings))
    if build is None or build.context is None or not build.settings.incremental:
        return None
    changed = check_pelican()
    if changed is not None:
        log.warning("postkin: incremental writer off: this Pelican (%s) changed what it relies on (%s); "
                    "every page is rendered", PELICAN_VERSION, changed)
        return None

    def created(instance: IncrementalWriter) -> None:
        build.writer = instance

    return IncrementalWriter.bound(build.context, build.cache_dir, build.extras, created)


def finish(pelican: Any) -> None:
    """Save the page manifest and log one summary line."""
    build = _BUILDS.get(id(pelican.settings))
    if build is None or build.results is None:
        return
    stats = build.results.stats
    if build.results.recommend is not None:  # issue #19: written after Pelican may have wiped the output
        write_browser_files(Path(pelican.output_path), build.results.recommend, SERVED_FILES)
    pages = ""
    if build.writer is not None:
        build.writer.save()
        pages = f"; pages rendered {len(build.writer.rendered)}, kept {len(build.writer.kept)}"
    line = f"postkin: {stats.posts} posts ({stats.embedded} embedded now, {stats.cached} from cache){pages}"
    # Beside Pelican's own "Done: Processed ..." line, which Pelican prints at every log level.
    console.print(line, markup=False, highlight=False)
    build.results = build.context = build.writer = None
