"""Headless Debian Chromium for the browser tests: serve a folder, open a harness page, read its report;
or open a site's pages as a reader does (Playwright) for "Recommended for you"."""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a site quietly, every `.html` file as HTML (Python's mimetypes calls a file named `.html`,
    as Pelican names the page of a tag whose slug is empty, application/octet-stream; nginx and GitHub
    Pages serve it as HTML)."""

    def guess_type(self, path):
        return "text/html" if str(path).endswith(".html") else super().guess_type(path)

    def log_message(self, *args) -> None:
        pass


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    """A quiet static HTTP server for `folder` on a free port of 127.0.0.1, in a daemon thread (call
    .shutdown())."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def harness_report(root: Path, harness: str, profile: Path, budget_ms: int = 10000) -> tuple[dict, str]:
    """Write `harness` as root/harness.html, serve `root` over HTTP, open the harness in headless
    Chromium and return (the JSON it writes into <pre id="result">, the harness URL).

    Skips the test when /usr/bin/chromium is not installed."""
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium)")
    (root / "harness.html").write_text(harness, encoding="utf-8")
    server = serve(root)
    url = f"http://127.0.0.1:{server.server_address[1]}/harness.html"
    try:
        run = subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=180)
    finally:
        server.shutdown()
    found = re.search(r'<pre id="result">(.*?)</pre>', run.stdout, re.S)
    assert found, f"no result from chromium (exit {run.returncode}): {run.stderr[-800:]}"
    text = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return json.loads(text), url


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class PageView:
    """One page opened in Chromium: the URLs it requested, whether its "Recommended for you" block
    was still hidden once the network was idle, and the links shown in it: (data-postkin-key, href, text)."""

    requests: list[str]
    hidden: bool
    links: list[tuple[str, str, str]]


@dataclass
class Reading:
    """A reader who opened `urls` in turn in a fresh profile (views), the localStorage history left, and
    the last URL opened alone by a second fresh profile (fresh_last): a browser with no history."""

    origin: str
    views: list[PageView]
    stored: list[str]
    fresh_last: PageView


def read_in_chromium(root: Path, paths: list[str]) -> Reading:
    """Serve `root` over HTTP (file:// would block the script's fetch) and open the site `paths` (each
    starting with "/") in turn in headless Debian Chromium, through Playwright, in a fresh profile; then
    the last path in another fresh profile. Requests to any other origin are refused and still recorded;
    routing every request also turns Chromium's HTTP cache off, so each page view shows all it asks for.

    Skips when Playwright or /usr/bin/chromium is missing."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium)")
    server = serve(root)
    origin = f"http://127.0.0.1:{server.server_address[1]}"

    def view(context: Any, requests: list[str], path: str, expect_links: bool) -> PageView:
        page = context.pages[0] if context.pages else context.new_page()
        start = len(requests)
        page.goto(origin + path, wait_until="networkidle")
        if expect_links:
            page.wait_for_selector("[data-postkin-recommend] a.postkin-recommended", state="visible", timeout=10_000)
        block = page.locator("[data-postkin-recommend]")
        assert block.count() == 1, f"{path}: {block.count()} blocks [data-postkin-recommend]"
        links = page.eval_on_selector_all("[data-postkin-recommend] a.postkin-recommended",
                                          "as => as.map(a => [a.dataset.postkinKey, a.href, a.textContent])")
        return PageView(requests[start:], block.get_attribute("hidden") is not None, [tuple(x) for x in links])

    def fresh(chromium: Any) -> tuple[Any, list[str]]:
        context = chromium.new_context()  # a fresh profile: empty localStorage
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(origin + "/")
                      else route.abort())
        return context, requests

    try:
        with playwright.sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            context, requests = fresh(chromium)
            views = [view(context, requests, path, n > 0) for n, path in enumerate(paths)]
            stored = json.loads(context.pages[0].evaluate("localStorage.getItem('postkin:read')") or "[]")
            other, other_requests = fresh(chromium)
            fresh_last = view(other, other_requests, paths[-1], False)
            chromium.close()
    finally:
        server.shutdown()
    return Reading(origin, views, stored, fresh_last)
