"""The MkDocs plugin: MkDocs' events wired to postkin (reading: `postkin.dialects.mkdocs`; template
context and `--dirty` bookkeeping: `pages.py`; the pipeline: `postkin.pipeline`).

    on_config      the options (validated in config.py), the partial's folder added to the theme (and
                   with `placement: sidebar`, the folder of its partials/toc.html, see SIDEBAR)
    on_nav (-100)  after Material's blog plugin (-50) has read every post and made its URL: read the
                   pages, run postkin once (embeddings through the cache), and with --dirty make
                   MkDocs write again the pages whose postkin context changed
    on_env         the theme's Jinja environment, to render the partial
    on_page_context (-90)  after the search plugins indexed the page: the page's context in
                   page.meta.postkin, the site's in `postkin`, and the partial rendered after the content
                   (`placement: sidebar`: partials/postkin-sidebar.html, as `postkin_block` for toc.html)
    on_post_build  "Recommended for you" files, JSON outputs, the report, one summary line
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger

from ...context import PostItem
from ...corpus import Corpus
from ...dialects.mkdocs import PageRead, blog_plugins, posts_from_files
from ...errors import PostkinError
from ...pipeline import Build
from ...pipeline import run as run_pipeline
from ...popularity import apply_popularity
from ...readers.browser import SERVED_FILES, served_paths
from ...settings import CACHE_DIR_NAME, Settings
from ...urls import url_key
from . import pages
from .config import PostkinConfig, PostkinConfigBase, source_of

log = get_plugin_logger("postkin")
TEMPLATES = Path(__file__).resolve().parent / "templates"
PARTIAL = "partials/postkin.html"
SIDEBAR_PARTIAL = "partials/postkin-sidebar.html"
# `placement: sidebar`: a partials/toc.html that renders the theme's own toc.html (reached through the
# THEME_PREFIX loader, so Material's file is used, not copied) and then `postkin_block`. Its folder goes
# right after custom_dir, so a custom_dir toc.html still wins (it then prints `{{ postkin_block }}` itself).
SIDEBAR = Path(__file__).resolve().parent / "sidebar"
THEME_PREFIX = "postkin-theme"


class _ToMkDocs(logging.Handler):
    """postkin's own log lines (a post left out, a cache that cannot be written) as the plugin's, so
    MkDocs shows them and `--strict` counts their warnings."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, record.getMessage())


@dataclass
class _State:
    """One build's results."""

    build: Build
    read: PageRead
    by_source: dict[str, str]  # page src_uri -> post key
    digests: dict[str, str] = field(default_factory=dict)  # post key -> digest of its context
    posts_by_url: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # url_key -> item (None: draft)
    stale: int = 0  # pages a --dirty build writes again because their context changed
    # the same for every page of a build: made by the first page's on_page_context
    site: dict[str, Any] | None = None  # the template's `postkin`
    listed: dict[str, Any] = field(default_factory=dict)  # post key -> its MkDocs page
    format_date: Any = None  # an ISO date as the blog shows dates


