"""The MkDocs dialect: a site with mkdocs.yml, read by MkDocs and Material for MkDocs themselves.

The same code reads the pages inside `mkdocs build` (the plugin, `postkin.hosts.mkdocs`) and for the
command line (`postkin build / eval / report / suggest-tags` on an MkDocs site), so both see the same
posts:

- the command line loads mkdocs.yml with MkDocs (`load_config`: `!ENV`, `INHERIT`, plugin options) and
  runs MkDocs' own steps up to the navigation, as `mkdocs build` does before it reads any page:
  plugins' `on_startup`, `on_config`, `on_pre_build`, the files, `on_files`, the navigation, `on_nav`.
  Material's blog plugin computes every post's URL (`post_url_format`, its slugify, dates, categories)
  and validates its front matter there. No page is rendered and nothing is written to the site folder.
- the plugin reads the same objects in its own `on_nav`, after the blog plugin's.

`posts_from_files` then turns them into Posts: a blog post (every page under a blog plugin's
`post_dir`) has Material's date (`date` as a value or a `created`/`updated` mapping: `created`),
categories, tags (the tags plugin's `tags` list), slug and URL as Material made them; its title is
the front-matter `title`, else the text of the first heading when the page opens with one (as MkDocs
takes it from the rendered page), else the file name. A draft (`draft: true`, or a future date with
`draft_if_future_date` and no `draft` key) gets context but is never listed, whatever the blog
plugin's `draft` setting (which publishes drafts for previews). With `scope: docs` or `all` (the
plugin's option), documentation pages are read too; pages MkDocs leaves out of `mkdocs build`
(`draft_docs`) are drafts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import logging
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..corpus import Corpus, Post, check_unique_slugs
from ..errors import PostkinError
from ..metadata import as_list, lower_keys, opted_out, parse_date
from ..text import paragraphs, split_markdown
from .base import Dialect, Document, NotAPost, Site

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import File, Files

    from ..cache import EmbeddingCache
    from ..settings import Settings

log = logging.getLogger("postkin")

SCOPES = ("blog", "docs", "all")
PLUGIN_NAME = "postkin"
INSTALL_HINT = "pip install 'postkin[mkdocs]'"


@dataclass
class PageRead:
    """What `posts_from_files` read: the Posts, and for each post's key the MkDocs file it came from."""

    posts: list[Post]
    files: dict[str, File] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (source, reason) of pages left out


def blog_plugins(config: MkDocsConfig) -> list[Any]:
    """The enabled Material blog plugin instances of a loaded configuration (a site may have several)."""
    try:
        from material.plugins.blog.plugin import BlogPlugin
    except ImportError:
        return []
    return [p for p in config.plugins.values() if isinstance(p, BlogPlugin) and p.config.enabled]


def _post_dir(blog: Any) -> str:
    """The folder (relative to docs_dir) a blog plugin reads posts from, as Material computes it."""
    root = posixpath.normpath(blog.config.blog_dir)
    return posixpath.normpath(blog.config.post_dir.format(blog=root))


def _material_types() -> tuple[type, type] | None:
    try:
        from material.plugins.blog.structure import Post as MaterialPost
        from material.plugins.blog.structure import View
    except ImportError:
        return None
    return MaterialPost, View


