"""What every dialect shares: the site it reads, walking its files, splitting a file into front matter
and text, the parsed-post cache, and the rules that are not specific to one generator.

A dialect answers, as its generator does: which files are posts, each post's key, URL, date, title,
tags, visibility and language. It subclasses `Dialect` and overrides `load_site` (read the generator's
configuration), `is_post_file` / `files` (which files to consider), `post` (a Document -> Post) and,
when posts depend on each other, `finish` (keys made unique, translations grouped).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from ..corpus import Corpus, Post, parser_version, post_from_json, post_to_json
from ..errors import PostkinError, Problem
from ..links import all_aliases, extract_links
from ..metadata import (
    CATEGORY_KEYS,
    MARKDOWN_SUFFIXES,
    TAG_KEYS,
    as_list,
    first,
    generic_draft,
    lower_keys,
    number,
    parse_date,
    pins,
    recommended,
    split_front_matter,
    truthy,
)
from ..text import first_paragraph, inline_text, paragraphs, split_markdown

if TYPE_CHECKING:
    from ..cache import EmbeddingCache
    from ..pipeline import Build
    from ..settings import Settings

log = logging.getLogger("postkin")

LEDE_KEYS = ("lede", "description", "summary", "excerpt")
# Folders no generator reads posts from: dependencies, virtual environments, build outputs.
VENDOR_FOLDERS = frozenset({"node_modules", "venv", "env", "site-packages", "__pycache__", "vendor",
                            "bower_components"})


class NotAPost(Exception):
    """A file the generator does not treat as a post (a README without front matter, a section page):
    skipped without a warning; the reason is shown with --verbose."""


@dataclass
class Site:
    """A site as its generator sees it (read from its configuration by the dialect's `load_site`)."""

    root: Path  # the site folder (where the generator's configuration is)
    content: Path  # the folder posts are read from; sources are relative to it
    config_file: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    base_path: str = ""  # the path the site is served below ('/blog/'), part of every URL postkin writes
    languages: tuple[str, ...] = ()  # declared languages, the default one first; () when not multilingual
    build_future: bool = False  # the generator builds (and lists) posts dated in the future
    build_expired: bool = False  # the generator builds posts past their expiry date
    follow_symlinks: bool = False  # read files reached through links that point outside `content`

    @property
    def default_language(self) -> str:
        """The site's default language ('' when it declares none)."""
        return self.languages[0] if self.languages else ""


@dataclass
class Document:
    """One file, split: what every dialect's `post` starts from."""

    path: Path
    source: str  # relative to site.content, '/' separators
    raw_metadata: dict[str, Any]  # front matter as written (key case kept)
    metadata: dict[str, Any]  # keys lower-cased
    body: str  # Markdown after the front matter
    has_front_matter: bool
    headings: list[str] = field(default_factory=list)  # plain text of the headings
    paragraphs: list[str] = field(default_factory=list)  # plain text of the prose, code left out

    @property
    def stem(self) -> str:
        """The file name without its extension."""
        return PurePosixPath(self.source).stem

    def file_date(self, which: str) -> dt.datetime | None:
        """The file's own date, for Eleventy's `Created` / `Last Modified` keywords (UTC)."""
        try:
            st = self.path.stat()
        except OSError:
            return None
        stamp = getattr(st, "st_birthtime", None) if which == "created" else None
        when = dt.datetime.fromtimestamp(stamp if stamp else st.st_mtime, dt.timezone.utc)
        return when.replace(microsecond=0)


class Dialect:
    """The generic dialect's machinery; generator dialects override the parts their generator decides."""

    name: ClassVar[str] = "generic"
    label: ClassVar[str] = "a folder of Markdown posts"
    config_names: ClassVar[tuple[str, ...]] = ()  # files whose presence identifies the generator's site
    browser_path: ClassVar[str] = ""  # where browser_dir is served, below the site's base path ("assets/")

    def __init__(self, site: Site, settings: Settings) -> None:
        self.site = site
        self.settings = settings
        site.follow_symlinks = site.follow_symlinks or settings.follow_symlinks

    def cache_folder(self) -> Path:
        """The cache folder: the `cache_dir` setting, else .postkin-cache in the site folder (for a generic
        folder of posts: beside it)."""
        from ..settings import CACHE_DIR_NAME

        if self.settings.cache_dir:
            return Path(self.settings.cache_dir).expanduser()
        if self.name == "generic":
            return Path(self.site.content).resolve().parent / CACHE_DIR_NAME
        return self.site.root / CACHE_DIR_NAME

    # -- finding the site ---------------------------------------------------------------------------
    @classmethod
    def config_in(cls, folder: Path) -> Path | None:
        """The generator's configuration file in `folder`, or None (dialects may check its contents)."""
        for name in cls.config_names:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        return None

    @classmethod
    def load_site(cls, root: Path, config_file: Path | None, given: Path, settings: Settings) -> Site:
        """The Site at `root` (config_file: the file `config_in` found, None for the generic dialect;
        given: the folder the user named). Raises PostkinError for a configuration that cannot be read."""
        return Site(root=root, content=given)

    # -- which files --------------------------------------------------------------------------------
    def is_post_file(self, source: str) -> bool:
        """Whether a file (path relative to the content folder) may be a post at all."""
        return source.lower().endswith(MARKDOWN_SUFFIXES)

    def is_read_folder(self, source: str) -> bool:
        """Whether the generator reads anything inside a folder (path relative to the content folder):
        `files` does not enter the others (Jekyll's `_site`, excluded folders)."""
        return True

    def files(self, problems: list[Problem]) -> list[tuple[Path, str]]:
        """(path, source) of every candidate file under the content folder, sorted by source.

        Hidden files and folders and vendor folders (node_modules, virtual environments) are not read.
        A file or folder reached through a symbolic link that points outside the content folder is
        skipped with one warning (the `follow_symlinks` setting reads it); a link loop is reported once.
        """
        root = self.site.content
        real_root = Path(os.path.realpath(root))
        found: list[tuple[Path, str]] = []
        seen_dirs: set[str] = set()

        def walk(folder: Path, rel: PurePosixPath) -> Iterator[tuple[Path, str]]:
            real = os.path.realpath(folder)
            if real in seen_dirs:
                problems.append(Problem(rel.as_posix() or ".", "skipped: a symbolic link loop leads back here"))
                return
            seen_dirs.add(real)
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                problems.append(Problem(rel.as_posix() or ".", f"cannot read folder ({exc.strerror})"))
                return
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name in VENDOR_FOLDERS:
                    continue
                source = (rel / name).as_posix()
                path = Path(entry.path)
                if entry.is_symlink():
                    target = Path(os.path.realpath(path))
                    if not self.site.follow_symlinks and not target.is_relative_to(real_root):
                        if entry.is_dir() or self.is_post_file(source):
                            problems.append(Problem(source, f"skipped: a symbolic link to {target}, outside "
                                                            f"{root}; set follow_symlinks = true to read it"))
                        continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    if self.is_read_folder(source):
                        yield from walk(path, rel / name)
                elif self.is_post_file(source):
                    try:
                        if entry.is_file():
                            yield path, source
                    except OSError:
                        continue

        if not root.is_dir():
            raise PostkinError(f"{root}: content folder not found")
        found = list(walk(root, PurePosixPath("")))
        return sorted(found, key=lambda item: item[1])

    # -- one file -----------------------------------------------------------------------------------
    def document(self, raw: bytes, source: str, path: Path) -> Document:
        """A file split into front matter and text; ValueError with a one-line reason when unreadable."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 (byte {exc.start}); save the file as UTF-8") from None
        if not text.strip():
            raise ValueError("file is empty")
        raw_metadata, body = split_front_matter(text)
        stripped = text.lstrip("\ufeff")
        has_front = stripped.startswith(("---", "+++")) and bool(re.match(r"(---|\+\+\+)[ \t]*\r?\n", stripped))
        headings, prose = split_markdown(body)
        return Document(path, source, raw_metadata, lower_keys(raw_metadata), body, has_front, headings,
                        paragraphs(prose))

    def post(self, doc: Document) -> Post | None:
        """The Post of a document, None when it opts out (`postkin: false`).

        Raises NotAPost when the generator would not treat the file as a post, ValueError with a
        one-line reason when a value cannot be used.
        """
        raise NotImplementedError

    def finish(self, posts: list[Post]) -> None:
        """Site-wide steps after every post was read (unique keys, translations, URLs)."""

    # -- where the generator's templates read postkin's data ----------------------------------------
    def data_dir(self) -> Path | None:
        """The folder `postkin build` writes to when --out is not given: where this generator's
        templates read data files (Hugo `data/`, Jekyll `_data/`...); None: the user says (--out)."""
        return None

    def write_data(self, out: Path, build: Build) -> tuple[int, int]:
        """Write the build's data in the shape this generator's templates read it: (files written,
        files removed). The default: postkin.json and posts/<key>.json (outputs.write_outputs)."""
        from ..outputs import write_outputs

        return write_outputs(out, build.post_texts(), build.site.to_json())

    def browser_dir(self) -> Path | None:
        """The folder `postkin build` writes the files a reader's browser loads for "Recommended for you"
        (setting recommend_for_you) into, as `postkin/vectors.json` and `postkin/recommend.js`: one the
        generator copies into the built site as it is, so they are served at `<base path>/<browser_path>postkin/`.
        None (a plain folder of posts, whose generator postkin does not know; Pelican, whose plugin writes
        them into the output itself): the data folder, as postkin-vectors.json and postkin-recommend.js,
        for the user to serve. Never a data folder a generator reads: Eleventy runs a `.js` file there and
        Jekyll loads the vectors as site data."""
        return None

    def watch_paths(self) -> list[Path]:
        """What `postkin build --watch` watches: the content folder and the generator's configuration."""
        paths = [Path(self.site.content)]
        if self.site.config_file is not None:
            paths.append(self.site.config_file)
        return paths

    def watch_ignored(self) -> list[Path]:
        """Folders under `watch_paths` whose changes never call for a build: the generator's own output
        (a live server rewriting it would start a build each time)."""
        return []

    def fingerprint(self) -> str:
        """Everything besides a file's path and bytes that changes how it is read: the dialect, its site
        configuration and the settings it uses. Part of the parsed-post cache key."""
        parts = [self.name, self.site.config_file.read_text(encoding="utf-8", errors="replace")
                 if self.site.config_file and self.site.config_file.is_file() else "",
                 self.settings.popularity_key, self.site.base_path, ",".join(self.site.languages)]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    # -- shared rules -------------------------------------------------------------------------------
    def common_post(self, doc: Document, *, key: str, title: str, date: dt.datetime | None,
                    tags: list[str] | None = None, categories: list[str] | None = None, draft: bool | None = None,
                    lang: str = "", translation_key: str = "", url: str = "", ref: str = "",
                    publish_date: dt.datetime | None = None, expiry_date: dt.datetime | None = None,
                    permalink: str = "", slug_from_name: bool = False) -> Post:
        """A Post with everything generator-independent filled in: lede, text, links, aliases, page
        views, and the visibility rules most generators and themes share (`draft: true`,
        `published: false`, `status: draft|hidden`, `hidden: true`)."""
        m = doc.metadata
        lede = next((inline_text(str(m[k])) for k in LEDE_KEYS if m.get(k)), "") or first_paragraph(doc.paragraphs)
        if not (title or lede or doc.paragraphs or doc.headings):
            raise ValueError("post has no title and no text")
        hidden = truthy(m.get("hidden", False))
        return Post(
            source=doc.source,
            slug=key,
            title=title,
            url=url,
            lede=lede,
            headings=doc.headings,
            body="\n".join(doc.paragraphs),
            tags=as_list(first(m, *TAG_KEYS)) if tags is None else tags,
            categories=as_list(first(m, *CATEGORY_KEYS)) if categories is None else categories,
            date=date,
            draft=(generic_draft(m) if draft is None else draft) or hidden,
            popularity=number(m.get(self.settings.popularity_key.lower()), self.settings.popularity_key),
            slug_from_name=slug_from_name,
            links=extract_links(doc.body),
            permalink=permalink,
            aliases=all_aliases(m),
            lang=lang,
            translation_key=translation_key,
            ref=ref,
            publish_date=publish_date,
            expiry_date=expiry_date,
            pins=pins(m),
            recommend=recommended(m),
        )

    def date_of(self, doc: Document, *keys: str) -> dt.datetime | None:
        """The first of `keys` present in the front matter, read as a date (Eleventy keywords answered
        from the file); ValueError when it is not a date."""
        value = first(doc.metadata, *keys)
        return parse_date(value, doc.file_date)

    # -- the whole site -----------------------------------------------------------------------------
    def read(self, cache: EmbeddingCache | None = None) -> Corpus:
        """Every post of the site, through the parsed-post cache (files whose bytes, path and reading
        rules are unchanged are not parsed again: parsing is most of a warm build's reading time)."""
        problems: list[Problem] = []
        skipped: list[Problem] = []
        posts: list[Post] = []
        n_opted = 0
        raws: list[tuple[Path, str, bytes, str]] = []
        fingerprint = self.fingerprint().encode()
        for path, source in self.files(problems):
            try:
                raw = path.read_bytes()
            except OSError as exc:
                problems.append(Problem(source, f"cannot read ({exc.strerror})"))
                continue
            key = hashlib.sha256(b"\0".join([source.encode(), fingerprint, raw])).hexdigest()
            raws.append((path, source, raw, key))
        version = parser_version()
        cached = cache.get_parsed(version, [key for *_, key in raws]) if cache is not None else {}
        parsed_now: dict[str, str] = {}
        for path, source, raw, key in raws:
            text = cached.get(key)
            if text is None:
                try:
                    post = self.post(self.document(raw, source, path))
                    text = post_to_json(post)
                except NotAPost as exc:
                    text = json.dumps({"not_a_post": str(exc)})
                except PostkinError as exc:
                    problems.append(Problem(source, str(exc).split(": ", 1)[-1]))
                    continue
                except ValueError as exc:
                    problems.append(Problem(source, str(exc)))
                    continue
                parsed_now[key] = text
            result = post_from_json(text)
            if isinstance(result, str):
                skipped.append(Problem(source, result))
            elif result is None:
                n_opted += 1
            else:
                posts.append(result)
        self.finish(posts)
        return Corpus(posts, problems, n_opted, parsed_now, not_posts=skipped, dialect=self.name,
                      languages=self.site.languages, build_future=self.site.build_future,
                      build_expired=self.site.build_expired, base_path=self.site.base_path,
                      root=self.site.root, content=self.site.content, cache_dir=self.cache_folder())
