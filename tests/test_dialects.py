"""Reading a site as its generator does: detection, and the rules shared by every dialect (visibility,
titles as written, dates as generators write them, languages and translations, files that are not posts).
Each generator's own rules are tested in test_dialect_<generator>.py."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_post

from postkin import corpus as corpus_module
from postkin.cli import main
from postkin.dialects import find_site, read_site
from postkin.settings import Settings


def build(content: Path, tmp_path: Path, *extra: str) -> tuple[dict, str]:
    config = tmp_path / "postkin.toml"
    if not config.exists():
        config.write_text('encoder = "fake"\n', encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(content), "--out", str(out), "--config", str(config),
                                       "--cache-dir", str(tmp_path / "cache"), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((out / "postkin.json").read_text(encoding="utf-8")), result.output


def test_detection_walks_up_to_the_generator_configuration(tmp_path):
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "pelicanconf.py").write_text('PATH = "content"\n', encoding="utf-8")
    assert find_site(site / "content", Settings()).name == "pelican"
    assert find_site(site, Settings()).name == "pelican"
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / ".git").mkdir()  # the search stops at a repository root
    (plain / "posts").mkdir()
    assert find_site(plain / "posts", Settings()).name == "generic"
    assert find_site(site / "content", Settings(generator="generic")).name == "generic"


def test_a_readme_without_front_matter_is_not_a_post_and_an_empty_folder_says_so(tmp_path, fake_encoder):
    content = tmp_path / "content"
    content.mkdir()
    (content / "README.md").write_text("# About this folder\n\nNot a post.\n", encoding="utf-8")
    data, output = build(content, tmp_path)
    assert data["posts"] == {}
    assert "no posts found (1 Markdown file(s), none of them a post, read as a generic folder of posts)" in output
    write_post(content, "2024-01-01-a.md", "title: A")
    data, _ = build(content, tmp_path)
    assert list(data["posts"]) == ["a"]


def test_a_pelican_file_outside_a_pelican_site_is_one_line(tmp_path, fake_encoder):
    content = tmp_path / "content"
    content.mkdir()
    (content / "about.md").write_text("Title: About\nDate: 2024-01-01\n\nAbout us.\n", encoding="utf-8")
    write_post(content, "2024-01-01-a.md", "title: A")
    _, output = build(content, tmp_path)
    line = [x for x in output.splitlines() if "about.md" in x]
    assert len(line) == 1 and "Pelican metadata (Title: ...) without a Pelican site" in line[0]


def test_hidden_scheduled_and_expired_posts_are_listed_nowhere(tmp_path, fake_encoder, monkeypatch):
    monkeypatch.setattr(corpus_module, "clock", lambda: dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc))
    content = tmp_path / "content"
    for name, front in {"2024-01-01-a.md": "title: CSS grid a", "2024-01-02-b.md": "title: CSS grid b",
                        "2024-01-03-hidden.md": "title: CSS grid hidden\nhidden: true",
                        "2099-06-01-later.md": "title: CSS grid later",
                        "2024-01-04-gone.md": "title: CSS grid gone\nexpiryDate: 2024-02-01"}.items():
        write_post(content, name, front + "\ntags: [css]", "css grid layout\n")
    data, _ = build(content, tmp_path)
    posts = data["posts"]
    assert {k for k, v in posts.items() if not v["draft"]} == {"a", "b"}
    for ctx in posts.values():
        listed = {i["slug"] for key in ("related", "cluster_latest", "cluster_popular") for i in ctx[key]}
        assert listed <= {"a", "b"}
    assert {m["slug"] for c in data["clusters"] for m in c["members"]} == {"a", "b"}
    # the scheduled post appears once its date has passed, with no change to its file
    monkeypatch.setattr(corpus_module, "clock", lambda: dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc))
    data, _ = build(content, tmp_path)
    assert not data["posts"]["later"]["draft"] and data["posts"]["gone"]["draft"]


def test_titles_are_shown_as_written_and_only_the_embedded_text_is_cleaned(tmp_path, fake_encoder):
    content = tmp_path / "content"
    titles = ["Use <details> for FAQ pages", "Python's __init__ and __main__ explained",
              "Why 2*3 and 4*5 differ in C macros", "Escaped &lt;img&gt; stays escaped"]
    for n, title in enumerate(titles):
        write_post(content, f"2024-01-0{n + 1}-p{n}.md", f"title: {json.dumps(title)}", "text about macros\n")
    data, _ = build(content, tmp_path)
    assert sorted(p["title"] for p in data["posts"].values()) == sorted(titles)
    shown = {item["title"] for p in data["posts"].values() for item in p["related"]}
    assert shown <= set(titles)
    assert "Use for FAQ pages" in {t for t in fake_encoder.texts if "FAQ" in t}.pop()


@pytest.mark.parametrize("front, expected", [
    ("date:\n  created: 2024-02-21\n  updated: 2024-02-25", "2024-02-21T00:00:00"),  # Material for MkDocs
    ("date: Jul 08 2022", "2022-07-08T00:00:00"),  # Astro's blog starter
])
def test_dates_as_generators_write_them(tmp_path, fake_encoder, front, expected):
    content = tmp_path / "content"
    write_post(content, "post.md", f"title: T\n{front}", "text\n")
    data, output = build(content, tmp_path)
    assert data["posts"]["post"]["date"] == expected, output


@pytest.mark.parametrize("keyword", ["Created", "Last Modified", "git Last Modified"])
def test_eleventy_date_keywords_read_the_file_dates(tmp_path, fake_encoder, keyword):
    content = tmp_path / "content"
    path = write_post(content, "post.md", f"title: T\ndate: {keyword}", "text\n")
    data, output = build(content, tmp_path)
    assert "skipped" not in output
    expected = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).replace(microsecond=0)
    assert dt.datetime.fromisoformat(data["posts"]["post"]["date"]) <= expected + dt.timedelta(seconds=1)


def test_translations_are_listed_never_related_and_same_language_is_a_setting(tmp_path, fake_encoder):
    content = tmp_path / "content"
    for name, front in {
        "sourdough.md": "title: Sourdough bread starter\nlang: en",
        "sourdough-fr.md": "title: Sourdough bread starter\nlang: fr\nslug: sourdough",
        "rye.md": "title: Rye bread starter\nlang: en",
        "levain.md": "title: Levain bread starter\nlang: fr",
    }.items():
        write_post(content, name, front + "\ntags: [bread]", "bread starter flour water\n")
    data, _ = build(content, tmp_path)
    posts = data["posts"]
    assert posts["sourdough"]["translations"] == [
        {"date": None, "lang": "fr", "slug": "sourdough-fr", "source": "sourdough-fr.md",
         "title": "Sourdough bread starter", "url": posts["sourdough-fr"]["url"]}]
    assert "sourdough-fr" not in [r["slug"] for r in posts["sourdough"]["related"]]
    assert {r["slug"] for r in posts["sourdough"]["related"]} == {"rye", "levain"}  # all languages
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\nrelated_languages = "same"\n', encoding="utf-8")
    data, _ = build(content, tmp_path)
    assert [r["slug"] for r in data["posts"]["sourdough"]["related"]] == ["rye"]


def test_a_symlink_out_of_the_content_folder_is_skipped_and_a_loop_reported_once(tmp_path, fake_encoder):
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: Secret\n---\nsecret text\n", encoding="utf-8")
    content = tmp_path / "content"
    write_post(content, "2024-01-01-a.md", "title: A")
    (content / "leak.md").symlink_to(secret)
    (content / "loop").symlink_to(content, target_is_directory=True)
    corpus = read_site(content, Settings())
    assert [p.source for p in corpus.posts] == ["2024-01-01-a.md"]
    reasons = {p.path: p.reason for p in corpus.problems}
    assert "outside" in reasons["leak.md"] and "follow_symlinks" in reasons["leak.md"]
    assert list(reasons).count("loop") == 1 and "loop" in reasons["loop"]
    allowed = read_site(content, Settings(follow_symlinks=True))
    assert "leak.md" in [p.source for p in allowed.posts]


def test_vendor_folders_are_not_read(tmp_path):
    content = tmp_path / "content"
    write_post(content, "2024-01-01-a.md", "title: A")
    write_post(content, "node_modules/pkg/README.md", "title: Dependency readme")
    write_post(content, "venv/lib/site-packages/x/doc.md", "title: A package's doc")
    assert [p.source for p in read_site(content, Settings()).posts] == ["2024-01-01-a.md"]


def test_too_many_clusters_is_one_line_and_quick(tmp_path, fake_encoder):
    content = tmp_path / "content"
    for n in range(12):
        write_post(content, f"2024-01-{n + 1:02d}-p{n}.md", f"title: Post {n}\ntags: [t{n % 3}]", f"words {n}\n")
    data, output = build(content, tmp_path, "--clusters", "10000")
    assert "clusters = 10000 is more than half of the 12 listed posts; using 6 topics" in output
    assert len(data["clusters"]) <= 6


@pytest.mark.skipif(importlib.util.find_spec("pelican") is None, reason="Pelican is not installed: pip install 'postkin[pelican]'")
def test_postkin_build_on_a_pelican_site_reads_what_the_plugin_reads(tmp_path, fake_encoder):
    """The CLI read a Pelican site's `Title:` files as untitled, undated posts."""
    site = tmp_path / "site"
    content = site / "content"
    content.mkdir(parents=True)
    (site / "pelicanconf.py").write_text(
        'PATH = "content"\nTIMEZONE = "UTC"\nARTICLE_URL = "posts/{slug}.html"\nDEFAULT_LANG = "en"\n',
        encoding="utf-8")
    (content / "grid.md").write_text("Title: CSS grid areas\nDate: 2024-01-02\nTags: css, layout\n\n"
                                     "Grid template areas.\n", encoding="utf-8")
    (content / "flex.md").write_text("Title: Flexbox gaps\nDate: 2024-01-03\nTags: css\nStatus: draft\n\n"
                                     "Flexbox gap property.\n", encoding="utf-8")
    data, _ = build(site, tmp_path)
    grid = data["posts"]["css-grid-areas"]
    assert grid["title"] == "CSS grid areas" and grid["url"] == "posts/css-grid-areas.html"
    assert grid["date"].startswith("2024-01-02") and data["posts"]["flexbox-gaps"]["draft"]
