"""Reader logs: access logs (nginx/Apache combined, vhost, custom LogFormat, CloudFront) and analytics
exports (GA4, Plausible, Umami), gzip or plain, with bots, malformed lines and paths to normalise."""

from __future__ import annotations

import gzip
import io
import logging
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("apachelogs", reason="needs the readers extra: pip install 'postkin[readers]'")
pytest.importorskip("crawlerdetect", reason="needs the readers extra: pip install 'postkin[readers]'")

from postkin.corpus import Post  # noqa: E402
from postkin.readers import PostPaths, log_files, post_sessions, read_logs  # noqa: E402
from postkin.readers.exports import read_export  # noqa: E402
from postkin.readers.logs import read_access_log, sessionise  # noqa: E402
from postkin.readers.paths import request_key  # noqa: E402
from postkin.readers.store import FILE_NAME, ReaderStore  # noqa: E402

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CURL = "curl/8.5.0"


@pytest.fixture
def posts() -> list[Post]:
    """Four posts with the URL shapes generators write: dated folders, .html files, an alias."""
    return [
        Post(source="a.md", slug="cafe", title="Café notes", url="/2024/01/02/café-notes/"),
        Post(source="b.md", slug="pelican", title="Pelican", url="posts/pelican.html"),
        Post(source="c.md", slug="moved", title="Moved", url="/2024/03/04/new-name/", aliases=["/old-name/"]),
        Post(source="d.md", slug="plain", title="Plain", url="/plain/"),
    ]


def by_post(views, paths: PostPaths) -> dict[str, float]:
    out: dict[str, float] = {}
    for page, n in views.items():
        out[paths.key(page)] = out.get(paths.key(page), 0) + n
    return out


def combined(ip: str, when: str, target: str, status: int = 200, agent: str = CHROME, method: str = "GET") -> str:
    return f'{ip} - - [10/Oct/2024:{when} +0000] "{method} {target} HTTP/1.1" {status} 512 "-" "{agent}"'


def test_every_spelling_of_a_post_url_in_a_log_finds_the_post(posts) -> None:
    paths = PostPaths(posts)
    same = ["/2024/01/02/caf%C3%A9-notes/", "/2024/01/02/café-notes", "https://blog.example/2024/01/02/caf%C3%A9-notes/?utm_source=rss#top",
            "/2024/01/02/café-notes/index.html", "//2024/01/02//café-notes/", "/2024/01/02/Caf%C3%A9-Notes/"]
    assert {request_key(u) for u in same} == {"2024/01/02/café-notes"}
    assert {paths.key(request_key(u)) for u in same} == {"cafe"}
    assert paths.key(request_key("/posts/pelican.html?x=1")) == paths.key(request_key("/posts/pelican/")) == "pelican"
    assert paths.key(request_key("/old-name/")) == "moved"  # an alias
    assert paths.key(request_key("/blog/posts/pelican.html")) == "pelican"  # a site served under /blog/
    assert paths.key(request_key("https://blog.example/")) is None and paths.key(request_key("/index.html")) is None


