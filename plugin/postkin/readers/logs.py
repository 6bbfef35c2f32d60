"""Web-server access logs -> page views and reading sessions of request paths.

Formats: the NCSA combined format that nginx (`log_format combined`, its default) and Apache
(`LogFormat ... combined`) write, Apache's vhost_combined and common formats, any Apache `LogFormat`
string (setting `reader_log_format`), and Amazon CloudFront's standard (W3C, tab-separated) log. Files
may be plain or gzip (recognised by their first bytes, not their name).

Parsing uses `apachelogs` (maintained, parses any Apache LogFormat directive, so a site with a custom
format names it instead of writing a regex); bots are recognised with `crawlerdetect`, a port of
JayBizzle's Crawler-Detect whose pattern list is updated with every release, plus two rules of log
analysers (AWStats): a client with no User-Agent, or one that asks for /robots.txt, is a robot.

A page view is a GET answered 2xx or 304 for a path that is not a file (no extension but .html/.htm);
HEAD requests, errors, redirects and assets are skipped. Sessions follow Google Analytics' default rule:
a client's views end a session after 30 minutes without a request (GA also cuts at midnight and on a new
campaign; neither is in a log). A client is its address and User-Agent, hashed with a salt drawn for
this process: addresses never leave memory, and a session is kept only as its sequence of paths,
without times or client.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .paths import request_key

SESSION_GAP = 30 * 60  # seconds of inactivity that end a session (Google Analytics' default)
_PAGE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_PAGE_OK = (".html", ".htm")
# A CSV header of column names; an access-log line always has '[' (its time) or a tab (CloudFront).
_CSV_HEADER = re.compile(r'^"?[A-Za-z_][\w .()/+-]*"?(?:,"?[A-Za-z_][\w .()/+-]*"?)+$')
_SALT = os.urandom(16)  # per process: the same client hashes differently in every build


@dataclass
class FileReport:
    """What reading one log file found; `first_malformed` is a 1-based line number or 0."""

    lines: int = 0
    views: int = 0
    bots: int = 0
    skipped: int = 0  # not a post's page view: assets, errors, redirects, HEAD/POST, other pages
    malformed: int = 0
    first_malformed: int = 0
    sessions: int = 0


@dataclass
class LogData:
    """Sessions (lists of paths as url_keys, in reading order), page views per path."""

    sessions: list[list[str]] = field(default_factory=list)
    views: dict[str, float] = field(default_factory=dict)
    report: FileReport = field(default_factory=FileReport)


def open_bytes(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped when it starts with the gzip magic number."""
    raw = open(path, "rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.open(raw, "rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def text_lines(handle: IO[bytes]) -> Iterator[str]:
    """Lines of a log as text: UTF-8, undecodable bytes replaced (a log is not always valid UTF-8)."""
    return io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")


@functools.lru_cache(maxsize=65536)
def is_bot(user_agent: str) -> bool:
    """True for crawlers, monitors and HTTP libraries (Crawler-Detect's list), and for no User-Agent."""
    agent = user_agent.strip()
    return not agent or agent == "-" or _detector().isCrawler(agent)


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    from crawlerdetect import CrawlerDetect

    return CrawlerDetect()


def is_page(path: str) -> bool:
    """A request path that names a page, not an asset: no file extension, or .html / .htm."""
    last = path.split("?", 1)[0].rsplit("/", 1)[-1].lower()
    return not _PAGE_SUFFIX.search(last) or last.endswith(_PAGE_OK)


@dataclass
class Request:
    """One parsed log line: time (seconds since the epoch), client, method, target, status, User-Agent."""

    time: float
    client: str
    method: str
    target: str
    status: int
    agent: str


def _client(address: str, agent: str) -> bytes:
    return hashlib.blake2b(f"{address}\0{agent}".encode("utf-8", "replace"), key=_SALT, digest_size=8).digest()


# ---------------------------------------------------------------------------------------- formats
def _apache_parser(fmt: str) -> Any:
    import apachelogs

    # encoding/errors: how apachelogs decodes the \xNN escapes Apache and nginx write for raw bytes
    return apachelogs.LogParser(fmt, encoding="utf-8", errors="replace")


AUTO_FORMATS = ("combined", "vhost_combined", "common")


def _apache_requests(lines: Iterator[str], fmt: str | None, report: FileReport) -> Iterator[Request]:
    """Requests of an Apache/nginx log in `fmt` (an Apache LogFormat), or the first of AUTO_FORMATS
    that parses the first well-formed line."""
    import apachelogs

    candidates = [_apache_parser(fmt)] if fmt else [
        _apache_parser(getattr(apachelogs, name.upper())) for name in AUTO_FORMATS]
    parser = candidates[0] if fmt else None
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        report.lines += 1
        entry = None
        for candidate in [parser] if parser else candidates:
            try:
                entry = candidate.parse(line)
            except apachelogs.Error:
                continue
            parser = candidate
            break
        request = _apache_request(entry) if entry is not None else None
        if request is None:
            report.malformed += 1
            report.first_malformed = report.first_malformed or number
            continue
        yield request


def _apache_request(entry: Any) -> Request | None:
    """The Request of one apachelogs LogEntry, None when the entry lacks the time, request or status."""
    when = getattr(entry, "request_time", None)
    line = getattr(entry, "request_line", None)
    status = getattr(entry, "final_status", None) or getattr(entry, "status", None)
    if when is None or not line or status is None:
        return None
    parts = line.split(" ")
    if len(parts) < 2:
        return None
    headers = getattr(entry, "headers_in", None) or {}
    agent = headers.get("User-Agent") or ""
    return Request(when.timestamp(), str(entry.remote_host), parts[0], parts[1], int(status), agent)


def _cloudfront_requests(lines: Iterator[str], report: FileReport) -> Iterator[Request]:
    """Requests of a CloudFront standard log: '#Fields:' names the tab-separated columns; the URI stem
    and the User-Agent are URL-encoded (AWS: 'CloudFront standard log file fields')."""
    from urllib.parse import unquote

    columns: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                columns = {name: i for i, name in enumerate(line[len("#Fields:"):].split())}
            continue
        if not line.strip():
            continue
        report.lines += 1
        cells = line.split("\t")
        try:
            when = dt.datetime.fromisoformat(f"{cells[columns['date']]}T{cells[columns['time']]}+00:00")
            query = cells[columns["cs-uri-query"]] if "cs-uri-query" in columns else "-"
            stem = cells[columns["cs-uri-stem"]]
            yield Request(when.timestamp(), cells[columns["c-ip"]], cells[columns["cs-method"]],
                          stem + (f"?{query}" if query not in ("", "-") else ""),
                          int(cells[columns["sc-status"]]), unquote(cells[columns["cs(User-Agent)"]]))
        except (KeyError, IndexError, ValueError):
            report.malformed += 1
            report.first_malformed = report.first_malformed or number


def sniff(head: bytes) -> str:
    """'cloudfront', 'export' (an analytics CSV or ZIP) or 'access' from a file's first bytes."""
    if head.startswith(b"PK\x03\x04"):
        return "export"
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if first.startswith("#Version:") or first.startswith("#Fields:"):
        return "cloudfront"
    if first.startswith("#") or _CSV_HEADER.match(first):
        return "export"  # GA4 opens with '# ---' comment lines; Plausible/Umami with a CSV header
    return "access"


# ---------------------------------------------------------------------------------------- reading
def read_access_log(path: Path, fmt: str | None = None, keep: Callable[[str], bool] | None = None) -> LogData:
    """Page views and sessions of one access log (nginx/Apache or CloudFront, plain or gzip), over the
    paths (url_keys, see paths.request_key) for which `keep` is true (default: every page).

    Malformed lines are counted in the report, never raised; OSError propagates (unreadable file).
    """
    with open_bytes(path) as handle:
        head = handle.read(4096)
    kind = sniff(head)
    data = LogData()
    report = data.report
    clients: dict[bytes, list[tuple[float, str]]] = {}
    robots: set[bytes] = set()
    with open_bytes(path) as handle:
        lines = text_lines(handle)
        requests = _cloudfront_requests(lines, report) if kind == "cloudfront" else _apache_requests(lines, fmt, report)
        for request in requests:
            client = _client(request.client, request.agent)
            target = request.target
            if target.split("?", 1)[0].rstrip("/").endswith("/robots.txt") or target.startswith("robots.txt"):
                robots.add(client)
            if is_bot(request.agent):
                report.bots += 1
                continue
            if request.method != "GET" or not (200 <= request.status < 300 or request.status == 304) \
                    or not is_page(target):
                report.skipped += 1
                continue
            page = request_key(target)
            if keep is None or keep(page):
                clients.setdefault(client, []).append((request.time, page))
            else:
                report.skipped += 1
    for client, hits in clients.items():
        if client in robots:
            report.bots += len(hits)
            continue
        report.views += len(hits)
        for _, page in hits:
            data.views[page] = data.views.get(page, 0.0) + 1
        data.sessions.extend(sessionise(hits))
    report.sessions = len(data.sessions)
    return data


def sessionise(hits: list[tuple[float, str]], gap: float = SESSION_GAP) -> list[list[str]]:
    """One client's (time, path) views -> sessions: a new one after `gap` seconds without a view;
    a page viewed again straight away (a reload) counts once."""
    sessions: list[list[str]] = []
    last = float("-inf")
    for when, page in sorted(hits):
        if when - last > gap:
            sessions.append([])
        if not sessions[-1] or sessions[-1][-1] != page:
            sessions[-1].append(page)
        last = when
    return sessions
