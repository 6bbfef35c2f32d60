"""Posts: the engine's one input type, and reading them from a folder of Markdown files.

Front matter is read the way real blogs write it: YAML (`---`) or TOML (`+++`), dates in the front
matter or in a Jekyll-style file name, tags as a list, a single string or a comma-separated string.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .errors import PostkinError, Problem
from .links import all_aliases, extract_links
from .text import first_paragraph, inline_text, paragraphs, split_markdown

if TYPE_CHECKING:
    from .cache import EmbeddingCache

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MARKDOWN_SUFFIXES = (".md", ".markdown")
LEDE_KEYS = ("lede", "description", "summary", "excerpt")
_DATED_NAME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-(.+)$")
_UNSAFE_SLUG = re.compile(r"[\x00-\x1f/\\]|^\.+$|^$")


@dataclass
class Post:
    """One blog post as the engine sees it, whatever site generator it came from."""

    source: str  # path relative to the content folder, with '/' separators
    slug: str
    title: str
    url: str = ""
    lede: str = ""
    headings: list[str] = field(default_factory=list)
    body: str = ""  # plain text of the body (markup, code and shortcodes removed)
    tags: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date: dt.datetime | None = None
    draft: bool = False
    popularity: float | None = None
    slug_from_name: bool = False  # slug derived from the file name, not set in front matter
    links: list[str] = field(default_factory=list)  # link targets in the source (see links.py)
    permalink: str = ""  # the URL the front matter gives (Jekyll permalink, Hugo url): wins over url_pattern
    url_slug: str = ""  # the slug for {slug} in url_pattern when `slug` had to be made unique
    aliases: list[str] = field(default_factory=list)  # other URLs of this post (permalink, redirect_from)

    def sort_date(self) -> float:
        """Seconds since the epoch (naive dates read as UTC); undated posts sort as oldest."""
        if self.date is None:
            return float("-inf")
        date = self.date if self.date.tzinfo else self.date.replace(tzinfo=dt.timezone.utc)
        return date.timestamp()


def as_list(value: Any) -> list[str]:
    """Tags or categories as a list: accepts a list, a single string or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
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


def parse_date(value: Any) -> dt.datetime | None:
    """A front-matter date (datetime, date, or an ISO-like string) as a datetime, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = str(value).strip().replace("/", "-")
    text = re.sub(r"\s+([+-]\d{2}:?\d{2}|Z)$", r"\1", text)  # '2014-01-01 10:00 +0900'
    text = re.sub(r"(?<=\d[T ])(\d)(?=:\d\d)", r"0\1", text)  # '2015-12-31T1:44': a one-digit hour
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%d %B %Y", "%B %d, %Y"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"date {value!r} is not a date (use e.g. 2024-05-01 or 2024-05-01T10:00:00)")


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return bool(value)


def check_slug(slug: str, source: str) -> str:
    """A slug that is safe as a file name inside the output folder, or PostkinError."""
    if _UNSAFE_SLUG.search(slug) or ".." in PurePosixPath(slug).parts or slug.startswith("."):
        raise PostkinError(f"{source}: slug {slug!r} is not allowed (no '/', '\\', '..', leading dot or control characters)")
    return slug


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(metadata, body) of a post; raises ValueError with a short reason when the front matter is broken."""
    import frontmatter
    import yaml

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
    handler = frontmatter.YAMLHandler()
    try:
        fm, body = handler.split(text)
    except ValueError:
        raise ValueError("YAML front matter (---) is not closed") from None
    # libyaml (CSafeLoader) is ~10x faster than PyYAML's pure-Python loader but accepts tabs where
    # the pure loader (and other generators) reject them. Front matter with a tab goes through the
    # pure loader, so a blog reads the same on every machine, fast or not.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if "\t" not in fm else yaml.SafeLoader
    try:
        metadata = yaml.load(fm, Loader=loader)  # noqa: S506 - safe loaders only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # the split keeps the opening '---' line, so the mark's line is the file's line
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"front matter is not valid YAML{where}: {problem}") from None
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ValueError("front matter is not a mapping of keys to values")
    return metadata, body


