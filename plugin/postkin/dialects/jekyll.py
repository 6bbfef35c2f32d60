"""The Jekyll dialect: a site with `_config.yml` (or `.yaml`, `.toml`), read as Jekyll 4.3 reads it.

Which files are posts (Jekyll's `Reader`, `PostReader`, `Collection`, `EntryFilter`):

- a file in a `_posts` folder (at the site root or inside any folder Jekyll reads, at any depth inside
  `_posts`) whose name is dated, `YYYY-MM-DD-title.ext`; other files there are ignored by Jekyll and
  reported as not posts (`--verbose`). Front matter is optional in `_posts`.
- a file in a `_drafts` folder: listed only when the site sets `show_drafts: true` (Jekyll reads
  drafts only with `--drafts`); otherwise it is read as a post nobody lists, so the pre-commit hook can
  still suggest its tags. Its date is the file's modification time unless the name or front matter
  gives one.
- a document of a collection whose configuration says `postkin: true` (Jekyll keeps unknown keys as
  collection metadata): `collections: {recipes: {output: true, postkin: true}}`. Documents need front
  matter (without it Jekyll copies the file as a static file).
- Folders whose names start with `.`, `_`, `#`, `~` or end with `~`, `exclude` patterns (plus
  Jekyll's default excludes) unless `include`d, and the destination (`_site`) are not read. Only
  Markdown (`markdown_ext`) and HTML posts are read.

Each post, as Jekyll computes it (`Document`, `Drops::UrlDrop`, `URL`, `Utils`):

- key (`Post.slug`): Jekyll's `page.slug` (front-matter `slug`, else the file name without date and
  extension); posts sharing one get their date (or collection) in front of it. `Post.ref` is
  `page.path` (the path Jekyll reports, unique): the include looks a page's data up by it.
- URL: `page.url` (no `baseurl`; templates add it with `relative_url`), from the front-matter
  `permalink` or the collection's template (`permalink: date|pretty|ordinal|weekdate|none` or a
  template of placeholders; `:title` is the cased "pretty" slugify of the slug, `:slug` the default
  one, `:categories` the lower-cased categories), escaped and cleaned as Jekyll does.
- date: the file-name date, replaced by a front-matter `date`, in the site's `timezone` (else the
  machine's zone); an unquoted YAML date-time without an offset is UTC.
- title: front-matter `title`, else the file-name slug's words capitalised ("no-title" -> "No Title").
- tags: `tag` (not split) wins over `tags` (a string is split on white space); categories: the
  folders above `_posts` plus `category` / `categories` (same rules).
- visibility: `published: false` is never listed (unless `unpublished: true`); a post dated after the
  build is not listed unless `future: true`; `draft: true` in `_posts` means nothing to Jekyll and is
  ignored; `hidden: true` (Minimal Mistakes, Chirpy and jekyll-paginate leave such posts out of their
  lists; Jekyll still writes their page) is never listed on other pages.
- language: `lang` front matter (else `site.lang`); Jekyll has no languages of its own, but posts in
  two or more languages keep lists to the post's language, and one file name in several languages
  (`en/news/_posts/x.md`, `de/news/_posts/x.md`) makes translations.
- front-matter `defaults` of `_config.yml` apply (scope path, glob and type), as in Jekyll.

`postkin build` writes `_data/postkin/` (see `write_data`): Jekyll deletes from a data file's name
every character but ASCII letters, digits, `_` and `-`, so per-post file names are made safe and
`keys.json` maps each `page.path` to its file's key.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import glob
import hashlib
import json
import logging
import os
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..corpus import Post, check_slug
from ..errors import PostkinError, os_error
from ..metadata import opted_out, parse_date, truthy
from .base import Dialect, Document, NotAPost, Site

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from ..pipeline import Build
    from ..settings import Settings

log = logging.getLogger("postkin")

CONFIG_NAMES = ("_config.yml", "_config.yaml", "_config.toml")  # Jekyll's own order: the first found wins
# configuration.rb STYLE_TO_PERMALINK
STYLES = {
    "none": "/:categories/:title:output_ext",
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
}
DEFAULT_EXCLUDES = (".sass-cache", ".jekyll-cache", "gemfiles", "Gemfile", "Gemfile.lock", "node_modules",
                    "vendor/bundle/", "vendor/cache/", "vendor/gems/", "vendor/ruby/")
DEFAULT_MARKDOWN_EXT = "markdown,mkdown,mkdn,mkd,md"
HTML_EXTS = (".html",)
# document.rb DATE_FILENAME_MATCHER on the file name ([0-9]: Ruby's \d is ASCII only)
_DATED = re.compile(r"^([0-9]{2,4}-[0-9]{1,2}-[0-9]{1,2})-([^/]*)(\.[^.]+)$")
_DATELESS = re.compile(r"^(.*)(\.[^.]+)$")
_SPECIAL = ".", "_", "#", "~"  # entry_filter.rb SPECIAL_LEADING_CHAR_REGEX
_PRETTY_KEEP = set("._~!$&'()+,;=@")
_URL_SAFE = "!$&'()*+,;=:@/?"  # what Addressable::URI.encode leaves in a path (with ALPHA DIGIT -._~)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A data file's key is the file name with these removed (data_reader.rb sanitize_filename): a file key
# made of these characters only reads back unchanged.
_DATA_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
KEYS_FILE = "keys.json"
SITE_FILE = "site.json"
POSTS_DIR = "posts"


def slugify(text: str, mode: str = "default", cased: bool = False) -> str:
    """Jekyll's `Utils.slugify` (utils.rb): runs of characters other than letters, marks and decimal
    digits become '-' (`pretty` also keeps `._~!$&'()+,;=@`, `ascii` keeps only A-Z a-z 0-9, `raw`
    replaces only white space, `latin` transliterates to ASCII first), one leading and trailing '-'
    go, lower-cased unless `cased`. An unknown mode returns the text (lower-cased unless `cased`)."""
    if mode not in ("raw", "default", "pretty", "ascii", "latin"):
        return text if cased else text.lower()
    if mode == "latin":  # I18n.transliterate: accents dropped, anything else '?'
        text = "".join(c if ord(c) < 128 else "?" for c in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(c))

    def keep(ch: str) -> bool:
        if mode == "raw":
            return ch not in " \t\r\n\f\v"
        if mode == "ascii":
            return ch.isascii() and ch.isalnum()
        category = unicodedata.category(ch)
        if category[0] in "ML" or category == "Nd":
            return True
        return mode == "pretty" and ch in _PRETTY_KEEP

    out: list[str] = []
    for ch in text:
        if keep(ch):
            out.append(ch)
        elif not out or out[-1] != "\0":
            out.append("\0")
    slug = "".join(out).replace("\0", "-")
    slug = re.sub(r"^-|-$", "", slug)
    return slug if cased else slug.lower()


def escape_path(value: str) -> str:
    """Jekyll's `URL.escape_path`: a placeholder's value as it goes into a URL (Addressable's encoding:
    unreserved characters, sub-delimiters, ':', '@', '/', '?' kept; '#' escaped)."""
    if not value or re.fullmatch(r"[a-zA-Z0-9./-]+", value):
        return value
    return quote(value, safe=_URL_SAFE)


def sanitize_url(url: str) -> str:
    """Jekyll's `URL#sanitize_url`: a leading '/', '..' made '/', './' removed, runs of '/' squeezed."""
    url = ("/" + url).replace("..", "/").replace("./", "")
    return re.sub(r"/{2,}", "/", url)