def test_nginx_combined_gzip_with_bots_malformed_lines_and_paths(tmp_path: Path, posts, caplog) -> None:
    lines = [
        # reader 1: cafe (percent-encoded), pelican (query string), an asset, moved (old alias), all < 30 min
        combined("203.0.113.7", "13:00:00", "/2024/01/02/caf%C3%A9-notes/"),
        combined("203.0.113.7", "13:02:00", "/posts/pelican.html?utm_source=feed"),
        combined("203.0.113.7", "13:02:01", "/theme/css/site.css"),
        combined("203.0.113.7", "13:05:00", "/old-name/index.html"),
        # reader 1 again after 40 minutes: a new session; absolute URL target, no trailing slash, a reload
        combined("203.0.113.7", "13:45:00", "https://blog.example/plain"),
        combined("203.0.113.7", "13:45:10", "/plain/", status=304),
        combined("203.0.113.7", "13:46:00", "/2024/03/04/new-name/"),
        # reader 2 (same address, another browser): one post, a 404, a HEAD, a POST
        combined("203.0.113.7", "13:00:30", "/posts/pelican.html", agent=SAFARI),
        combined("203.0.113.7", "13:01:00", "/missing/", status=404, agent=SAFARI),
        combined("203.0.113.7", "13:01:10", "/plain/", method="HEAD", agent=SAFARI),
        combined("203.0.113.7", "13:01:20", "/plain/", method="POST", agent=SAFARI),
        # not readers: a search engine, an HTTP library, no User-Agent, a client that asked for robots.txt
        combined("66.249.66.1", "13:00:00", "/posts/pelican.html", agent=GOOGLEBOT),
        combined("198.51.100.2", "13:00:00", "/plain/", agent=CURL),
        combined("198.51.100.3", "13:00:00", "/plain/", agent="-"),
        combined("198.51.100.4", "13:00:00", "/robots.txt", agent=CHROME + " x"),
        combined("198.51.100.4", "13:00:05", "/posts/pelican.html", agent=CHROME + " x"),
        # malformed: garbage, a truncated line, a TLS handshake sent to the HTTP port
        "this is not a log line",
        '203.0.113.9 - - [10/Oct/2024:13:00:00 +0000] "GET /plain/ HTTP/1.1" 200',
        '203.0.113.9 - - [10/Oct/2024:13:00:00 +0000] "\\x16\\x03\\x01\\x02" 400 157 "-" "-"',
        # the home page and a tag page: views of pages that are not posts
        combined("203.0.113.8", "13:00:00", "/"),
        combined("203.0.113.8", "13:00:10", "/tag/python.html"),
    ]
    log = tmp_path / "access.log.1.gz"  # gzip is recognised by its bytes: name it anything
    log.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    paths = PostPaths(posts)
    data = read_access_log(log, keep=lambda page: paths.key(page) is not None)
    assert [[paths.key(p) for p in s] for s in data.sessions] == [["cafe", "pelican", "moved"], ["plain", "moved"],
                                                                   ["pelican"]]
    assert by_post(data.views, paths) == {"cafe": 1, "pelican": 2, "moved": 2, "plain": 2}
    r = data.report
    # bots: Googlebot, curl, no User-Agent, and the page the robots.txt client read (robots.txt is no page)
    assert (r.lines, r.views, r.malformed, r.first_malformed, r.bots) == (len(lines), 7, 3, 17, 4)
    assert r.skipped == 7  # asset, 404, HEAD, POST, robots.txt, home page, tag page

    with ReaderStore(tmp_path / "cache") as store, caplog.at_level(logging.INFO, logger="postkin"):
        summary = read_logs([log], store, paths)
        assert post_sessions(store.sessions(), paths) == sorted([["cafe", "pelican", "moved"], ["plain", "moved"]])
    line = summary.line()
    assert "\n" not in line and "3 malformed (first: access.log.1.gz line 17)" in line
    assert "4 bot requests" in line and "7 post views" in line


def test_apache_vhost_combined_and_custom_logformat(tmp_path: Path, posts) -> None:
    vhost = tmp_path / "other_vhosts_access.log"
    vhost.write_text("\n".join([
        f'blog.example:443 {combined("192.0.2.1", "08:00:00", "/plain/")}',
        f'blog.example:443 {combined("192.0.2.1", "08:10:00", "/posts/pelican.html")}',
    ]) + "\n")
    assert read_access_log(vhost).sessions == [["plain", "posts/pelican"]]
    # nginx with the forwarded-for address appended: named with the setting reader_log_format
    custom = tmp_path / "custom.log"
    custom.write_text(f'{combined("10.0.0.1", "08:00:00", "/plain/")} "198.51.100.20"\n'
                      f'{combined("10.0.0.1", "08:01:00", "/old-name/")} "198.51.100.20"\n')
    fmt = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{X-Forwarded-For}i"'
    assert read_access_log(custom).report.malformed == 2  # not the combined format
    assert read_access_log(custom, fmt).sessions == [["plain", "old-name"]]


