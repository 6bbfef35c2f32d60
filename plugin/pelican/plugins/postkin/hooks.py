"""Pelican signal handlers: validate POSTKIN, run postkin once per build, supply the incremental writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pelican import __version__ as PELICAN_VERSION
from pelican.generators import ArticlesGenerator
from pelican.log import console

from postkin import __version__
from postkin.hosts.pelican import SiteResults, log, resolve_settings, run
from postkin.pelican_writer import IncrementalWriter, check_pelican
from postkin.readers.browser import PELICAN_FILES, write_browser_files
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


def check_settings(pelican: Any) -> None:
    """Validate POSTKIN before anything is read: a typo stops Pelican with one line naming the key."""
    settings, cache_dir = resolve_settings(pelican.settings)
    _BUILDS[id(pelican.settings)] = _Build(settings, cache_dir)
    if settings.incremental and pelican.settings.get("DELETE_OUTPUT_DIRECTORY"):
        log.info("postkin: DELETE_OUTPUT_DIRECTORY is on, so the output is wiped and every page is rendered "
                 "again; set it to False to let postkin keep the pages that did not change")


def build_context(generators: list[Any]) -> None:
    """Run postkin over every article; give each `article.postkin` and every template `postkin`."""
    build = _BUILDS.get(id(generators[0].settings))
    if build is None:
        return
    articles = next(g for g in generators if isinstance(g, ArticlesGenerator))
    others = [*articles.translations, *articles.hidden_articles, *articles.hidden_translations,
              *articles.drafts, *articles.drafts_translations]
    build.results = run(list(articles.articles), others, build.settings, build.cache_dir,
                        site_url=articles.settings.get("SITEURL", ""), site_name=articles.settings.get("SITENAME", ""))
    build.context = articles.context
    build.context["postkin"] = build.results.site
    if build.results.recommend is not None:  # issue #19: themes show "Recommended for you" when this is set
        build.context["postkin"]["recommend_for_you"] = dict(zip(("vectors", "script"), PELICAN_FILES))
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
        write_browser_files(Path(pelican.output_path), build.results.recommend, PELICAN_FILES)
    pages = ""
    if build.writer is not None:
        build.writer.save()
        pages = f"; pages rendered {len(build.writer.rendered)}, kept {len(build.writer.kept)}"
    line = f"postkin: {stats.posts} posts ({stats.embedded} embedded now, {stats.cached} from cache){pages}"
    # Beside Pelican's own "Done: Processed ..." line, which Pelican prints at every log level.
    console.print(line, markup=False, highlight=False)
    build.results = build.context = build.writer = None