class TitleReader:
    """A page's title as MkDocs shows it: front-matter `title`, else the first heading when the page
    opens with one, else the file name (`mkdocs.structure.pages.Page.title`).

    MkDocs takes the heading from the rendered page (`_ExtractTitleTreeprocessor`: the first element
    is an h1). Pages are read before they are rendered, so the opening block alone is rendered here,
    with the site's own Markdown extensions, and the heading's text taken by MkDocs' own
    `get_heading_text` (anchors and footnote marks removed); its HTML entities are decoded, since
    postkin keeps titles as text and the templates escape them.
    """

    def __init__(self, config: MkDocsConfig) -> None:
        import markdown
        from markdown.treeprocessors import Treeprocessor
        from mkdocs.utils.rendering import get_heading_text

        self.md = markdown.Markdown(extensions=config["markdown_extensions"],
                                    extension_configs=config["mdx_configs"] or {})
        reader = self

        class FirstHeading(Treeprocessor):  # type: ignore[misc]  # Markdown ships no type hints
            def run(self, root: Any) -> None:
                for element in root:
                    if element.tag == "h1":
                        reader.found = get_heading_text(element, reader.md)
                    break

        self.found: str | None = None
        self.md.treeprocessors.register(FirstHeading(self.md), "postkin_first_heading", priority=1)

    def heading(self, markdown_text: str) -> str | None:
        """The text of the page's opening h1, or None when it does not open with one."""
        opening = re.split(r"\n[ \t]*\n", markdown_text.lstrip("\r\n\t "), maxsplit=1)[0]
        if not opening.strip():
            return None
        self.found = None
        self.md.reset()
        try:
            self.md.convert(opening)
        except Exception as exc:  # an extension failing on a fragment: fall back to MkDocs' plain rule
            log.debug("title of a page: opening block not rendered (%s)", exc)
            line = opening.splitlines()[0].strip()
            return (line.lstrip("# ").strip() or None) if line.startswith("# ") else None
        return html.unescape(self.found) if self.found else None

    def title(self, meta: dict[str, Any], markdown_text: str, file: File, nav_title: str | None = None) -> str:
        """The title MkDocs gives the page (nav_title: the one mkdocs.yml's `nav` sets)."""
        if nav_title:
            return nav_title
        if meta.get("title") not in (None, ""):
            return str(meta["title"])
        heading = self.heading(markdown_text)
        if heading:
            return heading
        if file.name == "index" and posixpath.dirname(file.src_uri) == "":
            return "Home"
        title = file.name.replace("-", " ").replace("_", " ")
        return title.capitalize() if title.lower() == title else title


def _nav_title(file: File) -> str | None:
    """The title mkdocs.yml's `nav` gives a page (set on the Page object itself), or None."""
    page = file.page
    if page is None:
        return None
    value = vars(page).get("title")  # a weak_property: an instance value is the nav's title
    return str(value) if value else None


def _resolve_links(targets: list[str], file: File, files: Files) -> list[str]:
    """Relative links to Markdown files resolved to the URL MkDocs gives the linked page (`../b.md` ->
    `blog/2024/01/15/b/`), as MkDocs does when it renders them; other links are kept."""
    out = []
    for target in targets:
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path.lower().endswith((".md", ".markdown")):
            out.append(target)
            continue
        path = unquote(parts.path)
        if path.startswith("/"):
            src = path.lstrip("/")
        else:
            src = posixpath.normpath(posixpath.join(posixpath.dirname(file.src_uri), path))
        linked = files.get_file_from_path(src)
        out.append(linked.url if linked is not None else target)
    return out


def _unique_keys(entries: list[tuple[str, str]]) -> list[str]:
    """Keys for (source, stem) pairs: the file stem, or, when stems collide, the source path without its
    suffix and with '-' for '/' (`guide/index.md` -> `guide-index`)."""
    count: dict[str, int] = {}
    for _, stem in entries:
        count[stem] = count.get(stem, 0) + 1
    keys = []
    for source, stem in entries:
        if count[stem] == 1:
            keys.append(stem)
        else:
            keys.append(str(PurePosixPath(source).with_suffix("")).replace("/", "-"))
    return keys


