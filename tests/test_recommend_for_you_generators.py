"""End to end: "Recommended for you" on the MkDocs, Hugo, Jekyll, Eleventy and Astro examples, each turned
on in its own postkin settings, built once per generator with the real bundled encoder and the real
generator, served over HTTP below its base path and read in headless Debian Chromium (Playwright).

A reader opens four posts on one topic; from the second on, the block lists the posts nearest those read
(the Python reference ranking), none read, each link a page the generator wrote. The script's one request
is the same whatever the reader read: every page view fetches the vectors file, the first one too, and a
browser with a history asks for exactly what a fresh browser asks for on the same page."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import numpy as np
import pytest
from browser import Reading, read_in_chromium
from click.testing import CliRunner

from postkin.cli import main
from postkin.readers import browser

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "site_example"
BASE = "/field-notes/"  # every example is served below it
# data-postkin-root: the folder the vectors file's post URLs are paths below. Hugo's .RelPermalink and
# Astro's URLs hold the base path; MkDocs's are relative to the site, Jekyll's and Eleventy's lack it.
ROOT = {"mkdocs": BASE, "hugo": "/", "jekyll": BASE, "eleventy": BASE, "astro": "/"}

pytestmark = pytest.mark.slow


@dataclass
class Served:
    """A built example: the folder to serve (the site below BASE) and its vectors file's bytes."""

    name: str
    www: Path
    vectors: bytes


def _postkin_build(site: Path, cache: Path) -> None:
    result = CliRunner().invoke(main, ["build", str(site), "--cache-dir", str(cache)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _build(name: str, tmp: Path, cache: Path) -> Path:
    """Build site_example/<name> in a copy under `tmp`, as its make target does; the output folder."""
    if name == "mkdocs":
        pytest.importorskip("material")
        site = Path(shutil.copytree(EXAMPLES / "mkdocs", tmp / "mkdocs",
                                    ignore=shutil.ignore_patterns("site", ".postkin-cache")))
        done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q"], cwd=site,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return site / "site"
    if name == "hugo":
        from hugo_site import require_hugo, run_hugo
        from test_hugo_site_example import copy_example

        require_hugo()
        site = copy_example(tmp)
        _postkin_build(site, cache)
        run_hugo(site)
        return site / "public"
    if name == "jekyll":
        from test_jekyll_example import JEKYLL, copy_example, jekyll_build

        if JEKYLL is None:
            pytest.skip("Jekyll is not installed (apt-get install -y --no-install-recommends jekyll)")
        site = copy_example(tmp / "jekyll")
        _postkin_build(site, cache)
        return jekyll_build(site)
    pytest.importorskip("tree_sitter_typescript", reason="the Eleventy and Astro dialects need postkin[eleventy,astro]")
    from node_generators import ASTRO_DIR, ELEVENTY_DIR
    from test_site_eleventy_astro import copy_example, generate

    site = copy_example(ELEVENTY_DIR if name == "eleventy" else ASTRO_DIR, tmp / name)
    _postkin_build(site, cache)
    return generate(name, site)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One embedding cache for every example: they share most posts."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module", params=list(ROOT))
def served(request, tmp_path_factory, cache: Path) -> Served:
    """One example built once (the settings it ships turn "Recommended for you" on), below BASE."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    out = _build(name, tmp, cache)
    www = tmp / "www"
    www.mkdir()
    shutil.move(str(out), str(www / BASE.strip("/")))
    vectors = next((www / BASE.strip("/")).glob("**/postkin/vectors.json"))
    return Served(name, www, vectors.read_bytes())


def topical_reader(data: bytes, n: int = 4) -> list[str]:
    """The first post of the vectors file and its n-1 nearest neighbours in it: a reader of one topic."""
    keys, C = browser.load(data)
    return [keys[i] for i in np.argsort(-(C @ C[0]), kind="stable")[:n]]


def check_reading(reading: Reading, data: bytes, read: list[str], page_path: dict[str, str], served: Path) -> None:
    """What every example must show (also used for Pelican's): see the module docstring. `page_path`:
    key -> the path its link must point at; `served`: the folder served at the origin's root."""
    first, *later = reading.views
    assert first.hidden and not first.links  # nothing read before: nothing shown...
    for view in reading.views:  # ...but the one request is made all the same, on every page, to the site
        vectors = [u for u in view.requests if u.endswith("/postkin/vectors.json")]
        assert len(vectors) == 1 and vectors[0].startswith(reading.origin + "/"), view.requests
    assert reading.stored == read  # the history lives in the reader's browser, in reading order
    for n, view in enumerate(later, start=2):
        assert not view.hidden and view.links
        got = [k for k, _, _ in view.links]
        assert not set(got) & set(read[:n]), got
        assert len(got) == min(5, len(browser.load(data)[0]) - n)
    got = [k for k, _, _ in reading.views[-1].links]
    expected = browser.recommend(data, read)
    if got != expected:  # the same ranking; only a tie within floating-point noise may swap two posts
        keys, C = browser.load(data)
        index = {k: i for i, k in enumerate(keys)}
        scores = C @ C[[index[k] for k in read]].mean(axis=0)
        assert np.allclose(sorted(scores[[index[k] for k in got]]), sorted(scores[[index[k] for k in expected]]),
                           atol=1e-9), (got, expected)
    titles = {p[0]: p[2] for p in json.loads(data)["posts"]}
    for key, href, text in reading.views[-1].links:
        path = urlparse(href).path
        assert path == page_path[key] and text == titles[key], (key, href, text)
        file = served / unquote(path).lstrip("/")
        assert (file / "index.html" if path.endswith("/") else file).is_file(), f"{href}: no such page"
    # a browser with a history asks for exactly what a fresh one asks for on that page (the theme's own
    # requests elsewhere, as Material's web fonts, included: they are the page's, not the history's)
    assert sorted(reading.views[-1].requests) == sorted(reading.fresh_last.requests)
    assert reading.fresh_last.hidden


def test_a_reader_of_four_posts_gets_the_nearest_unread_posts(served: Served) -> None:
    read = topical_reader(served.vectors)
    root = ROOT[served.name]
    page_path = {key: urlparse(urljoin("http://site" + root, url.lstrip("/"))).path
                 for key, url, _ in json.loads(served.vectors)["posts"]}
    reading = read_in_chromium(served.www, [page_path[key] for key in read])
    check_reading(reading, served.vectors, read, page_path, served.www)

