"""The one front-matter normaliser: every host and dialect reads metadata values through these functions.

Front matter is YAML (`---`) or TOML (`+++`). Values are read the way real blogs write them: tags as a
list, a single string or a comma-separated string; numbers with thousands separators (`"1,200"`); dates
in the forms generators accept; booleans as YAML/TOML booleans or `"true"`/`"yes"`. Dialects decide
what a key *means* for their generator; this module only decides how a value is *read*.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# A YAML alias may point at a list that is itself made of aliases: 10 levels of 10 give 10**10 values
# from a few hundred bytes ("billion laughs"). PyYAML shares the objects, so loading is cheap, but
# anything that walks or prints the value explodes (a title of 5.5 GB). Front matter that uses aliases
# is measured first, counting every value as often as aliases repeat it.
MAX_EXPANDED_VALUES = 10_000
# Files any dialect may read as posts.
MARKDOWN_SUFFIXES = (".md", ".markdown")
# The keys tags and categories are read from, in order (the first present wins).
TAG_KEYS = ("tags", "tag")
CATEGORY_KEYS = ("categories", "category")
# Values quoted in messages are cut to this many characters.
QUOTE_LIMIT = 80


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """repr(value) cut to `limit` characters, for one-line messages."""
    text = repr(value) if len(str(value)) <= 4 * limit else repr(str(value)[: 4 * limit])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def has_front_matter(raw: bytes) -> bool:
    """True when a file's bytes open with a YAML (`---`) or TOML (`+++`) front-matter fence."""
    head = raw[:8].lstrip(b"\xef\xbb\xbf")
    return bool(re.match(rb"(---|\+\+\+)[ \t]*\r?\n", head + b"\n"))


def _expanded_values(node: Any, memo: dict[int, int]) -> int:
    """Number of values a composed YAML node stands for once every alias is expanded (memoised)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a node that (illegally) contains itself counts once
    value = node.value
    if isinstance(value, list):
        total = 1
        for item in value:
            if isinstance(item, tuple):  # mapping: (key node, value node)
                total += _expanded_values(item[0], memo) + _expanded_values(item[1], memo)
            else:
                total += _expanded_values(item, memo)
            if total > MAX_EXPANDED_VALUES:
                break
    else:
        total = 1
    memo[key] = total
    return total


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(metadata, body) of a post; ({}, text) when it has no front matter.

    Raises ValueError with a short reason (the line, where YAML gives it) when the front matter is
    not closed, does not parse, is not a mapping, or expands YAML aliases beyond MAX_EXPANDED_VALUES.
    """
    import yaml
    from frontmatter import YAMLHandler  # type: ignore[attr-defined]  # exported, but not in __all__

    if text.startswith("\ufeff"):
        text = text[1:]
    if text.startswith("+++"):
        match = re.match(r"^\+\+\+[ \t]*\r?\n(.*?)^\+\+\+[ \t]*\r?$\n?(.*)", text, re.S | re.M)
        if not match:
            raise ValueError("TOML front matter (+++) is not closed")
        try:
            return tomllib.loads(match.group(1)), match.group(2)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"TOML front matter does not parse ({exc})") from None
    if not re.match(r"^---[ \t]*\r?\n", text):
        return {}, text
    handler = YAMLHandler()
    try:
        fm, body = handler.split(text)
    except ValueError:
        raise ValueError("YAML front matter (---) is not closed") from None
    # libyaml (CSafeLoader) is ~10x faster than PyYAML's pure-Python loader but accepts tabs where
    # the pure loader (and other generators) reject them. Front matter with a tab goes through the
    # pure loader, so a blog reads the same on every machine, fast or not.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if "\t" not in fm else yaml.SafeLoader
    try:
        if "*" in fm and "&" in fm:  # aliases: measure before anything walks the values
            node = yaml.compose(fm, Loader=loader)
            if node is not None and _expanded_values(node, {}) > MAX_EXPANDED_VALUES:
                raise ValueError(f"front matter repeats YAML aliases into more than {MAX_EXPANDED_VALUES:,} "
                                 "values; write the values out instead of nesting aliases")
        metadata = yaml.load(fm, Loader=loader)  # noqa: S506 - safe loaders only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # the split keeps the opening '---' line, so the mark's line is the file's line
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"front matter is not valid YAML{where}: {problem}") from None
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        # PyYAML's safe constructors raise plain Python errors for explicit tags on values they cannot
        # hold (`!!timestamp "J"`: AttributeError; `!!int "x"`, a 5,000-digit int: ValueError)
        if str(exc).startswith("front matter repeats YAML aliases"):
            raise
        raise ValueError("front matter is not valid YAML: a value its YAML tag cannot hold "
                         f"({quote(str(exc))})") from None
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ValueError("front matter is not a mapping of keys to values")
    return metadata, body


def lower_keys(metadata: Mapping[Any, Any]) -> dict[str, Any]:
    """Keys stripped and lower-cased (`Title:` and `title:` are one key to every generator postkin reads)."""
    return {str(k).strip().lower(): v for k, v in metadata.items()}


