"""A Pelican Writer that renders a page again only when something that feeds it changed.

Each page gets a fingerprint of everything its template can see:

- the template's name, the bytes of every file in the template folders (theme, overrides, Pelican's
  'simple' theme that themes extend), Pelican's and postkin's versions and the plugins' code;
- the site-wide context, once per build: all settings (functions by their code), every article's and
  page's metadata, URL and summary (a sidebar may list any of them), tags, categories, postkin's
  site-wide clusters;
- the page's own objects (`article`, `articles`, `articles_page`, `tag`, `period`, ...), in full:
  the article's HTML as read, its metadata and its `postkin` context.

A page is kept when the manifest (in the cache folder) says its output file was written with the
same fingerprint and the file still has the bytes written then. Anything the fingerprint cannot
describe deterministically (an object whose repr holds a memory address) makes the page render,
and so does anything that is not a file this writer already knows. Not tracked: templates that
print the current time, or read another article's full `content` on a page that does not list it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import os
import re
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.urlwrappers import URLWrapper
from pelican.utils import sanitised_join
from pelican.writers import Writer

from ..errors import PostkinError
from ..files import remove_stale_temps
from ..outputs import write_if_changed

log = logging.getLogger("pelican.plugins.postkin")

FORMAT = "postkin-pelican-pages/1"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")
# Context keys that change while pages are written and are derived from the page's name anyway.
_PER_PAGE = {"localsiteurl", "output_file"}
# Attributes of content objects that are not data of the page (or are fed separately).
_CONTENT_SKIP = {"_context", "settings", "postkin", "_content", "_summary", "translations"}


# Pelican releases this writer is tested with (tests/test_pelican_plugin.py runs its contract check on
# the installed Pelican; CI installs the newest that pyproject allows).
SUPPORTED_PELICAN = ("4.11", "4.12")


def check_pelican() -> str | None:
    """None when Pelican's Writer still has the shape this writer overrides, else what changed.

    The incremental writer replaces `Writer._open_w(filename, encoding, override)` for kept pages,
    keeps Pelican's `_written_files` / `_overridden_files` bookkeeping, wraps the template passed to
    `write_file(name, template, context, ...)` and rewrites Pelican's 'Writing "%s"' log record.
    """
    import inspect

    try:
        open_w = list(inspect.signature(Writer._open_w).parameters)
        write_file = list(inspect.signature(Writer.write_file).parameters)
        probe = Writer.__new__(Writer)
        Writer.__init__(probe, os.devnull, settings={})
        source = inspect.getsource(Writer)
    except (AttributeError, TypeError, ValueError, OSError) as exc:
        return f"pelican.writers.Writer changed ({exc})"
    problems = []
    if open_w[:4] != ["self", "filename", "encoding", "override"]:
        problems.append(f"Writer._open_w takes {open_w}")
    if write_file[:4] != ["self", "name", "template", "context"]:
        problems.append(f"Writer.write_file takes {write_file}")
    for attribute in ("_written_files", "_overridden_files"):
        if not isinstance(getattr(probe, attribute, None), set):
            problems.append(f"Writer has no {attribute} set")
    if 'Writing "%s"' not in source:
        problems.append("Writer no longer logs 'Writing \"%s\"'")
    return "; ".join(problems) or None


class Volatile(Exception):
    """A value has no stable description: the page must be rendered."""


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree_digest(folders: list[Path]) -> str:
    """Names and bytes of every file under the folders (missing folders count as empty)."""
    h = hashlib.sha256()
    for folder in folders:
        h.update(f"\0dir {folder}\0".encode())
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(f"{path.relative_to(folder).as_posix()}\0{_file_digest(path)}\0".encode())
    return h.hexdigest()


def _code_digest(code: types.CodeType) -> str:
    h = hashlib.sha256(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        h.update((_code_digest(const) if isinstance(const, types.CodeType) else repr(const)).encode())
    return h.hexdigest()


class Fingerprinter:
    """Stable digests of Pelican context values, memoised per build for content objects."""

    def __init__(self) -> None:
        self._content: dict[tuple[int, bool], bytes] = {}
        self._keep: list[Any] = []  # memo keys are ids: keep the objects alive

    def digest(self, value: Any, full: bool) -> bytes:
        """sha256 of a value; raises Volatile when it cannot be described stably."""
        h = hashlib.sha256()
        self._feed(h, value, full, set(), 0)
        return h.digest()

    def _feed(self, h: Any, value: Any, full: bool, stack: set[int], depth: int) -> None:
        if value is None or isinstance(value, (bool, int, float, str, bytes)):
            h.update(f"{type(value).__name__}:{value!r};".encode())
            return
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            h.update(f"{type(value).__name__}:{value.isoformat()}:{getattr(value, 'tzinfo', None)};".encode())
            return
        if id(value) in stack or depth > 12:
            h.update(b"<cycle>;")
            return
        stack = stack | {id(value)}
        if isinstance(value, Content):
            h.update(self._content_digest(value, full))
        elif isinstance(value, URLWrapper):
            h.update(f"{type(value).__name__}:{value.name!r}:{value.slug!r}:{value.url!r}:{value.save_as!r};"
                     .encode())
        elif isinstance(value, Page):
            h.update(f"page:{value.number}:{value.paginator.num_pages}:{value.url!r}:{value.save_as!r}:".encode())
            self._feed(h, list(value.object_list), full, stack, depth + 1)
        elif isinstance(value, Paginator):
            h.update(f"paginator:{value.name!r}:{value.count}:{value.num_pages}:{value.per_page};".encode())
        elif isinstance(value, Mapping):
            h.update(f"map{len(value)}{{".encode())
            for key in sorted(value, key=repr):
                self._feed(h, key, full, stack, depth + 1)
                self._feed(h, value[key], full, stack, depth + 1)
            h.update(b"}")
        elif isinstance(value, (list, tuple, types.MappingProxyType)) or type(value).__name__ in (
                "dict_items", "dict_values", "dict_keys", "OrderedSet", "deque"):
            h.update(b"seq{")
            for item in value:
                self._feed(h, item, full, stack, depth + 1)
            h.update(b"}")
        elif isinstance(value, (set, frozenset)):
            items = sorted(self.digest(item, full) for item in value)
            h.update(b"set{" + b"".join(items) + b"}")
        elif isinstance(value, functools.partial):
            h.update(b"partial:")
            self._feed(h, (value.func, value.args, value.keywords), full, stack, depth + 1)
        elif isinstance(value, (types.FunctionType, types.MethodType)):
            func = getattr(value, "__func__", value)
            h.update(f"func:{func.__module__}.{func.__qualname__}:{_code_digest(func.__code__)};".encode())
        elif isinstance(value, (type, types.BuiltinFunctionType, types.ModuleType)):
            h.update(f"{type(value).__name__}:{getattr(value, '__module__', '')}."
                     f"{getattr(value, '__qualname__', getattr(value, '__name__', ''))};".encode())
        else:
            text = repr(value)
            if not _ADDRESS.search(text):
                h.update(f"{type(value).__qualname__}:{text};".encode())
            elif hasattr(value, "__dict__") and not callable(value):
                h.update(f"obj:{type(value).__module__}.{type(value).__qualname__}".encode())
                self._feed(h, vars(value), full, stack, depth + 1)
            else:
                raise Volatile(f"{type(value).__qualname__} {text[:80]}")

    def _content_digest(self, content: Any, full: bool) -> bytes:
        """An article or page: light (metadata, URL, summary) for site lists; full adds its HTML and context."""
        key = (id(content), full)
        if key in self._content:
            return self._content[key]
        h = hashlib.sha256(f"content:{type(content).__name__}:{full}:".encode())
        attrs = {k: v for k, v in vars(content).items() if k not in _CONTENT_SKIP}
        attrs["url"], attrs["save_as"] = getattr(content, "url", None), getattr(content, "save_as", None)
        attrs["translations"] = [(t.source_path, t.url) for t in getattr(content, "translations", [])]
        if hasattr(content, "_content") and (full or "summary" in attrs.get("metadata", {})):
            pass  # the summary is in the metadata, or the whole HTML below covers it
        elif hasattr(content, "_content"):
            # Pelican truncates the HTML as read; links in it are fixed up from URLs (fed via the site).
            attrs["summary"] = content.get_summary("")
        if full:
            attrs["_content"] = getattr(content, "_content", None)
            attrs["postkin"] = getattr(content, "postkin", None)
        self._feed(h, attrs, False, {id(content)}, 1)
        self._content[key] = h.digest()
        self._keep.append(content)
        return self._content[key]


class PageManifest:
    """output path -> (fingerprint, sha256 of the bytes written), one JSON file per output folder."""

    def __init__(self, cache_dir: Path, output_path: str) -> None:
        self.output = Path(output_path).resolve()
        tag = hashlib.sha256(str(self.output).encode()).hexdigest()[:12]
        self.path = Path(cache_dir) / f"pelican-pages-{tag}.json"
        self.old: dict[str, dict[str, str]] = {}
        self.new: dict[str, dict[str, str]] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") == FORMAT and data.get("output") == str(self.output):
                self.old = dict(data.get("pages", {}))
        except (OSError, ValueError, AttributeError):
            pass

    def unchanged(self, rel: str, fingerprint: str, path: Path) -> bool:
        """The file exists and holds the bytes written for this same fingerprint."""
        entry = self.old.get(rel)
        if not entry or entry.get("fingerprint") != fingerprint:
            return False
        try:
            return _file_digest(path) == entry.get("sha256")
        except OSError:
            return False

    def save(self, rendered: dict[str, str], kept: dict[str, str]) -> None:
        """Record this build's pages (hashing what was just written) and drop pages not written."""
        pages = {rel: self.old[rel] for rel in kept if rel in self.old}
        for rel, fingerprint in rendered.items():
            try:
                pages[rel] = {"fingerprint": fingerprint, "sha256": _file_digest(self.output / rel)}
            except OSError:
                continue
        data = {"format": FORMAT, "output": str(self.output), "pages": dict(sorted(pages.items()))}
        remove_stale_temps(self.path.parent)
        try:
            write_if_changed(self.path, (json.dumps(data, indent=0, sort_keys=True) + "\n").encode(),
                             elsewhere="set POSTKIN cache_dir elsewhere")
        except PostkinError as exc:  # the pages are written; without a manifest the next build renders all
            log.warning("postkin: %s (the next build renders every page again)", exc)


