"""End to end: site_example/hugo built by `postkin build` (the real bundled encoder) and then the real
Hugo, checked page by page, in Chromium, and live with `hugo server` and `postkin build --watch`."""

from __future__ import annotations

import html as html_lib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from browser import harness_report
from click.testing import CliRunner
from hugo_site import require_hugo, run_hugo

from postkin.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "site_example" / "hugo"
BASE = "/field-notes/"  # the path of the example's baseURL
LINK_CLASSES = ("postkin-related", "postkin-latest", "postkin-popular", "postkin-translation")
MARKUP_TITLE = "Titles are text: Use <details> & 2*3 <script>alert(1)</script>"

pytestmark = pytest.mark.slow


def copy_example(tmp: Path) -> Path:
    """site_example/hugo and the partial it mounts (../../hooks/templates/hugo), at the same relative
    places, without anything a build wrote."""
    shutil.copytree(EXAMPLE, tmp / "site_example" / "hugo", ignore=shutil.ignore_patterns(
        "public", "resources", ".postkin-cache", ".hugo_build.lock"))
    shutil.rmtree(tmp / "site_example" / "hugo" / "data" / "postkin", ignore_errors=True)
    shutil.copytree(REPO / "hooks" / "templates" / "hugo", tmp / "hooks" / "templates" / "hugo")
    return tmp / "site_example" / "hugo"


