"""Headless Debian Chromium for the browser tests: serve a folder, open a harness page, read its report."""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import threading
from pathlib import Path

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