def test_cloudfront_standard_log_gzip(tmp_path: Path, posts) -> None:
    fields = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
              "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id")

    def row(time: str, stem: str, query: str = "-", agent: str = CHROME, status: str = "200") -> str:
        return "\t".join(["2024-10-10", time, "NRT57-C1", "1024", "192.0.2.44", "GET", "d111.cloudfront.net",
                          stem, status, "-", agent.replace(" ", "%20"), query, "-", "Hit", "abc=="])

    text = "\n".join([
        "#Version: 1.0", f"#Fields: {fields}",
        row("09:00:00", "/2024/01/02/caf%C3%A9-notes/", query="utm_medium=social"),
        row("09:03:00", "/posts/pelican.html"),
        row("09:04:00", "/posts/pelican.html", agent=GOOGLEBOT),
        "2024-10-10\t09:05:00\tNRT57-C1",  # cut short
        row("09:06:00", "/old-name/"),
    ]) + "\n"
    log = tmp_path / "E2ABCDEF.2024-10-10-09.a1b2c3.gz"
    log.write_bytes(gzip.compress(text.encode()))
    data = read_access_log(log)
    paths = PostPaths(posts)
    assert [[paths.key(p) for p in s] for s in data.sessions] == [["cafe", "pelican", "moved"]]
    assert (data.report.bots, data.report.malformed, data.report.first_malformed) == (1, 1, 6)


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
        archive.writestr("browsers.csv", "x,y\nFirefox,3\n")
    return buffer.getvalue()


def test_analytics_exports_give_page_views_not_sessions(tmp_path: Path, posts, caplog) -> None:
    ga4 = tmp_path / "ga4-pages.csv"
    ga4.write_text("# ----------------------------------------\n# Pages and screens: Page path and screen class\n"
                   "# Start date: 20240101\n# End date: 20240131\n# ----------------------------------------\n\n"
                   "Page path and screen class,Views,Active users\n,1520,800\n"  # the totals row has no page
                   "/2024/01/02/caf%C3%A9-notes/,1200,640\n/posts/pelican.html,\"1,300\",500\n/tag/x/,20,4\n"
                   "/plain/,not a number,1\n", encoding="utf-8")
    plausible = tmp_path / "plausible_export.zip"
    plausible.write_bytes(_zip("imported_pages_20240101_20240131.csv",
                               "date,hostname,page,visits,visitors,pageviews,exits,time_on_page\n"
                               "2024-01-01,blog.example,/plain/,3,3,4,1,60\n2024-01-02,blog.example,/plain/,1,1,2,1,9\n"))
    plausible_pages = tmp_path / "pages.csv"
    plausible_pages.write_text("name,visitors,pageviews,bounce_rate,time_on_page\n/old-name/,5,7,50,30\n")
    umami = tmp_path / "umami.zip"
    umami.write_bytes(_zip("pages.csv", "x,y\n/posts/pelican.html,9\n/2024/03/04/new-name/,2\n"))
    paths = PostPaths(posts)
    expected = {ga4: ("GA4", {"cafe": 1200, "pelican": 1300}), plausible: ("Plausible", {"plain": 6}),
                plausible_pages: ("Plausible", {"moved": 7}), umami: ("Umami", {"pelican": 9, "moved": 2})}
    for path, (product, views) in expected.items():
        data, found = read_export(path, keep=lambda page: paths.key(page) is not None)
        assert found == product and not data.sessions
        assert by_post(data.views, paths) == views
    assert read_export(ga4)[0].report.malformed == 1  # '/plain/,not a number'
    february = tmp_path / "ga4-pages-february.csv"  # the same header as January's: still another file
    february.write_text(ga4.read_text().replace("20240131", "20240229").replace("1200,640", "30,20"))
    unknown = tmp_path / "report.csv"
    unknown.write_text("country,visits\nJP,3\n")
    with ReaderStore(None) as store, caplog.at_level(logging.WARNING, logger="postkin"):
        summary = read_logs(log_files([str(tmp_path / "*")]), store, paths)
        totals, sessions = by_post(store.views(), paths), store.sessions()
    assert totals == {"cafe": 1230, "pelican": 2609, "plain": 6, "moved": 9} and sessions == []
    assert summary.unusable == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"{unknown}: reader log skipped: not an access log, nor a GA4, Plausible or Umami export (header: country,visits)"]