def titleize_slug(slug: str) -> str:
    """Jekyll's `Utils.titleize_slug`: words split on '-' and capitalised ('no-title' -> 'No Title').
    Ruby's split drops empty strings at the end."""
    words = slug.split("-")
    while words and not words[-1]:
        words.pop()
    return " ".join(w[:1].upper() + w[1:].lower() for w in words)


def data_key(slug: str) -> str:
    """The name of a post's data file (without `.json`): the key itself when Jekyll's data reader keeps
    it as it is and no file system confuses it with another (lower-case ASCII letters, digits, '-',
    '_'); otherwise its ASCII slug (cut to 80 characters) and 10 hex digits of its SHA-256."""
    if _DATA_KEY.match(slug) and len(slug) <= 120:
        return slug
    digest = hashlib.sha256(slug.encode("utf-8")).hexdigest()[:10]
    base = slugify(slug, "ascii")[:80].strip("-")
    return f"{base}-{digest}" if base else digest


def _ruby_truthy(value: Any) -> bool:
    """Ruby's truth: only nil and false are false (`published: "false"` publishes)."""
    return value is not None and value is not False


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _plural(data: dict[str, Any], singular: str, plural: str) -> list[str]:
    """Jekyll's `Utils.pluralized_array_from_hash`: the singular key's value (never split) if present
    and set, else the plural key's (a string split on white space)."""
    value = data.get(singular) if _ruby_truthy(data.get(singular)) else None
    if value is None:
        value = data.get(plural)
        if isinstance(value, str):
            value = value.split()
        elif not isinstance(value, list):
            value = None
    items: list[Any] = []

    def flatten(v: Any) -> None:
        if isinstance(v, list):
            for x in v:
                flatten(x)
        elif v is not None:
            items.append(v)

    flatten(value)
    return [_text(v) for v in items]