def post_from_source(raw: bytes, source: str, popularity_key: str = "views") -> Post | None:
    """A Post from a Markdown file's bytes; None when the post opts out (`postkin: false`).

    Raises ValueError with a one-line reason when the file cannot be used.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}); save the file as UTF-8") from None
    if not text.strip():
        raise ValueError("file is empty")
    metadata, body = split_front_matter(text)
    metadata = {str(k).strip().lower(): v for k, v in metadata.items()}
    if "postkin" in metadata and not truthy(metadata["postkin"]):
        return None
    stem = PurePosixPath(source).stem
    dated = _DATED_NAME.match(stem)
    headings, prose = split_markdown(body)
    paras = paragraphs(prose)
    title = inline_text(str(metadata.get("title") or "")) or (dated.group(4) if dated else stem).replace("-", " ")
    lede = next((inline_text(str(metadata[k])) for k in LEDE_KEYS if metadata.get(k)), "") or first_paragraph(paras)
    if not (title or lede or paras or headings):
        raise ValueError("post has no title and no text")
    date = parse_date(metadata.get("date"))
    if date is None and dated:
        y, m, d = (int(g) for g in dated.groups()[:3])
        try:
            date = dt.datetime(y, m, d)
        except ValueError:
            raise ValueError(f"file name date {dated.group(1)}-{dated.group(2)}-{dated.group(3)} is not a date") from None
    slug = str(metadata.get("slug") or (dated.group(4) if dated else stem)).strip()
    status = str(metadata.get("status", "")).strip().lower()
    draft = truthy(metadata.get("draft", False)) or ("published" in metadata and not truthy(metadata["published"])) \
        or status in ("draft", "hidden")
    popularity = metadata.get(popularity_key.lower())
    if popularity is not None:
        try:
            popularity = float(popularity)
        except (TypeError, ValueError):
            raise ValueError(f"'{popularity_key}' must be a number, got {popularity!r}") from None
    return Post(
        source=source,
        slug=check_slug(slug, source),
        title=title,
        lede=lede,
        headings=headings,
        body="\n".join(paras),
        tags=as_list(metadata.get("tags", metadata.get("tag"))),
        categories=as_list(metadata.get("categories", metadata.get("category"))),
        date=date,
        draft=draft,
        popularity=popularity,
        slug_from_name=not metadata.get("slug"),
        links=extract_links(body),
        permalink=_permalink(metadata),
        aliases=all_aliases(metadata),
    )


def _parser_version() -> str:
    """Changes whenever the code that turns a file into a Post changes, so cached posts never go stale."""
    global _PARSER_VERSION
    if _PARSER_VERSION is None:
        digest = hashlib.sha256()
        here = Path(__file__).parent
        for name in ("posts.py", "text.py", "links.py"):
            digest.update((here / name).read_bytes())
        _PARSER_VERSION = digest.hexdigest()[:16]
    return _PARSER_VERSION


_PARSER_VERSION: str | None = None


def _to_json(post: Post | None) -> str:
    if post is None:
        return "null"
    data = dataclasses.asdict(post)
    data["date"] = post.date.isoformat() if post.date else None
    return json.dumps(data, ensure_ascii=False)


def _from_json(text: str) -> Post | None:
    data = json.loads(text)
    if data is None:
        return None
    data["date"] = dt.datetime.fromisoformat(data["date"]) if data["date"] else None
    return Post(**data)


def _permalink(metadata: dict) -> str:
    """The post's own URL from front matter, unless it is a pattern (Jekyll ':year', Hugo ':slug')."""
    for key in ("permalink", "url"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip() and ":" not in value.split("://")[-1]:
            return value.strip()
    return ""


def read_posts(content_dir: Path, popularity_key: str = "views",
               cache: "EmbeddingCache | None" = None) -> tuple[list[Post], list[Problem], int]:
    """Every Markdown post under `content_dir`: (posts, problems, number opted out).

    Files are read in sorted order so results never depend on the file system's listing order. With a
    cache, a file whose bytes (and path) were parsed before is not parsed again: parsing YAML and
    Markdown is most of a warm build's reading time (0.37 s of 0.38 s for 18F's 509 posts).
    """
    if not content_dir.is_dir():
        raise PostkinError(f"{content_dir}: content folder not found")
    posts: list[Post] = []
    problems: list[Problem] = []
    opted_out = 0
    files = sorted(
        p for p in content_dir.rglob("*")
        if p.suffix.lower() in MARKDOWN_SUFFIXES and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(content_dir).parts)
    )
    raws: list[tuple[str, bytes, str]] = []
    for path in files:
        source = path.relative_to(content_dir).as_posix()
        try:
            raw = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(source, f"cannot read ({exc.strerror})"))
            continue
        key = hashlib.sha256(b"\0".join([source.encode(), popularity_key.encode(), raw])).hexdigest()
        raws.append((source, raw, key))
    version = _parser_version()
    cached = cache.get_parsed(version, [key for _, _, key in raws]) if cache is not None else {}
    parsed_now: dict[str, str] = {}
    for source, raw, key in raws:
        if key in cached:
            post = _from_json(cached[key])
            if post is None:
                opted_out += 1
            else:
                posts.append(post)
            continue
        try:
            post = post_from_source(raw, source, popularity_key)
            parsed_now[key] = _to_json(post)
        except PostkinError as exc:
            problems.append(Problem(source, str(exc).split(": ", 1)[-1]))
            continue
        except ValueError as exc:
            problems.append(Problem(source, str(exc)))
            continue
        if post is None:
            opted_out += 1
        else:
            posts.append(post)
    if cache is not None and parsed_now:
        cache.put_parsed(version, parsed_now)
    disambiguate_slugs(posts)
    return posts, problems, opted_out


