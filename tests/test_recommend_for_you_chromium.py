"""End to end: 'Recommended for you' on site_example, built by Pelican with the real encoder, in headless
Debian Chromium driven by Playwright (the Python package, launched on /usr/bin/chromium: it reports every
request the pages make, which is what the privacy promise is about)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from browser import serve

pytest.importorskip("pelican")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")

from postkin.readers import browser  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def site(site_example_output: Path) -> Path:
    """site_example built by Pelican (conftest: built once for every test that reads it)."""
    return site_example_output


@pytest.mark.slow
def test_three_posts_read_then_a_fourth_recommends_the_nearest_unread_posts(site: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium)")
    data = (site / "postkin" / "vectors.json").read_bytes()
    keys = [p[0] for p in json.loads(data)["posts"]]
    # three posts on databases, then a fourth: the reader's history is clear enough to check against
    read = ["partial-covering-indexes", "reading-explain-analyze", "zero-downtime-migrations", "pgbouncer-transaction-mode"]
    assert set(read) <= set(keys)
    server = serve(site)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    requests: list[str] = []
    try:
        with playwright.sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
            context = chromium.new_context()  # a fresh profile: empty localStorage
            context.on("request", lambda request: requests.append(request.url))
            # anything not addressed to the site is refused (and still recorded above)
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(origin + "/")
                          else route.abort())
            page = context.new_page()
            shown = []
            for n, key in enumerate(read):
                page.goto(f"{origin}/posts/{key}.html", wait_until="networkidle")
                block = page.locator("#recommended-for-you")
                if n == 0:
                    assert block.get_attribute("hidden") is not None  # nothing read before: nothing shown
                    assert not any(u.endswith("/vectors.json") for u in requests)  # and nothing fetched
                else:
                    page.wait_for_selector("#recommended-for-you a.postkin-recommended", state="visible", timeout=10_000)
                    shown = page.eval_on_selector_all("#recommended-for-you a.postkin-recommended",
                                                      "links => links.map(a => [a.dataset.postkinKey, a.href, a.textContent])")
            stored = page.evaluate("localStorage.getItem('postkin:read')")
            chromium.close()
    finally:
        server.shutdown()
    assert json.loads(stored) == read  # the history lives in the reader's browser, in reading order
    got = [k for k, _, _ in shown]
    assert len(got) == 5 and not set(got) & set(read), got
    expected = browser.recommend(data, read)
    if got != expected:  # the same ranking; only a tie within floating-point noise may swap two posts
        _, C = browser.load(data)
        index = {k: i for i, k in enumerate(keys)}
        scores = C @ C[[index[k] for k in read]].mean(axis=0)
        assert set(got) == set(expected) or np.allclose(sorted(scores[[index[k] for k in got]]),
                                                        sorted(scores[[index[k] for k in expected]]), atol=1e-9)
    url_of = {p[0]: p[1] for p in json.loads(data)["posts"]}
    for key, href, title in shown:
        assert urlparse(href).path == "/" + url_of[key] and title.strip()
        assert (site / url_of[key]).is_file()
    assert all(urlparse(u).netloc == urlparse(origin).netloc for u in requests), \
        [u for u in requests if not u.startswith(origin)]
    assert sum(u.endswith("/postkin/vectors.json") for u in requests) == len(read) - 1