def _text(value: Any) -> str:
    """A front-matter scalar as Liquid prints it (Ruby's to_s)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


@dataclass
class Zone:
    """The zone Jekyll shows dates in: the site's `timezone`, else the machine's (TZ)."""

    name: str  # '' for the machine's zone

    def __post_init__(self) -> None:
        self._info: dt.tzinfo | None = None
        if self.name:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                self._info = ZoneInfo(self.name)
            except (ZoneInfoNotFoundError, ValueError):
                # Jekyll sets TZ to the name; the C library then uses UTC without a word
                log.warning("timezone %r is not a known time zone: Jekyll (and postkin) use UTC", self.name)
                self._info = dt.timezone.utc

    def localize(self, naive: dt.datetime) -> dt.datetime:
        """A wall-clock time in this zone."""
        return naive.replace(tzinfo=self._info) if self._info is not None else naive.astimezone()

    def convert(self, aware: dt.datetime) -> dt.datetime:
        """An instant shown in this zone."""
        return aware.astimezone(self._info) if self._info is not None else aware.astimezone()

    def fingerprint(self) -> str:
        """What decides the zone, for the parsed-post cache."""
        if self.name:
            return self.name
        return f"TZ={os.environ.get('TZ', '')};{time.tzname};{time.timezone};{time.altzone}"


def jekyll_time(value: Any, zone: Zone) -> dt.datetime:
    """A front-matter or file-name date as Jekyll reads it (`Utils.parse_date(value.to_s).localtime`):
    Psych loads an unquoted date-time without an offset as UTC; a date, or a string without an offset,
    is a wall-clock time in the site's zone. ValueError when it is not a date."""
    if isinstance(value, dt.datetime):
        return zone.convert(value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc))
    if isinstance(value, dt.date):
        return zone.localize(dt.datetime(value.year, value.month, value.day))
    if not isinstance(value, str):
        raise ValueError(f"date {value!r} is not a date (use e.g. 2024-05-01 or 2024-05-01 10:00:00 +0200)")
    try:
        parsed = parse_date(value)
    except ValueError:
        parsed = _lenient_time(value)
    assert parsed is not None
    return zone.convert(parsed) if parsed.tzinfo else zone.localize(parsed)


# Ruby's Date._parse finds a date, then a time, then a zone only right after the time, anywhere in the
# text: '2023-01-29 18:30:22 2023 -0800' (jekyll/jekyll's own news) is 18:30:22 in the site's zone.
_RUBY_TIME = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
                        r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?(?![\d:])")


def _lenient_time(text: str) -> dt.datetime:
    """What Ruby's `Time.parse` reads in a date string the usual forms do not cover; ValueError if none."""
    match = _RUBY_TIME.search(text)
    if not match:
        raise ValueError(f"date {text!r} is not a date (use e.g. 2024-05-01 or 2024-05-01 10:00:00 +0200)")
    y, mo, d, h, mi, sec, zone = match.groups()
    try:
        when = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
    except ValueError:
        raise ValueError(f"date {text!r} is not a date (use e.g. 2024-05-01 or 2024-05-01 10:00:00 +0200)") from None
    if zone:
        offset = 0 if zone in ("Z", "UTC", "GMT") else (1 if zone[0] == "+" else -1) * (
            int(zone[1:3]) * 60 + int(zone[-2:]))
        when = when.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset)))
    return when


def file_name_date(text: str, zone: Zone) -> dt.datetime:
    """The date in a Jekyll file name (`2024-1-9`, two-digit years as Ruby reads them), midnight in
    the site's zone; ValueError when it is not a date."""
    y, m, d = (int(part) for part in text.split("-"))
    if len(text.split("-")[0]) == 2:
        y += 2000 if y < 69 else 1900
    try:
        return zone.localize(dt.datetime(y, m, d))
    except ValueError:
        raise ValueError(f"file name date {text} is not a date (Jekyll stops the build on it)") from None


@dataclass
class Collection:
    """A Jekyll collection postkin reads: its label, whether Jekyll writes it, its URL template."""

    label: str
    output: bool
    permalink: str  # the URL template of its documents


