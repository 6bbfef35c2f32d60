"""Reading a Hugo site's configuration and front-matter values as Hugo (0.144-0.168) reads them: the
merged configuration files, the site options postkin needs (`HugoConfig`), dates in the forms and time
zone Hugo uses, permalink rules, content folders, and where a content file sits in Hugo's tree.
Used by the Hugo dialect (`hugo.py`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PostkinError
from . import hugo_paths as hp

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAMES = ("hugo", "config")
CONFIG_EXTS = ("toml", "yaml", "yml", "json")
# Keys only a Hugo configuration has (Zola's config.toml has base_url and a list of taxonomies).
HUGO_KEYS = frozenset({
    "baseurl", "languagecode", "defaultcontentlanguage", "defaultcontentlanguageinsubdir", "contentdir",
    "permalinks", "params", "menu", "menus", "module", "markup", "outputs", "outputformats", "mediatypes",
    "enablerobotstxt", "enableemoji", "enablegitinfo", "pagination", "paginate", "mainsections", "frontmatter",
    "disablekinds", "summarylength", "hascjklanguage", "uglyurls", "builddrafts", "buildfuture", "buildexpired",
    "publishdir", "themesdir", "languages", "cascade", "related", "imaging", "security", "services",
})
# Hugo's content formats (a leaf bundle's index may be any of them); postkin reads the Markdown ones.
CONTENT_EXTS = frozenset({"md", "markdown", "mdown", "mkd", "mkdn", "html", "htm", "adoc", "asciidoc", "ad",
                          "pandoc", "pdc", "org", "rst"})
MARKDOWN_EXTS = frozenset({"md", "markdown", "mdown", "mkd", "mkdn"})
DEFAULT_TAXONOMIES = {"tag": "tags", "category": "categories"}
# [frontmatter] defaults (resources/page/pagemeta/page_frontmatter.go), before aliases are added.
DEFAULT_DATES = {"date": ["date", "publishdate", "lastmod"], "publishdate": ["publishdate", "date"],
                 "lastmod": [":git", "lastmod", "date", "publishdate"], "expirydate": ["expirydate"]}
DATE_ALIASES = {"lastmod": ["modified"], "publishdate": ["pubdate", "published"], "expirydate": ["unpublishdate"]}
# Top-level keys a HUGO_<KEY> environment variable overrides here, and their types.
ENV_KEYS = {"baseurl": str, "contentdir": str, "datadir": str, "timezone": str, "defaultcontentlanguage": str,
            "defaultcontentlanguageinsubdir": bool, "builddrafts": bool, "buildfuture": bool, "buildexpired": bool,
            "uglyurls": bool, "disablepathtolower": bool, "removepathaccents": bool}

# -- reading the configuration --------------------------------------------------------------------
def lower_keys(value: Any) -> Any:
    """Hugo's configuration and front-matter keys are case-insensitive: lower-case them, recursively."""
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` set into `base` recursively (maps merged, other values replaced), as Hugo's Params.Set."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_file(path: Path) -> dict[str, Any]:
    """One configuration file as a dict with lower-cased keys; PostkinError (one line) when it cannot be
    read or parsed."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PostkinError(f"{path}: cannot read the Hugo configuration ({exc})") from None
    ext = path.suffix.lower().lstrip(".")
    try:
        if ext == "toml":
            data: Any = tomllib.loads(text)
        elif ext in ("yaml", "yml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise PostkinError(f"{path}: the Hugo configuration does not parse ({reason})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PostkinError(f"{path}: the Hugo configuration must be a mapping of keys to values")
    return lower_keys(data)


def has_hugo_keys(path: Path) -> bool:
    """Whether a `config.*` file is a Hugo configuration (it parses and has a key only Hugo uses)."""
    try:
        return bool(HUGO_KEYS & set(read_config_file(path)))
    except PostkinError:
        return False


def _root_config(root: Path) -> Path | None:
    for name in CONFIG_NAMES:
        for ext in CONFIG_EXTS:
            candidate = root / f"{name}.{ext}"
            if candidate.is_file():
                return candidate
    return None


def environment() -> str:
    """The Hugo environment `hugo` builds: HUGO_ENVIRONMENT / HUGO_ENV, else production."""
    return os.environ.get("HUGO_ENVIRONMENT") or os.environ.get("HUGO_ENV") or "production"


def load_config(root: Path, *, themes: bool = True) -> tuple[dict[str, Any], list[Path]]:
    """The site's merged configuration (lower-cased keys) and the files it came from, in Hugo's order:
    the root file (hugo.* before config.*), then config/_default/ and config/<environment>/ (each file
    named like its key: params.toml -> params, params.fr.toml -> languages.fr.params), then HUGO_<KEY>
    environment variables; below all of them the `params` of the site's themes (themes/<name>/, left
    to right: Hugo lets a theme set params and menus only, and `params.mainSections` is among them).
    Raises PostkinError for a file that does not parse."""
    config: dict[str, Any] = {}
    files: list[Path] = []
    main = _root_config(root)
    if main is not None:
        config = read_config_file(main)
        files.append(main)
    _merge_config_dir(root / str(config.get("configdir", "config")), config, files)
    for key, kind in ENV_KEYS.items():
        raw = os.environ.get(f"HUGO_{key.upper()}")
        if raw is not None:
            config[key] = raw.strip().lower() in ("true", "1", "yes") if kind is bool else raw
    if themes:
        for name in string_list(config.get("theme")):
            folder = root / str(config.get("themesdir", "themes")) / name
            if not folder.is_dir():
                continue
            theme, theme_files = load_config(folder, themes=False)
            files += theme_files
            below: dict[str, Any] = {"params": theme.get("params") or {}}
            languages: dict[str, Any] = theme["languages"] if isinstance(theme.get("languages"), dict) else {}
            for code, lc in languages.items():
                if isinstance(lc, dict) and isinstance(lc.get("params"), dict):
                    below.setdefault("languages", {})[code] = {"params": lc["params"]}
            config = _merge(below, config)
    return config, files


def _merge_config_dir(config_dir: Path, config: dict[str, Any], files: list[Path]) -> None:
    """config/_default/ then config/<environment>/ merged into `config` (in place), files listed."""
    merged = _merge({}, config)
    for sub in ("_default", environment()):
        folder = config_dir / sub
        if not folder.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                ext = path.suffix.lower().lstrip(".")
                if ext not in CONFIG_EXTS:
                    continue
                item = read_config_file(path)
                files.append(path)
                name = path.stem.lower()
                if name in CONFIG_NAMES:
                    merged = _merge(merged, item)
                    continue
                name, _, lang = name.rpartition(".") if "." in name else (name, "", "")
                value: Any = item[name] if len(item) == 1 and name in item else item
                if lang:
                    inner = {"params": value} if name == "params" else {"menus": value} \
                        if name in ("menu", "menus") else value
                    merged = _merge(merged, {"languages": {lang: inner}})
                else:
                    merged = _merge(merged, {name: value})
    config.clear()
    config.update(merged)


def string_list(value: Any) -> list[str]:
    """A configuration value as a list of strings (a single value is a list of one)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def to_bool(value: Any) -> bool:
    """Hugo's cast.ToBool: booleans, numbers (non-zero), and the strings Go's strconv.ParseBool reads
    (1 t T TRUE true True); anything else is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip() in ("1", "t", "T", "TRUE", "true", "True")
    return False


def is_bool_like(value: Any) -> bool:
    """Whether Hugo's cast.ToBoolE accepts the value as a boolean."""
    return isinstance(value, bool) or (isinstance(value, str) and value.strip() in (
        "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"))


def to_string(value: Any) -> str:
    """Hugo's cast.ToString for front-matter values (None -> '')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- front matter as Hugo reads it -------------------------------------------------------------------
# YAML 1.1 words PyYAML reads as booleans; Hugo's YAML 1.2 parser reads them as strings (then
# `draft: yes` is not a draft: cast.ToBool("yes") is false).
_YAML11_BOOL = re.compile(r"^[^#\n]*:[ \t]+(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)[ \t]*(?:#.*)?$", re.M)
_YAML_FENCE = re.compile(r"^-{3,}\s*$", re.M)


def _yaml12_loader() -> type:
    """PyYAML's safe loader with YAML 1.2's booleans (true/false only)."""
    import yaml

    class Yaml12Loader(yaml.SafeLoader):
        pass

    Yaml12Loader.yaml_implicit_resolvers = {
        first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                       re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    return Yaml12Loader


def yaml12_front_matter(text: str) -> dict[str, Any] | None:
    """The YAML front matter of `text` read with YAML 1.2 booleans, when it holds a value YAML 1.1
    would read as one (`yes`, `no`, `on`, `off`); None otherwise (or when it does not parse: the
    usual reading reports it)."""
    import yaml

    parts = _YAML_FENCE.split(text.lstrip("\ufeff"), 2)
    if len(parts) < 3 or parts[0].strip() or not _YAML11_BOOL.search(parts[1]):
        return None
    try:
        data = yaml.load(parts[1], Loader=_yaml12_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def json_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Hugo's JSON front matter: a JSON object at the top of the file, then the content. Raises
    ValueError (one line) when the object does not parse."""
    stripped = text.lstrip("\ufeff").lstrip()
    try:
        data, end = json.JSONDecoder().raw_decode(stripped)
    except json.JSONDecodeError as exc:
        raise ValueError(f"JSON front matter does not parse ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError("JSON front matter must be an object")
    return data, stripped[end:].lstrip("\r\n")


# -- dates, as Hugo (spf13/cast) reads them ---------------------------------------------------------
# Go layouts cast.ToTimeInDefaultLocationE tries, in order; `loc` marks layouts without a zone (read in
# the site's timeZone).
_CAST_LAYOUTS = [
    ("2006-01-02", True), ("2006-01-02T15:04:05Z07:00", False), ("2006-01-02T15:04:05", True),
    ("Mon, 02 Jan 2006 15:04:05 -0700", False), ("Mon, 02 Jan 2006 15:04:05 MST", False),
    ("02 Jan 06 15:04 -0700", False), ("02 Jan 06 15:04 MST", False), ("Monday, 02-Jan-06 15:04:05 MST", False),
    ("2006-01-02 15:04:05.999999999 -0700 MST", False), ("2006-01-02T15:04:05-0700", False),
    ("2006-01-02 15:04:05Z0700", False), ("2006-01-02 15:04:05", True), ("Mon Jan _2 15:04:05 2006", True),
    ("Mon Jan _2 15:04:05 MST 2006", False), ("Mon Jan 02 15:04:05 -0700 2006", False),
    ("2006-01-02 15:04:05Z07:00", False), ("02 Jan 2006", True), ("2006-01-02 15:04:05 -07:00", False),
    ("2006-01-02 15:04:05 -0700", False),
]
_LAYOUT_PARTS = {
    "2006": r"(?P<year>\d{4})", "06": r"(?P<yy>\d{2})", "01": r"(?P<month>\d{2})", "Jan": r"(?P<mon>[A-Za-z]{3})",
    "02": r"(?P<day>\d{2})", "_2": r"(?P<day> ?\d{1,2})", "Monday": r"[A-Za-z]+", "Mon": r"[A-Za-z]{3}",
    "15": r"(?P<hour>\d{1,2})", "04": r"(?P<minute>\d{2})", "05": r"(?P<second>\d{2})(?P<frac>[.,]\d+)?",
    ".999999999": r"(?P<frac9>\.\d+)?", "MST": r"(?P<zone>[A-Za-z]{3,5}|[+-]\d{2,4})", "-0700": r"(?P<off>[+-]\d{4})",
    "-07:00": r"(?P<off>[+-]\d{2}:\d{2})", "Z0700": r"(?P<off>Z|[+-]\d{4})", "Z07:00": r"(?P<off>Z|[+-]\d{2}:\d{2})",
}
_LAYOUT_TOKEN = re.compile("|".join(re.escape(k) for k in sorted(_LAYOUT_PARTS, key=len, reverse=True)))
_MONTH_ABBR = {m[:3].lower(): n for n, m in enumerate(hp._MONTHS, start=1)}


def _layout_regex(layout: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _LAYOUT_TOKEN.finditer(layout):
        out.append(re.escape(layout[pos:m.start()]))
        out.append(_LAYOUT_PARTS[m.group(0)])
        pos = m.end()
    out.append(re.escape(layout[pos:]))
    return re.compile("".join(out) + r"\Z")


_CAST_REGEXES = [(_layout_regex(layout), in_zone) for layout, in_zone in _CAST_LAYOUTS]


def _from_match(m: re.Match[str], zone: dt.tzinfo, in_zone: bool) -> dt.datetime | None:
    g = m.groupdict()
    if g.get("year"):
        year = int(g["year"])
    else:
        yy = int(g["yy"])
        year = 1900 + yy if yy >= 69 else 2000 + yy
    month = int(g["month"]) if g.get("month") else _MONTH_ABBR.get((g.get("mon") or "").lower(), 0)
    frac = (g.get("frac") or g.get("frac9") or "").lstrip(".,")
    try:
        when = dt.datetime(year, month, int(g["day"]), int(g.get("hour") or 0), int(g.get("minute") or 0),
                           int(g.get("second") or 0), int((frac + "000000")[:6]) if frac else 0)
    except ValueError:
        return None
    if in_zone:
        return when.replace(tzinfo=zone)
    off = g.get("off")
    if off and off != "Z":
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
        return when.replace(tzinfo=dt.timezone(sign * delta))
    # Z, UTC, GMT, or a zone abbreviation Go does not know in the location: offset 0
    return when.replace(tzinfo=dt.timezone.utc)


def hugo_date(value: Any, zone: dt.tzinfo) -> dt.datetime:
    """A front-matter date as Hugo reads it (htime.ToTimeInDefaultLocationE -> spf13/cast): a value
    with an offset keeps it, one without is read in `zone` (the site's timeZone, UTC by default); a
    string must be in one of the Go layouts cast accepts (`2024-01-03 10:00`, without seconds, is not).
    Raises ValueError otherwise."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=zone)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(int(value), dt.timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        for regex, in_zone in _CAST_REGEXES:
            m = regex.match(text)
            if m:
                when = _from_match(m, zone, in_zone)
                if when is not None:
                    return when
    raise ValueError(value)


def date_and_slug_from_name(name: str, zone: dt.tzinfo) -> tuple[dt.datetime | None, str]:
    """Hugo's `dateAndSlugFromBaseFilename` (`[frontmatter] date = [":filename"]`): `2024-02-03-x` ->
    (2024-02-03 in `zone`, "x"); `2024-02-03-10-30-00-x` (Hugo 0.148+) gives the time too."""
    base = name.rsplit(".", 1)[0] if "." in name else name
    if len(base) < 10:
        return None, ""
    if len(base) >= 19:
        try:
            return hugo_date(base[:10] + "T" + base[11:19].replace("-", ":"), zone), base[19:].strip(" -_")
        except ValueError:
            pass
    try:
        return hugo_date(base[:10], zone), base[10:].strip(" -_")
    except ValueError:
        return None, ""


def _zone(name: str, where: str) -> dt.tzinfo:
    if not name:
        return dt.timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PostkinError(f"{where}: timeZone {name!r} is not a time zone Hugo knows (use an IANA name such as "
                           "'Europe/Paris')") from None


# -- the parsed configuration ------------------------------------------------------------------------
TOKEN = re.compile(r":\w+(\[.+?\])?")
_KNOWN_TOKENS = frozenset({"year", "month", "monthname", "day", "weekday", "weekdayname", "yearday", "section",
                           "sectionslug", "sections", "sectionslugs", "title", "slug", "slugorfilename", "filename",
                           "contentbasename", "slugorcontentbasename"})


@dataclass(frozen=True)
class PermalinkRule:
    """One `[permalinks]` rule: pages of `kind` whose `.Path` matches `path` get `pattern`."""

    kind: str
    path: re.Pattern[str] | None
    pattern: str
    langs: frozenset[str] = frozenset()

    def matches(self, kind: str, path: str, lang: str) -> bool:
        """Whether the rule applies to a page of `kind` at `path` (Hugo's `.Path`) in `lang`."""
        return (not self.kind or self.kind == kind) and (self.path is None or bool(self.path.match(path))) \
            and (not self.langs or lang in self.langs)


def _section_glob(section: str) -> re.Pattern[str]:
    """permalinks.go `sectionToPathGlob`: the section itself and everything below it."""
    section = section.strip(" /")
    return hp.glob_regex("/*" if not section else "/{" + section + "," + section + "/**}")


def parse_permalinks(value: Any, where: str) -> list[PermalinkRule]:
    """`[permalinks]` in its three forms: `section = pattern` (pages and terms), `[permalinks.page]
    section = pattern`, and the list of `{target = {kind, path, sites}, pattern}` (Hugo 0.161+).
    Raises PostkinError for a pattern with an unknown token, as Hugo refuses to build."""
    rules: list[PermalinkRule] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                rules.append(PermalinkRule("page", _section_glob(key), item))
            elif isinstance(item, dict):
                for section, pattern in item.items():
                    if isinstance(pattern, str):
                        rules.append(PermalinkRule(key, _section_glob(section), pattern))
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("pattern"), str):
                raise PostkinError(f"{where}: permalinks: each rule needs a pattern")
            target = item.get("target") or {}
            path = str(target.get("path") or "").lower()
            sites = target.get("sites") or {}
            langs = frozenset(str(x).lower() for x in string_list(
                (sites.get("matrix") or {}).get("languages") if isinstance(sites, dict) else None))
            rules.append(PermalinkRule(str(target.get("kind") or "").lower(),
                                       hp.glob_regex(path) if path else None, item["pattern"], langs))
    for rule in rules:
        for m in TOKEN.finditer(rule.pattern.replace("\\:", "\x00")):
            attr = m.group(0)[1:]
            name = attr.split("[", 1)[0]
            if name not in _KNOWN_TOKENS and not (name in ("sections", "sectionslugs") and "[" in attr) \
                    and not hp.is_go_layout(attr):
                raise PostkinError(f"{where}: permalinks: {m.group(0)!r} in {rule.pattern!r} is not a token Hugo "
                                   "knows (Hugo stops with 'permalink attribute not recognised')")
    return rules


@dataclass(frozen=True)
class ContentRoot:
    """A folder of content: `target` is where it sits in Hugo's content tree ('' for the top), `lang`
    the language of its files ('' : from their names, else the default language)."""

    folder: Path
    target: str = ""
    lang: str = ""


@dataclass
class HugoConfig:
    """What postkin needs from a Hugo configuration (see `from_config`)."""

    base_path: str = ""
    languages: tuple[str, ...] = ("en",)  # the default first
    default_language: str = "en"
    in_subdir: bool = False
    multihost: bool = False
    disabled_languages: frozenset[str] = frozenset()
    roots: list[ContentRoot] = field(default_factory=list)
    data_dir: str = "data"
    static_dir: str = "static"  # the first of staticDir: Hugo copies its files to the site's root
    build_drafts: bool = False
    build_future: bool = False
    build_expired: bool = False
    main_sections: dict[str, list[str] | None] = field(default_factory=dict)  # by language; None: Hugo picks
    taxonomies: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TAXONOMIES))
    permalinks: dict[str, list[PermalinkRule]] = field(default_factory=dict)  # by language
    dates: dict[str, list[str]] = field(default_factory=dict)
    zones: dict[str, dt.tzinfo] = field(default_factory=dict)  # by language
    ugly: bool | dict[str, bool] = False
    lower: bool = True
    accents: bool = True
    ignore: list[re.Pattern[str]] = field(default_factory=list)
    cascade: list[dict[str, Any]] = field(default_factory=list)
    capitalize_titles: bool = True
    pluralize_titles: bool = True

    @classmethod
    def from_config(cls, config: dict[str, Any], root: Path, where: str) -> HugoConfig:
        """Parse the merged configuration of the site at `root`; PostkinError for values Hugo rejects."""
        c = cls()
        base_url = str(config.get("baseurl") or "")
        c.base_path = _base_path(base_url)
        c.default_language = str(config.get("defaultcontentlanguage") or "en").lower()
        c.in_subdir = to_bool(config.get("defaultcontentlanguageinsubdir", False))
        languages: dict[str, Any] = config["languages"] if isinstance(config.get("languages"), dict) else {}
        disabled = {str(x).lower() for x in string_list(config.get("disablelanguages"))}
        disabled |= {code for code, lc in languages.items() if isinstance(lc, dict) and to_bool(lc.get("disabled"))}
        c.disabled_languages = frozenset(disabled)

        def weight(code: str) -> tuple[int, int, str]:
            lc = languages.get(code) or {}
            w = int(lc.get("weight") or 0) if isinstance(lc, dict) else 0
            return (code != c.default_language, w if w else 1 << 30, code)

        codes = sorted((k for k in languages if k not in disabled), key=weight) or [c.default_language]
        if c.default_language not in codes:
            codes.insert(0, c.default_language)
        c.languages = tuple(codes)

        def lang_value(code: str, key: str, default: Any = None) -> Any:
            lc = languages.get(code)
            if isinstance(lc, dict) and key in lc:
                return lc[key]
            if isinstance(lc, dict) and isinstance(lc.get("params"), dict) and key in lc["params"] \
                    and key == "mainsections":
                return lc["params"][key]
            return config.get(key, default)

        c.multihost = any(isinstance(languages.get(code), dict) and languages[code].get("baseurl") for code in codes)
        c.data_dir = str(config.get("datadir") or "data")
        c.static_dir = (string_list(config.get("staticdir")) or ["static"])[0]
        c.build_drafts = to_bool(config.get("builddrafts", False))
        c.build_future = to_bool(config.get("buildfuture", False))
        c.build_expired = to_bool(config.get("buildexpired", False))
        params: dict[str, Any] = config["params"] if isinstance(config.get("params"), dict) else {}
        for code in codes:
            value = lang_value(code, "mainsections")
            if value is None and "mainsections" in params:
                value = params["mainsections"]
            c.main_sections[code] = None if value is None else string_list(value)
            c.zones[code] = _zone(str(lang_value(code, "timezone") or ""), where)
            c.permalinks[code] = parse_permalinks(lang_value(code, "permalinks") or {}, where)
        if "taxonomies" in config:
            tax = config["taxonomies"]
            c.taxonomies = {str(k): str(v).lower() for k, v in tax.items()} if isinstance(tax, dict) else {}
        fm: dict[str, Any] = config["frontmatter"] if isinstance(config.get("frontmatter"), dict) else {}
        for key, defaults in DEFAULT_DATES.items():
            given = [str(v).lower() for v in string_list(fm.get(key))] if key in fm else defaults
            expanded: list[str] = []
            for item in given:
                for name in (defaults if item == ":default" else [item]):
                    for full in (name, *DATE_ALIASES.get(name, [])):
                        if full not in expanded:
                            expanded.append(full)
            c.dates[key] = expanded
        ugly = config.get("uglyurls", False)
        c.ugly = {str(k).lower(): to_bool(v) for k, v in ugly.items()} if isinstance(ugly, dict) else to_bool(ugly)
        c.lower = not to_bool(config.get("disablepathtolower", False))
        c.accents = not to_bool(config.get("removepathaccents", False))
        try:
            c.ignore = [re.compile(p) for p in string_list(config.get("ignorefiles"))]
        except re.error as exc:
            raise PostkinError(f"{where}: ignoreFiles: {exc}") from None
        cascade = config.get("cascade")
        c.cascade = [x for x in (cascade if isinstance(cascade, list) else [cascade]) if isinstance(x, dict)]
        c.capitalize_titles = to_bool(config.get("capitalizelisttitles", True))
        c.pluralize_titles = to_bool(config.get("pluralizelisttitles", True))
        c.roots = _content_roots(config, root, codes, lang_value)
        return c

    def is_ugly(self, section: str) -> bool:
        """`uglyURLs`, globally or for one section."""
        return self.ugly.get(section, False) if isinstance(self.ugly, dict) else self.ugly

    def prefix(self, lang: str) -> str:
        """The language part of a page's link ('fr' for /fr/...), '' for the default language at the root."""
        if self.multihost or len(self.languages) < 2 and not self.in_subdir:
            return ""
        return lang if lang != self.default_language or self.in_subdir else ""


def _base_path(base_url: str) -> str:
    """The path of the baseURL, '/blog/' for https://example.org/blog, '' for the host root."""
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", base_url.strip(), flags=re.I).split("?")[0].split("#")[0]
    path = path.strip("/")
    return f"/{path}/" if path else ""


def _content_roots(config: dict[str, Any], root: Path, codes: Iterable[str],
                   lang_value: Callable[[str, str, Any], Any]) -> list[ContentRoot]:
    """The content folders: `module.mounts` targeting content when there are any (they replace the
    default), else `contentDir` per language."""
    module: dict[str, Any] = config["module"] if isinstance(config.get("module"), dict) else {}
    mounts = [m for m in module.get("mounts") or [] if isinstance(m, dict)
              and str(m.get("target", "")).strip("/").split("/")[0] == "content"]
    if mounts:
        return [ContentRoot(root / str(m.get("source", "")), str(m.get("target", "")).strip("/")[len("content"):]
                            .strip("/"), _mount_language(m)) for m in mounts]
    by_dir: dict[str, list[str]] = {}
    for code in codes:
        by_dir.setdefault(str(lang_value(code, "contentdir", "content") or "content"), []).append(code)
    if len(by_dir) == 1:
        return [ContentRoot(root / next(iter(by_dir)))]
    return [ContentRoot(root / folder, "", langs[0] if len(langs) == 1 else "") for folder, langs in by_dir.items()]


def _mount_language(mount: dict[str, Any]) -> str:
    """The language of a content mount: `sites.matrix.languages` (Hugo 0.153+; one language), else the
    older `lang`; '' when the mount serves every language."""
    sites: dict[str, Any] = mount["sites"] if isinstance(mount.get("sites"), dict) else {}
    matrix: dict[str, Any] = sites["matrix"] if isinstance(sites.get("matrix"), dict) else {}
    languages = string_list(matrix.get("languages"))
    if len(languages) == 1 and not any(c in languages[0] for c in "*{[?!"):
        return languages[0].lower()
    return str(mount.get("lang") or "").lower()


# -- one content file as Hugo sees its path --------------------------------------------------------
@dataclass
class PageFile:
    """A content file's place in Hugo's tree (hugo `common/paths/pathparser.go`)."""

    source: str  # relative to Site.content
    logical: str  # path in the content tree, e.g. 'posts/Mixed Case Name.md'
    lang: str
    kind: str  # 'single', 'leaf' (x/index.md), 'branch' (_index.md)
    path: str  # Hugo's .Path: '/posts/mixed-case-name'
    unnormalized: str  # the same with its case and spaces: '/posts/Mixed Case Name'
    section: str  # top-level section, '' at the root
    content_base_name: str  # .File.ContentBaseName
    translation_base_name: str  # .File.TranslationBaseName

    @property
    def name(self) -> str:
        """The last part of .Path ('compost-heap', 'mixed-case-name')."""
        return self.path.rsplit("/", 1)[-1]


def normalize(path: str) -> str:
    """pathparser.NormalizePathStringBasic."""
    return path.lower().replace(" ", "-")


def parse_page_path(logical: str, languages: Iterable[str], default_lang: str) -> PageFile:
    """A content file's kind, language, .Path, section and names from its path in the content tree."""
    folder, name = posixpath.split(logical)
    stem, _, _ext = name.rpartition(".")
    lang = ""
    if "." in stem:
        base, _, ident = stem.rpartition(".")
        if ident.lower() in languages:
            stem, lang = base, ident.lower()
    kind = "branch" if stem.lower() == "_index" else "leaf" if stem.lower() == "index" and folder else "single"
    if kind == "single":
        unnormalized = f"/{folder}/{stem}" if folder else f"/{stem}"
        content_base_name = stem
    else:
        unnormalized = f"/{folder}" if folder else "/"
        content_base_name = posixpath.basename(folder) if kind == "leaf" else stem
    path = normalize(unnormalized)
    parts = path.strip("/").split("/")
    section = parts[0] if len(parts) >= 2 and kind != "branch" else ""
    return PageFile("", logical, lang or default_lang, kind, path, unnormalized, section, content_base_name, stem)