def postkin_build(site: Path, cache: Path, *extra: str) -> str:
    """`postkin build SITE` (data/postkin/, the bundled encoder); its output."""
    result = CliRunner().invoke(main, ["build", str(site), "--cache-dir", str(cache), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


class Links(HTMLParser):
    """The postkin links of a page (class -> [(href, text)]), its <h1> text and its <script> elements
    (but "Recommended for you"'s postkin/recommend.js)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, list[tuple[str, str]]] = {c: [] for c in LINK_CLASSES}
        self.h1 = ""
        self.scripts = 0
        self._in: tuple[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and not (a.get("src") or "").endswith("/postkin/recommend.js"):  # recommend_for_you's
            self.scripts += 1
        if tag == "a" and a.get("class") in LINK_CLASSES:
            self._in, self._text = (a["class"], a.get("href") or ""), []
        elif tag == "h1":
            self._in, self._text = ("h1", ""), []

    def handle_data(self, data):
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._in and tag in ("a", "h1"):
            kind, href = self._in
            if kind == "h1":
                self.h1 = "".join(self._text)
            else:
                self.links[kind].append((href, "".join(self._text)))
            self._in = None


def page_file(public: Path, url: str) -> Path:
    """The file Hugo wrote for a RelPermalink below BASE."""
    assert url.startswith(BASE), f"{url} is not below the baseURL's path {BASE}"
    path = unquote(url)[len(BASE):]
    return public / (path + "index.html" if path.endswith("/") or not path else path)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The example built once: postkin build, then hugo. Returns the site folder."""
    require_hugo()
    site = copy_example(tmp_path_factory.mktemp("hugo-example"))
    postkin_build(site, site.parent / "cache")
    run_hugo(site)
    return site


def test_every_post_page_lists_related_posts_and_every_link_is_a_page_hugo_wrote(built):
    data = json.loads((built / "data" / "postkin" / "postkin.json").read_text(encoding="utf-8"))
    pages = json.loads((built / "data" / "postkin" / "pages.json").read_text(encoding="utf-8"))
    public = built / "public"
    assert {lang: len(p) for lang, p in pages.items()} == {"en": 19, "fr": 4}
    for key, ctx in data["posts"].items():
        page = page_file(public, ctx["url"])
        links = Links()
        links.feed(page.read_text(encoding="utf-8"))
        related = links.links["postkin-related"]
        assert related and len(related) == len(ctx["related"]), f"{key}: {len(related)} related links"
        assert [t for _, t in related] == [r["title"] for r in ctx["related"]]
        for kind, found in links.links.items():
            for href, _ in found:
                target = page_file(public, href)
                assert target.is_file(), f"{key}: {kind} link {href} is not a page Hugo wrote"
                assert target != page, f"{key} lists itself"
        assert links.scripts == 0
    bundle = data["posts"]["moving-to-uv"]
    assert [(t["lang"], t["slug"]) for t in bundle["translations"]] == [("fr", "moving-to-uv.fr")]
    assert not (public / "2025" / "03" / "lock-times").exists()  # the bundle's resource is no page


def test_titles_with_markup_characters_render_as_text(built):
    data = json.loads((built / "data" / "postkin" / "postkin.json").read_text(encoding="utf-8"))
    listing = [ctx["url"] for ctx in data["posts"].values()
               if any(r["title"] == MARKUP_TITLE for r in ctx["related"] + ctx["cluster_latest"])]
    assert listing, "no page lists the post whose title has markup characters"
    for url in listing:
        links = Links()
        links.feed(page_file(built / "public", url).read_text(encoding="utf-8"))
        shown = [t for found in links.links.values() for _, t in found]
        assert MARKUP_TITLE in shown and links.scripts == 0
    own = Links()
    own.feed(page_file(built / "public", data["posts"]["titles-are-text"]["url"]).read_text(encoding="utf-8"))
    assert own.h1 == MARKUP_TITLE


def test_a_second_run_writes_nothing_and_an_edit_rewrites_only_files_whose_bytes_change(tmp_path):
    site = copy_example(tmp_path)
    cache, out = tmp_path / "cache", site / "data" / "postkin"
    postkin_build(site, cache)

    def snapshot() -> dict[str, tuple[int, bytes]]:
        return {p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*.json")}

    first = snapshot()
    time.sleep(0.05)
    assert "0 files written, 0 removed" in postkin_build(site, cache)
    assert snapshot() == first
    post = site / "content" / "posts" / "measuring-inp.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nWe now also track INP per route in our dashboards.\n",
                    encoding="utf-8")
    postkin_build(site, cache)
    after = snapshot()
    rewritten = {f for f in after if after[f][0] != first[f][0]}
    changed = {f for f in after if after[f][1] != first[f][1]}
    assert rewritten == changed and "postkin.json" in changed and "pages.json" not in changed
    assert len(changed) < len(after)
    clean = tmp_path / "clean"
    postkin_build(site, cache, "--out", str(clean))
    assert {p.relative_to(clean).as_posix(): p.read_bytes() for p in clean.rglob("*.json")} == \
        {f: b for f, (_, b) in after.items()}  # the incremental result is the clean build's


HARNESS = """<!doctype html><html><body><pre id="result">pending</pre>
<iframe id="f" width="1280" height="2400" src="%(page)s"></iframe>
<script>
const f = document.getElementById('f'), out = document.getElementById('result');
f.addEventListener('load', () => {
  const doc = f.contentDocument, win = f.contentWindow;
  const links = [...doc.querySelectorAll('a.postkin-related')];
  out.textContent = JSON.stringify({
    count: links.length,
    visible: links.filter(a => {
      const r = a.getBoundingClientRect(), s = win.getComputedStyle(a);
      return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
    }).length,
    texts: links.map(a => a.textContent),
    hrefs: links.map(a => new URL(a.href).pathname),
    scripts: [...doc.querySelectorAll('script')].filter(s => !s.src.endsWith('/postkin/recommend.js')).length,
    h1: (doc.querySelector('h1') || {}).textContent || '',
  });
});
</script></body></html>"""


def test_chromium_sees_the_related_posts(built, tmp_path):
    data = json.loads((built / "data" / "postkin" / "postkin.json").read_text(encoding="utf-8"))
    page = next(ctx for ctx in data["posts"].values() if any(r["title"] == MARKUP_TITLE for r in ctx["related"]))
    root = tmp_path / "www"
    root.mkdir()
    shutil.copytree(built / "public", root / BASE.strip("/"))  # served below the baseURL's path, as deployed
    report, _ = harness_report(root, HARNESS % {"page": page["url"]}, tmp_path / "profile")
    assert report["count"] == len(page["related"]) and report["visible"] == report["count"], report
    assert report["texts"] == [r["title"] for r in page["related"]] and MARKUP_TITLE in report["texts"]
    assert report["hrefs"] == [unquote(r["url"]) for r in page["related"]] or \
        report["hrefs"] == [r["url"] for r in page["related"]]
    assert report["scripts"] == 0 and report["h1"] == page["title"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return html_lib.unescape(response.read().decode("utf-8"))
    except OSError:
        return ""


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_hugo_server_shows_what_postkin_build_watch_writes(tmp_path):
    """Live preview: `hugo server` and `postkin build --watch` side by side; an edited title reaches the
    pages that list the post, through postkin's data."""
    hugo = require_hugo()
    site = copy_example(tmp_path)
    cache = tmp_path / "cache"
    postkin_build(site, cache)
    data = json.loads((site / "data" / "postkin" / "postkin.json").read_text(encoding="utf-8"))
    lister = data["posts"]["reading-explain-analyze"]
    target = lister["related"][0]
    port = _free_port()
    server = subprocess.Popen([str(hugo), "server", "--bind", "127.0.0.1", "--port", str(port), "--baseURL",
                               f"http://127.0.0.1{BASE}", "--disableLiveReload"], cwd=site,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watch = subprocess.Popen([sys.executable, "-m", "postkin.cli", "build", str(site), "--watch", "--cache-dir",
                              str(cache)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        page = f"http://127.0.0.1:{port}{lister['url']}"
        deadline = time.monotonic() + 60
        while target["title"] not in (html := _get(page)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert target["title"] in html, "hugo server did not serve the page"
        assert watch.stderr is not None
        line = watch.stderr.readline()
        while "watching" not in line and line:
            line = watch.stderr.readline()
        assert "watching" in line, "postkin build --watch did not start"
        source = site / "content" / target["source"]
        text = source.read_text(encoding="utf-8")
        new_title = target["title"] + " (revised)"
        source.write_text(text.replace(f'title: "{target["title"]}"', f'title: "{new_title}"', 1), encoding="utf-8")
        deadline = time.monotonic() + 120
        while new_title not in (html := _get(page)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert new_title in html, "the page listing the edited post did not show its new title"
    finally:
        _stop(watch)
        _stop(server)