def disambiguate_slugs(posts: list[Post]) -> None:
    """Posts whose file-name slugs collide (2023-05-08-x.md, 2024-01-12-x.md) keep their dated stem.

    Jekyll tells such posts apart by the date in their URL; postkin needs unique slugs as keys, so it
    uses the whole file stem for them. Slugs set in front matter are never changed.
    """
    count: dict[str, int] = {}
    for post in posts:
        count[post.slug] = count.get(post.slug, 0) + 1
    for post in posts:
        if count[post.slug] > 1 and post.slug_from_name:
            post.url_slug = post.slug  # the URL keeps the name: Jekyll's dated URLs tell them apart
            post.slug = PurePosixPath(post.source).stem


def check_unique_slugs(posts: list[Post]) -> None:
    """Two posts with one slug would overwrite each other's output: an error naming both files."""
    seen: dict[str, str] = {}
    for post in posts:
        if post.slug in seen:
            raise PostkinError(
                f"{post.source}: slug {post.slug!r} is also used by {seen[post.slug]}; give one of them another slug")
        seen[post.slug] = post.source


def render_url(pattern: str, post: Post) -> str:
    """A post's URL: its front-matter permalink, else the pattern such as '/{year}/{month}/{day}/{slug}/'."""
    if post.permalink:
        return post.permalink
    date = post.date
    values: Mapping[str, str] = {
        "slug": post.url_slug or post.slug,
        "year": f"{date.year:04d}" if date else "",
        "month": f"{date.month:02d}" if date else "",
        "day": f"{date.day:02d}" if date else "",
        "category": post.categories[0] if post.categories else "",
        "source_stem": PurePosixPath(post.source).stem,
    }
    try:
        url = pattern.format_map(values)
    except (KeyError, ValueError, IndexError) as exc:
        raise PostkinError(f"url_pattern {pattern!r}: unknown field {exc}; use {{slug}} {{year}} {{month}} {{day}} {{category}} {{source_stem}}") from None
    return re.sub(r"(?<!:)/{2,}", "/", url)