class _KeptMessages(logging.Filter):
    """Pelican logs 'Writing "path"' after every write_file; for a kept page it says 'Kept' instead."""

    def __init__(self, kept_paths: set[str]) -> None:
        super().__init__()
        self.kept_paths = kept_paths

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == 'Writing "%s"' and args and args[0] in self.kept_paths:
            record.msg = 'Kept "%s" (unchanged)'
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


class _Tracked:
    """Wraps a Jinja template: Pelican calls render(localcontext) for each output file."""

    def __init__(self, template: Any, writer: IncrementalWriter) -> None:
        self._template = template
        self._writer = writer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._template, name)

    def render(self, localcontext: dict[str, Any]) -> str:
        if self._writer.keep(self._template, localcontext):
            return ""
        return self._template.render(localcontext)


class IncrementalWriter(Writer):
    """Pelican's Writer, keeping output files whose fingerprint matches the previous build.

    Use `IncrementalWriter.bound(...)`: Pelican creates the writer from a class, so the build's
    context and cache folder travel as attributes of a subclass made for that build.
    """

    site_context: dict[str, Any] | None = None
    extras: Mapping[str, Any] = {}
    cache_dir: Path | None = None
    on_create: Any = None

    @classmethod
    def bound(cls, site_context: dict[str, Any], cache_dir: Path, extras: Mapping[str, Any],
              on_create: Any = None) -> type[IncrementalWriter]:
        """A subclass for one build: the shared template context, cache folder, extra fingerprint inputs."""
        return type(cls.__name__, (cls,), {"site_context": site_context, "cache_dir": Path(cache_dir),
                                           "extras": dict(extras), "on_create": staticmethod(on_create)
                                           if on_create else None})

    def __init__(self, output_path: str, settings: Any = None) -> None:
        super().__init__(output_path, settings=settings)
        self.fingerprinter = Fingerprinter()
        self.manifest = PageManifest(self.cache_dir, output_path) if self.cache_dir else None
        self.rendered: dict[str, str] = {}
        self.kept: dict[str, str] = {}
        self._skipping: set[str] = set()
        self._site: bytes | None = None
        self._shared: set[int] | None = None
        self.volatile: str | None = None
        self._kept_paths: set[str] = set()
        self._messages = _KeptMessages(self._kept_paths)
        logging.getLogger("pelican.writers").addFilter(self._messages)
        if self.on_create is not None:
            self.on_create(self)

    # -- what feeds a page ---------------------------------------------------------------------

    def _template_folders(self) -> list[Path]:
        import pelican

        folders = [Path(p).expanduser() for p in self.settings.get("THEME_TEMPLATES_OVERRIDES", [])]
        folders.append(Path(self.settings["THEME"]).expanduser() / "templates")
        folders.append(Path(pelican.__file__).parent / "themes" / "simple" / "templates")
        return folders

    def _plugin_code(self) -> list[tuple[str, str]]:
        out = []
        for name in self.settings.get("PLUGINS") or []:
            module = sys.modules.get(name) if isinstance(name, str) else None
            path = Path(getattr(module, "__file__", "") or "")
            if not path.is_file():
                out.append((str(name), "?"))
                continue
            files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
            out.append((str(name), hashlib.sha256(b"".join(_file_digest(f).encode() for f in files)).hexdigest()))
        return out

    def _site_digest(self) -> bytes:
        """Everything every page can see; computed once per build, before the first page renders."""
        if self._site is None:
            import pelican

            h = hashlib.sha256(FORMAT.encode())
            context = self.site_context or {}
            self.fingerprinter._feed(h, {
                "pelican": getattr(pelican, "__version__", "?"),
                "extras": dict(self.extras),
                "plugins": self._plugin_code(),
                "templates": _tree_digest(self._template_folders()),
                "context": {k: v for k, v in context.items() if k not in _PER_PAGE},
            }, False, set(), 0)
            self._site = h.digest()
        return self._site

    def _shared_ids(self) -> set[int]:
        """ids of the site context's values, and of the article lists inside `tags`/`categories`/`authors`."""
        if self._shared is None:
            self._shared = set()
            for value in (self.site_context or {}).values():
                self._shared.add(id(value))
                if isinstance(value, list):
                    for pair in value:
                        if isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], list):
                            self._shared.add(id(pair[1]))
        return self._shared

    def fingerprint(self, template: Any, localcontext: Mapping[str, Any]) -> str:
        """Hex fingerprint of everything that feeds one output file."""
        h = hashlib.sha256(self._site_digest())
        filename = getattr(template, "filename", None)
        h.update(f"template:{getattr(template, 'name', None)!r}:{filename!r}:".encode())
        if filename and Path(filename).is_file():
            h.update(_file_digest(Path(filename)).encode())  # template pages live outside the theme
        base = self.site_context or {}
        shared = self._shared_ids()
        own = {k: v for k, v in localcontext.items()
               if k in _PER_PAGE or k not in base or base[k] is not v}
        # A site-wide list passed again under another name (Pelican's `all_articles`, the index's
        # `articles`) is described like the site context; the articles shown on the page (e.g.
        # `articles_page`, `article`, a tag's own `articles`) are described in full.
        self.fingerprinter._feed(h, {k: v for k, v in own.items() if id(v) in shared}, False, set(), 0)
        self.fingerprinter._feed(h, {k: v for k, v in own.items() if id(v) not in shared}, True, set(), 0)
        return h.hexdigest()

    # -- keep or render ------------------------------------------------------------------------

    def keep(self, template: Any, localcontext: dict[str, Any]) -> bool:
        """True when the output file may stay as it is (Pelican then writes nothing to it)."""
        name = localcontext.get("output_file")
        if not name or self.manifest is None:
            return False
        path = sanitised_join(self.output_path, name)
        try:
            rel = Path(path).resolve().relative_to(self.manifest.output).as_posix()
        except ValueError:
            return False
        try:
            fingerprint = self.fingerprint(template, localcontext)
        except Volatile as exc:
            if self.volatile is None:
                self.volatile = f"{name}: {exc}"
                log.info("postkin: rendering pages whose context has no stable description (%s)", exc)
            return False
        if path not in self._written_files and self.manifest.unchanged(rel, fingerprint, Path(path)):
            self._skipping.add(path)
            self._kept_paths.add(path)
            self.kept[rel] = fingerprint
            return True
        self.rendered[rel] = fingerprint
        return False

    def _open_w(self, filename: str, encoding: str, override: bool = False):
        if filename not in self._skipping:
            return super()._open_w(filename, encoding, override)
        self._skipping.discard(filename)
        # Writer._open_w's bookkeeping, without truncating the kept file. keep() never skips a file
        # already written in this build, so none of Writer._open_w's overwrite cases apply here.
        if override:
            self._overridden_files.add(filename)
        self._written_files.add(filename)
        return open(os.devnull, "w", encoding=encoding)

    def write_file(self, name, template, context, *args, **kwargs):
        """Pelican's write_file; the template is wrapped so that unchanged pages are not rendered."""
        if self.manifest is not None and name:
            template = _Tracked(template, self)
        return super().write_file(name, template, context, *args, **kwargs)

    def save(self) -> None:
        """Write the manifest of this build's pages."""
        logging.getLogger("pelican.writers").removeFilter(self._messages)
        if self.manifest is not None:
            self.manifest.save(self.rendered, self.kept)
