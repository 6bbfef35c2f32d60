"""End to end (issue #14): the Eleventy and Astro examples built by postkin (real bundled encoder) and
then by the real generator. Every post page lists related posts, every related / latest / popular link
resolves to a page the generator wrote, a title full of markup characters prints as text, a second
postkin run rewrites nothing, an edit rewrites only the data files whose bytes change, Chromium sees
the lists, and each generator's live preview picks up postkin's rebuilds."""

from __future__ import annotations

import html.parser
import json
import os
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
from browser import CHROMIUM, serve
from click.testing import CliRunner
from node_generators import ASTRO_DIR, ELEVENTY_DIR, REPO, link_node_modules, run_astro, run_eleventy

from postkin.cli import main

pytest.importorskip("tree_sitter_typescript", reason="the Eleventy and Astro dialects need postkin[eleventy,astro]")

MARKUP_TITLE = "Use <details> & 2*3 <script>alert(1)</script>"
PREFIX = "/field-notes/"
SKIP = {"node_modules", "_site", "dist", ".astro", ".postkin-cache", "postkin"}


class Asides(html.parser.HTMLParser):
    """Links inside <aside class="postkin">: (list class, href, text); elements opened inside it; <h1> text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []
        self.tags_inside: list[str] = []
        self.h1 = ""
        self._depth = 0  # inside the aside
        self._list = ""
        self._href: str | None = None
        self._text = ""
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "aside" and "postkin" in (attrs.get("class") or "").split():
            self._depth = 1
            return
        if tag == "h1":
            self._in_h1 = True
        if not self._depth:
            return
        self.tags_inside.append(tag)
        if tag == "ul":
            self._list = (attrs.get("class") or "").removeprefix("postkin-")
        if tag == "a":
            self._href, self._text = attrs.get("href"), ""

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False
        if self._depth and tag == "a" and self._href is not None:
            self.links.append((self._list, self._href, self._text))
            self._href = None
        if self._depth and tag == "aside":
            self._depth = 0

    def handle_data(self, data):
        if self._href is not None:
            self._text += data
        if self._in_h1:
            self.h1 += data


def copy_example(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=lambda folder, names: [n for n in names if n in SKIP])
    return target


def postkin_build(site: Path, cache: Path, *extra: str) -> str:
    result = CliRunner().invoke(main, ["build", str(site), "--cache-dir", str(cache), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def generate(name: str, site: Path) -> Path:
    """Run the generator; its output folder."""
    if name == "eleventy":
        run_eleventy(site)
        return site / "_site"
    run_astro(site)
    return site / "dist"


def data_dir(name: str, site: Path) -> Path:
    return site / ("src/_data/postkin" if name == "eleventy" else "src/data/postkin")


def post_pages(name: str, out: Path) -> list[Path]:
    return sorted((out / ("posts" if name == "eleventy" else "blog")).glob("*/index.html"))


def written_page(out: Path, href: str) -> Path:
    """The file the generator wrote for a link (the site is served below PREFIX)."""
    assert href.startswith(PREFIX), href
    path = out / unquote(href[len(PREFIX):])
    return path / "index.html" if href.endswith("/") else path


@pytest.fixture(scope="module", params=["eleventy", "astro"])
def built(request, tmp_path_factory):
    """(generator, site copy, output folder, postkin's first output) of one example, built once."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    site = copy_example(ELEVENTY_DIR if name == "eleventy" else ASTRO_DIR, tmp / "site")
    output = postkin_build(site, tmp / "cache")
    return name, site, generate(name, site), output, tmp / "cache"


@pytest.mark.slow
def test_every_post_page_lists_related_posts_that_resolve(built):
    name, site, out, _, _ = built
    pages = post_pages(name, out)
    sources = list((site / ("src/posts" if name == "eleventy" else "src/content/blog")).glob("*.md"))
    drafts = [p for p in sources if "\ndraft: true" in p.read_text(encoding="utf-8")]
    assert len(pages) == len(sources) - len(drafts) >= 15  # the drafts recipe: no page for a draft
    kinds = set()
    for page in pages:
        parsed = Asides()
        parsed.feed(page.read_text(encoding="utf-8"))
        related = [link for link in parsed.links if link[0] == "related"]
        assert related, f"{page}: no related posts"
        for kind, href, text in parsed.links:
            kinds.add(kind)
            target = written_page(out, href)
            assert target.is_file(), f"{page} links to {href}, which {name} did not write"
            assert target != page, f"{page} lists itself"
            assert text.strip(), f"{page}: a link without a title"
    assert kinds == {"related", "latest", "popular"}


@pytest.mark.slow
def test_a_title_with_markup_characters_prints_as_text(built):
    name, _, out, _, _ = built
    folder = "posts" if name == "eleventy" else "blog"
    own = Asides()
    own.feed((out / folder / "details-and-script-in-titles/index.html").read_text(encoding="utf-8"))
    assert own.h1.strip() == MARKUP_TITLE  # the Eleventy post uses the Liquid layout and include
    seen = 0
    for page in post_pages(name, out):
        parsed = Asides()
        parsed.feed(page.read_text(encoding="utf-8"))
        assert not {"details", "script"} & set(parsed.tags_inside), page
        for _, href, text in parsed.links:
            if href.endswith("/details-and-script-in-titles/"):
                assert text == MARKUP_TITLE
                seen += 1
    assert seen >= 3


@pytest.mark.slow
def test_a_second_run_rewrites_nothing_and_an_edit_only_what_changes(built, tmp_path):
    name, site, _, _, cache = built
    work = copy_example(site, tmp_path / "site")
    shutil.copytree(data_dir(name, site), data_dir(name, work))
    served = "_site/postkin" if name == "eleventy" else "public/postkin"  # recommend_for_you's files, as built
    shutil.copytree(site / served, work / served)
    vectors = (work / served / "vectors.json").read_bytes()
    link_node_modules(work, ELEVENTY_DIR if name == "eleventy" else ASTRO_DIR)
    files = sorted(data_dir(name, work).iterdir())
    before = {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in files}
    output = postkin_build(work, cache)
    assert "0 files written" in output
    assert all(f.stat().st_mtime_ns == before[f][1] for f in files)
    folder = "src/posts" if name == "eleventy" else "src/content/blog"
    edited = work / folder / "moving-to-uv.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Moving our monorepo", "Moving our big monorepo", 1),
                      encoding="utf-8")
    output = postkin_build(work, cache)
    changed = {f.name for f in files if f.read_bytes() != before[f][0]}
    rewritten = {f.name for f in files if f.stat().st_mtime_ns != before[f][1]}
    assert rewritten == changed and "posts.json" in changed, (changed, rewritten)
    assert (work / served / "vectors.json").read_bytes() != vectors  # it holds the posts' vectors and titles
    assert f"{len(changed) + 1} files written" in output
    posts = json.loads((data_dir(name, work) / "posts.json").read_text(encoding="utf-8"))
    titles = {item["title"] for ctx in posts.values() for item in ctx["related"]}
    assert "Moving our big monorepo from pip-tools to uv" in titles