def posts_from_files(config: MkDocsConfig, files: Files, scope: str, settings: Settings,
                     now: dt.datetime | None = None) -> PageRead:
    """The Posts of an MkDocs site from MkDocs' own objects after `on_nav` (see the module docstring).

    `scope`: "blog" (the Material blog's posts), "docs" (the other documentation pages) or "all".
    Raises PostkinError when the scope finds no blog (scope "blog" on a site without Material's blog
    plugin). Pages whose values cannot be used are left out, listed in `problems`.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    blogs = blog_plugins(config)
    if scope == "blog" and not blogs:
        raise PostkinError(f"{config.config_file_path}: postkin's scope is 'blog' but no Material blog plugin "
                           "is enabled; add `- blog` to plugins, or set the postkin plugin's scope: docs")
    types = _material_types()
    post_dirs = [(_post_dir(b), b) for b in blogs]
    titles = TitleReader(config)
    dialect = MkDocsDialect(Site(root=Path(config.config_file_path or ".").parent, content=Path(config.docs_dir)),
                            settings)
    found: list[tuple[File, Post]] = []
    problems: list[tuple[str, str]] = []
    for file in files.documentation_pages(inclusion=lambda level: True):
        page: Any = file.page
        is_post = types is not None and isinstance(page, types[0])
        if types is not None and isinstance(page, types[1]):
            continue  # the blog's own index, archive, category and author pages
        if getattr(file, "generated_by", None):
            continue  # pages another plugin made up (not the author's)
        if file.abs_src_path and not settings.follow_symlinks:
            # MkDocs follows symbolic links; postkin reads nothing outside docs_dir unless told to (#13)
            target = Path(os.path.realpath(file.abs_src_path))
            if not target.is_relative_to(os.path.realpath(config.docs_dir)):
                problems.append((file.src_uri, f"skipped: a symbolic link to {target}, outside {config.docs_dir}; "
                                               "set follow_symlinks = true to read it"))
                continue
        if not is_post and (scope == "blog" or any(file.src_uri.startswith(d + "/") for d, _ in post_dirs)):
            continue
        if is_post and scope == "docs":
            continue
        blog = next((b for d, b in post_dirs if file.src_uri.startswith(d + "/")), None)
        try:
            if is_post:  # Material read and validated it (in on_files): its values, as it uses them
                markdown_text, meta, post_config = page.markdown or "", dict(page.meta), page.config
            else:
                markdown_text, meta, post_config = *_page_source(file), None
            post = _read_page(dialect, titles, file, markdown_text, meta, post_config, blog, now,
                              excluded=file.inclusion.is_excluded(), files=files)  # type: ignore[no-untyped-call]
        except ValueError as exc:
            problems.append((file.src_uri, str(exc)))
            continue
        if post is not None:
            found.append((file, post))
    keys = _unique_keys([(f.src_uri, f.name if f.name != "index" else
                          posixpath.basename(posixpath.dirname(f.src_uri)) or "index") for f, _ in found])
    for (_, post), key in zip(found, keys):
        post.slug = key
    posts = [post for _, post in found]
    check_unique_slugs(posts)
    sources = {post.source for post in posts}
    for file, post in found:  # a post's own `links:` that name posts lead its related posts (controls.py)
        linked = [src for src in material_links(file.page, files) if src in sources and src != post.source]
        post.pins = list(dict.fromkeys([*linked, *post.pins]))
    return PageRead(posts, {post.slug: file for file, post in found}, problems)


def material_links(page: Any, files: Files) -> list[str]:
    """The pages a Material post's `links:` front matter names (Material 9.7+), in order, nested sections
    walked: each as the source path of the page it names (relative to docs_dir, as Material resolves it;
    an anchor `#...` is dropped), or its URL when it names no file (an address elsewhere, or an entry
    Material has already turned into a page's URL)."""
    links = getattr(getattr(page, "config", None), "links", None)
    out: list[str] = []
    stack = list(reversed(getattr(links, "items", None) or []))
    while stack:
        item = stack.pop()
        children = getattr(item, "children", None)
        if children:
            stack.extend(reversed(children))
            continue
        url = str(getattr(item, "url", "") or "")
        if not url:
            continue
        parts = urlsplit(url)
        linked = None if parts.scheme or parts.netloc else files.get_file_from_path(unquote(parts.path).lstrip("/"))
        if linked is None and not (parts.scheme or parts.netloc):  # already resolved to the page's URL
            linked = next((f for f in files.documentation_pages() if f.url == parts.path.lstrip("/")), None)
        out.append(linked.src_uri if linked is not None else url)
    return out


def _page_source(file: File) -> tuple[str, dict[str, Any]]:
    """(Markdown, front matter) of a documentation page, split as MkDocs does (`mkdocs.utils.meta`)."""
    from mkdocs.utils import meta as mkdocs_meta

    try:
        return mkdocs_meta.get_data(file.content_string)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the page ({exc})") from None


def material_post_config(meta: dict[str, Any], path: str) -> Any:
    """A post's front matter validated by Material's own `PostConfig` (what its blog plugin does for
    every post); ValueError with Material's message when it would stop the build."""
    from material.plugins.blog.structure.config import PostConfig

    post_config = PostConfig(path)
    post_config.load_dict({key: meta[key] for key in set(meta) & set(post_config.keys())})
    errors, _ = post_config.validate()
    for key, error in errors:
        raise ValueError(f"Material's blog plugin refuses '{key}': {error}")
    return post_config


def _read_page(dialect: MkDocsDialect, titles: TitleReader, file: File, markdown_text: str, meta: dict[str, Any],
               post_config: Any, blog: Any, now: dt.datetime, excluded: bool, files: Files | None) -> Post | None:
    """One page as a Post (None: `postkin: false`); ValueError naming the value that cannot be used.
    post_config: Material's validated front matter of a blog post, None for a documentation page."""
    lowered = lower_keys(meta)
    if opted_out(lowered):
        return None
    headings, prose = split_markdown(markdown_text)
    doc = Document(Path(file.abs_src_path or file.src_uri), file.src_uri, meta, lowered, markdown_text, bool(meta),
                   headings, paragraphs(prose))
    if post_config is not None:
        date = post_config.date.created
        draft_value = post_config.draft
        if draft_value is None and blog is not None and blog.config.draft_if_future_date:
            draft = date > now  # Material's `_is_excluded`, without the blog's own `draft` (previews) switch
        else:
            draft = bool(draft_value)
        categories = [str(c) for c in post_config.categories]
    else:
        date = parse_date(lowered.get("date"))
        draft = excluded
        categories = []
    post = dialect.common_post(doc, key=file.name, title=titles.title(meta, markdown_text, file, _nav_title(file)),
                               date=date, tags=as_list(lowered.get("tags")), categories=categories, draft=draft,
                               url=file.url, ref=file.src_uri)
    if files is not None:
        post.links = _resolve_links(post.links, file, files)
    return post


def plugin_scope(config: MkDocsConfig) -> str:
    """The `scope` of the postkin plugin in mkdocs.yml ("blog" when the plugin is not configured)."""
    for name, plugin in config.plugins.items():
        if name.split(" #")[0] == PLUGIN_NAME and hasattr(plugin.config, "scope"):
            return str(plugin.config.scope)
    return "blog"


def plugin_settings(start: Path) -> tuple[Settings, Path] | None:
    """The settings the postkin plugin of the MkDocs site at or above `start` reads (its options in
    mkdocs.yml, validated and with paths resolved by the plugin's own configuration class), and that
    mkdocs.yml; None when the site found is not an MkDocs site, its mkdocs.yml does not list the plugin, or
    MkDocs is not installed (the dialect then says so). `postkin build / eval / report / suggest-tags` use
    these, so the command line and `mkdocs build` compute the same lists. Raises PostkinError when
    mkdocs.yml does not load (a misspelt option: MkDocs' own one-line message)."""
    from . import locate

    found = locate(start)
    if found is None or found[0] is not MkDocsDialect:
        return None
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        return None
    config_file = found[2]
    config = load_mkdocs_config(config_file)
    for name, plugin in config.plugins.items():
        if name.split(" #")[0] == PLUGIN_NAME and getattr(plugin.config, "settings", None) is not None:
            return plugin.config.settings, config_file
    return None


@dataclass
class PreparedSite:
    """A loaded MkDocs site after MkDocs' steps up to the navigation (see `prepare`)."""

    config: MkDocsConfig
    files: Files


def load_mkdocs_config(config_file: Path) -> MkDocsConfig:
    """mkdocs.yml loaded and validated by MkDocs itself; PostkinError (one line) when it cannot be."""
    try:
        from mkdocs.config import load_config
        from mkdocs.exceptions import MkDocsException
    except ImportError:
        raise PostkinError(f"{config_file}: this is an MkDocs site; reading it as MkDocs does needs MkDocs: "
                           f"{INSTALL_HINT}") from None
    try:
        with mkdocs_warnings():
            return load_config(str(config_file))
    except MkDocsException as exc:
        raise PostkinError(f"{config_file}: MkDocs could not load its configuration ({exc})") from None
    except SystemExit as exc:  # MkDocs' Abort is a click exception raised as a SystemExit subclass
        raise PostkinError(f"{config_file}: MkDocs could not load its configuration ({exc})") from None


@dataclass
class _Driven:
    """The postkin plugin instances of a configuration the dialect drives (they must not run the pipeline)."""

    plugins: list[Any]

    def __enter__(self) -> _Driven:
        for plugin in self.plugins:
            plugin.driven_by_dialect = True
        return self

    def __exit__(self, *exc: object) -> None:
        for plugin in self.plugins:
            plugin.driven_by_dialect = False


@contextlib.contextmanager
def prepare(config: MkDocsConfig) -> Iterator[PreparedSite]:
    """Run MkDocs' own steps of `mkdocs build` up to the navigation (no page read, nothing written),
    give the site to the `with` block, then run the plugins' `on_shutdown`."""
    from mkdocs.structure.files import get_files, set_exclusions
    from mkdocs.structure.nav import get_navigation

    ours = [p for name, p in config.plugins.items() if name.split(" #")[0] == PLUGIN_NAME]
    config.plugins.on_startup(command="build", dirty=False)
    try:
        with _Driven(ours):
            config = config.plugins.on_config(config)
            config.plugins.on_pre_build(config=config)
            files = get_files(config)
            files.add_files_from_theme(config.theme.get_env(), config)
            files = config.plugins.on_files(files, config=config)
            set_exclusions(files, config)
            nav = get_navigation(files, config)
            config.plugins.on_nav(nav, config=config, files=files)
            yield PreparedSite(config, files)
    finally:
        config.plugins.on_shutdown()


class _ToPostkin(logging.Handler):
    """MkDocs' and its plugins' log lines, while the dialect drives them, as postkin's own."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, "mkdocs: %s", record.getMessage())


@contextlib.contextmanager
def mkdocs_warnings() -> Iterator[None]:
    """MkDocs' warnings (a deprecated option, a page left out) shown as postkin's own lines in the block."""
    handler = _ToPostkin(logging.WARNING)
    mkdocs_log = logging.getLogger("mkdocs")
    mkdocs_log.addHandler(handler)
    try:
        yield
    finally:
        mkdocs_log.removeHandler(handler)


class MkDocsDialect(Dialect):
    """An MkDocs site (see the module docstring)."""

    name = "mkdocs"
    label = "an MkDocs site"
    config_names = ("mkdocs.yml", "mkdocs.yaml")

    def __init__(self, site: Site, settings: Settings) -> None:
        super().__init__(site, settings)
        self._titles: TitleReader | None = None

    @classmethod
    def load_site(cls, root: Path, config_file: Path | None, given: Path, settings: Settings) -> Site:
        if config_file is None:
            config_file = cls.config_in(root) or root / "mkdocs.yml"
        config = load_mkdocs_config(config_file)
        site = Site(root=root, content=Path(config.docs_dir), config_file=config_file,
                    base_path=urlsplit(config.site_url or "").path or "", build_future=True, build_expired=True)
        site.config = {"mkdocs": config, "scope": plugin_scope(config)}
        return site

    def browser_dir(self) -> Path:
        """The docs folder: MkDocs copies its files that are not pages into the site as they are (in a real
        build the plugin also writes the same two files into site_dir)."""
        return Path(self.site.config["mkdocs"].docs_dir)

    def post(self, doc: Document) -> Post | None:
        """One file as the plugin would read it (for `postkin suggest-tags`: a new or edited post, read from
        its bytes, without running MkDocs). Its URL is left empty: Material makes it only during a build."""
        from mkdocs.structure.files import File

        config = self.site.config["mkdocs"]
        scope = self.site.config["scope"]
        blog = next((b for b in blog_plugins(config) if doc.source.startswith(_post_dir(b) + "/")), None)
        if blog is None and scope == "blog":
            raise NotAPost("not in the posts folder of a Material blog (postkin's scope is 'blog')")
        if blog is not None and scope == "docs":
            raise NotAPost("a blog post, and postkin's scope is 'docs'")
        if not doc.raw_metadata and blog is not None:
            raise ValueError("Material's blog plugin needs front matter with a date in every post")
        post_config = material_post_config(doc.raw_metadata, str(doc.path)) if blog is not None else None
        file = File(doc.source, config.docs_dir, config.site_dir, config.use_directory_urls)
        if self._titles is None:
            self._titles = TitleReader(config)
        post = _read_page(self, self._titles, file, doc.body, doc.raw_metadata, post_config, blog,
                          dt.datetime.now(dt.timezone.utc), excluded=False, files=None)
        if post is not None:
            post.url = ""
        return post

    def read(self, cache: EmbeddingCache | None = None) -> Corpus:
        """The pages MkDocs and Material would build, as Posts, read exactly as the plugin reads them."""
        from ..errors import Problem

        config = self.site.config["mkdocs"]
        try:
            with mkdocs_warnings(), prepare(config) as prepared:
                read = posts_from_files(prepared.config, prepared.files, self.site.config["scope"], self.settings)
        except PostkinError:
            raise
        except Exception as exc:  # MkDocs' and plugins' own errors (PluginError, ConfigurationError...)
            raise PostkinError(f"{self.site.config_file}: MkDocs could not read the site "
                               f"({type(exc).__name__}: {exc})") from None
        return Corpus(read.posts, [Problem(s, r) for s, r in read.problems], dialect=self.name,
                      base_path=self.site.base_path, root=self.site.root, content=self.site.content,
                      build_future=True, build_expired=True, cache_dir=self.cache_folder())
