"""The Hugo dialect: a Hugo site read as Hugo (0.144-0.168) reads it.

Configuration: `hugo.toml|yaml|yml|json`, else `config.*` with Hugo keys, merged with `config/_default/`
and `config/production/` (what `hugo` builds), and `HUGO_<KEY>` environment variables for the keys read
here (`HUGO_BASEURL` is how CI passes the site's address to both Hugo and postkin).

What a post is: a regular page (a Markdown file under a content folder, a leaf bundle `x/index.md`
named by its folder; never `_index.md`, never a file inside a leaf bundle, never a name starting with
`.` or `#` or ending with `~`) whose top-level section is one of the site's `mainSections` (the
configured ones, else per language the section with the most pages, as Hugo picks it). A page with
no title and no text (an untranslated stub) has nothing to relate and is left out.

Each post's:
- key: the last part of Hugo's `.Path` (`posts/compost-heap/index.md` -> `compost-heap`,
  `Mixed Case Name.md` -> `mixed-case-name`), `.<lang>` added for a language other than the default
  (`sourdough.fr.md` -> `sourdough.fr`); posts whose names collide keep more of their path. The
  partial finds a page's data through `pages.json` (`.Lang` -> `.Path` -> key), never by guessing.
- URL: Hugo's `.RelPermalink`: baseURL path, language prefix, `url` (tokens allowed), `slug`,
  `[permalinks]` (map and list forms, every token: `:year :month :monthname :day :weekday
  :weekdayname :yearday`, Go layouts, `:section :sections :sectionslug :sectionslugs` with slices,
  `:title :slug :filename :slugorfilename :contentbasename :slugorcontentbasename`), `uglyURLs`,
  `disablePathToLower`, `removePathAccents`, Hugo's urlize (characters are dropped, not replaced).
- dates: `[frontmatter]` (defaults: `.Date` <- date, publishDate, lastmod and their aliases;
  `:filename` gives a date and a slug only when configured), read in `timeZone` (site or language;
  UTC when unset, whatever the machine's zone), with exactly the formats Hugo accepts: a value Hugo
  rejects (`"2024-01-03 10:00"`, `published: false`) is reported, as Hugo fails the build on it.
- title as written (no title: ""), tags and categories as taxonomy terms (a string is one term),
  translations (same `.Path` in another language, or the same `translationKey`), `ref` = `.Path`.
- visibility: drafts (unless buildDrafts), `publishDate` in the future and `expiryDate` in the past
  (decided at build time, unless buildFuture / buildExpired), `build.list: never`, `build.render:
  never|link` and `headless` (no page to link to) are never listed. `cascade` (front matter of
  `_index` files and the site configuration) applies as Hugo applies it.

Known differences: `hugo --baseURL/-D/-F` flags are invisible to postkin (use HUGO_BASEURL etc.);
Hugo modules other than `module.mounts` of this site, themes' content, content adapters and
non-Markdown content are not read; when mainSections is not configured, headless and unlisted pages
do not count towards choosing it, and a tie is broken by name (Hugo's pick is random); a tag written
with trailing white space is the same term as without it (Hugo makes `/tags/garden-/`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..corpus import Corpus, Post, listed
from ..errors import PostkinError, Problem
from ..metadata import as_list, number, opted_out, pins, quote, recommended, split_front_matter
from ..text import paragraphs, split_markdown
from . import hugo_paths as hp
from .base import LEDE_KEYS, Dialect, Document, NotAPost, Site
from .hugo_config import (
    CONFIG_EXTS,
    CONFIG_NAMES,
    CONTENT_EXTS,
    ENV_KEYS,
    MARKDOWN_EXTS,
    TOKEN,
    ContentRoot,
    HugoConfig,
    PageFile,
    date_and_slug_from_name,
    environment,
    has_hugo_keys,
    hugo_date,
    is_bool_like,
    json_front_matter,
    load_config,
    lower_keys,
    normalize,
    parse_page_path,
    to_bool,
    to_string,
    yaml12_front_matter,
)

if TYPE_CHECKING:
    from ..cache import EmbeddingCache
    from ..pipeline import Build
    from ..settings import Settings

log = logging.getLogger("postkin")

DATA_INDEX = "pages.json"


@dataclass
class SectionPage:
    """A branch bundle's `_index` front matter in one language (title, slug, cascade)."""

    title: str = ""
    slug: str = ""
    has_file: bool = False
    cascade: list[dict[str, Any]] = field(default_factory=list)


