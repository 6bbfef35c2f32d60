"""End to end on site_example/jekyll (issue #14): `postkin build` with the bundled model, then the real
Jekyll; the pages Jekyll wrote, the data files postkin rewrites (and does not), headless Chromium on a
post page, and the live preview (`jekyll serve` + `postkin build --watch`).

Each test works on a copy of the example in a temporary folder. Skipped when Jekyll is not installed
(`apt-get install -y --no-install-recommends jekyll`)."""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import pytest
from browser import serve

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "site_example" / "jekyll"
INCLUDE = REPO / "hooks" / "templates" / "jekyll" / "_includes" / "postkin-related.html"
POSTKIN = Path(sys.executable).parent / "postkin"
JEKYLL = shutil.which("jekyll")
CHROMIUM = Path("/usr/bin/chromium")
BASEURL = "/field-notes"
XSS_TITLE = "Use <details> & 2*3 <script>alert(1)</script>"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(JEKYLL is None, reason="Jekyll is not installed "
                                 "(apt-get install -y --no-install-recommends jekyll)")]


def test_the_example_uses_the_include_postkin_ships():
    assert (EXAMPLE / "_includes" / "postkin-related.html").read_bytes() == INCLUDE.read_bytes()


def copy_example(dest: Path) -> Path:
    """The example's sources (none of what a build made) in `dest`."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("_site", ".jekyll-cache", "_data", ".postkin-cache"))
    return dest


def postkin_build(site: Path, cache: Path, *extra: str) -> str:
    """`postkin build SITE` with the bundled model: its summary line."""
    run = subprocess.run([str(POSTKIN), "build", str(site), "--cache-dir", str(cache), *extra],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run.stderr.strip().splitlines()[-1]


def jekyll_build(site: Path) -> Path:
    run = subprocess.run([JEKYLL, "build", "-s", str(site), "-d", str(site / "_site")], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return site / "_site"


class Links(html.parser.HTMLParser):
    """The postkin links of a page (class, href, text) and the <script> elements inside its aside."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[list[str]] = []
        self.scripts_in_aside = 0
        self._in_aside = 0
        self._link: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "aside" and "postkin" in (a.get("class") or ""):
            self._in_aside += 1
        elif tag == "script" and self._in_aside:
            self.scripts_in_aside += 1
        elif tag == "a" and (a.get("class") or "").startswith("postkin-"):
            self._link = [a["class"], a.get("href") or "", ""]

    def handle_data(self, data):
        if self._link is not None:
            self._link[2] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            self.links.append(self._link)
            self._link = None
        elif tag == "aside" and self._in_aside:
            self._in_aside -= 1


def page_file(out: Path, url: str) -> Path:
    """The file Jekyll wrote for a root-relative URL of the site (baseurl included)."""
    assert url.startswith(BASEURL + "/"), url
    rel = unquote(url[len(BASEURL):]).lstrip("/")
    return out / (rel + "index.html" if rel.endswith("/") or not rel else rel)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*.json"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The example copied, `postkin build` run once and then the real Jekyll: (site, its _site, cache)."""
    tmp = tmp_path_factory.mktemp("jekyll_example")
    site = copy_example(tmp / "site")
    postkin_build(site, tmp / "cache")
    return site, jekyll_build(site), tmp / "cache"


def test_every_post_page_lists_related_posts_whose_links_jekyll_wrote(built):
    site, out, _ = built
    keys = json.loads((site / "_data/postkin/keys.json").read_text(encoding="utf-8"))
    data = {path: json.loads((site / "_data/postkin/posts" / f"{key}.json").read_text(encoding="utf-8"))
            for path, key in keys.items()}
    published = {path: ctx for path, ctx in data.items() if not ctx["draft"]}
    assert len(published) == 21 and data["_drafts/blameless-postmortems.md"]["draft"]
    markup = "Focus management in single-page apps: <dialog>, <details> & the tab order"
    seen_markup = 0
    for path, ctx in published.items():
        page = page_file(out, BASEURL + ctx["url"])
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        kinds = {cls for cls, _, _ in parser.links}
        assert "postkin-related" in kinds and "postkin-latest" in kinds, path
        for cls, href, text in parser.links:
            assert page_file(out, href).is_file(), f"{path}: {cls} link {href} leads nowhere"
            assert "blameless" not in href  # the draft is listed nowhere
            if text == markup:  # a title with markup characters is text, not markup
                seen_markup += 1
        assert parser.scripts_in_aside == 0
    assert seen_markup > 0
    focus = page_file(out, BASEURL + published["frontend/_posts/2023-06-13-focus-management-spa.md"]["url"])
    assert "<h1>Focus management in single-page apps: &lt;dialog&gt;, &lt;details&gt; &amp; the tab order</h1>" in \
        focus.read_text(encoding="utf-8")