@dataclass
class JekyllConfig:
    """What postkin needs from `_config.yml` (with Jekyll's defaults)."""

    permalink: str = "date"
    baseurl: str = ""
    url: str = ""
    timezone: str = ""
    future: bool = False
    unpublished: bool = False
    show_drafts: bool = False
    collections_dir: str = ""
    destination: str = "_site"
    data_dir: str = "_data"
    exclude: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    markdown_ext: tuple[str, ...] = ()
    defaults: list[dict[str, Any]] = field(default_factory=list)
    posts: Collection = field(default_factory=lambda: Collection("posts", True, STYLES["date"]))
    collections: dict[str, Collection] = field(default_factory=dict)  # the collections postkin reads

    @classmethod
    def from_mapping(cls, raw: dict[str, Any], source: str) -> JekyllConfig:
        """Jekyll's configuration (configuration.rb: DEFAULTS, add_default_collections,
        add_default_excludes, style_to_permalink) from the parsed file; PostkinError for values Jekyll
        refuses."""
        config = cls()
        style = raw.get("permalink", "date")
        config.permalink = str(style) if style else "date"
        config.baseurl = str(raw.get("baseurl") or "")
        config.url = str(raw.get("url") or "")
        config.timezone = str(raw.get("timezone") or "")
        config.future = _ruby_truthy(raw.get("future", False))
        config.unpublished = _ruby_truthy(raw.get("unpublished", False))
        config.show_drafts = _ruby_truthy(raw.get("show_drafts"))
        config.collections_dir = str(raw.get("collections_dir") or "").strip("/")
        config.destination = str(raw.get("destination") or "_site")
        config.data_dir = str(raw.get("data_dir") or "_data")
        for option in ("exclude", "include"):
            value = raw.get(option)
            if value is not None and not isinstance(value, list):
                raise PostkinError(f"{source}: '{option}' should be set as an array, but was: {value!r} "
                                   "(Jekyll refuses it too)")
        config.exclude = _unique([str(x) for x in raw.get("exclude") or []] + list(DEFAULT_EXCLUDES))
        config.include = [str(x) for x in raw.get("include", [".htaccess"]) or []]
        exts = str(raw.get("markdown_ext") or DEFAULT_MARKDOWN_EXT)
        config.markdown_ext = tuple("." + e.strip().lower() for e in exts.split(",") if e.strip())
        defaults = raw.get("defaults") or []
        config.defaults = [d for d in defaults if isinstance(d, dict) and isinstance(d.get("values"), dict)] \
            if isinstance(defaults, list) else []
        collections = raw.get("collections") or {}
        if isinstance(collections, list):
            collections = {str(label): {} for label in collections}
        if not isinstance(collections, dict):
            collections = {}
        suffix_style = config.permalink
        posts_meta: dict[str, Any] = collections["posts"] if isinstance(collections.get("posts"), dict) else {}
        posts_template = posts_meta.get("permalink") or STYLES.get(config.permalink, config.permalink)
        config.posts = Collection("posts", True, str(posts_template))
        for label, meta in collections.items():
            if label == "posts" or not isinstance(meta, dict) or not _ruby_truthy(meta.get("postkin")):
                continue
            template = meta.get("permalink") or add_permalink_suffix("/:collection/:path", suffix_style)
            config.collections[str(label)] = Collection(str(label), _ruby_truthy(meta.get("output")), str(template))
        return config


def add_permalink_suffix(template: str, style: str) -> str:
    """Jekyll's `Utils.add_permalink_suffix`: a collection's default URL ends like the site's style."""
    if style == "pretty":
        return template + "/"
    if style in ("date", "ordinal", "none"):
        return template + ":output_ext"
    if style.endswith("/"):
        template += "/"
    if style.endswith(":output_ext"):
        template += ":output_ext"
    return template


