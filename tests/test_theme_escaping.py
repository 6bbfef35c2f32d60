"""The example theme escapes by construction: a hostile title, tag and topic label are text on every page.

A small blog built by Pelican with site_example's settings and theme (the fake encoder stands in for the
model) has a post titled `<img src=x onerror=alert(1)>` and a tag `<svg onload=alert(3)>` on one topic,
so the topic's label is built from it. Every page is opened in headless Chromium, with alert/confirm/
prompt replaced by a recorder before any script of the page runs; the test reads what a visitor gets:
no dialog, no element or event handler the payloads would create, and the payloads shown as text.

The title is written as Pelican's readers expect HTML in a title: `&lt;img ...&gt;`, which Pelican's
own themes print as it is. The theme shows Pelican's article title wherever postkin lists an article,
so what the reader sees does not depend on how postkin passes titles through.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pelican")
from browser import harness_report  # noqa: E402
from pelican import Pelican  # noqa: E402
from pelican.settings import read_settings  # noqa: E402

SITE = Path(__file__).resolve().parent.parent / "site_example"
TITLE = "<img src=x onerror=alert(1)>"
TAG = "<svg onload=alert(3)>"

POSTS = [
    # (slug, title as written in the Markdown file, tags, words)
    ("xss-title", "&lt;img src=x onerror=alert(1)&gt;", [TAG, "css"], "css grid flexbox layout browser"),
    ("grid-areas", "Grid areas in practice", [TAG, "css"], "css grid areas layout browser"),
    ("flex-gap", "Flexbox gap everywhere", [TAG], "css flexbox gap layout browser"),
    ("subgrid", "Subgrid arrives", ["css"], "css grid subgrid layout browser"),
    ("wheels", "Building wheels", ["python"], "python pip wheels packaging tooling"),
    ("venvs", "Virtual environments", ["python"], "python virtualenv packaging tooling pip"),
    ("lockfiles", "Lock files for Python", ["python"], "python lock packaging pip tooling"),
]

# Runs before anything else on the page: a dialog the payloads would open is recorded in the harness.
HOOK = ("<script>window.alert = window.confirm = window.prompt = function (m) {"
        " (parent.__dialogs = parent.__dialogs || []).push(location.pathname + ': ' + m); };</script>")

HARNESS = """<!doctype html><html><body><pre id="result">pending</pre>
<iframe id="f" width="1280" height="2000"></iframe>
<script>
const pages = %(pages)s, f = document.getElementById('f'), report = {pages: {}};
window.__dialogs = [];
let i = 0;
function next() {
  if (i >= pages.length) {
    report.dialogs = window.__dialogs;
    document.getElementById('result').textContent = JSON.stringify(report);
    return;
  }
  f.src = pages[i];
}
f.addEventListener('load', () => setTimeout(() => {
  const doc = f.contentDocument, text = doc.body ? doc.body.innerText : '';
  const handlers = [...doc.querySelectorAll('*')].flatMap(
    el => [...el.attributes].filter(a => a.name.startsWith('on')).map(a => el.tagName + '[' + a.name + ']'));
  report.pages[pages[i]] = {
    handlers: handlers,
    svg: doc.querySelectorAll('svg').length,
    img: [...doc.querySelectorAll('img')].map(im => im.getAttribute('src')),
    title_text: text.includes(%(title)s),
    tag_text: text.includes(%(tag)s),
    h1: (doc.querySelector('h1') || {}).textContent || '',
    document_title: doc.title,
    topic_labels: [...doc.querySelectorAll('.topic__label, .topic-label')].map(e => e.textContent),
    related: [...doc.querySelectorAll('a.postkin-related, a.postkin-topic-member')].map(e => e.textContent.trim()),
    suggested: [...doc.querySelectorAll('.tag--suggested')].map(e => e.textContent.trim()),
  };
  i += 1;
  next();
}, 150));
next();
</script></body></html>"""


def _post(folder: Path, slug: str, title: str, tags: list[str], words: str, day: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{slug}.md").write_text(
        f"Title: {title}\nDate: 2024-03-{day:02d} 10:00\nCategory: Notes\nTags: {', '.join(tags)}\n"
        f"Slug: {slug}\nViews: {100 * day}\nSummary: About {words}.\n\n{words.capitalize()}, and more on {words}.\n",
        encoding="utf-8")


@pytest.fixture
def hostile_site(tmp_path: Path, fake_encoder) -> Path:
    """The blog above built with site_example's settings and theme; returns the output folder."""
    if not (SITE / "pelicanconf.py").is_file():
        pytest.skip("site_example/ is not in this checkout")
    for day, (slug, title, tags, words) in enumerate(POSTS, start=1):
        _post(tmp_path / "content", slug, title, tags, words, day)
    conf = read_settings(str(SITE / "pelicanconf.py"), override={
        "PATH": str(tmp_path / "content"), "OUTPUT_PATH": str(tmp_path / "output"), "PAGE_PATHS": [],
        "POSTKIN_SHOW_SUGGESTED_TAGS": True,
        "POSTKIN": {"encoder": "fake", "cache_dir": str(tmp_path / "cache"), "clusters": 2, "related_k": 3, "tags_min_score": 0.0,
                    "tags_k": 3, "cluster_label_tags": 2}})
    Pelican(conf).run()
    return tmp_path / "output"


def _visit_every_page(site: Path, tmp_path: Path) -> dict:
    root = tmp_path / "www"
    shutil.copytree(site, root)
    pages = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html"))
    for page in pages:
        path = root / page
        html = path.read_text(encoding="utf-8")
        assert "<head>" in html, page
        path.write_text(html.replace("<head>", "<head>" + HOOK, 1), encoding="utf-8")
    harness = HARNESS % {"pages": json.dumps(["/" + p for p in pages]), "title": json.dumps(TITLE),
                         "tag": json.dumps(TAG)}
    report, _ = harness_report(root, harness, tmp_path / "profile", budget_ms=60000)
    assert sorted(report["pages"]) == ["/" + p for p in pages], "chromium did not visit every page"
    return report


@pytest.mark.slow
def test_hostile_title_tag_and_label_are_text_on_every_page(hostile_site: Path, tmp_path: Path) -> None:
    report = _visit_every_page(hostile_site, tmp_path)
    pages = report["pages"]
    assert report["dialogs"] == [], report["dialogs"]
    for page, seen in pages.items():  # nothing the payloads would create, on any page
        assert seen["handlers"] == [] and seen["svg"] == 0 and seen["img"] == [], (page, seen)

    # ... and what they are shown as instead: text, where a reader meets postkin's lists
    article = pages["/posts/xss-title.html"]
    assert article["h1"] == TITLE and article["document_title"].startswith(TITLE + " — ")
    assert any(TAG in label for label in article["topic_labels"]), article  # the label built from the tag
    related_elsewhere = [p for p, seen in pages.items() if TITLE in seen["related"] and p != "/posts/xss-title.html"]
    assert related_elsewhere, "no page lists the hostile post among related posts or topic members"
    index = pages["/index.html"]
    assert index["title_text"] and TITLE in index["related"]  # the topics sidebar lists it by its title
    assert any(TAG in label for label in index["topic_labels"]), index
    assert pages["/tags.html"]["tag_text"]
    tagged = [p for p, seen in pages.items() if p.startswith("/posts/") and seen["tag_text"]]
    assert len(tagged) >= 3, tagged  # its three posts' tag lists (and labels) show it as text
    assert any(f"#{TAG}" in s for seen in pages.values() for s in seen["suggested"]), "no suggested tag shown"