class HugoDialect(Dialect):
    """A Hugo site (see the module docstring)."""

    name = "hugo"
    label = "a Hugo site"
    config_names = tuple(f"{n}.{e}" for n in CONFIG_NAMES for e in CONFIG_EXTS)

    def __init__(self, site: Site, settings: Settings) -> None:
        super().__init__(site, settings)
        where = str(site.config_file or site.root)
        self.hugo = HugoConfig.from_config(site.config, site.root, where)
        self.config_files: list[Path] = list(site.config.get("__files__", []))
        self._files: dict[str, PageFile] = {}
        self._sources: list[tuple[Path, str]] = []
        self._skipped: list[Problem] = []
        self._scan_problems: list[Problem] = []
        self._sections: dict[tuple[str, str], SectionPage] = {}  # (.Path of the section, lang)
        self._branches: set[str] = set()
        self._scan_digest = ""
        self._outside: list[Problem] = []
        self._main: dict[str, list[str]] = {}

    # -- finding the site ---------------------------------------------------------------------------
    @classmethod
    def config_in(cls, folder: Path) -> Path | None:
        """hugo.toml|yaml|yml|json, config.* holding Hugo keys, or a config/_default/ folder."""
        for ext in CONFIG_EXTS:
            if (folder / f"hugo.{ext}").is_file():
                return folder / f"hugo.{ext}"
        for ext in CONFIG_EXTS:
            candidate = folder / f"config.{ext}"
            if candidate.is_file() and has_hugo_keys(candidate):
                return candidate
        default = folder / "config" / "_default"
        if default.is_dir() and (folder / "content").is_dir():
            found = sorted(p for p in default.iterdir() if p.suffix.lower().lstrip(".") in CONFIG_EXTS)
            named = [p for p in found if p.stem.lower() in CONFIG_NAMES]
            if named or found:
                return (named or found)[0]
        return None

    @classmethod
    def load_site(cls, root: Path, config_file: Path | None, given: Path, settings: Settings) -> Site:
        config, files = load_config(root)
        where = str(config_file or root)
        hugo = HugoConfig.from_config(config, root, where)
        folders = [r.folder for r in hugo.roots]
        content = Path(os.path.commonpath([str(f) for f in folders])) if len(folders) > 1 else folders[0]
        site = Site(root=root, content=content, config_file=files[0] if files else config_file,
                    config={**config, "__files__": files}, base_path=hugo.base_path,
                    languages=hugo.languages, build_future=hugo.build_future, build_expired=hugo.build_expired)
        return site

    # -- which files --------------------------------------------------------------------------------
    def is_post_file(self, source: str) -> bool:
        name = source.rsplit("/", 1)[-1]
        if name.startswith(("#", ".")) or name.endswith("~"):
            return False
        return name.rpartition(".")[2].lower() in CONTENT_EXTS

    def _walk(self, root: ContentRoot, problems: list[Problem]) -> list[tuple[Path, str]]:
        saved = self.site.content
        self.site.content = root.folder
        try:
            return Dialect.files(self, problems)
        finally:
            self.site.content = saved

    def scan(self) -> None:
        """Walk the content folders: which files are pages, leaf bundles, sections; the `_index` front
        matter (titles, slugs, cascade); what is skipped and why. Done before reading any post."""
        problems: list[Problem] = []
        found: list[tuple[Path, str, ContentRoot]] = []
        seen: set[str] = set()
        existing = [r for r in self.hugo.roots if r.folder.is_dir()]
        if not existing:
            raise PostkinError(f"{self.hugo.roots[0].folder if self.hugo.roots else self.site.content}: "
                               "content folder not found")
        for root in existing:
            for path, rel in self._walk(root, problems):
                real = os.path.realpath(path)
                if real in seen:
                    continue
                seen.add(real)
                found.append((path, posixpath.join(root.target, rel) if root.target else rel, root))
        langs = set(self.hugo.languages)
        by_dir_leaf: set[str] = set()
        by_dir_branch: set[str] = set()
        for _, logical, _ in found:
            folder, name = posixpath.split(logical)
            stem = name.rpartition(".")[0].lower()
            base = stem.rpartition(".")[0] if "." in stem and stem.rpartition(".")[2] in langs | \
                self.hugo.disabled_languages else stem
            if base == "index" and folder:
                by_dir_leaf.add(folder)
            elif base == "_index":
                by_dir_branch.add(folder)
        by_dir_leaf -= by_dir_branch
        files: dict[str, PageFile] = {}
        sources: list[tuple[Path, str]] = []
        skipped: list[Problem] = []
        index_bytes = hashlib.sha256()
        sections: dict[tuple[str, str], SectionPage] = {}
        top_dirs: set[str] = set()
        for path, logical, root in found:
            source = os.path.relpath(path, self.site.content).replace(os.sep, "/")
            if any(p.search(str(path)) for p in self.hugo.ignore):
                skipped.append(Problem(source, "matches Hugo's ignoreFiles"))
                continue
            folder = posixpath.dirname(logical)
            parts = folder.split("/") if folder else []
            bundle = next(("/".join(parts[:n]) for n in range(1, len(parts) + 1)
                           if "/".join(parts[:n]) in by_dir_leaf), None)
            name = posixpath.basename(logical)
            stem_lang = name.rpartition(".")[0].rpartition(".")[2].lower() if name.count(".") > 1 else ""
            if stem_lang in self.hugo.disabled_languages:
                skipped.append(Problem(source, f"language {stem_lang!r} is disabled in the Hugo configuration"))
                continue
            info = parse_page_path(logical, langs, root.lang or self.hugo.default_language)
            info.source = source
            if bundle is not None and not (info.kind == "leaf" and folder == bundle):
                skipped.append(Problem(source, f"a page resource of the leaf bundle {bundle}/ (not a page)"))
                continue
            if info.kind == "branch":
                index_bytes.update(source.encode() + b"\0")
                sections[(info.path, info.lang)] = self._section_page(path, source, index_bytes, skipped)
                skipped.append(Problem(source, "a list page (_index), not a post"))
                continue
            if info.section:
                top_dirs.add("/" + info.section)
            if name.rpartition(".")[2].lower() not in MARKDOWN_EXTS:
                skipped.append(Problem(source, "Hugo renders it, but postkin reads Markdown content only"))
                continue
            if not info.section:
                skipped.append(Problem(source, "a page at the top of the content folder, in no section"))
                continue
            files[source] = info
            sources.append((path, source))
        self._branches = top_dirs | {normalize("/" + d) for d in by_dir_branch if d}
        self._files, self._sources, self._skipped, self._sections = files, sorted(sources, key=lambda x: x[1]), \
            skipped, sections
        self._scan_problems = problems
        index_bytes.update("\0".join(sorted(self._branches)).encode())
        self._scan_digest = index_bytes.hexdigest()

    def _section_page(self, path: Path, source: str, digest: Any, skipped: list[Problem]) -> SectionPage:
        try:
            raw = path.read_bytes()
            digest.update(raw)
            meta, _ = split_front_matter(raw.decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            skipped.append(Problem(source, f"its front matter cannot be read ({exc}); its cascade is ignored"))
            return SectionPage(has_file=True)
        meta = lower_keys(meta)
        cascade = meta.get("cascade")
        return SectionPage(title=to_string(meta.get("title")), slug=to_string(meta.get("slug")).strip("-"),
                           has_file=True,
                           cascade=[x for x in (cascade if isinstance(cascade, list) else [cascade])
                                    if isinstance(x, dict)])

    def files(self, problems: list[Problem]) -> list[tuple[Path, str]]:
        problems.extend(self._scan_problems)
        return list(self._sources)

    # -- one file -----------------------------------------------------------------------------------
    def document(self, raw: bytes, source: str, path: Path) -> Document:
        """The file split as Hugo splits it: also JSON front matter (`{...}` at the top), and YAML read
        with YAML 1.2's booleans (`draft: yes` is the word "yes" to Hugo, so not a draft)."""
        doc = super().document(raw, source, path)
        text = raw.decode("utf-8")
        if not doc.has_front_matter and doc.body.lstrip("\ufeff").lstrip().startswith("{"):
            meta, body = json_front_matter(doc.body)
            headings, prose = split_markdown(body)
            return Document(path, source, meta, lower_keys(meta), body, True, headings, paragraphs(prose))
        if doc.has_front_matter:
            meta12 = yaml12_front_matter(text)
            if meta12 is not None:
                doc.raw_metadata, doc.metadata = meta12, lower_keys(meta12)
        return doc

    def _cascade(self, info: PageFile, metadata: dict[str, Any]) -> dict[str, Any]:
        """Front matter with the `cascade` values of the page's ancestors (nearest first, then the site
        configuration's) set where the page has no value of its own."""
        out = dict(metadata)
        levels = [info.path.rsplit("/", n)[0] or "/" for n in range(1, info.path.count("/") + 1)]
        blocks: list[dict[str, Any]] = []
        for level in levels:
            page = self._sections.get((level, info.lang))
            if page is not None:
                blocks.extend(page.cascade)
        blocks.extend(self.hugo.cascade)
        for block in blocks:
            target = block.get("target", block.get("_target")) or {}
            if isinstance(target, dict) and not self._target_matches(target, info):
                continue
            for key, value in block.items():
                if key in ("target", "_target"):
                    continue
                if key == "params" and isinstance(value, dict):
                    for k, v in value.items():
                        out.setdefault(k, v)
                else:
                    out.setdefault(key, value)
        return out

    def _target_matches(self, target: dict[str, Any], info: PageFile) -> bool:
        path = str(target.get("path") or "")
        if path and not hp.glob_regex(path.lower()).match(info.path):
            return False
        kind = str(target.get("kind") or "")
        if kind and not hp.glob_regex(kind.lower()).match("page"):
            return False
        lang = str(target.get("lang") or "")
        if lang and not hp.glob_regex(lang.lower()).match(info.lang):
            return False
        env = str(target.get("environment") or "")
        return not env or bool(hp.glob_regex(env.lower()).match(environment()))

    def _dates(self, m: dict[str, Any], info: PageFile, zone: dt.tzinfo, doc: Document,
               ) -> tuple[dict[str, dt.datetime | None], str | None]:
        """The four dates by Hugo's [frontmatter] rules, and the slug a `:filename` date gives.

        As in Hugo, a date found sets the page's param of that name unless the front matter has it, and
        the later handlers see those params: a page with only `lastmod` gets it as `.Date` and then as
        `.PublishDate` (through `date`); a `:filename` date does not hide a front-matter `date`."""
        out: dict[str, dt.datetime | None] = {}
        slug: str | None = None
        m = dict(m)
        for which in ("date", "lastmod", "publishdate", "expirydate"):
            out[which] = None
            for ident in self.hugo.dates[which]:
                if ident == ":filename":
                    when, name_slug = date_and_slug_from_name(info.content_base_name, zone)
                    if when is None:
                        continue
                    if "slug" not in m and slug is None:
                        slug = name_slug
                elif ident == ":filemodtime":
                    stamp = doc.file_date("modified")
                    if stamp is None:
                        continue
                    when = stamp.astimezone()
                elif ident.startswith(":"):
                    continue  # :git needs the repository's history (enableGitInfo): not read
                else:
                    value = m.get(ident)
                    if value is None or value == "":
                        continue
                    try:
                        when = hugo_date(value, zone)
                    except ValueError:
                        if ident == "published" and is_bool_like(value):
                            raise ValueError(
                                f"published: {to_string(value).lower()}: Hugo 0.135+ reads `published` as a "
                                "publish date and fails the build (ERROR ... not a parsable date, gohugoio/hugo"
                                "#13073); write draft: true (or remove `published`)") from None
                        raise ValueError(f"{ident}: {quote(value)} is not a date Hugo reads (Hugo fails the "
                                         "build: ERROR ... not a parsable date); write e.g. 2024-01-03 or "
                                         "2024-01-03T10:00:00") from None
                out[which] = when
                m.setdefault(which, when)
                break
        return out, slug

    def post(self, doc: Document) -> Post | None:
        info = self._files.get(doc.source)
        if info is None:
            raise NotAPost("not a page of this Hugo site")
        m = self._cascade(info, lower_keys(doc.metadata))  # Hugo's keys are case-insensitive at every level
        if opted_out(m):
            return None
        zone = self.hugo.zones.get(info.lang, dt.timezone.utc)
        dates, name_slug = self._dates(m, info, zone, doc)
        title = to_string(m.get("title"))
        slug = to_string(m["slug"]).strip("-") if "slug" in m else (name_slug or "")
        url = to_string(m.get("url")).strip()
        if url.lower().startswith(("http://", "https://")):
            raise ValueError(f"url: {url!r}: Hugo refuses URLs with a protocol (http*) in front matter")
        build = m.get("_build", m.get("build"))
        build = build if isinstance(build, dict) else {}
        list_opt = _build_option(build, "list", ("always", "never", "local"))
        render_opt = _build_option(build, "render", ("always", "never", "link"))
        if to_bool(m.get("headless", False)):
            list_opt = render_opt = "never"
        if "draft" in m:
            draft = to_bool(m["draft"])
        elif "published" in m and is_bool_like(m["published"]):
            draft = not to_bool(m["published"])
        else:
            draft = False
        never_listed = (draft and not self.hugo.build_drafts) or list_opt == "never" or render_opt != "always"
        link = "" if render_opt == "never" else self.rel_permalink(info, title, slug, url, dates["date"])
        tags, categories = self._terms(m)
        if not (title or doc.paragraphs or doc.headings or any(m.get(k) for k in LEDE_KEYS)):
            raise NotAPost("no title and no text (a stub page): nothing to relate")
        translation_key = to_string(m.get("translationkey")).strip() or info.path
        post = self.common_post(doc, key=info.name, title=title, date=dates["date"], tags=tags,
                                categories=categories, draft=never_listed, lang=info.lang,
                                translation_key=translation_key, url=link, ref=info.path,
                                publish_date=dates["publishdate"], expiry_date=dates["expirydate"])
        post.draft = never_listed  # `hidden: true` means nothing to Hugo
        params = m.get("params")
        key = self.settings.popularity_key.lower()
        if post.popularity is None and isinstance(params, dict) and params.get(key) is not None:
            post.popularity = number(params[key], f"params.{key}")  # Hugo 0.123+ puts custom values in params
        # the controls' keys (controls.py), cascaded from sections, or in the page's params
        own = lower_keys(params) if isinstance(params, dict) else {}
        post.pins, post.recommend = pins(m) or pins(own), recommended(m) and recommended(own)
        return post

    def _terms(self, m: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Tags and categories as taxonomy terms: the `tags` taxonomy (else the site's first taxonomy
        other than categories) and `categories`; a string is one term; terms Hugo treats as one
        (`Garden`, `garden`) are one, in the first spelling."""
        plurals = list(self.hugo.taxonomies.values())
        params: dict[str, Any] = m["params"] if isinstance(m.get("params"), dict) else {}

        def values(plural: str | None) -> list[str]:
            if plural is None:
                return []
            value = params.get(plural, m.get(plural))
            out: dict[str, str] = {}
            for term in as_list(value, separator=None):
                out.setdefault(hp.make_path_sanitized(term, lower=True) or term, term)
            return list(out.values())

        tag_key = "tags" if "tags" in plurals else next((p for p in plurals if p != "categories"), None)
        return values(tag_key), values("categories" if "categories" in plurals else None)

    # -- URLs ---------------------------------------------------------------------------------------
    def rel_permalink(self, info: PageFile, title: str, slug: str, url: str, date: dt.datetime | None) -> str:
        """The page's `.RelPermalink` (hugolib/page__paths.go + resources/page/page_paths.go, HTML output)."""
        prefix = self.hugo.prefix(info.lang)
        els: list[str] = []
        offset = 0

        def add(*items: str) -> None:
            els.extend(e for e in items if e not in ("", "/"))

        if url:
            if ":" in url:
                expanded = self._expand(url, info, title, slug, date)
                if expanded:
                    url = _query_unescape(expanded)
            force_prefix = not url.startswith("/")
            if ".." in url:
                url = hp.go_clean("/" + url)
            add(*[p for p in url.split("/") if p])
            if url.endswith("/") or "." not in url:
                add("index.html")
                offset = 1
            link = _join(els, offset)
            if force_prefix and prefix and not url.startswith("/" + prefix):
                link = f"/{prefix}{link}"
        else:
            expanded = ""
            rule = next((r for r in self.hugo.permalinks.get(info.lang, []) if r.matches("page", info.path, info.lang)),
                        None)
            if rule is not None:
                out = self._expand(rule.pattern, info, title, slug, date)
                if out:
                    expanded = hp.go_clean(_query_unescape(out))
            path = info.path if self.hugo.lower else info.unnormalized
            base_name = slug or path.rsplit("/", 1)[-1]
            ugly = self.hugo.is_ugly(info.section)
            if expanded:
                add(expanded)
            else:
                add(posixpath.dirname(path), base_name)
                if base_name == "index" and info.kind != "leaf":
                    ugly = True
            if ugly:
                if els:
                    els[-1] = els[-1].rstrip("/") + ".html"
                else:
                    add(".html")
            else:
                add("index.html")
                offset = 1
            els = [hp.make_path_sanitized(e, lower=self.hugo.lower, accents=self.hugo.accents) for e in els]
            link = _join(els, offset)
            if prefix:
                link = f"/{prefix}{link}"
        if offset and not link.endswith("/"):
            link += "/"
        link = link.replace("#", "%23")
        path_part, q, rest = link.partition("?")
        link = hp.escaped_path(path_part) + q + rest if path_part else link
        return hp.join_base(self.hugo.base_path, link or "/")

    def _urlize(self, text: str) -> str:
        return hp.make_path_sanitized(text, lower=self.hugo.lower, accents=self.hugo.accents)

    def _section_title_or_slug(self, section_path: str, lang: str) -> str:
        """A section page's slug, else its title (for :sectionslug); a section without an `_index` file
        has the title Hugo makes from its name (pluralised, capitalised)."""
        page = self._sections.get((section_path, lang))
        if page is not None and page.has_file:
            return self._urlize(page.slug) if page.slug else self._urlize_title(page.title)
        name = section_path.rsplit("/", 1)[-1]
        if self.hugo.pluralize_titles:
            name = hp.pluralize(name)
        if self.hugo.capitalize_titles:
            name = name[:1].upper() + name[1:]
        return self._urlize_title(name)

    def _urlize_title(self, title: str) -> str:
        """A title as the `:title` token (and `:slug` without a slug) puts it in a path: Hugo 0.168 turns
        `/` and `\\` into `-` first (`a/b c` -> `a-b-c`; a slug keeps its slashes)."""
        return self._urlize(title.replace("/", "-").replace("\\", "-"))

    def _current_section(self, info: PageFile) -> str:
        folder = info.path if info.kind == "leaf" else info.path.rsplit("/", 1)[0]
        while folder and folder not in self._branches:
            folder = folder.rsplit("/", 1)[0]
        return folder or "/"

    def _expand(self, pattern: str, info: PageFile, title: str, slug: str, date: dt.datetime | None) -> str:
        """A permalink pattern with its tokens replaced (resources/page/permalinks.go)."""
        pattern = pattern.replace("\\:", "\x00")
        when = date or dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
        filename = info.translation_base_name
        if filename.lower() == "index":
            filename = info.unnormalized.rsplit("/", 1)[-1]
        elif filename.lower() == "_index":
            filename = ""
        current = self._current_section(info)
        entries = [] if current == "/" else current.strip("/").split("/")
        slugs = [self._section_title_or_slug("/" + "/".join(entries[: i + 1]), info.lang) for i in range(len(entries))]
        simple: dict[str, Callable[[], str]] = {
            "year": lambda: str(when.year), "month": lambda: f"{when.month:02d}",
            "monthname": lambda: hp._MONTHS[when.month - 1], "day": lambda: f"{when.day:02d}",
            "weekday": lambda: str((when.weekday() + 1) % 7), "weekdayname": lambda: hp._DAYS[(when.weekday() + 1) % 7],
            "yearday": lambda: str(when.timetuple().tm_yday), "section": lambda: info.section,
            "sectionslug": lambda: slugs[0] if slugs else "", "sections": lambda: current,
            "sectionslugs": lambda: "/".join(slugs), "title": lambda: self._urlize_title(title),
            "slug": lambda: self._urlize(slug) if slug else self._urlize_title(title),
            "filename": lambda: self._urlize(filename),
            "slugorfilename": lambda: self._urlize(slug or filename),
            "contentbasename": lambda: self._urlize(info.content_base_name),
            "slugorcontentbasename": lambda: self._urlize(slug or info.content_base_name),
        }
        out = pattern
        for m in TOKEN.finditer(pattern):
            token = m.group(0)
            attr = token[1:]
            name, _, cut = attr.partition("[")
            if name in simple and not cut:
                value = simple[name]()
            elif name == "sections" and cut:
                value = "/".join(_slice(entries, "[" + cut))
            elif name == "sectionslugs" and cut:
                value = "/".join(_slice(slugs, "[" + cut))
            else:
                value = hp.go_format(when, attr)
            out = out.replace(token, value, 1)
        return out.replace("\x00", ":")

    # -- the whole site -----------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """The dialect, every configuration file, the environment variables read, the `_index` files and
        sections (cascade, section slugs), and the settings used."""
        digest = hashlib.sha256(self.name.encode())
        for path in self.config_files:
            try:
                digest.update(str(path).encode() + b"\0" + path.read_bytes())
            except OSError:
                digest.update(b"missing")
        for key in ENV_KEYS:
            digest.update(f"{key}={os.environ.get('HUGO_' + key.upper(), '')}\0".encode())
        digest.update(f"{environment()}\0{self._scan_digest}\0{self.settings.popularity_key}".encode())
        return digest.hexdigest()

    def read(self, cache: EmbeddingCache | None = None) -> Corpus:
        """The site's posts (see the module docstring); files that are not posts, with the reason, in
        `not_posts`."""
        self.scan()
        self._outside = []
        corpus = super().read(cache)
        kept = [p for p in corpus.problems if not self._outside_main(p.path)]
        moved = [Problem(p.path, f"not in mainSections ({p.reason})") for p in corpus.problems if p not in kept]
        corpus.not_posts.extend([*self._skipped, *self._outside, *moved])
        corpus.problems = kept
        return corpus

    def _outside_main(self, source: str) -> bool:
        info = self._files.get(source)
        if info is None:
            return False
        main = self._main.get(info.lang)
        return main is not None and info.section not in main

    def finish(self, posts: list[Post]) -> None:
        """mainSections (per language: the configured ones, else the section with the most built pages),
        then unique keys."""
        self._main = {}
        shown = listed(posts, build_future=self.hugo.build_future, build_expired=self.hugo.build_expired)
        for lang in self.hugo.languages:
            configured = self.hugo.main_sections.get(lang)
            if configured is not None:
                self._main[lang] = configured
                continue
            counts: dict[str, int] = {}
            for post, ok in zip(posts, shown):
                info = self._files[post.source]
                if info.lang == lang and ok:
                    counts[info.section] = counts.get(info.section, 0) + 1
            best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            self._main[lang] = [best[0][0]] if best else []
        keep = []
        for post in posts:
            info = self._files[post.source]
            if info.section in self._main.get(info.lang, []):
                keep.append(post)
            else:
                self._outside.append(Problem(post.source, f"section {info.section!r} is not one of the site's "
                                                          f"mainSections {self._main.get(info.lang, [])}"))
        posts[:] = keep
        assign_keys(posts, self.hugo.default_language)

    # -- where Hugo reads postkin's data ------------------------------------------------------------
    def data_dir(self) -> Path:
        """`<site>/data/postkin` (Hugo's dataDir): read as `hugo.Data.postkin`."""
        return self.site.root / self.hugo.data_dir / "postkin"

    def browser_dir(self) -> Path:
        """`<site>/static` (the first of Hugo's staticDir): copied to the root of the site."""
        return self.site.root / self.hugo.static_dir

    def write_data(self, out: Path, build: Build) -> tuple[int, int]:
        """postkin.json and posts/<key>.json as every generator gets them, plus `pages.json`: language ->
        `.Path` -> the key under `hugo.Data.postkin.posts`, so the partial finds a page's data from the
        page itself (`index hugo.Data.postkin.pages .Lang .Path`). Only files whose bytes change are
        written."""
        from ..outputs import dumps, post_file_name, write_if_changed, write_outputs

        written, removed = write_outputs(out, build.post_texts(), build.site.to_json())
        index: dict[str, dict[str, str]] = {}
        for post in build.posts:
            index.setdefault(post.lang, {})[post.ref] = post_file_name(post.slug)[: -len(".json")]
        if write_if_changed(Path(out) / DATA_INDEX, dumps(index)):
            written += 1
        return written, removed

    def watch_paths(self) -> list[Path]:
        """The content folders, the configuration files and the configuration folder."""
        paths = [r.folder for r in self.hugo.roots if r.folder.is_dir()]
        paths += [p for p in self.config_files if not any(p.is_relative_to(f) for f in paths)]
        return list(dict.fromkeys(paths))


def _build_option(build: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    """pagemeta.DecodeBuildConfig: a value, booleans as never/always, anything else as always."""
    value = build.get(key)
    if isinstance(value, bool):
        return allowed[0] if value else "never"
    text = to_string(value)
    if text == "0":
        return "never"
    return text if text in allowed else "always"


def _join(els: list[str], upper_offset: int) -> str:
    """pagePathBuilder.Path: the elements joined with single slashes, the last `upper_offset` left out."""
    out = ""
    trailing = False
    for el in els[: len(els) - upper_offset]:
        if not trailing and not el.startswith("/"):
            out += "/"
        trailing = el.endswith("/")
        out += el
    return out


def _query_unescape(text: str) -> str:
    """Go's url.QueryUnescape: `+` is a space, `%XX` decoded; an invalid escape gives ''."""
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        return ""
    return unquote(text.replace("+", " "))


def _slice(items: list[str], cut: str) -> list[str]:
    """permalinks.go `toSliceFunc`: `[1:]`, `[:2]`, `[last]`, `[0]`, lenient out of range."""
    cut = cut.strip().lower()
    if len(cut) < 3 or cut[0] != "[" or cut[-1] != "]":
        return []
    ops = cut[1:-1]

    def index(text: str, low: bool) -> int:
        if text == "":
            return 0 if low else len(items)
        if text == "last":
            return len(items) - 1
        try:
            n = max(int(text), 0)
        except ValueError:
            n = 0
        if n >= len(items):
            return -1 if low else len(items)
        return n

    if not items:
        return []
    if ":" not in ops:
        n = index(ops, True)
        return [] if n < 0 or not items[n] else [items[n]]
    lo, _, hi = ops.partition(":")
    a, b = index(lo, True), index(hi, False)
    return [] if a < 0 or b < 0 else items[a:b]


def assign_keys(posts: list[Post], default_language: str) -> None:
    """Each post's key: the last part of its `.Path`, `.<lang>` added outside the default language;
    posts whose keys collide take their whole `.Path` ('posts-a-x'), and any still equal get `-2`,
    `-3` in source order. Keys are safe file names (no '/', '\\' or control characters)."""

    def clean(text: str) -> str:
        return re.sub(r"[\x00-\x1f/\\]", "-", text).lstrip(".") or "-"

    def with_lang(name: str, post: Post) -> str:
        return name if post.lang in ("", default_language) else f"{name}.{post.lang}"

    first = [with_lang(clean(p.ref.rsplit("/", 1)[-1]), p) for p in posts]
    counts: dict[str, int] = {}
    for key in first:
        counts[key] = counts.get(key, 0) + 1
    keys = [key if counts[key] == 1 else with_lang(clean(p.ref.strip("/").replace("/", "-")), p)
            for key, p in zip(first, posts)]
    taken: set[str] = set()
    for post, key in sorted(zip(posts, keys), key=lambda pk: pk[0].source):
        unique, n = key, 1
        while unique in taken:
            n += 1
            unique = f"{key}-{n}"
        taken.add(unique)
        post.slug = unique