def read_config(path: Path) -> dict[str, Any]:
    """A Jekyll configuration file (YAML, or TOML for `_config.toml`); PostkinError in one line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PostkinError(f"{path}: cannot read the Jekyll configuration ({exc})") from None
    if path.suffix == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PostkinError(f"{path}: not valid TOML ({exc}); Jekyll cannot read it either") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise PostkinError(f"{path}: not valid YAML{where} ({getattr(exc, 'problem', None) or exc}); "
                               "Jekyll cannot read it either") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PostkinError(f"{path}: the Jekyll configuration is not a mapping of keys to values")
    return data


@dataclass(frozen=True)
class Place:
    """Where a file is, as Jekyll sees it: in a `_posts` or `_drafts` folder or in a collection."""

    kind: str  # "post", "draft" or "document"
    label: str  # the collection: "posts" for posts and drafts
    special_dir: str  # the folder path up to and including `_posts` / `_drafts` / `_<label>`
    inner: str  # the path inside that folder


class JekyllDialect(Dialect):
    """A Jekyll site (see the module docstring)."""

    name = "jekyll"
    label = "a Jekyll site"
    browser_path = "assets/"  # browser_dir: Jekyll copies <site>/assets/ to /assets/
    config_names = CONFIG_NAMES

    def __init__(self, site: Site, settings: Settings) -> None:
        super().__init__(site, settings)
        self.config: JekyllConfig = site.config["jekyll"]
        self.zone = Zone(self.config.timezone)
        self._exclude = [p for p in self.config.exclude if p not in self.config.include]
        self._skipped_folders: dict[str, bool] = {}  # every file asks about its folders again

    @classmethod
    def load_site(cls, root: Path, config_file: Path | None, given: Path, settings: Settings) -> Site:
        if config_file is None:
            config_file = next((root / n for n in CONFIG_NAMES if (root / n).is_file()), None)
        raw = read_config(config_file) if config_file is not None else {}
        config = JekyllConfig.from_mapping(raw, str(config_file or root))
        content = root / config.collections_dir if config.collections_dir else root
        base = config.baseurl.strip("/")
        site = Site(root=root, content=content, config_file=config_file, base_path=f"/{base}/" if base else "",
                    build_future=config.future)
        site.config = {"jekyll": config, "raw": raw}
        return site

    # -- which files ----------------------------------------------------------------------------------
    def _excluded(self, source: str) -> bool:
        """EntryFilter#excluded?: an `exclude` pattern (not `include`d) matches the path from the site
        root as a glob, or is a prefix of it."""
        rel = self._site_relative(source)
        for pattern in self._exclude:
            pattern = pattern.lstrip("/")
            if fnmatch.fnmatchcase(rel, pattern) or rel.startswith(pattern) or rel + "/" == pattern:
                return True
        return False

    def _included(self, name: str, source: str) -> bool:
        rel = self._site_relative(source)
        return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) or rel.startswith(p.lstrip("/"))
                   for p in self.config.include)

    def _site_relative(self, source: str) -> str:
        return f"{self.config.collections_dir}/{source}" if self.config.collections_dir else source

    def _skipped(self, name: str, source: str) -> bool:
        """Whether Jekyll's EntryFilter drops an entry of a folder it walks."""
        known = self._skipped_folders.get(source)
        if known is None:
            included = self._included(name, source)
            known = name.endswith(".") or (self._excluded(source) and not included) or \
                (not included and (name.startswith(_SPECIAL) or name.endswith("~")))
            self._skipped_folders[source] = known
        return known

    def place(self, source: str) -> Place | None:
        """Where Jekyll reads `source` (relative to the content folder) from, or None when it is no
        post, draft or document of a collection postkin reads."""
        parts = source.split("/")
        for i, part in enumerate(parts[:-1]):
            prefix = "/".join(parts[:i + 1])
            if part in ("_posts", "_drafts") and all(not self._skipped(p, "/".join(parts[:j + 1]))
                                                     for j, p in enumerate(parts[:i])):
                inner = "/".join(parts[i + 1:])
                if self._inner_skipped(inner, prefix):
                    return None
                return Place("post" if part == "_posts" else "draft", "posts", prefix, inner)
            if i == 0 and part.startswith("_") and part[1:] in self.config.collections:
                inner = "/".join(parts[1:])
                if self._inner_skipped(inner, prefix):
                    return None
                return Place("document", part[1:], prefix, inner)
        return None

    def _inner_skipped(self, inner: str, prefix: str) -> bool:
        """EntryFilter over the entries of a `_posts` folder or a collection (paths inside it): the path
        and the file name are checked, not the folders between."""
        name = inner.rsplit("/", 1)[-1]
        if inner.endswith(".") or inner.endswith("~"):
            return True
        special = inner.startswith(_SPECIAL) or name.startswith(_SPECIAL)
        included = self._included(name, f"{prefix}/{inner}")
        if self._excluded(f"{prefix}/{inner}") and not included:
            return True
        return special and not included

    def is_read_folder(self, source: str) -> bool:
        name = source.rsplit("/", 1)[-1]
        dest = (self.site.root / self.config.destination).resolve()
        if (self.site.content / source).resolve() == dest:
            return False
        parts = source.split("/")
        for i, part in enumerate(parts):
            if part in ("_posts", "_drafts"):
                return self.place(source + "/x.md") is not None
            if i == 0 and part.startswith("_") and part[1:] in self.config.collections:
                return self.place(source + "/x.md") is not None
        return not self._skipped(name, source)

    def is_post_file(self, source: str) -> bool:
        suffix = PurePosixPath(source).suffix.lower()
        if suffix not in self.config.markdown_ext and suffix not in HTML_EXTS:
            return False
        return self.place(source) is not None

    # -- one file -------------------------------------------------------------------------------------
    def document(self, raw: bytes, source: str, path: Path) -> Document:
        # Jekyll knows YAML front matter only: a file opening with '+++' has none
        if raw.lstrip(b"\xef\xbb\xbf").startswith(b"+++"):
            doc = super().document(b"---\n---\n" + raw, source, path)
            doc.has_front_matter = False
            return doc
        return super().document(raw, source, path)

    def defaults_for(self, relative_path: str, kind: str) -> dict[str, Any]:
        """Front-matter defaults of `_config.yml` that apply to a document (frontmatter_defaults.rb
        FrontmatterDefaults#all: matching scopes, the more specific path, then a given type, winning)."""
        merged: dict[str, Any] = {}
        old_scope: dict[str, Any] | None = None
        for entry in self.config.defaults:
            scope = entry.get("scope") if isinstance(entry.get("scope"), dict) else None
            if scope is not None and not self._scope_applies(scope, relative_path, kind):
                continue
            scope = scope or {}
            if _has_precedence(old_scope, scope):
                merged = _deep_merge(merged, entry["values"])
                old_scope = scope
            else:
                merged = _deep_merge(entry["values"], merged)
        return merged

    def _scope_applies(self, scope: dict[str, Any], relative_path: str, kind: str) -> bool:
        scope_type = scope.get("type")
        if scope_type is not None:
            scope_type = {"page": "pages", "post": "posts", "draft": "drafts"}.get(str(scope_type), str(scope_type))
            if scope_type != kind:
                return False
        scope_path = scope.get("path")
        if not isinstance(scope_path, str) or not scope_path:
            return True
        path = _sanitize_scope_path(relative_path)
        if "*" in scope_path:
            root = self.site.root
            for match in glob.glob(str(root / scope_path)):
                rel = Path(match).relative_to(root).as_posix()
                if path.startswith(self._strip_collections_dir(rel)):
                    return True
            return False
        return path.startswith(self._strip_collections_dir(scope_path))

    def _strip_collections_dir(self, path: str) -> str:
        cdir = self.config.collections_dir
        return path[len(cdir) + 1:] if cdir and path.startswith(cdir + "/") else path

    def post(self, doc: Document) -> Post | None:
        place = self.place(doc.source)
        if place is None:  # only when called on a file `files` would not give (the pre-commit hook)
            raise NotAPost("not in a _posts or _drafts folder nor in a collection with postkin: true; "
                           "Jekyll does not make it a post")
        name = PurePosixPath(doc.source).name
        dated = _DATED.match(name)
        if place.kind == "post" and not dated:
            raise NotAPost("in _posts but its name has no date (YYYY-MM-DD-title.md): Jekyll ignores it")
        if place.kind == "document" and not doc.has_front_matter:
            raise NotAPost("no front matter: Jekyll copies it as a static file of the collection")
        if not dated and not _DATELESS.match(name):
            raise NotAPost("no extension: Jekyll does not read it")
        relative_path = doc.source  # page.path: relative to collections_dir, as Jekyll reports it
        kind = place.label  # front-matter defaults' `type` is the collection (drafts are "posts")
        data = self.defaults_for(relative_path, kind)
        fm = {str(k): v for k, v in doc.raw_metadata.items()}
        # Document#merge_categories!: the folders above _posts, then each source's categories (a string
        # split on white space) joined as a set union
        categories: list[Any] = self._path_categories(place, relative_path)
        for source in (data, fm):
            value = source.get("categories")
            if value is not None:
                value = value.split() if isinstance(value, str) else value if isinstance(value, list) else [value]
                categories = _unique(categories + [x for x in value if x is not None and not isinstance(x, dict)])
        data = _deep_merge(data, fm)
        if opted_out({k.lower(): v for k, v in data.items()}):
            return None
        # populate_title: the slug and date of the file name
        if dated:
            name_date, name_slug = dated.group(1), dated.group(2)
        else:
            match = _DATELESS.match(name)
            assert match is not None
            name_date, name_slug = "", match.group(1)
        name_slug = name_slug.rstrip(".")
        stem = PurePosixPath(name).stem
        if "date" in data and data["date"] is not None:
            date = jekyll_time(data["date"], self.zone)
        elif name_date:
            date = file_name_date(name_date, self.zone)
        elif place.kind == "draft":
            date = self.zone.convert(dt.datetime.fromtimestamp(int(doc.path.stat().st_mtime), dt.timezone.utc))
        else:
            date = None  # Jekyll: the build time; postkin leaves it undated so its data stays the same
        title = _text(data["title"]) if _ruby_truthy(data.get("title")) else titleize_slug(name_slug)
        slug = _text(data["slug"]) if _ruby_truthy(data.get("slug")) else name_slug
        # populate_categories: then `category` (not split) or the categories again, as text, once each
        category = _plural({**data, "categories": categories}, "category", "categories")
        categories = _unique(_plural({"categories": categories}, "", "categories") + category)
        tags = _unique(_plural(data, "tag", "tags"))
        published = not ("published" in data and not _ruby_truthy(data["published"]))
        draft = (not published and not self.config.unpublished) or \
            (place.kind == "draft" and not self.config.show_drafts) or truthy(data.get("hidden"))
        collection = self.config.posts if place.label == "posts" else self.config.collections[place.label]
        permalink = data.get("permalink")
        url = self.url(collection, place, stem, slug, date, categories,
                       permalink if isinstance(permalink, str) and permalink else None)
        # themes show page.lang, else site.lang (Jekyll itself has no languages)
        lang = data.get("lang") if data.get("lang") is not None else self.site.config["raw"].get("lang")
        return self.common_post(
            doc, key=self._key(slug), title=title, date=date, tags=tags, categories=categories, draft=draft,
            lang=_text(lang) if lang is not None else "", url=url, ref=relative_path,
            slug_from_name=not _ruby_truthy(data.get("slug")),
        )

    @staticmethod
    def _key(slug: str) -> str:
        """Jekyll's slug when it is a safe key, else its pretty slugify (a '/' in a front-matter slug)."""
        try:
            return check_slug(slug, "")
        except PostkinError:
            return check_slug(slugify(slug, "pretty", cased=True) or "post", "")

    def _path_categories(self, place: Place, relative_path: str) -> list[str]:
        """Document#categories_from_path: the folders above `_posts` (or `_drafts`); none for other
        collections (their path starts with their folder)."""
        special = "_drafts" if place.kind == "draft" else "_posts" if place.label == "posts" else f"_{place.label}"
        if relative_path.startswith(special):
            return []
        head = relative_path.split(special, 1)[0]
        name = PurePosixPath(relative_path).name
        return [c for c in head.split("/") if c and c != special and c != name]

    def url(self, collection: Collection, place: Place, stem: str, slug: str, date: dt.datetime | None,
            categories: list[str], permalink: str | None) -> str:
        """`page.url` as Jekyll computes it (document.rb #url, url.rb, drops/url_drop.rb)."""
        template = permalink or collection.permalink
        relative_path = f"{place.special_dir}/{place.inner}"
        suffix = PurePosixPath(relative_path).suffix
        # Document#cleaned_relative_path: no extension, the collection's folder name taken out once
        cleaned = relative_path[: -len(suffix)] if suffix else relative_path
        cleaned = cleaned.replace(f"_{collection.label}", "", 1).rstrip(".")
        values = self.placeholders(collection.label, stem, slug, date, categories, cleaned)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            pool = [name, name[:-1]] if name.endswith("_") else [name]
            winner = next((k for k in pool if k in values), None)
            if winner is None:
                raise ValueError(f"permalink {template!r}: Jekyll has no placeholder :{name}; check the "
                                 "permalink template")
            return escape_path(values[winner]) + match.group(0)[1 + len(winner):]

        return sanitize_url(re.sub(r":([a-z_]+)", replace, template))

    @staticmethod
    def placeholders(label: str, stem: str, slug: str, date: dt.datetime | None, categories: list[str],
                     path: str) -> dict[str, str]:
        """The values of Jekyll's URL placeholders (Drops::UrlDrop) for one document."""
        values = {
            "collection": label, "path": path, "output_ext": ".html",
            "name": slugify(stem),
            "title": slugify(slug, "pretty", cased=True),
            "slug": slugify(slug),
            "categories": "/".join(_unique([c.lower() for c in categories])),
            "slugified_categories": "/".join(_unique([slugify(c) for c in categories])),
        }
        if date is not None:
            iso = date.isocalendar()
            values.update({
                "year": f"{date.year:04d}", "month": f"{date.month:02d}", "day": f"{date.day:02d}",
                "hour": f"{date.hour:02d}", "minute": f"{date.minute:02d}", "second": f"{date.second:02d}",
                "i_day": str(date.day), "i_month": str(date.month), "short_year": f"{date.year % 100:02d}",
                "short_month": _MONTHS[date.month - 1][:3], "long_month": _MONTHS[date.month - 1],
                "w_year": str(iso[0]), "week": f"{iso[1]:02d}", "w_day": str(iso[2]),
                "short_day": _DAYS[date.weekday()][:3], "long_day": _DAYS[date.weekday()],
                "y_day": f"{date.timetuple().tm_yday:03d}",
            })
        return values

    def finish(self, posts: list[Post]) -> None:
        """Keys made unique: posts sharing Jekyll's slug (two dates, translations in `<lang>/_posts`
        folders, a draft and its post, a document) are keyed by their path without `_posts` and
        extension (`2024-01-12-notes`, `de-news-2024-01-12-notes`, `drafts-notes`, `recipes-notes`),
        which changes only when the file is renamed; two posts Jekyll writes to one URL get a warning
        (one page overwrites the other)."""
        by_key: dict[str, list[Post]] = {}
        for post in posts:
            by_key.setdefault(post.slug, []).append(post)
        taken = {key for key, group in by_key.items() if len(group) == 1}
        for group in by_key.values():
            if len(group) < 2:
                continue
            for post in sorted(group, key=lambda p: p.source):
                parts = PurePosixPath(post.source).with_suffix("").parts
                candidate = self._key("-".join(part.lstrip("_") for part in parts if part != "_posts"))
                unique, n = candidate, 2
                while unique in taken:
                    unique = f"{candidate}-{n}"
                    n += 1
                taken.add(unique)
                post.slug = unique
        self._languages(posts)
        by_url: dict[str, str] = {}
        for post in sorted(posts, key=lambda p: p.source):
            if post.url in by_url:
                log.warning("%s: Jekyll writes it to %s, as %s: one page overwrites the other", post.source,
                            post.url, by_url[post.url])
            else:
                by_url[post.url] = post.source

    def _languages(self, posts: list[Post]) -> None:
        """Jekyll has no languages, but posts that say `lang:` in two or more languages make a
        multilingual site to postkin (lists keep to the post's language under related_languages =
        "auto"), `site.lang` first; posts with one file name in several languages
        (`en/news/_posts/x.md`, `de/news/_posts/x.md`, as www.ruby-lang.org and jekyll-polyglot sites
        keep them) are translations of one another."""
        counts: dict[str, int] = {}
        for post in posts:
            if post.lang:
                counts[post.lang] = counts.get(post.lang, 0) + 1
        if len(counts) < 2:
            return
        site_lang = str(self.site.config["raw"].get("lang") or "")
        order = sorted(counts, key=lambda lang: (lang != site_lang, -counts[lang], lang))
        self.site.languages = tuple(order)
        by_name: dict[str, list[Post]] = {}
        for post in posts:
            by_name.setdefault(PurePosixPath(post.source).name, []).append(post)
        for name, group in by_name.items():
            langs = [p.lang for p in group]
            if len(group) > 1 and all(langs) and len(set(langs)) == len(langs):
                for post in group:
                    post.translation_key = post.translation_key or PurePosixPath(name).stem

    def fingerprint(self) -> str:
        return hashlib.sha256((super().fingerprint() + self.zone.fingerprint()).encode()).hexdigest()

    # -- where Jekyll's templates read postkin's data -------------------------------------------------
    def data_dir(self) -> Path:
        """`_data/postkin` (or `<data_dir>/postkin`): Jekyll reads it as `site.data.postkin`."""
        return self.site.root / self.config.data_dir / "postkin"

    def browser_dir(self) -> Path:
        """`<site>/assets`: files without front matter there are static files Jekyll copies as they are."""
        return self.site.root / "assets"

    def write_data(self, out: Path, build: Build) -> tuple[int, int]:
        """`keys.json` ({page.path: key}), `posts/<key>.json` (one post's context) and `site.json`
        (topics, encoder, post count), so that a Liquid include finds a page's data with

            {% assign k = site.data.postkin.keys[page.path] %}{% assign pk = site.data.postkin.posts[k] %}

        Keys inside a JSON file are read as they are; a data file's NAME loses every character but ASCII
        letters, digits, '_' and '-' (and spaces become '_'), so post files are named by `data_key`.
        Only files whose bytes change are written (keys.json first renamed into place, after the post
        files it names); post files listed in the previous keys.json and no longer needed are removed.
        URLs are Jekyll's `page.url`, without `baseurl`: templates pass them through `relative_url`.
        Returns (files written, files removed)."""
        from ..files import remove_stale_temps, replace_all
        from ..outputs import OUT_ELSEWHERE, _changed, dumps

        out = Path(out)
        posts_dir = out / POSTS_DIR
        try:
            posts_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise os_error(posts_dir, exc, OUT_ELSEWHERE) from None
        for folder in (out, posts_dir):
            remove_stale_temps(folder)
        by_slug = {p.slug: p for p in build.posts}
        texts = build.post_texts()
        names: dict[str, str] = {}
        keys: dict[str, str] = {}
        for slug in sorted(texts):
            name = data_key(slug)
            if name in names.values():
                raise PostkinError(f"{by_slug[slug].source}: its data file {name}.json is also the one of "
                                   f"another post; give it another slug")
            names[slug] = name
            keys[by_slug[slug].ref or by_slug[slug].source] = name
        previous = _previous_keys(out / KEYS_FILE)
        files = [(posts_dir / f"{names[slug]}.json", (texts[slug] + "\n").encode("utf-8")) for slug in sorted(texts)]
        files.append((out / SITE_FILE, dumps(build.site.to_json())))
        files.append((out / KEYS_FILE, dumps(keys)))  # last: it never names a file not yet written
        changed = [(path, data) for path, data in files if _changed(path, data)]
        try:
            replace_all(changed)
        except OSError as exc:
            raise os_error(exc.filename or out, exc, OUT_ELSEWHERE) from None
        removed = 0
        for name in sorted(previous - set(names.values())):
            if not _DATA_KEY.match(name):  # never a file postkin did not name
                continue
            try:
                (posts_dir / f"{name}.json").unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("%s", os_error(posts_dir / f"{name}.json", exc, OUT_ELSEWHERE))
        return len(changed), removed

    def watch_paths(self) -> list[Path]:
        """The site folder (posts may be in any folder) and its configuration."""
        return [self.site.content, *([self.site.config_file] if self.site.config_file else [])]

    def watch_ignored(self) -> list[Path]:
        """Jekyll's destination (`_site`): `jekyll serve` rewrites it after every change."""
        return [self.site.root / self.config.destination]


def _previous_keys(path: Path) -> set[str]:
    """The post file keys the previous build's keys.json names (none if missing or not ours)."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(old, dict):
        return set()
    return {v for v in old.values() if isinstance(v, str) and "/" not in v and not v.startswith(".")}


def _sanitize_scope_path(path: str) -> str:
    return path[1:].rstrip("/") if path.startswith("/") else path


def _has_precedence(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """FrontmatterDefaults#has_precedence?: a longer scope path wins; at equal length, a scope with a type."""
    if old is None:
        return True
    new_path = _sanitize_scope_path(str(new.get("path") or ""))
    old_path = _sanitize_scope_path(str(old.get("path") or ""))
    if len(new_path) != len(old_path):
        return len(new_path) >= len(old_path)
    return "type" in new or "type" not in old


def _deep_merge(master: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Jekyll's `Utils.deep_merge_hashes`: mappings merged key by key, anything else replaced."""
    out = dict(master)
    for key, value in other.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