def test_sessions_end_after_30_minutes_without_a_view() -> None:
    minute = 60.0
    hits = [(0.0, "a"), (29 * minute, "b"), (29 * minute + 5, "b"), (60 * minute + 1, "c"), (61 * minute, "a")]
    assert sessionise(hits) == [["a", "b"], ["c", "a"]]
    assert sessionise(list(reversed(hits))) == [["a", "b"], ["c", "a"]]  # log order does not matter


def test_logs_are_read_once_and_sessions_accumulate(tmp_path: Path, posts) -> None:
    paths = PostPaths(posts)
    day1 = [combined("203.0.113.7", "10:00:00", "/plain/"), combined("203.0.113.7", "10:01:00", "/old-name/")]
    day1b = day1 + [combined("203.0.113.8", "11:00:00", "/posts/pelican.html"),
                    combined("203.0.113.8", "11:02:00", "/plain/")]
    live = tmp_path / "access.log"
    live.write_text("\n".join(day1) + "\n")
    cache = tmp_path / "cache"
    with ReaderStore(cache) as store:
        assert read_logs([live], store, paths).read_now == 1
        assert read_logs([live], store, paths).read_now == 0  # unchanged: not read again
        live.write_text("\n".join(day1b) + "\n")  # the live log grew: read again, replacing its shorter self
        assert read_logs([live], store, paths).read_now == 1
        assert sorted(post_sessions(store.sessions(), paths)) == [["pelican", "plain"], ["plain", "moved"]]
        rotated = tmp_path / "access.log.2.gz"  # logrotate compressed it: the same log, not read again
        rotated.write_bytes(gzip.compress(live.read_bytes()))
        live.write_text(combined("203.0.113.9", "09:00:00", "/2024/01/02/caf%C3%A9-notes/") + "\n"
                        + combined("203.0.113.9", "09:03:00", "/plain") + "\n")  # a new day's log
        assert read_logs([rotated, live], store, paths).read_now == 1
        assert len(post_sessions(store.sessions(), paths)) == 3
    with ReaderStore(cache) as store:  # kept in the cache folder across builds
        assert len(store.sessions()) == 3
    stored = (cache / FILE_NAME).read_bytes()
    for secret in (b"203.0.113", CHROME.encode(), b"10/Oct/2024"):
        assert secret not in stored  # no address, User-Agent or time is ever written


def test_a_broken_gzip_is_one_warning_not_a_crash(tmp_path: Path, posts, caplog) -> None:
    broken = tmp_path / "access.log.3.gz"
    lines = [combined("192.0.2.1", f"10:{m:02d}:00", f"/posts/{m}.html") for m in range(60)]
    broken.write_bytes(gzip.compress("\n".join(lines).encode())[:300])  # a copy cut short
    with ReaderStore(None) as store, caplog.at_level(logging.WARNING, logger="postkin"):
        summary = read_logs([broken], store, PostPaths(posts))
    assert summary.unusable == 1 and len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith(f"{broken}: reader log skipped: ")


def test_an_unusable_reader_cache_is_moved_aside_and_the_logs_read_again(tmp_path: Path, posts, caplog) -> None:
    live = tmp_path / "access.log"
    live.write_text(combined("203.0.113.7", "10:00:00", "/plain/") + "\n"
                    + combined("203.0.113.7", "10:01:00", "/old-name/") + "\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / FILE_NAME).write_bytes(b"not a database, " * 100)
    with ReaderStore(cache) as store, caplog.at_level(logging.WARNING, logger="postkin"):
        assert read_logs([live], store, PostPaths(posts)).read_now == 1
        assert post_sessions(store.sessions(), PostPaths(posts)) == [["plain", "moved"]]
    aside = list(cache.glob(f"{FILE_NAME}.unusable-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"not a database, " * 100  # kept, never deleted
    assert "reader cache unusable" in caplog.text