@pytest.mark.slow
def test_eleventy_without_the_html_base_plugin_links_through_the_url_filter(tmp_path):
    """The include's other branch: no HtmlBasePlugin, so `| url` adds pathPrefix (site.add_path_prefix)."""
    site = copy_example(ELEVENTY_DIR, tmp_path / "site")
    config = site / "eleventy.config.js"
    config.write_text(config.read_text(encoding="utf-8").replace("eleventyConfig.addPlugin(HtmlBasePlugin);", ""),
                      encoding="utf-8")
    postkin_build(site, tmp_path / "cache")
    assert json.loads((data_dir("eleventy", site) / "site.json").read_text(encoding="utf-8"))["add_path_prefix"]
    out = generate("eleventy", site)
    links = 0
    for page in post_pages("eleventy", out):
        parsed = Asides()
        parsed.feed(page.read_text(encoding="utf-8"))
        for _, href, _ in parsed.links:
            assert written_page(out, href).is_file(), href
            links += 1
    assert links > 100


@pytest.mark.slow
def test_chromium_shows_the_related_posts(built, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium)")
    name, _, out, _, _ = built
    www = tmp_path / "www"
    www.mkdir()
    (www / PREFIX.strip("/")).symlink_to(out, target_is_directory=True)
    server = serve(www)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    folder = "posts" if name == "eleventy" else "blog"
    dialogs: list[str] = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                              "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(f"{origin}{PREFIX}{folder}/color-contrast-beyond-aa/", wait_until="load")
            links = page.eval_on_selector_all(
                "aside.postkin ul.postkin-related a", "links => links.map(a => [a.textContent.trim(), a.href])")
            visible = page.locator("aside.postkin ul.postkin-related a").first.is_visible()
            target = links[0][1]
            page.goto(target, wait_until="load")
            arrived = page.locator("h1").first.text_content()
            page.goto(f"{origin}{PREFIX}{folder}/details-and-script-in-titles/", wait_until="load")
            heading = page.locator("h1").first.text_content()
            elements = page.evaluate("document.querySelectorAll('article details, h1 script, aside details').length")
            browser.close()
    finally:
        server.shutdown()
    assert len(links) == 5 and visible and all(text for text, _ in links)
    assert arrived and arrived.strip() == links[0][0]  # the link opens the post it names
    assert heading.strip() == MARKUP_TITLE and elements == 0 and not dialogs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a local dev server
            return response.read().decode("utf-8")
    except OSError:
        return ""


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    """End a server started here, and its children (its own process group), by its id."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["eleventy", "astro"])
def test_the_live_preview_picks_up_postkin_watch(name, tmp_path):
    """`postkin build --watch` beside `eleventy --serve` / `astro dev`: renaming a post reaches the related
    list of another page without restarting either."""
    source = ELEVENTY_DIR if name == "eleventy" else ASTRO_DIR
    site = copy_example(source, tmp_path / "site")
    if name == "eleventy":
        from node_generators import eleventy_bin

        binary = eleventy_bin()
    else:
        from node_generators import astro_bin

        binary = astro_bin()
    link_node_modules(site, source)
    (site / ".gitignore").write_text((source / ".gitignore").read_text(encoding="utf-8"), encoding="utf-8")
    postkin_build(site, tmp_path / "cache")
    port = free_port()
    env = {**os.environ, "ASTRO_TELEMETRY_DISABLED": "1", "TZ": "UTC"}
    command = [str(binary), "--serve", "--port", str(port)] if name == "eleventy" else \
        [str(binary), "dev", "--port", str(port), "--host", "127.0.0.1"]
    server = subprocess.Popen(command, cwd=site, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    watcher = subprocess.Popen([sys.executable, "-m", "postkin.cli", "build", str(site), "--watch",
                                "--cache-dir", str(tmp_path / "cache")], cwd=site, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    folder = "posts" if name == "eleventy" else "blog"
    url = f"http://127.0.0.1:{port}{PREFIX}{folder}/faster-pytest/"
    try:
        wait_for(lambda: "Moving our monorepo from pip-tools to uv" in fetch(url), 120, f"{name} to serve {url}")
        assert watcher.stderr is not None
        wait_for(lambda: "watching" in watcher.stderr.readline(), 120, "postkin build --watch to start")
        post = site / ("src/posts" if name == "eleventy" else "src/content/blog") / "moving-to-uv.md"
        post.write_text(post.read_text(encoding="utf-8").replace("Moving our monorepo", "Moving our huge monorepo", 1),
                        encoding="utf-8")
        wait_for(lambda: "Moving our huge monorepo from pip-tools to uv" in fetch(url), 180,
                 f"{name}'s page to show the renamed post in its related list")
    finally:
        stop(watcher)
        stop(server)


def test_the_examples_use_the_snippets_as_published():
    """The examples carry copies of hooks/templates (Vite resolves a symlinked component from its real
    folder, where the data is not): they must not drift."""
    hooks = REPO / "hooks" / "templates"
    for published, copy in [
        (hooks / "eleventy/_includes/postkin-related.njk", ELEVENTY_DIR / "src/_includes/postkin-related.njk"),
        (hooks / "eleventy/_includes/postkin-related.liquid", ELEVENTY_DIR / "src/_includes/postkin-related.liquid"),
        (hooks / "astro/src/components/PostkinRelated.astro", ASTRO_DIR / "src/components/PostkinRelated.astro"),
    ]:
        assert copy.read_bytes() == published.read_bytes(), copy
