"""The Pelican dialect: a site with pelicanconf.py, read by Pelican itself.

Pelican's own readers decide everything (its `Key: value` metadata and front matter, `DEFAULT_LANG`,
translations by slug, `Status: draft|hidden`, `ARTICLE_URL`, categories from folders, summaries): the
dialect runs Pelican's ArticlesGenerator over the site's settings without writing anything, and turns
its articles into Posts exactly as the Pelican plugin does (`postkin.hosts.pelican.posts_from_articles`),
so `postkin build` on a Pelican site and the plugin inside `pelican` see the same posts.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..corpus import Corpus, Post
from ..errors import PostkinError
from .base import Dialect, Document, NotAPost, Site

if TYPE_CHECKING:
    from ..cache import EmbeddingCache
    from ..settings import Settings

log = logging.getLogger("postkin")


def _pelican_settings(config_file: Path) -> dict[str, Any]:
    try:
        from pelican.settings import read_settings
    except ImportError:
        raise PostkinError(f"{config_file}: this is a Pelican site; reading it as Pelican does needs Pelican: "
                           "pip install 'postkin[pelican]'") from None
    try:
        return dict(read_settings(str(config_file)))
    except Exception as exc:  # pelicanconf.py is Python: any error is the user's to see, in one line
        raise PostkinError(f"{config_file}: Pelican could not read its settings "
                           f"({type(exc).__name__}: {exc})") from None


class PelicanDialect(Dialect):
    """A Pelican site (see the module docstring)."""

    name = "pelican"
    label = "a Pelican site"
    config_names = ("pelicanconf.py",)

    @classmethod
    def load_site(cls, root: Path, config_file: Path | None, given: Path, settings: Settings) -> Site:
        if config_file is None:
            config_file = root / "pelicanconf.py"
        pelican_settings = _pelican_settings(config_file)
        content = Path(pelican_settings["PATH"])
        if not content.is_absolute():
            content = root / content
        site = Site(root=root, content=content, config_file=config_file)
        site.config = pelican_settings
        return site

    def _generator(self) -> Any:
        """Pelican's ArticlesGenerator over this site's settings (nothing is written)."""
        from pelican.generators import ArticlesGenerator

        settings = dict(self.site.config)
        settings["PATH"] = str(self.site.content)
        context: dict[str, Any] = {**settings, "generated_content": {}, "static_links": set(),
                                   "static_content": {}, "localsiteurl": settings.get("SITEURL", "")}
        return ArticlesGenerator(context=context, settings=settings, path=settings["PATH"],
                                 theme=settings.get("THEME", ""), output_path=settings.get("OUTPUT_PATH", "output"))

    def post(self, doc: Document) -> Post | None:
        """One file as Pelican reads it (for `postkin suggest-tags`: a new or edited article), read by
        Pelican's own readers from `doc.path`: NotAPost for a file Pelican does not read as an article
        (a page, a file outside ARTICLE_PATHS or in ARTICLE_EXCLUDES, a format no reader handles),
        ValueError when Pelican cannot read it; None with `postkin: false`."""
        from pelican.contents import Article
        from pelican.readers import SkipStub

        from ..hosts.pelican import _article_key, post_from_article
        from ..metadata import lower_keys, opted_out

        generator = getattr(self, "_articles_generator", None)
        if generator is None:
            generator = self._articles_generator = self._generator()
            found = generator.get_files(generator.settings["ARTICLE_PATHS"],
                                        exclude=generator.settings["ARTICLE_EXCLUDES"])
            self._article_files = {Path(os.path.normpath(f)).as_posix() for f in found}
        if doc.source not in self._article_files:
            raise NotAPost("not an article of this Pelican site (a page, a file outside ARTICLE_PATHS or in "
                           "ARTICLE_EXCLUDES, or a format Pelican does not read)")
        try:
            article = generator.readers.read_file(base_path=generator.path, path=doc.source, content_class=Article,
                                                  context=generator.context)
        except Exception as exc:  # Pelican's readers raise anything; the hook prints one line
            raise ValueError(f"Pelican cannot read it ({type(exc).__name__}: {exc})") from None
        if isinstance(article, SkipStub):
            raise NotAPost("Pelican skips it (status: skip)")
        if not article.is_valid():
            raise ValueError("Pelican would not build it (see Pelican's message above)")
        if opted_out(lower_keys(article.metadata)):
            return None
        return post_from_article(article, _article_key(article), self.settings, article.status == "published")

    def read(self, cache: EmbeddingCache | None = None) -> Corpus:
        """Pelican's articles as Posts: published ones listed, drafts, hidden articles and translations
        with context only (as in the plugin). Pelican's reading errors are its own log lines."""
        from ..hosts.pelican import posts_from_articles

        generator = self._generator()
        generator.generate_context()
        others = [*generator.translations, *generator.hidden_articles, *generator.hidden_translations,
                  *generator.drafts, *generator.drafts_translations]
        posts, _ = posts_from_articles(list(generator.articles), others, self.settings)
        # Pelican publishes what it lists (WITH_FUTURE_DATES decides future posts): postkin follows it.
        return Corpus(posts, dialect=self.name, root=self.site.root, content=self.site.content,
                      build_future=True, build_expired=True, cache_dir=self.cache_folder())