def first(metadata: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present (`tags` before `tag`), or None."""
    for key in keys:
        if key in metadata:
            return metadata[key]
    return None


def tags_value(metadata: Mapping[Any, Any]) -> Any:
    """The raw tags value of a post's front matter (any key case; `tags` before `tag`), or None."""
    return first(lower_keys(metadata), *TAG_KEYS)


def as_list(value: Any, separator: str | None = ",") -> list[str]:
    """Tags or categories as a list of distinct strings, in the author's order and spelling.

    Accepts a list, a single string, or a string of several split on `separator` (',' by default;
    None keeps the string whole, as Hugo's taxonomies and Astro's schemas do; ' ' splits on white
    space, as Jekyll does). Each item is stripped. Eleventy 3 also splits a string on ',' but keeps the
    spaces around each tag (`TemplateData.getCleanedTagsImmutable`: "a, b" is "a" and " b"); its
    dialect reads tags with `dialects.eleventy.clean_tags`, not with this function.
    """
    if value is None:
        return []
    items: Iterable[Any]
    if isinstance(value, str):
        items = value.split() if separator == " " else value.split(separator) if separator else [value]
    elif isinstance(value, (list, tuple, set)):
        items = value
    else:
        items = [value]
    out: list[str] = []
    for item in items:
        if item is None or isinstance(item, (dict, list)):
            continue
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out


def number(value: Any, key: str) -> float | None:
    """A count such as page views: 1200, 1200.0, "1,200", "1 200" or "1_200"; None when absent.

    Raises ValueError naming `key` when the value is not a number.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"'{key}' must be a number, got {quote(value)}")
    if isinstance(value, (int, float)):
        return float(value)
    text = re.sub(r"(?<=\d)[,_\s\u00a0\u202f](?=\d{3}\b)", "", str(value).strip())
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"'{key}' must be a number, got {quote(value)}") from None


def truthy(value: Any) -> bool:
    """A front-matter flag: YAML/TOML booleans, or the strings true/yes/1/on (any case)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return bool(value)


# Front-matter keys of the editorial controls (controls.py): the posts listed first on this post's page, by
# key, source path or URL; and `false`: this post is listed on no other page, but keeps its own lists.
PIN_KEY = "postkin_pin"
RECOMMEND_KEY = "postkin_recommend"


def pins(metadata: Mapping[str, Any]) -> list[str]:
    """The posts a post pins (`postkin_pin` in the lower-cased front matter: a list, one string, or a
    comma-separated string), as written; [] when absent."""
    return as_list(metadata.get(PIN_KEY))


def recommended(metadata: Mapping[str, Any]) -> bool:
    """False when the (lower-cased) front matter says `postkin_recommend: false`: the post may not be listed
    on other pages."""
    return truthy(metadata[RECOMMEND_KEY]) if RECOMMEND_KEY in metadata else True


def opted_out(metadata: Mapping[str, Any]) -> bool:
    """`postkin: false` in the (lower-cased) front matter: the post is left out of postkin entirely."""
    return "postkin" in metadata and not truthy(metadata["postkin"])


# Eleventy's documented date keywords: the file's own dates (https://www.11ty.dev/docs/dates/).
FILE_DATE_KEYWORDS = {"created": "created", "last modified": "modified",
                      "git created": "created", "git last modified": "modified"}


def parse_date(value: Any, file_dates: Callable[[str], dt.datetime | None] | None = None) -> dt.datetime | None:
    """A front-matter date as a datetime, or None when absent.

    Accepts a datetime, a date, an ISO-like string, a mapping with `created` (Material for MkDocs'
    `date: {created: ..., updated: ...}`), and Eleventy's keywords `Created` / `Last Modified` (and
    their `git` forms), which `file_dates("created" | "modified")` answers from the file itself (None
    without it: the keyword is then no date). Raises ValueError (value quoted, cut short) otherwise.
    """
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        lowered = lower_keys(value)
        if "created" not in lowered:
            raise ValueError(f"date {quote(value)} is a mapping without 'created' (use date: {{created: 2024-05-01}})")
        return parse_date(lowered["created"], file_dates)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    keyword = FILE_DATE_KEYWORDS.get(" ".join(str(value).split()).lower()) if isinstance(value, str) else None
    if keyword is not None:
        return file_dates(keyword) if file_dates is not None else None
    text = str(value).strip().replace("/", "-")
    text = re.sub(r"\s+([+-]\d{2}:?\d{2}|Z)$", r"\1", text)  # '2014-01-01 10:00 +0900'
    text = re.sub(r"(?<=\d[T ])(\d)(?=:\d\d)", r"0\1", text)  # '2015-12-31T1:44': a one-digit hour
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%d %B %Y", "%B %d, %Y", "%b %d %Y"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"date {quote(value)} is not a date (use e.g. 2024-05-01 or 2024-05-01T10:00:00)")


def generic_draft(metadata: Mapping[str, Any]) -> bool:
    """The draft flags most generators share: `draft: true`, `published: false`, `status: draft|hidden`."""
    status = str(metadata.get("status", "")).strip().lower()
    return (truthy(metadata.get("draft", False))
            or ("published" in metadata and not truthy(metadata["published"]))
            or status in ("draft", "hidden"))