class PostkinPlugin(BasePlugin[PostkinConfigBase]):
    """Related posts, the latest and most read posts of a post's topic, and suggested tags, for Material
    for MkDocs blogs (and, with `scope: docs` or `all`, documentation pages)."""

    config_class = PostkinConfig

    def __init__(self) -> None:
        self.command = "build"
        self.dirty = False
        self.driven_by_dialect = False  # set while `postkin` (the CLI) drives MkDocs to read the site
        self.encoder: Any = None  # kept across `mkdocs serve` rebuilds: the model loads once
        self.encoder_settings: tuple[str, str | None] | None = None
        self.settings: Settings | None = None
        self.cache_dir: Path | None = None
        self.state: _State | None = None
        self.env: Any = None
        self.seconds = 0.0  # postkin's own time in this build (reading, pipeline, rendering the partial)

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.command, self.dirty = command, dirty

    def on_config(self, config: Any) -> Any:
        self.state = None
        if not self.config.enabled:
            return config
        self.settings = settings = self.config.settings
        if self.config.scope == "blog" and not blog_plugins(config):
            raise PluginError(f"{source_of(config.config_file_path)}: scope is 'blog' but no Material blog plugin is "
                              "enabled; add `- blog` to plugins, or set the postkin plugin's scope: docs")
        root = Path(config.config_file_path or "mkdocs.yml").resolve().parent
        self.cache_dir = Path(settings.cache_dir).expanduser() if settings.cache_dir else root / CACHE_DIR_NAME
        if settings.report:
            from ...report.requirements import check_installed

            try:
                check_installed(source_of(config.config_file_path))
            except PostkinError as exc:
                raise PluginError(str(exc)) from None
        if str(TEMPLATES) not in config.theme.dirs:
            config.theme.dirs.append(str(TEMPLATES))  # last: custom_dir and the theme override it
        if self.config.placement == "sidebar":
            if config.theme.name != "material":
                raise PluginError(f"{source_of(config.config_file_path)}: placement 'sidebar' puts the block in "
                                  "Material's table of contents, but the theme is "
                                  f"{config.theme.name!r}; use placement: content")
            if str(SIDEBAR) not in config.theme.dirs:
                config.theme.dirs.insert(1 if config.theme.custom_dir else 0, str(SIDEBAR))
        return config

    @event_priority(-100)
    def on_nav(self, nav: Any, *, config: Any, files: Any) -> Any:
        if not self.config.enabled or self.driven_by_dialect or self.settings is None:
            return nav
        started = time.perf_counter()
        settings = self.settings
        # The core's lines (its stages and their times: `mkdocs build -v`) go through the plugin's logger, at
        # the level MkDocs was asked for; our own logger only, and only while postkin runs.
        handler = _ToMkDocs()
        core_log = logging.getLogger("postkin")
        level = core_log.level
        core_log.setLevel(log.logger.getEffectiveLevel())
        core_log.addHandler(handler)
        try:
            read = posts_from_files(config, files, self.config.scope, settings)
            for source, reason in read.problems:
                if settings.strict:
                    raise PluginError(f"{source}: {reason}")
                log.warning("%s: %s; page left out", source, reason)
            apply_popularity(read.posts, settings)
            corpus = Corpus(read.posts, dialect="mkdocs", build_future=True, build_expired=True,
                            base_path=urlsplit(config.site_url or "").path)
            build = run_pipeline(corpus, settings, cache_dir=self.cache_dir, encoder=self._encoder(settings))
        except PostkinError as exc:
            raise PluginError(str(exc)) from None
        finally:
            core_log.removeHandler(handler)
            core_log.setLevel(level)
        state = _State(build, read, {file.src_uri: key for key, file in read.files.items()})
        recommend = build.recommend is not None
        state.digests = {key: pages.context_digest(ctx, recommend) for key, ctx in build.posts_json().items()}
        state.posts_by_url = {url_key(p.url): None if ctx.draft else PostItem.of(p).to_json()
                              for p, ctx in ((p, build.contexts[p.slug]) for p in read.posts)}
        if self.dirty:
            expected = {read.files[key].abs_dest_path: digest for key, digest in state.digests.items()}
            for path in pages.stale_pages(expected):
                pages.mark_stale(path)
                state.stale += 1
        self.state = state
        self.seconds = time.perf_counter() - started
        return nav

    def _encoder(self, settings: Settings) -> Any:
        """The encoder, kept while its settings stay the same (a `mkdocs serve` session loads it once)."""
        from ...encoders import get_encoder

        wanted = (settings.encoder, settings.encoder_handle)
        if self.encoder is None or self.encoder_settings != wanted:
            self.encoder, self.encoder_settings = get_encoder(settings), wanted
        return self.encoder

    def on_env(self, env: Any, *, config: Any, files: Any) -> Any:
        if self.config.enabled and self.config.placement == "sidebar":
            from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

            theme = FileSystemLoader([d for d in config.theme.dirs if d != str(SIDEBAR)])
            env.loader = ChoiceLoader([env.loader, PrefixLoader({THEME_PREFIX: theme})])
        self.env = env
        return env

    @event_priority(-90)
    def on_page_context(self, context: Any, *, page: Any, config: Any, nav: Any) -> Any:
        state = self.state
        if not self.config.enabled or state is None or self.settings is None:
            return context
        if state.site is None:  # once per build, not once per page
            state.site = state.build.site.to_json()
            if state.build.recommend is not None:
                state.site["recommend_for_you"] = served_paths(Path(config.site_dir))  # served as is
        context["postkin"] = state.site
        key = state.by_source.get(page.file.src_uri)
        if key is None:
            return context
        started = time.perf_counter()
        if state.format_date is None:
            blogs = blog_plugins(config)
            date_format = blogs[0].config.post_date_format if blogs else "long"
            language = str(config.theme.get("language") or "en")
            state.listed = {k: f.page for k, f in state.read.files.items()}
            state.format_date = lambda iso: pages.format_date(iso, date_format, language)
        page.meta["postkin"] = pages.page_context(
            state.build.contexts[key].to_json(), pages.pins_of(page, state.posts_by_url), self.settings.related_k,
            state.listed, state.format_date)
        sidebar = self.config.placement == "sidebar"
        template = SIDEBAR_PARTIAL if sidebar else PARTIAL
        rendered = self.env.get_template(template).render(context) if self.env is not None else ""
        if sidebar:
            context["postkin_block"] = pages.wrap(rendered, state.digests[key])
        else:
            page.content = (page.content or "") + pages.wrap(rendered, state.digests[key])
        self.seconds += time.perf_counter() - started
        return context

    def on_post_build(self, *, config: Any) -> None:
        state = self.state
        if not self.config.enabled or state is None or self.settings is None:
            return
        settings, build = self.settings, state.build
        started = time.perf_counter()
        try:
            if build.recommend is not None:
                from ...readers.browser import write_browser_files

                write_browser_files(Path(config.site_dir), build.recommend, SERVED_FILES)
            if settings.json_output:
                from ...outputs import write_outputs

                write_outputs(Path(settings.json_output), build.posts_json(), build.site.to_json())
            if settings.report:
                from ...report.glue import write_report

                write_report(build.stages, settings, self.cache_dir, Path(settings.report),
                             site_url=config.site_url or "", title=f"postkin report: {config.site_name}")
        except PostkinError as exc:
            raise PluginError(str(exc)) from None
        stats = build.stats
        stale = f"; {state.stale} unchanged pages written again for their new context" if self.dirty else ""
        report = f"; report {settings.report}" if settings.report else ""
        log.info("%d pages (%d embedded now, %d from cache)%s%s; %.2f s", stats.posts, stats.embedded, stats.cached,
                 stale, report, self.seconds + time.perf_counter() - started)
