"""End to end: 'Recommended for you' on site_example, built by Pelican with the real encoder, in headless
Debian Chromium driven by Playwright (the Python package, launched on /usr/bin/chromium: it reports every
request the pages make, which is what the privacy promise is about). The same checks run on the other
generators' examples in test_recommend_for_you_generators.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import read_in_chromium
from test_recommend_for_you_generators import check_reading

pytest.importorskip("pelican")


@pytest.fixture(scope="module")
def site(site_example_output: Path) -> Path:
    """site_example built by Pelican (conftest: built once for every test that reads it)."""
    return site_example_output


@pytest.mark.slow
def test_three_posts_read_then_a_fourth_recommends_the_nearest_unread_posts(site: Path) -> None:
    data = (site / "postkin" / "vectors.json").read_bytes()
    page_path = {key: "/" + url for key, url, _ in json.loads(data)["posts"]}
    # three posts on databases, then a fourth: the reader's history is clear enough to check against
    read = ["partial-covering-indexes", "reading-explain-analyze", "zero-downtime-migrations", "pgbouncer-transaction-mode"]
    assert set(read) <= set(page_path) and page_path[read[0]] == "/posts/partial-covering-indexes.html"
    reading = read_in_chromium(site, [page_path[key] for key in read])
    check_reading(reading, data, read, page_path, site)
    requests = [u for view in reading.views for u in view.requests]
    assert all(u.startswith(reading.origin + "/") for u in requests), \
        [u for u in requests if not u.startswith(reading.origin + "/")]  # the theme asks nothing of others
