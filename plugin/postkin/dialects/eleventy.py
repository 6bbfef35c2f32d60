"""The Eleventy (11ty) dialect: a site is read the way Eleventy 3 builds it.

Checked against @11ty/eleventy 3.1.8 (its source: Template.js, TemplatePermalink.js, TemplateFileSlug.js,
Data/TemplateData.js, EleventyFiles.js, Plugins/I18nPlugin.js) and its documentation.

- **Configuration** (`.eleventy.js`, `eleventy.config.js|mjs|cjs`, the first found; or none, for a
  folder whose package.json depends on @11ty/eleventy) is JavaScript and is not run: postkin reads the
  values written as literals (jsread): `dir: {input, includes, data, output}` (in `export const config`
  or the returned object) or `setInputDirectory("...")`-style calls, `pathPrefix`, `templateFormats`,
  `setUseGitIgnore(false)`, `ignores.add("...")`, whether `HtmlBasePlugin` is added, and I18nPlugin's
  `defaultLanguage`. A computed input folder is an error that says to name the folder instead
  (`postkin build path/to/input`).
- **A post is a member of the tag collection** (the `collection` setting; default: the one tag the
  directory data files give, else `posts` when a file is tagged so, else `post`). Tags come from the
  data cascade: the input folder's and each folder's directory data files (`blog/blog.json`,
  `blog/blog.11tydata.json`, and the literal part of `blog/blog.11tydata.js`), the template data file
  (`x.11tydata.json`, `x.json`) and the front matter, arrays concatenated (`override:tags` replaces). A
  string is split on commas without trimming (`cat, dog` gives `cat` and ` dog`).
  `eleventyExcludeFromCollections` (true, or naming the collection) takes a file out; so does a
  paginated template. A README.md is a page like any other: it is a post only when it is tagged.
- **URL** (`page.url`, without pathPrefix): `permalink` when it is a literal string (`{{ page.fileSlug
  }}`, `{{ page.filePathStem }}` and `{{ page.outputFileExtension }}` are filled in; any other template
  is left to Eleventy: the post is listed, its `url` in postkin's data is null, and the include finds
  the link with Eleventy's `inputPathToUrl` filter); `permalink: false` (or an object without `build`)
  means no page: the post stays in the collection but is never listed. Else the folder plus the file
  name, the date prefix KEPT (`2024-01-02-x.md` -> `/posts/2024-01-02-x/`), `index` and `x/x.md` giving
  the folder's URL.
- **Date** (`page.date`): a YAML date (UTC when it has no offset); a string read as ISO 8601 in UTC as
  Luxon does (anything else stops Eleventy's build: here the file is skipped with that reason); the
  keywords `Created` (file birth time), `Last Modified` (the file's ctime, not its mtime), `git Created`
  and `git Last Modified` (author time of the first / last commit, now when uncommitted); else the
  first YYYY-MM-DD anywhere in the path (folders included, unanchored), else the birth time.
- **Key**: `page.fileSlug` (the name without a YYYY-MM-DD- prefix, `index` -> the folder), made unique
  from `page.filePathStem` when two posts share it. **ref** = `page.inputPath` (`./src/posts/x.md`):
  templates look their page up with `postkin.posts[page.inputPath]`.
- **Title**: `title`, no fallback. **Draft**: `draft` truthy in JavaScript's sense (the documented
  drafts preprocessor drops those pages from `eleventy` builds): never listed. **Language**: `lang`
  from the data cascade (`es/es.json`); with I18nPlugin, `page.lang` (a language code as the first URL
  segment, else `defaultLanguage`).
- **Data**: `<input>/<dir.data>/postkin/` (global data `postkin`): `posts.json` keyed by inputPath and
  `site.json` (see dialects.node). `site.add_path_prefix` says whether links need the `url` filter
  (no HtmlBasePlugin to add pathPrefix).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..corpus import Post, check_slug
from ..errors import PostkinError
from ..metadata import opted_out, quote
from . import jsread
from .base import Dialect, Document, NotAPost, Site
from .node import assign_languages, js_truthy, write_keyed

if TYPE_CHECKING:
    from ..pipeline import Build
    from ..settings import Settings

log = logging.getLogger("postkin")

CONFIG_NAMES = (".eleventy.js", "eleventy.config.js", "eleventy.config.mjs", "eleventy.config.cjs")
DEFAULT_FORMATS = ("liquid", "md", "njk", "html", "11ty.js")
TEXT_FORMATS = ("md", "njk", "liquid", "html")  # template formats postkin reads (11ty.js is a program)
DATA_SUFFIXES = (".11tydata.js", ".11tydata.cjs", ".11tydata.mjs", ".11tydata.json", ".json")
_TEMPLATE_TAG = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}|\{%|\{#")
_KNOWN_VARIABLES = ("page.fileSlug", "page.filePathStem", "page.outputFileExtension")
# `---json` / `---js` front matter (gray-matter's languages as Eleventy registers them).
_OTHER_FRONT_MATTER = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*(json|js|javascript)[ \t]*\r?\n(.*?)"
                                 rb"^---[ \t]*\r?$\n?(.*)\Z", re.S | re.M | re.I)
_PATH_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_SLUG_DATE = re.compile(r"\d{4}-\d{2}-\d{2}-(.*)")
# Luxon's DateTime.fromISO: a date (extended or basic), optionally T and a time, optionally an offset.
_ISO = re.compile(r"^(?P<y>\d{4})(?:-?(?P<mo>\d{2})(?:-?(?P<d>\d{2}))?)?"
                  r"(?:T(?P<h>\d{2})(?::?(?P<mi>\d{2})(?::?(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?)?"
                  r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?$")
# ISO 639-1 codes (I18nPlugin validates a URL's first segment with the iso-639-1 package: this list).
ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee "
    "el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io "
    "is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn "
    "mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se "
    "sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo "
    "wa wo xh yi yo za zh zu".split())


@dataclass
class EleventyConfig:
    """What postkin reads from an Eleventy configuration (defaults: Eleventy's)."""

    input: str = "."
    includes: str = "_includes"
    layouts: str | None = None
    data: str = "_data"
    output: str = "_site"
    path_prefix: str = "/"
    template_formats: tuple[str, ...] = DEFAULT_FORMATS
    html_base: bool = False  # HtmlBasePlugin adds pathPrefix to every link in the HTML
    i18n_default: str | None = None  # I18nPlugin's defaultLanguage ('' when added without one)
    use_gitignore: bool = True
    ignores: list[str] = field(default_factory=list)  # eleventyConfig.ignores.add(...) globs
    dynamic_permalinks: bool = True
    input_computed: bool = False  # dir.input is there but not a literal


def _plugin_name(arg: Any, imports: dict[str, tuple[str, str]]) -> str:
    """The exported name of a plugin passed to addPlugin (through import aliases)."""
    name = jsread.text(arg).split(".")[-1]
    module, imported = imports.get(jsread.text(arg), ("", name))
    return imported if imported != "default" else module


def read_config(path: Path) -> EleventyConfig:
    """The values of an Eleventy configuration file postkin can read (see the module docstring).
    Raises PostkinError when a value it needs is given twice differently or is not a literal."""
    config = EleventyConfig()
    if path.name == "package.json":
        return config
    root = jsread.parse_file(path)
    dirs: dict[str, Any] = {}

    def set_dir(key: str, value: Any, where: str) -> None:
        if not isinstance(value, str):
            if key == "input":
                config.input_computed = True
            return
        if key in dirs and dirs[key] != value:
            raise PostkinError(f"{path}: dir.{key} is given twice ({dirs[key]!r} and {value!r}{where}); postkin "
                               "cannot tell which one Eleventy uses: name the input folder, postkin build <input>")
        dirs[key] = value

    for value in jsread.pairs(root, "dir"):
        value = jsread.unwrap(value)
        if value is None or value.type != "object":
            continue
        for key in ("input", "includes", "layouts", "data", "output"):
            node = jsread.get(value, key)
            if node is None:
                continue
            try:
                set_dir(key, jsread.literal(node), "")
            except jsread.NotLiteral:
                set_dir(key, None, "")
    for method, key in (("setInputDirectory", "input"), ("setIncludesDirectory", "includes"),
                        ("setLayoutsDirectory", "layouts"), ("setDataDirectory", "data"),
                        ("setOutputDirectory", "output")):
        for _, args in jsread.calls(root, method):
            try:
                set_dir(key, jsread.literal(args[0]) if args else None, f" by {method}")
            except jsread.NotLiteral:
                set_dir(key, None, "")
    for key, value in dirs.items():
        setattr(config, key, value)
    for node in jsread.pairs(root, "pathPrefix"):
        try:
            value = jsread.literal(node)
        except jsread.NotLiteral:
            continue
        if isinstance(value, str):
            config.path_prefix = value
    formats: list[str] | None = None
    for node in [*jsread.pairs(root, "templateFormats"), *(a[0] for _, a in jsread.calls(root, "setTemplateFormats")
                                                           if a)]:
        try:
            value = jsread.literal(node)
        except jsread.NotLiteral:
            continue
        formats = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    for _, args in jsread.calls(root, "addTemplateFormats"):
        try:
            value = jsread.literal(args[0]) if args else []
        except jsread.NotLiteral:
            continue
        formats = [*(formats or DEFAULT_FORMATS), *(value.split(",") if isinstance(value, str) else value)]
    if formats is not None:
        config.template_formats = tuple(f.strip() for f in formats)
    imports = jsread.imported_names(root)
    for _, args in jsread.calls(root, "addPlugin"):
        if not args:
            continue
        name = _plugin_name(args[0], imports)
        if name in ("HtmlBasePlugin", "EleventyHtmlBasePlugin") or "html-base" in name:
            config.html_base = True
        if name in ("I18nPlugin", "EleventyI18nPlugin") or "i18n-plugin" in name:
            options = jsread.literal_items(args[1]) if len(args) > 1 else {}
            default = options.get("defaultLanguage")
            config.i18n_default = default if isinstance(default, str) else ""
    for _, args in jsread.calls(root, "setUseGitIgnore"):
        if args and jsread.text(args[0]) == "false":
            config.use_gitignore = False
    for _, args in jsread.calls(root, "setDynamicPermalinks"):
        if args and jsread.text(args[0]) == "false":
            config.dynamic_permalinks = False
    for call, args in jsread.calls(root, "add"):
        if jsread.receiver(call).endswith("ignores") and args:
            try:
                value = jsread.literal(args[0])
            except jsread.NotLiteral:
                continue
            if isinstance(value, str):
                config.ignores.append(value)
    return config


def _norm(*parts: str) -> str:
    """A POSIX path joined and normalised ('' for the folder itself), as Eleventy's TemplatePath."""
    joined = os.path.normpath("/".join(p for p in parts if p)).replace(os.sep, "/")
    return "" if joined == "." else joined


def url_of_output(output: str) -> str:
    """`page.url` of an output path: a leading '/', and `/index.html`, `/index/`, `/index` cut to '/'
    (TemplatePermalink.normalizePathToUrl)."""
    url = output if output.startswith("/") else "/" + output
    for needle in ("/index.html", "/index/", "/index"):
        if url.endswith(needle):
            return url[: -len(needle)] + "/"
    return url


def merge(target: Any, source: Any) -> Any:
    """Eleventy's deep merge of the data cascade (@11ty/eleventy-utils Merge): arrays concatenate,
    plain objects merge key by key, anything else is replaced; `override:key` replaces `key`."""
    if isinstance(target, list) and isinstance(source, list):
        return target + source
    if isinstance(source, dict) and (target is None or isinstance(target, dict)):
        out = dict(target or {})
        for key, value in source.items():
            clean = key[len("override:"):] if key.startswith("override:") else key
            out[clean] = merge(out.get(key), value)
        return out
    return source


def clean_tags(data: dict[str, Any], source: str) -> dict[str, Any]:
    """`tags` as Eleventy cleans each data source (TemplateData.getCleanedTagsImmutable): a string split
    on ',' (not trimmed), an array kept, values made strings and de-duplicated. ValueError for another
    type (Eleventy stops the build)."""
    for key in ("tags", "override:tags"):
        value = data.get(key)
        if key not in data or not value:
            continue
        if isinstance(value, str):
            items: list[Any] = value.split(",")
        elif isinstance(value, list):
            items = value
        else:
            raise ValueError(f"{source}: tags must be a string or a list, got {quote(value)} "
                             "(Eleventy stops the build)")
        seen: list[str] = []
        for item in items:
            text = js_string(item)
            if text not in seen:
                seen.append(text)
        data = {**data, key: seen}
    return data


def js_string(value: Any) -> str:
    """String(value) as JavaScript writes it (true, null, 2, 2.5)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def luxon_iso(value: str) -> dt.datetime:
    """An ISO 8601 string as Luxon's DateTime.fromISO(value, {zone: "utc"}) reads it (UTC unless it
    names an offset). ValueError otherwise, as Eleventy throws on it."""
    match = _ISO.match(value)
    if not match:
        raise ValueError(value)
    g = match.groupdict()
    fraction = (g["f"] or "0")[:6].ljust(6, "0")
    zone = dt.timezone.utc
    if g["z"] and g["z"] != "Z":
        sign = -1 if g["z"][0] == "-" else 1
        digits = g["z"][1:].replace(":", "")
        zone = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))
    return dt.datetime(int(g["y"]), int(g["mo"] or 1), int(g["d"] or 1), int(g["h"] or 0), int(g["mi"] or 0),
                       int(g["s"] or 0), int(fraction), tzinfo=zone)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


class EleventyDialect(Dialect):
    """An Eleventy site (see the module docstring)."""

    name = "eleventy"
    label = "an Eleventy site"
    config_names = CONFIG_NAMES

    def __init__(self, site: Site, settings: Settings) -> None:
        super().__init__(site, settings)
        self.config: EleventyConfig = site.config.get("eleventy", EleventyConfig())
        self._data_files: dict[Path, dict[str, Any]] = {}
        self._ignores: list[str] | None = None
        self._collection: str | None = None
        self.no_url: dict[str, str] = {}  # key -> why postkin does not know the post's URL
        self._warned_gitignore = False

    # -- the site -------------------------------------------------------------------------------------
    @classmethod
    def config_in(cls, folder: Path) -> Path | None:
        """The first of Eleventy's configuration files in `folder`, else a package.json that depends
        on @11ty/eleventy (Eleventy runs without a configuration file)."""
        found = super().config_in(folder)
        if found is not None:
            return found
        package = folder / "package.json"
        if package.is_file():
            try:
                data = json.loads(package.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            deps = {**(data.get("dependencies") or {}), **(data.get("devDependencies") or {})} \
                if isinstance(data, dict) else {}
            if "@11ty/eleventy" in deps:
                return package
        return None

    @classmethod
    def load_site(cls, root: Path, config_file: Path | None, given: Path, settings: Settings) -> Site:
        jsread.require("Eleventy", "eleventy")
        config = read_config(config_file) if config_file is not None else EleventyConfig()
        if config.input_computed:
            resolved_given = Path(given).resolve()
            if resolved_given == root.resolve():
                raise PostkinError(f"{config_file}: dir.input is computed, not a quoted string; postkin cannot run "
                                   "JavaScript: write it as a string, or name the input folder: postkin build <input>")
            config.input = os.path.relpath(resolved_given, root.resolve()).replace(os.sep, "/")
        from ..settings import Settings as SettingsType

        if settings.url_pattern != SettingsType().url_pattern:
            raise PostkinError(f"{config_file or root}: setting 'url_pattern' is not used on an Eleventy site: "
                               "Eleventy gives every page its URL (permalink); remove the setting")
        site = Site(root=root, content=root / config.input, config_file=config_file,
                    base_path=config.path_prefix if config.path_prefix not in ("", "/") else "")
        site.config = {"eleventy": config}
        return site

    def data_dir(self) -> Path | None:
        """`<input>/<dir.data>/postkin`: Eleventy's global data `postkin`."""
        return self.site.content / self.config.data / "postkin"

    def browser_dir(self) -> Path:
        """Eleventy's output folder (`_site`): Eleventy copies only what the configuration passes through,
        never empties its output, and `eleventy --serve` serves it; its data folder would run a `.js`."""
        return self.site.root / self.config.output

    def _special_dirs(self) -> list[str]:
        """Folders (relative to the input folder) Eleventy does not read templates from."""
        output = os.path.relpath(self.site.root / self.config.output, self.site.content).replace(os.sep, "/")
        return [d for d in (_norm(self.config.includes), _norm(self.config.layouts or ""), _norm(self.config.data),
                            output) if d and not d.startswith("..")]

    def _globs_of(self, file: Path) -> list[str]:
        """An ignore file's lines as Eleventy's globs from the project root: each line a path from the
        file's folder, existing folders getting '/**' (EleventyFiles.normalizeIgnoreContent); comments
        and negations (which Eleventy does not support) left out."""
        try:
            lines = file.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            return []
        root = self.site.root
        folder = os.path.relpath(file.parent, root).replace(os.sep, "/")
        globs = []
        for line in (raw.strip() for raw in lines):
            if line and not line.startswith(("#", "!")):
                path = _norm(folder, line.lstrip("/"))
                folder_line = line.endswith("/") or (root / path).is_dir()
                globs.append("./" + path + ("/**" if folder_line else ""))
        return globs

    def ignore_globs(self) -> list[str]:
        """Eleventy's ignores: .gitignore (unless setUseGitIgnore(false)) and .eleventyignore in the
        root and the input folder (see _globs_of), and the configuration's ignores.add(...)."""
        if self._ignores is not None:
            return self._ignores
        root = self.site.root
        files = [root / ".gitignore"] if self.config.use_gitignore else []
        files.append(root / ".eleventyignore")
        if self.site.content.resolve() != root.resolve():
            files.append(self.site.content / ".eleventyignore")
        globs = [glob for file in files for glob in self._globs_of(file)]
        globs += ["./" + _norm(g[2:] if g.startswith("./") else g) for g in self.config.ignores]
        self._ignores = globs
        return globs

    def is_post_file(self, source: str) -> bool:
        """A template of a format Eleventy processes and postkin reads, outside the includes, layouts,
        data and output folders and not ignored."""
        from wcmatch import glob as wc

        name = PurePosixPath(source).name
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext not in TEXT_FORMATS or ext not in self.config.template_formats:
            return False
        if any(source == d or source.startswith(d + "/") for d in self._special_dirs()):
            return False
        globs = self.ignore_globs()
        return not (globs and wc.globmatch(self.input_path(source), globs,
                                           flags=wc.GLOBSTAR | wc.BRACE | wc.DOTMATCH))

    def input_path(self, source: str) -> str:
        """`page.inputPath`: the file from the project root, './' first (./src/posts/x.md)."""
        return "./" + _norm(self.config.input, source)

    # -- the data cascade ---------------------------------------------------------------------------
    def _data_file(self, path: Path) -> dict[str, Any]:
        """One template or directory data file's data (tags cleaned); JSON read fully, JavaScript read
        for its literal members only. {} for a missing file; PostkinError for broken JSON."""
        if path in self._data_files:
            return self._data_files[path]
        data: dict[str, Any] = {}
        if path.is_file():
            if path.suffix == ".json":
                try:
                    loaded = json.loads(path.read_text(encoding="utf-8") or "{}")
                except (OSError, ValueError) as exc:
                    raise PostkinError(f"{path}: data file is not valid JSON ({exc}); Eleventy stops on it too") \
                        from None
                data = loaded if isinstance(loaded, dict) else {}
            else:
                export = jsread.default_export(jsread.parse_file(path))
                data = jsread.literal_items(export) if export is not None else {}
            data = clean_tags(data, str(path))
        self._data_files[path] = data
        return data

    def _cascade_files(self, source: str) -> Iterator[Path]:
        """The data files of a template, lowest priority first (TemplateData.getLocalDataPaths reversed):
        the input folder's own (`src/src.json`), each folder's from the top down, then the template's."""
        content = self.site.content
        parts = PurePosixPath(source).parts
        input_name = Path(_norm(self.config.input) or os.path.basename(os.path.abspath(self.site.root))).name
        bases: list[Path] = []
        if _norm(self.config.input):
            bases.append(content / input_name)
        for depth in range(1, len(parts)):
            bases.append(content.joinpath(*parts[:depth]) / parts[depth - 1])
        stem = PurePosixPath(source).name.split(".")[0] if source.endswith(".11ty.js") else PurePosixPath(source).stem
        bases.append(content.joinpath(*parts[:-1]) / stem)
        for base in bases:
            for suffix in reversed(DATA_SUFFIXES):
                yield base.with_name(base.name + suffix)

    def data_of(self, doc: Document) -> dict[str, Any]:
        """The template's data as Eleventy merges it, without global data and computed data."""
        data: dict[str, Any] = {}
        for path in self._cascade_files(doc.source):
            data = merge(data, self._data_file(path))
        front = clean_tags(dict(doc.raw_metadata), doc.source)
        return merge(data, front)

    def collection(self) -> str:
        """The collection that holds the posts: the `collection` setting, else the one tag directory
        data files give, else 'posts' when that tag is used, else 'post'."""
        if self._collection is not None:
            return self._collection
        if self.settings.collection:
            self._collection = self.settings.collection
            return self._collection
        tags: set[str] = set()
        used_posts = False
        for path in self._all_data_files():
            tags.update(self._data_file(path).get("tags") or ())
        if len(tags) == 1:
            self._collection = next(iter(tags))
        elif "posts" in tags or "post" in tags:
            self._collection = "posts" if "posts" in tags else "post"
        else:
            for file, _ in self.files([]):
                try:
                    head = file.read_text(encoding="utf-8", errors="replace")[:4000]
                except OSError:
                    continue
                if re.search(r"^tags:.*\bposts\b|^\s*-\s*posts\s*$", head, re.M):
                    used_posts = True
                    break
            self._collection = "posts" if used_posts else "post"
        log.debug("eleventy: posts are the collection %r", self._collection)
        return self._collection

    def _all_data_files(self) -> list[Path]:
        """Every directory data file under the input folder (`x/x.json`, `x/x.11tydata.*`), sorted."""
        found = []
        content = self.site.content
        special = [content / d for d in self._special_dirs()]
        for folder, dirnames, filenames in os.walk(content):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "node_modules")
            here = Path(folder)
            if any(here == s or s in here.parents for s in special):
                continue
            base = here.name if here != content else (Path(_norm(self.config.input)).name if _norm(self.config.input)
                                                       else "")
            for name in filenames:
                if base and name in {base + s for s in DATA_SUFFIXES}:
                    found.append(here / name)
        return sorted(found)

    # -- one file -----------------------------------------------------------------------------------
    def document(self, raw: bytes, source: str, path: Path) -> Document:
        """The file split; Eleventy's `---json` and `---js` front matter read too (JSON fully; JavaScript
        for what it declares literally: an object literal, or `const title = "..."` declarations, as
        Eleventy 3 takes a program's top-level variables as data)."""
        match = _OTHER_FRONT_MATTER.match(raw)
        if match is None:
            return super().document(raw, source, path)
        language, front, rest = match.group(1).decode().lower(), match.group(2), match.group(3)
        data: dict[str, Any] = {}
        if language == "json":
            try:
                loaded = json.loads(front.decode("utf-8") or "{}")
            except ValueError as exc:
                raise ValueError(f"JSON front matter does not parse ({exc}); Eleventy stops on it too") from None
            data = loaded if isinstance(loaded, dict) else {}
        else:
            program = jsread.parse(front)
            statements = [n for n in program.named_children if n.type != "comment"]
            if len(statements) == 1 and statements[0].type == "expression_statement":
                data = jsread.literal_items(statements[0].named_children[0])
            else:
                for name, value in jsread.declarations(program).items():
                    try:
                        data[name] = jsread.literal(value)
                    except jsread.NotLiteral:
                        continue
        doc = super().document(b"---\n---\n" + rest, source, path)
        doc.raw_metadata, doc.metadata = data, {str(k).lower(): v for k, v in data.items()}
        return doc

    def file_slug(self, source: str) -> str:
        """`page.fileSlug` (TemplateFileSlug.getSlug)."""
        path = PurePosixPath(source)
        raw = self._strip_date(self._name(path.name))
        if raw == "index":
            return self._strip_date(path.parent.name) if path.parent.name else ""
        return raw

    def file_path_stem(self, source: str) -> str:
        """`page.filePathStem`: '/' + folders + the date-stripped name ('/posts/x', '/posts/y/index')."""
        path = PurePosixPath(source)
        return "/" + _norm(*path.parent.parts, self._strip_date(self._name(path.name)))

    @staticmethod
    def _name(filename: str) -> str:
        return filename[: -len(".11ty.js")] if filename.endswith(".11ty.js") else filename.rsplit(".", 1)[0]

    @staticmethod
    def _strip_date(name: str) -> str:
        match = _SLUG_DATE.search(name)
        return match.group(1) if match else name

    def default_url(self, source: str) -> str:
        """The URL Eleventy gives a template without a permalink (TemplatePermalink.generate)."""
        path = PurePosixPath(source)
        folder = path.parent.as_posix() if path.parent.as_posix() != "." else ""
        name = self._name(path.name)
        dupe = bool(folder) and PurePosixPath(folder).name == name
        output = (folder + "/" if folder else "") + (name + "/" if name != "index" and not dupe else "") + "index.html"
        return url_of_output(output)

    def permalink_url(self, value: Any, source: str, data: dict[str, Any]) -> tuple[str | None, str]:
        """(page.url, '') for a permalink value, or (None, why) when there is no page or postkin cannot
        know its URL; ValueError for a value Eleventy refuses."""
        if isinstance(value, dict):
            if "build" not in value:
                return None, "permalink has no 'build' URL: no page"
            value = value["build"]
        if value is False:
            return None, "permalink: false: no page"
        if value is True:
            raise ValueError("permalink: true is not supported by Eleventy (it stops the build); use false or a URL")
        if not isinstance(value, str):
            raise ValueError(f"permalink must be a string, got {quote(value)} (Eleventy stops the build)")
        dynamic = self.config.dynamic_permalinks and data.get("dynamicPermalink") is not False
        if dynamic and _TEMPLATE_TAG.search(value):
            known = {"page.fileSlug": self.file_slug(source), "page.filePathStem": self.file_path_stem(source),
                     "page.outputFileExtension": "html"}

            def fill(match: re.Match[str]) -> str:
                if match.group(1) in _KNOWN_VARIABLES:
                    return known[match.group(1)]
                raise KeyError(match.group(0))

            try:
                value = _TEMPLATE_TAG.sub(fill, value)
            except KeyError:
                return None, "permalink is a template postkin does not render"
        clean = value + ("index.html" if value.endswith("/") else "")
        name = PurePosixPath(clean).name
        if "." not in name and not data.get("eleventyAllowMissingExtension"):
            raise ValueError(f"permalink {value!r} has no file extension and does not end in '/' "
                             "(Eleventy stops the build); end it with '/'")
        return url_of_output(_norm(clean.lstrip("/")) if clean.strip("/") else "index.html"), ""

    def file_dates(self, doc: Document, keyword: str) -> dt.datetime:
        """The date an Eleventy keyword names, from the file or from git (see the module docstring)."""
        path = doc.path
        if keyword.startswith("git "):
            args = ["log", "--diff-filter=A", "--follow", "-1", "--format=%at"] if keyword == "git created" \
                else ["log", "-1", "--format=%at"]
            try:
                done = subprocess.run(["git", *args, "--", path.name], cwd=path.parent, capture_output=True,
                                      text=True, timeout=30, check=False)
                stamp = int(done.stdout.strip() or 0)
            except (OSError, ValueError, subprocess.SubprocessError):
                stamp = 0
            if stamp:
                return dt.datetime.fromtimestamp(stamp, dt.timezone.utc)
            return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        st = path.stat()
        when: float = st.st_ctime if keyword == "last modified" else (
            # birth time where the OS gives it; Linux's os.stat does not: the oldest time it has
            getattr(st, "st_birthtime", None) or min(st.st_ctime, st.st_mtime))
        return dt.datetime.fromtimestamp(when, dt.timezone.utc)

    def page_date(self, doc: Document, data: dict[str, Any]) -> dt.datetime | None:
        """`page.date` (Template.getMappedDate); None for Eleventy's silent Invalid Date."""
        value = data.get("date")
        if value:
            if isinstance(value, dt.datetime):
                return _aware(value)
            if isinstance(value, dt.date):
                return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
            if not isinstance(value, str):
                raise ValueError(f"date {quote(value)} is not a date or a string (Eleventy stops the build)")
            keyword = value.lower()
            if keyword in ("git last modified", "last modified", "git created", "created"):
                return self.file_dates(doc, keyword)
            try:
                return luxon_iso(value)
            except ValueError:
                raise ValueError(f"date {quote(value)} is not an ISO 8601 date (Eleventy stops the build on it); "
                                 "write e.g. 2024-05-01 or 2024-05-01T10:00:00Z") from None
        match = _PATH_DATE.search(self.input_path(doc.source))
        if match:
            try:
                return luxon_iso(match.group(1))
            except ValueError:  # Eleventy: an Invalid Date, silently
                return None
        return self.file_dates(doc, "created")

    def post(self, doc: Document) -> Post | None:
        data = self.data_of(doc)
        if opted_out({k.lower(): v for k, v in data.items() if k.lower() == "postkin"}):
            return None
        collection = self.collection()
        tags = [str(t) for t in (data.get("tags") or [])]
        excluded = data.get("eleventyExcludeFromCollections")
        if excluded is True:
            raise NotAPost("eleventyExcludeFromCollections: true")
        if collection not in tags:
            raise NotAPost(f"not in the '{collection}' collection (tags: {tags})")
        names = excluded.split(",") if isinstance(excluded, str) else excluded if isinstance(excluded, list) else []
        if collection in names:
            raise NotAPost(f"eleventyExcludeFromCollections names '{collection}'")
        if data.get("pagination"):
            raise NotAPost("a paginated template (one template, many pages)")
        permalink = data.get("permalink")
        if permalink is None or permalink == "":
            url: str | None = self.default_url(doc.source)
            why = ""
        else:
            url, why = self.permalink_url(permalink, doc.source, data)
        no_page = why.endswith("no page")
        title = data.get("title")
        lang = data.get("lang") if isinstance(data.get("lang"), str) else ""
        if self.config.i18n_default is not None:
            segment = (url or "").split("/")[1] if url and url.count("/") > 1 else ""
            lang = segment if segment.split("-")[0] in ISO_639_1 and re.fullmatch(
                r"[a-z]{2}(-[A-Za-z0-9]{1,8})*", segment) else self.config.i18n_default
        return self.common_post(
            doc, key=check_slug(self.file_slug(doc.source) or "index", doc.source),
            title=js_string(title) if title is not None else "",
            date=self.page_date(doc, data),
            tags=[t for t in tags if t not in (collection, "all") and t != ""], categories=[],
            draft=js_truthy(data.get("draft")) or no_page, lang=str(lang or ""),
            url=url or "", permalink=url or "", ref=self.input_path(doc.source),
            slug_from_name=True,
        )

    def finish(self, posts: list[Post]) -> None:
        """Keys made unique (from page.filePathStem), the posts whose URL postkin does not know
        recorded (and said once), and the languages the posts name."""
        count: dict[str, int] = {}
        for post in posts:
            count[post.slug] = count.get(post.slug, 0) + 1
        for post in posts:
            if count[post.slug] > 1:
                stem = self.file_path_stem(post.source).strip("/").replace("/", "--")
                post.slug = check_slug(stem or "index", post.source)
        self.no_url = {p.slug: "no page" if p.draft and not p.url else "templated permalink"
                       for p in posts if not p.url}
        templated = sorted(p.source for p in posts if not p.url and not p.draft)
        if templated:
            log.info("%d post(s) have a permalink template postkin does not render (%s%s): the include links "
                     "them with Eleventy's inputPathToUrl filter, and their url in postkin's data is null",
                     len(templated), templated[0], ", ..." if len(templated) > 1 else "")
        default = self.config.i18n_default or ""
        assign_languages(self.site, posts, default)

    def fingerprint(self) -> str:
        """The configuration, the settings this dialect reads, and every data and ignore file: a
        directory data file changes which files are posts and their tags without the posts changing."""
        digest = hashlib.sha256(super().fingerprint().encode())
        digest.update(f"{self.settings.collection}\0".encode())
        paths = [*self._all_data_files(), self.site.root / ".gitignore", self.site.root / ".eleventyignore",
                 self.site.content / ".eleventyignore"]
        for path in paths:
            try:
                digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
            except OSError:
                continue
        return digest.hexdigest()

    # -- what the templates read --------------------------------------------------------------------
    def write_data(self, out: Path, build: Build) -> tuple[int, int]:
        """`posts.json` keyed by page.inputPath and `site.json` (with `add_path_prefix`: links need
        the `url` filter because no HtmlBasePlugin adds pathPrefix); see dialects.node. Warns (once)
        when the folder is gitignored: `eleventy --serve` then does not reload on postkin's changes."""
        from wcmatch import glob as wc

        written = write_keyed(out, build, "inputPath", {"add_path_prefix": not self.config.html_base},
                              url_of=lambda post: None if post.slug in self.no_url else post.url)
        if self.config.use_gitignore and not self._warned_gitignore:
            inside = os.path.relpath(Path(out).resolve() / "posts.json", self.site.root.resolve()).replace(os.sep, "/")
            globs = self._globs_of(self.site.root / ".gitignore")
            if globs and not inside.startswith("..") and wc.globmatch(
                    "./" + inside, globs, flags=wc.GLOBSTAR | wc.BRACE | wc.DOTMATCH):
                log.warning("%s is in .gitignore, and `eleventy --serve` does not watch gitignored files: pages "
                            "will not reload when postkin rewrites it; add eleventyConfig.setUseGitIgnore(false) to "
                            "%s (or keep the folder out of .gitignore)", out,
                            self.site.config_file.name if self.site.config_file else "the Eleventy configuration")
                self._warned_gitignore = True
        return written
