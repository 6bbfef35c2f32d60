"""End to end: site_example built by Pelican with the real bundled encoder, then opened in Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

pytest.importorskip("pelican")
from browser import harness_report  # noqa: E402

RELATED = re.compile(r'<a class="postkin-related" href="([^"]+)"')


@pytest.fixture(scope="module")
def built(site_example_output: Path) -> Path:
    """site_example built once with the real model (conftest: shared with the other tests that read it)."""
    return site_example_output


@pytest.mark.slow
def test_every_article_links_to_related_posts_that_exist(built: Path) -> None:
    pages = sorted((built / "posts").glob("*.html"))
    assert len(pages) >= 40
    for page in pages:
        hrefs = RELATED.findall(page.read_text(encoding="utf-8"))
        assert len(hrefs) == 5, f"{page.name}: {len(hrefs)} related links"
        for href in hrefs:
            target = (page.parent / href).resolve()  # RELATIVE_URLS: resolved from the page's folder
            assert target.is_file(), f"{page.name} links to missing {href}"
            assert target != page.resolve(), f"{page.name} recommends itself"
            assert "/drafts/" not in target.as_posix(), f"{page.name} recommends a draft"
    drafts = sorted((built / "drafts").glob("*.html"))
    assert drafts and all(RELATED.search(d.read_text(encoding="utf-8")) for d in drafts)


HARNESS = """<!doctype html><html><body><pre id="result">pending</pre>
<iframe id="f" width="1280" height="2400" src="%(page)s"></iframe>
<script>
const f = document.getElementById('f'), out = document.getElementById('result');
let step = 0, report = {};
f.addEventListener('load', () => {
  const doc = f.contentDocument;
  if (step === 0) {
    step = 1;
    const links = [...doc.querySelectorAll('a.postkin-related')];
    report.count = links.length;
    report.visible = links.filter(a => {
      const r = a.getBoundingClientRect(), s = f.contentWindow.getComputedStyle(a);
      return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && s.opacity !== '0';
    }).length;
    report.texts = links.map(a => a.textContent.trim());
    report.target = links.length ? links[0].href : null;
    if (links.length) { links[0].click(); } else { out.textContent = JSON.stringify(report); }
  } else {
    report.arrived = f.contentWindow.location.href;
    report.title = (doc.querySelector('h1') || {}).textContent || '';
    out.textContent = JSON.stringify(report);
  }
});
</script></body></html>"""


@pytest.mark.slow
def test_related_links_are_visible_and_navigate_in_chromium(built: Path, tmp_path: Path) -> None:
    page = sorted((built / "posts").glob("*.html"))[0]
    root = tmp_path / "www"
    shutil.copytree(built, root)
    report, url = harness_report(root, HARNESS % {"page": page.relative_to(built).as_posix()}, tmp_path / "profile")
    assert report["count"] == 5 and report["visible"] == 5, report
    assert all(report["texts"]), report
    assert urlparse(report["arrived"]).path == urlparse(report["target"]).path, report
    assert report["title"].strip() == report["texts"][0], report  # the linked post's page opened
    assert urlparse(urljoin(url, report["target"])).path.startswith("/posts/")
