"""The Astro dialect: a site's posts are the entries of a content collection, read as Astro 5 does.

Checked against astro 5.18.2 (the newest that runs on Node 20; its source: content/loaders/glob.js,
content/utils.js), the official blog starter (examples/blog) and the Astro docs.

- **Configuration**: `astro.config.mjs|js|ts|mts|cjs|cts` (read, not run, by jsread: `srcDir`, `base`,
  `build.format`). The collections come from `<srcDir>/content.config.{mjs,js,mts,ts}` (Astro 5), else
  the legacy `<srcDir>/content/config.*` (`type: 'content'` collections, which Astro 5 still builds by
  emulation), else the folders of `<srcDir>/content/` (the deprecated auto-generated collections).
- **Which collection**: the `collection` setting, else `blog` (the starter's), else the only collection
  of Markdown files. Its files are those its `glob({base, pattern})` loader matches (literal values;
  default `**/*.{md,mdx}`), matched like tinyglobby (wcmatch: globstar, braces, negation, no dotfiles):
  an `_underscored.md` file is an entry. Legacy collections leave out `_` files and folders.
- **id** (`entry.id`, the key templates use): the front-matter `slug` verbatim, else the path under the
  loader's base without its extension, each segment through github-slugger, a final `/index` dropped
  (`My Post.md` -> `my-post`, `2024/x.md` -> `2024/x`). Legacy collections: the same value is
  `entry.slug` (their `id` is the file path). A `generateId` function cannot be run: an error.
  postkin's key is the id with '/' written '--'; **ref** = the id.
- **URL**: the route that renders the collection (`src/pages/<dir>/[...slug].astro` with `params:
  {slug: post.id}`, found by reading the pages) gives `/<dir>/{id}/`, else the starter's `/blog/{id}/`;
  the `url_pattern` setting (with `{id}`) overrides both. `base` is put in front: Astro never adds it
  to links itself. `build.format: 'file'` gives `.html` URLs.
- **Date**: `pubDate` (the starter's; else the schema's first required date field, else `pubDatetime`,
  `publishDate`, `date`), read as `z.coerce.date()` (`new Date(value)`) does: YAML dates and ISO dates
  without a time in UTC, an ISO date-time without an offset and the starter's `'Jul 08 2022'` in the
  local time zone of the machine (as the build machine reads them). `updatedDate` is checked, not used.
- **Draft**: `draft: true` (the docs' `getCollection` filter keeps it out of production builds).
  **Title**: `title`, no fallback. **Tags**: `tags` (a list, as the docs' schemas declare). **Language**:
  a `lang` field; none otherwise (Astro has no per-entry language).
- **Data**: `<srcDir>/data/postkin/posts.json` keyed by entry id and `site.json` (see dialects.node),
  for a component to import (`hooks/templates/astro/src/components/PostkinRelated.astro`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..corpus import Post, check_slug
from ..errors import PostkinError
from ..metadata import as_list, opted_out, quote
from . import jsread
from .base import Dialect, Document, NotAPost, Site
from .node import assign_languages, write_keyed

if TYPE_CHECKING:
    from ..pipeline import Build
    from ..settings import Settings

log = logging.getLogger("postkin")

CONFIG_NAMES = ("astro.config.mjs", "astro.config.js", "astro.config.ts", "astro.config.mts", "astro.config.cjs",
                "astro.config.cts")
CONTENT_CONFIGS = ("content.config.mjs", "content.config.js", "content.config.mts", "content.config.ts")
LEGACY_CONFIGS = ("content/config.mjs", "content/config.js", "content/config.mts", "content/config.ts")
DEFAULT_PATTERN = "**/*.{md,mdx}"
LEGACY_PATTERNS = ["**/*.{md,mdx,markdown,mdown,mkdn,mkd,mdwn}", "!**/_*/**", "!**/_*"]
DEFAULT_URL = "/blog/{id}/"
DATE_KEYS = ("pubDate", "pubDatetime", "publishDate", "date")
READABLE = (".md", ".mdx", ".markdown", ".mdown", ".mkdn", ".mkd", ".mdwn")
_ROUTE = re.compile(r"^\[(?:\.\.\.)?(\w+)\]$")
_ESM_LINE = re.compile(r"^(?:import|export)\s.*$", re.M)
# new Date(string): ISO 8601 as ECMAScript reads it (date only -> UTC; a time without an offset -> local).
_ISO = re.compile(r"^([+-]\d{6}|\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
                  r"(Z|[+-]\d{2}:\d{2})?)?$")
# What V8's fallback parser reads in starters and tutorials (all in local time unless a zone is named).
_JS_FORMATS = ("%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%Y/%m/%d", "%m/%d/%Y",
               "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%a, %d %b %Y %H:%M:%S", "%b %d %Y %H:%M:%S")


def github_slug(segment: str) -> str:
    """github-slugger's slug(): lower case, every character that is not a letter, mark, decimal or
    letter number, connector punctuation, space or '-' removed, spaces made '-'. Python's Unicode
    categories stand in for the package's generated regular expression (they differ only on characters
    such as circled letters and on those added to Unicode since)."""
    kept = [c for c in segment.lower()
            if c in " -" or unicodedata.category(c)[0] in "LM" or unicodedata.category(c) in ("Nd", "Nl", "Pc")]
    return "".join(kept).replace(" ", "-")


def entry_slug(path_under_base: str) -> str:
    """The id the glob loader makes of a file's path under its base (no front-matter slug)."""
    stem = re.sub(re.escape(PurePosixPath(path_under_base).suffix) + "$", "", path_under_base)
    slug = "/".join(github_slug(segment) for segment in stem.split("/"))
    return re.sub(r"/index$", "", slug)