def test_data_is_rewritten_only_where_its_bytes_change(tmp_path):
    """A second build with nothing changed writes no file; editing one post's title rewrites exactly the
    files whose bytes change (none rewritten with the same bytes), and gives what a clean build gives."""
    site = copy_example(tmp_path / "site")
    cache = tmp_path / "cache"
    first = postkin_build(site, cache)
    # 24 data files, and assets/postkin/vectors.json and recommend.js (the example's recommend_for_you)
    assert re.search(r"22 posts; embedded 22 now.*; 26 files written, 0 removed", first), first
    data = site / "_data" / "postkin"
    before = snapshot(data)
    vectors = (site / "assets" / "postkin" / "vectors.json").read_bytes()  # the example's recommend_for_you
    time.sleep(0.05)
    again = postkin_build(site, cache)
    assert "0 files written, 0 removed" in again, again
    assert snapshot(data) == before
    post = site / "databases/_posts/2023-03-09-reading-explain-analyze.md"
    text = post.read_text(encoding="utf-8")
    old_title = "Reading EXPLAIN ANALYZE without getting lost"
    post.write_text(text.replace(f'title: "{old_title}"', f"title: {json.dumps(XSS_TITLE)}"), encoding="utf-8")
    edited = postkin_build(site, cache)
    after = snapshot(data)
    changed = {name for name in after if name not in before or after[name][0] != before[name][0]}
    rewritten = {name for name in after if name not in before or after[name][1] != before[name][1]}
    assert changed == rewritten, rewritten - changed
    # every file that showed the old title had to change (others may too: the title is embedded)
    showing = {name for name, (raw, _) in before.items() if old_title.encode() in raw}
    assert showing <= changed and "posts/reading-explain-analyze.json" in changed
    # and the vectors file of "Recommended for you", which holds the titles too
    assert (site / "assets" / "postkin" / "vectors.json").read_bytes() != vectors
    assert f"{len(changed) + 1} files written" in edited, edited
    clean = tmp_path / "clean"
    postkin_build(site, cache, "--out", str(clean))
    assert {k: v[0] for k, v in snapshot(clean).items()} == {k: v[0] for k, v in after.items()}
    # and Jekyll shows the new title as text wherever it is listed
    out = jekyll_build(site)
    for path in sorted(out.rglob("index.html")):
        page = path.read_text(encoding="utf-8")
        assert "<script>alert(1)</script>" not in page, path
    assert "Use &lt;details&gt; &amp; 2*3 &lt;script&gt;alert(1)&lt;/script&gt;" in \
        (out / "databases/2024/10/02/partial-covering-indexes/index.html").read_text(encoding="utf-8")


def test_chromium_opens_a_post_and_sees_its_related_posts(built, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium)")
    site, out, _ = built
    root = tmp_path / "root"
    root.mkdir()
    (root / BASEURL.strip("/")).symlink_to(out, target_is_directory=True)  # served below its baseurl
    server = serve(root)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    dialogs: list[str] = []
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{origin}{BASEURL}/databases/2024/10/02/partial-covering-indexes/", wait_until="load")
            related = page.eval_on_selector_all("aside.postkin a.postkin-related",
                                                "links => links.map(a => [a.textContent, a.getAttribute('href')])")
            page.click("aside.postkin a.postkin-related >> nth=0")
            page.wait_for_load_state("load")
            landed = page.eval_on_selector("h1", "h => h.textContent")
            browser.close()
    finally:
        server.shutdown()
    expected = json.loads((site / "_data/postkin/posts/partial-covering-indexes.json").read_text(encoding="utf-8"))
    assert related == [[item["title"], BASEURL + item["url"]] for item in expected["related"]]
    assert landed == expected["related"][0]["title"] and not dialogs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except OSError:
        return ""


def _stop(process: subprocess.Popen) -> str:
    """Stop a process this test started (its own process group) and return what it printed."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.stdout.read() if process.stdout else ""


def test_live_preview_jekyll_serve_shows_what_postkin_watch_writes(tmp_path):
    """`jekyll serve` (watching, not --incremental) and `postkin build --watch` side by side: an edited
    title reaches the related posts of ANOTHER page, which only the data postkin rewrote can change."""
    site = copy_example(tmp_path / "site")
    cache = tmp_path / "cache"
    postkin_build(site, cache)
    port = _free_port()
    url = f"http://127.0.0.1:{port}{BASEURL}/databases/2024/10/02/partial-covering-indexes/"
    serve_log = tmp_path / "serve.log"
    jekyll = subprocess.Popen([JEKYLL, "serve", "-s", str(site), "-d", str(site / "_site"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=serve_log.open("w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    watch = subprocess.Popen([str(POSTKIN), "build", str(site), "--cache-dir", str(cache), "--watch"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    watched = ""
    try:
        deadline = time.monotonic() + 120
        while "postkin-related" not in _get(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "postkin-related" in _get(url), serve_log.read_text(encoding="utf-8")
        line = ""
        while "watching" not in line and time.monotonic() < deadline:  # the watcher is listening
            line = watch.stdout.readline() if watch.stdout else ""
        related = json.loads((site / "_data/postkin/posts/partial-covering-indexes.json").read_text("utf-8"))["related"]
        target = site / related[0]["source"]
        new_title = "EXPLAIN ANALYZE, edited while serving & <previewed>"
        target.write_text(re.sub(r"^title: .*$", f"title: {json.dumps(new_title)}",
                                 target.read_text(encoding="utf-8"), count=1, flags=re.M), encoding="utf-8")
        shown = "EXPLAIN ANALYZE, edited while serving &amp; &lt;previewed&gt;"
        deadline = time.monotonic() + 90
        while shown not in _get(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert shown in _get(url), serve_log.read_text(encoding="utf-8")
    finally:
        watched = _stop(watch)
        _stop(jekyll)
    log = serve_log.read_text(encoding="utf-8")
    assert "_data/postkin/posts/partial-covering-indexes.json" in log  # Jekyll regenerated on postkin's data
    # Jekyll rewriting _site did not start postkin builds: one build at the start, one for the edit
    assert len(re.findall(r"^postkin: 22 posts", watched, re.M)) == 1, watched