def js_date(value: Any) -> dt.datetime:
    """`new Date(value)` as `z.coerce.date()` makes it, aware; ValueError when JavaScript would give an
    Invalid Date (Astro's schema check then stops the build)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
    if not isinstance(value, str):
        raise ValueError(quote(value))
    text = value.strip()
    match = _ISO.match(text)
    if match:
        y, mo, d, h, mi, s, f, z = match.groups()
        when = dt.datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0),
                           int((f or "0")[:6].ljust(6, "0")))
        if h is None or z == "Z":
            return when.replace(tzinfo=dt.timezone.utc)
        if z:
            sign = -1 if z[0] == "-" else 1
            return when.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=int(z[1:3]), minutes=int(z[4:6]))))
        return when.astimezone()  # local time, as the build machine reads it
    utc = re.search(r"\s+(?:GMT|UTC|Z)$", text)
    for fmt in _JS_FORMATS:
        try:
            when = dt.datetime.strptime(text[: utc.start()] if utc else text, fmt)
        except ValueError:
            continue
        return when.replace(tzinfo=dt.timezone.utc) if utc else when.astimezone()
    raise ValueError(quote(value))


@dataclass
class Collection:
    """One content collection as postkin reads it from the content configuration."""

    name: str
    base: Path  # the loader's base folder
    patterns: list[str] = field(default_factory=lambda: [DEFAULT_PATTERN])
    legacy: bool = False  # a `type: 'content'` (or auto-generated) collection, emulated by Astro 5
    date_key: str = ""  # the schema's publication date field ('' : not read from a schema)
    generate_id: bool = False  # the loader has a generateId function


@dataclass
class AstroConfig:
    """What postkin reads from astro.config.* and the content configuration."""

    src_dir: str = "./src"
    public_dir: str = "./public"
    base: str = ""
    build_format: str = "directory"
    collections: dict[str, Collection] = field(default_factory=dict)
    content_config: Path | None = None
    unreadable: list[str] = field(default_factory=list)  # collections whose loader postkin cannot read


def _literal_or(node: Any, default: Any) -> Any:
    try:
        return jsread.literal(node) if node is not None else default
    except jsread.NotLiteral:
        return default


def _schema_date_key(definition: Any) -> str:
    """The publication date field of a collection's schema: the first of DATE_KEYS declared as a date,
    else the first required date field; '' when the schema cannot be read."""
    schema = jsread.get(definition, "schema")
    if schema is None:
        return ""
    fields: list[tuple[str, str]] = []
    for _, args in jsread.calls(schema, "object"):
        if args and jsread.unwrap(args[0]).type == "object":
            for pair in jsread.unwrap(args[0]).named_children:
                key = jsread.key_of(pair) if pair.type == "pair" else None
                if key is not None:
                    fields.append((key, jsread.text(pair.child_by_field_name("value"))))
            break
    dates = [(k, v) for k, v in fields if re.search(r"\bdate\(\)", v)]
    for key in DATE_KEYS:
        if any(k == key for k, _ in dates):
            return key
    required = [k for k, v in dates if not re.search(r"\.(optional|default|nullable|nullish)\(", v)]
    return required[0] if required else ""


def read_collections(config: AstroConfig, root: Path) -> None:
    """Fill config.collections from the content configuration (see the module docstring)."""
    src = root / config.src_dir
    for name in CONTENT_CONFIGS + LEGACY_CONFIGS:
        if (src / name).is_file():
            config.content_config = src / name
            break
    if config.content_config is None:  # Astro 5 auto-generates legacy collections from src/content/*
        content = src / "content"
        if content.is_dir():
            for folder in sorted(content.iterdir()):
                if folder.is_dir() and not folder.name.startswith(("_", ".")):
                    config.collections[folder.name] = Collection(folder.name, folder, LEGACY_PATTERNS, legacy=True)
        return
    tree = jsread.parse_file(config.content_config)
    names = jsread.declarations(tree)
    exported = jsread.resolve(names.get("collections"), names) if "collections" in names else None
    if exported is None or exported.type != "object":
        raise PostkinError(f"{config.content_config}: no `export const collections = {{...}}` postkin can read")
    for member in exported.named_children:
        if member.type == "shorthand_property_identifier":
            name, value = jsread.text(member), names.get(jsread.text(member))
        elif member.type == "pair":
            name, value = jsread.key_of(member) or "", member.child_by_field_name("value")
        else:
            continue
        definition = jsread.resolve(value, names) if value is not None else None
        if definition is not None and definition.type == "call_expression":
            args = definition.child_by_field_name("arguments")
            definition = args.named_children[0] if args is not None and args.named_children else None
        if not name or definition is None or jsread.unwrap(definition).type != "object":
            config.unreadable.append(name or jsread.text(member))
            continue
        loader = jsread.get(definition, "loader")
        kind = _literal_or(jsread.get(definition, "type"), None)
        date_key = _schema_date_key(definition)
        if loader is None:
            if kind == "data":
                continue
            config.collections[name] = Collection(name, src / "content" / name, LEGACY_PATTERNS, legacy=True,
                                                  date_key=date_key)
            continue
        globs = jsread.calls(loader, "glob")
        if not globs or not globs[0][1]:
            config.unreadable.append(name)  # file() loader, a custom or a remote loader: not Markdown files
            continue
        options = jsread.unwrap(globs[0][1][0])
        base = _literal_or(jsread.get(options, "base"), ".")
        pattern = _literal_or(jsread.get(options, "pattern"), None)
        if not isinstance(base, str) or not (isinstance(pattern, str) or (
                isinstance(pattern, list) and all(isinstance(p, str) for p in pattern))):
            raise PostkinError(f"{config.content_config}: collection {name!r}: the glob loader's base and pattern "
                               "must be quoted strings for postkin to read them")
        base_path = root / base if not base.startswith("file:") else Path(base[5:])
        config.collections[name] = Collection(
            name, base_path, [pattern] if isinstance(pattern, str) else pattern, date_key=date_key,
            generate_id=jsread.get(options, "generateId") is not None)


def read_config(config_file: Path | None, root: Path) -> AstroConfig:
    """srcDir, publicDir, base and build.format from astro.config.* (literal values), then the collections."""
    config = AstroConfig()
    if config_file is not None:
        tree = jsread.parse_file(config_file)
        exported = jsread.default_export(tree)
        if exported is not None and exported.type == "call_expression":  # defineConfig({...})
            args = exported.child_by_field_name("arguments")
            exported = args.named_children[0] if args is not None and args.named_children else None
        options = jsread.resolve(exported, jsread.declarations(tree)) if exported is not None else None
        if options is not None and options.type == "object":
            src_dir = _literal_or(jsread.get(options, "srcDir"), config.src_dir)
            public_dir = _literal_or(jsread.get(options, "publicDir"), config.public_dir)
            base = _literal_or(jsread.get(options, "base"), "")
            build = jsread.get(options, "build")
            fmt = _literal_or(jsread.get(build, "format"), "directory") if build is not None else "directory"
            for key, value in (("srcDir", src_dir), ("publicDir", public_dir), ("base", base)):
                if not isinstance(value, str):
                    raise PostkinError(f"{config_file}: {key} is not a quoted string; postkin cannot run the "
                                       "configuration: write it as one")
            config.src_dir, config.public_dir, config.base, config.build_format = src_dir, public_dir, base, str(fmt)
    read_collections(config, root)
    return config


def route_pattern(src: Path, collection: Collection) -> str | None:
    """The URL pattern of the page route that renders the collection's entries, read from the pages:
    `<srcDir>/pages/<dir>/[...slug].astro` (or `[slug].astro`, or `<dir>/[slug]/index.astro`) whose
    getStaticPaths calls getCollection('<name>') and sets the parameter from the entry's id (legacy:
    slug). None when no single route does."""
    pages = src / "pages"
    found: list[str] = []
    for path in sorted(pages.rglob("*.astro")) if pages.is_dir() else []:
        rel = path.relative_to(pages)
        parts = list(rel.parts)
        if parts[-1] == "index.astro":
            parts = parts[:-1]
        else:
            parts[-1] = parts[-1][: -len(".astro")]
        if not parts:
            continue
        match = _ROUTE.match(parts[-1])
        if not match or any(_ROUTE.match(p) or "[" in p for p in parts[:-1]):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        front = re.match(r"^---\s*\n(.*?)\n---", text, re.S)
        if not front:
            continue
        tree = jsread.parse(front.group(1).encode(), typescript=True)
        uses = any(args and _literal_or(args[0], None) == collection.name
                   for _, args in jsread.calls(tree, "getCollection"))
        param = match.group(1)
        by_id = any(re.search(r"\.(id|slug)$", jsread.text(v)) for v in jsread.pairs(tree, param)) or any(
            re.search(r"\bparams\s*:\s*\{\s*" + param + r"\s*\}", jsread.text(n)) for n in jsread.walk(tree)
            if n.type == "object")
        if uses and by_id:
            found.append("/" + "/".join([*parts[:-1], "{id}"]) + "/")
    return found[0] if len(found) == 1 else None


class AstroDialect(Dialect):
    """An Astro site (see the module docstring)."""

    name = "astro"
    label = "an Astro site"
    config_names = CONFIG_NAMES

    def __init__(self, site: Site, settings: Settings) -> None:
        super().__init__(site, settings)
        self.config: AstroConfig = site.config["astro"]
        self.chosen: Collection = site.config["collection"]
        self.url_pattern: str = site.config["url_pattern"]

    @classmethod
    def load_site(cls, root: Path, config_file: Path | None, given: Path, settings: Settings) -> Site:
        jsread.require("Astro", "astro", typescript=True)
        from ..settings import Settings as SettingsType

        config = read_config(config_file, root)
        name = settings.collection
        found = config.collections
        where = config.content_config or root / config.src_dir / "content"
        if name is None:
            if "blog" in found or len(found) == 1:
                name = "blog" if "blog" in found else next(iter(found))
            else:
                listed = f"collections {', '.join(sorted(found))}" if found else "no collection of Markdown files"
                raise PostkinError(f"{where}: {listed}; set `collection` to the one that holds the posts")
        if name not in found:
            hint = "; its loader is not a glob() postkin can read" if name in config.unreadable else \
                f"; collections: {', '.join(sorted(found)) or 'none'}"
            raise PostkinError(f"{where}: no collection {name!r} of Markdown files{hint}")
        chosen = found[name]
        if chosen.generate_id:
            raise PostkinError(f"{where}: collection {name!r} makes its ids with a generateId function, which "
                               "postkin cannot run; remove it to use Astro's default ids")
        src = root / config.src_dir
        if settings.url_pattern != SettingsType().url_pattern:
            pattern = settings.url_pattern
        else:
            pattern = route_pattern(src, chosen) or DEFAULT_URL
            if config.build_format == "file" and pattern.endswith("/"):
                pattern = pattern[:-1] + ".html"
        site = Site(root=root, content=chosen.base, config_file=config_file,
                    base_path=config.base if config.base.strip("/") else "")
        site.config = {"astro": config, "collection": chosen, "url_pattern": pattern}
        return site

    def data_dir(self) -> Path | None:
        """`<srcDir>/data/postkin`: JSON modules a component imports."""
        return self.site.root / self.config.src_dir / "data" / "postkin"

    def browser_dir(self) -> Path:
        """`<project>/public` (publicDir): copied into the build as it is, below `base`."""
        return self.site.root / self.config.public_dir

    def is_post_file(self, source: str) -> bool:
        """A Markdown file the collection's glob pattern matches (dotfiles never)."""
        from wcmatch import glob as wc

        if not source.lower().endswith(READABLE):
            return False
        return wc.globmatch(source, self.chosen.patterns, flags=wc.GLOBSTAR | wc.BRACE | wc.NEGATE | wc.SPLIT)

    def document(self, raw: bytes, source: str, path: Path) -> Document:
        """The file split; an MDX file's import/export lines (JavaScript, not prose) left out."""
        if source.lower().endswith(".mdx"):
            try:
                raw = _ESM_LINE.sub("", raw.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                pass  # the base class says so in one line
        return super().document(raw, source, path)

    def entry_id(self, doc: Document) -> str:
        """`entry.id` (legacy collections: `entry.slug`): front-matter slug verbatim, else the path."""
        slug = doc.raw_metadata.get("slug")
        if slug:
            return str(slug)
        return entry_slug(doc.source)

    def post(self, doc: Document) -> Post | None:
        data = doc.raw_metadata
        if opted_out(doc.metadata):
            return None
        if not doc.has_front_matter and not doc.body.strip():
            raise NotAPost("empty file")
        entry_id = self.entry_id(doc)
        keys = [self.chosen.date_key] if self.chosen.date_key else list(DATE_KEYS)
        date_key = next((k for k in keys if k in data), keys[0])
        date = None
        for key in (date_key, "updatedDate"):
            if data.get(key) is None:
                continue
            try:
                when = js_date(data[key])
            except ValueError:
                raise ValueError(f"{key} {quote(data[key])} is not a date z.coerce.date() reads (Astro stops the "
                                 "build); write e.g. 2024-05-01") from None
            date = when if key == date_key else date
        title = data.get("title")
        lang = data.get("lang")
        return self.common_post(
            doc, key=check_slug(entry_id.replace("/", "--"), doc.source),
            title=str(title) if title is not None else "", date=date,
            tags=as_list(data.get("tags"), separator=None), categories=[],
            draft=data.get("draft") is True, lang=lang if isinstance(lang, str) else "",
            url=self.url(entry_id), permalink=self.url(entry_id), ref=entry_id,
        )

    def url(self, entry_id: str) -> str:
        """The entry's URL: base + the URL pattern with {id} (and {slug}) filled in."""
        path = self.url_pattern.replace("{id}", entry_id).replace("{slug}", entry_id)
        base = self.config.base.rstrip("/")
        return re.sub(r"/{2,}", "/", base + "/" + path.lstrip("/"))

    def finish(self, posts: list[Post]) -> None:
        """Entries with one id: Astro keeps one page (the one it read last) and warns; postkin keeps the
        first by path and warns. Then the languages the posts name."""
        seen: dict[str, Post] = {}
        for post in list(posts):
            if post.ref in seen:
                log.warning("%s: duplicate id %r (also %s): Astro builds one page for both; postkin keeps %s",
                            post.source, post.ref, seen[post.ref].source, seen[post.ref].source)
                posts.remove(post)
            else:
                seen[post.ref] = post
        assign_languages(self.site, posts)

    def fingerprint(self) -> str:
        """The Astro configuration, the content configuration, the URL pattern and the collection."""
        digest = hashlib.sha256(super().fingerprint().encode())
        for part in (self.url_pattern, self.chosen.name, str(self.chosen.patterns), self.config.base,
                     self.chosen.date_key):
            digest.update(part.encode() + b"\0")
        if self.config.content_config is not None and self.config.content_config.is_file():
            digest.update(self.config.content_config.read_bytes())
        return digest.hexdigest()

    def watch_paths(self) -> list[Path]:
        """The collection's folder, astro.config.* and the content configuration."""
        paths = super().watch_paths()
        if self.config.content_config is not None:
            paths.append(self.config.content_config)
        return paths

    def write_data(self, out: Path, build: Build) -> tuple[int, int]:
        """`posts.json` keyed by entry id and `site.json` (see dialects.node)."""
        return write_keyed(out, build, "id", {"base": self.config.base})

