"""The Hugo dialect reads a site as Hugo does: which files are posts, their keys, URLs, dates, titles,
tags, visibility and languages. Each situation of issue #12 and each surprise in the Hugo notes is a
small site made here; `test_postkin_agrees_with_hugo` builds one with the real Hugo and compares."""

from __future__ import annotations

import datetime as dt
import html
import json
import shutil
import textwrap
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from hugo_site import install_dump, read_dump, run_hugo

from postkin import corpus as corpus_module
from postkin.cli import main
from postkin.corpus import Corpus, listed
from postkin.dialects import find_site, read_site
from postkin.dialects import hugo_paths as hp
from postkin.dialects.hugo_config import hugo_date
from postkin.settings import Settings

MULTILINGUAL = """
baseURL = "https://example.org/blog/"
title = "Test"
defaultContentLanguage = "en"
[languages.en]
weight = 1
[languages.fr]
weight = 2
"""


def make_site(root: Path, config: str, files: dict[str, str], config_name: str = "hugo.toml") -> Path:
    """A Hugo site: `config` as its configuration file, `files` {path under content/: front matter
    (YAML, without fences; None: no front matter) + a body line}."""
    root.mkdir(parents=True, exist_ok=True)
    (root / config_name).write_text(textwrap.dedent(config), encoding="utf-8")
    for name, front in files.items():
        path = root / "content" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        body = f"Some text about {Path(name).stem.replace('-', ' ')}.\n"
        if front is None:
            text = body
        elif front.lstrip().startswith(("{", "+++")):  # JSON or TOML front matter, written as given
            text = f"{textwrap.dedent(front).strip()}\n{body}"
        else:
            text = f"---\n{textwrap.dedent(front).strip()}\n---\n{body}"
        path.write_text(text, encoding="utf-8")
    return root


def read(site: Path, **settings) -> Corpus:
    return read_site(site, Settings(**settings))


def by_source(corpus: Corpus) -> dict:
    return {p.source: p for p in corpus.posts}


def build(site: Path, tmp_path: Path, *extra: str) -> tuple[Path, str]:
    """`postkin build SITE` with the fake encoder: (the data folder, the output)."""
    config = tmp_path / "postkin.toml"
    if not config.exists():
        config.write_text('encoder = "fake"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(site), "--config", str(config), "--cache-dir",
                                       str(tmp_path / "cache"), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return site / "data" / "postkin", result.output


# -- which files are posts, and their keys ----------------------------------------------------------
def test_page_bundles_are_posts_named_by_their_folder_and_the_section_page_is_not(tmp_path):
    """Issue #12: two bundles stopped the build ('slug index is also used by ...'), one bundle was keyed
    `index`, and posts/_index.md became a post."""
    site = make_site(tmp_path / "site", 'baseURL = "https://example.org/"\ntitle = "T"\n', {
        "posts/_index.md": "title: All posts",
        "posts/compost-heap/index.md": "title: Building a compost heap\ndate: 2024-01-22",
        "posts/compost-heap/notes.md": "title: Notes kept with the bundle",
        "posts/tomatoes-on-a-balcony/index.md": "title: Tomatoes on a balcony\ndate: 2024-01-23",
        "posts/tomatoes-on-a-balcony/images/caption.md": "title: A caption",
    })
    corpus = read(site)
    assert {p.slug: p.url for p in corpus.posts} == {"compost-heap": "/posts/compost-heap/",
                                                     "tomatoes-on-a-balcony": "/posts/tomatoes-on-a-balcony/"}
    reasons = {p.path: p.reason for p in corpus.not_posts}
    assert "list page" in reasons["posts/_index.md"]
    assert "resource of the leaf bundle posts/compost-heap/" in reasons["posts/compost-heap/notes.md"]
    assert "resource" in reasons["posts/tomatoes-on-a-balcony/images/caption.md"]
    assert {p.ref for p in corpus.posts} == {"/posts/compost-heap", "/posts/tomatoes-on-a-balcony"}


def test_posts_are_the_main_sections_pages(tmp_path):
    files = {"posts/a.md": "title: A", "posts/b.md": "title: B", "notes/n.md": "title: N", "about.md": "title: About",
             "README.md": None}
    site = make_site(tmp_path / "site", 'title = "T"\n', files)
    assert sorted(p.source for p in read(site).posts) == ["posts/a.md", "posts/b.md"]  # the biggest section
    (site / "hugo.toml").write_text('title = "T"\nmainSections = ["notes"]\n', encoding="utf-8")
    assert [p.source for p in read(site).posts] == ["notes/n.md"]
    (site / "hugo.toml").write_text('title = "T"\n[params]\nmainSections = ["posts", "notes"]\n', encoding="utf-8")
    assert len(read(site).posts) == 3


def test_main_sections_from_the_theme_s_params_below_the_site_s(tmp_path):
    site = make_site(tmp_path / "site", 'title = "T"\ntheme = "paper"\n', {
        "posts/a.md": "title: A", "posts/b.md": "title: B", "notes/n.md": "title: N"})
    (site / "themes" / "paper").mkdir(parents=True)
    (site / "themes" / "paper" / "hugo.toml").write_text('[params]\nmainSections = ["notes"]\n', encoding="utf-8")
    assert [p.source for p in read(site).posts] == ["notes/n.md"]
    (site / "hugo.toml").write_text('title = "T"\ntheme = "paper"\n[params]\nmainSections = ["posts"]\n',
                                    encoding="utf-8")
    assert [p.source for p in read(site).posts] == ["posts/a.md", "posts/b.md"]


def test_keys_are_unique_file_safe_and_name_translations(tmp_path):
    site = make_site(tmp_path / "site", MULTILINGUAL, {
        "posts/sourdough.md": "title: Sourdough", "posts/sourdough.fr.md": "title: Le levain",
        "posts/2023/x.md": "title: X 2023", "posts/2024/x.md": "title: X 2024",
        "posts/x.md": "title: X", "posts/Mixed Case Name.md": "title: Mixed",
        "posts/back\\slash.md": "title: B", "posts/with-slug.md": "title: W\nslug: My Custom Slug!",
    })
    keys = {p.source: p.slug for p in read(site).posts}
    assert keys == {"posts/sourdough.md": "sourdough", "posts/sourdough.fr.md": "sourdough.fr",
                    "posts/2023/x.md": "posts-2023-x", "posts/2024/x.md": "posts-2024-x", "posts/x.md": "posts-x",
                    "posts/Mixed Case Name.md": "mixed-case-name", "posts/back\\slash.md": "back-slash",
                    "posts/with-slug.md": "with-slug"}  # the key is the file's; the slug makes the URL


# -- URLs -------------------------------------------------------------------------------------------
def test_translations_by_file_name_get_hugo_urls_and_group(tmp_path):
    """Issue #12: English posts recommended `sourdough.fr` at /2024/01/01/sourdough.fr/, a URL Hugo never
    makes."""
    site = make_site(tmp_path / "site", MULTILINGUAL, {
        "posts/sourdough.md": "title: Sourdough starter\ndate: 2024-01-01",
        "posts/sourdough.fr.md": "title: Le levain\ndate: 2024-01-01",
        "posts/fromage.fr.md": "title: Fromage\ndate: 2024-01-02",
        "posts/rye.md": "title: Rye\ndate: 2024-01-03\ntranslationKey: bread",
        "posts/seigle.fr.md": "title: Seigle\ndate: 2024-01-03\ntranslationKey: bread",
    })
    posts = {p.slug: p for p in read(site).posts}
    assert posts["sourdough.fr"].url == "/blog/fr/posts/sourdough/" and posts["sourdough"].url == "/blog/posts/sourdough/"
    assert posts["sourdough.fr"].lang == "fr" and posts["fromage.fr"].lang == "fr"
    assert posts["sourdough"].translation_key == posts["sourdough.fr"].translation_key == "/posts/sourdough"
    assert posts["rye"].translation_key == posts["seigle.fr"].translation_key == "bread"
    assert posts["sourdough"].ref == posts["sourdough.fr"].ref == "/posts/sourdough"


def test_a_language_code_the_site_does_not_declare_is_part_of_the_name(tmp_path):
    site = make_site(tmp_path / "site", 'title = "T"\n', {"posts/sourdough.fr.md": "title: S", "posts/b.md": "title: B"})
    post = by_source(read(site))["posts/sourdough.fr.md"]
    assert (post.slug, post.url, post.lang) == ("sourdough.fr", "/posts/sourdough.fr/", "en")


@pytest.mark.parametrize("config, expected", [
    ("", "/blog/posts/2024-02-03-dated-name/"),
    ('[permalinks]\nposts = "/:year/:month/:slug/"\n', "/blog/1/01/date-only-in-the-file-name/"),
    ('[frontmatter]\ndate = [":filename", ":default"]\n', "/blog/posts/dated-name/"),
])
def test_file_name_dates_only_with_the_filename_date_handler(tmp_path, config, expected):
    site = make_site(tmp_path / "site", 'baseURL = "https://example.org/blog"\ntitle = "T"\n' + config, {
        "posts/2024-02-03-dated-name.md": "title: Date only in the file name", "posts/b.md": "title: B"})
    post = by_source(read(site))["posts/2024-02-03-dated-name.md"]
    assert post.url == expected
    assert (post.date is not None) == ("filename" in config)


def test_permalink_slug_falls_back_to_the_title_and_empty_or_undated_pages_are_hugo_s(tmp_path):
    config = 'title = "T"\ndefaultContentLanguageInSubdir = true\n[permalinks]\nposts = "/:year/:month/:slug/"\n'
    site = make_site(tmp_path / "site", config, {
        "posts/compost-heap/index.md": "title: Building a Compost Heap\ndate: 2024-03-01",
        "posts/no-title.md": "date: 2024-01-11", "posts/no-front-matter.md": None,
        "posts/with-slug.md": "title: T\nslug: -My Custom Slug!-\ndate: 2024-01-08",
        "posts/c.md": "title: C++ tips\ndate: 2024-01-08",
        "posts/with-url.md": "title: U\nurl: /custom/place/\ndate: 2024-01-09",
        "posts/relative-url.md": "title: R\nurl: custom/relative\ndate: 2024-01-09",
    })
    urls = {p.source: p.url for p in read(site).posts}
    assert urls == {"posts/compost-heap/index.md": "/en/2024/03/building-a-compost-heap/",
                    "posts/no-title.md": "/en/2024/01/", "posts/no-front-matter.md": "/en/1/01/",
                    "posts/with-slug.md": "/en/2024/01/my-custom-slug/",
                    "posts/c.md": "/en/2024/01/c-tips/",  # Hugo query-unescapes the path: the "++" are spaces, then dropped
                    "posts/with-url.md": "/custom/place/", "posts/relative-url.md": "/en/custom/relative/"}


@pytest.mark.parametrize("text, expected", [
    ("Use <details> & 2*3 <script>alert(1)</script>", "use-details-23-scriptalert1/script"),
    ("Using <details> and 2*3 in __init__", "using-details-and-23-in-__init__"),
    ("Python 3.12", "python-3.12"), ("C++", "c++"), ("  spaced   out  ", "spaced-out"), ("a - b", "a-b"),
    ("Café crème: ça marche! 日本語のタイトル", "café-crème-ça-marche-日本語のタイトル"),
])
def test_urlize_drops_characters_instead_of_replacing_them(text, expected):
    assert hp.make_path_sanitized(text) == expected


def test_url_options_ugly_accents_case_and_every_token(tmp_path):
    """The URLs Hugo 0.168 gives this site (checked by hand: hugo and a template listing .RelPermalink)."""
    config = """
    title = "T"
    uglyURLs = true
    removePathAccents = true
    [permalinks.page]
    posts = "/:year/:slug/"
    a = "/:section/:sections/:monthname-:weekdayname-:yearday/:06/:contentbasename"
    b = "/:sectionslug/:sectionslugs[1:]/:filename/:slugorfilename/:slugorcontentbasename/:title"
    """
    site = make_site(tmp_path / "site", config, {
        "posts/unicode.md": "title: Café crème\ndate: 2024-01-13", "posts/x.md": "title: X\ndate: 2024-01-13",
        "posts/y.md": "title: Y", "a/Mixed Case.md": "title: Mixed\ndate: 2024-02-06",
        "b/_index.md": "title: The B Section", "b/sub/_index.md": "slug: subsection",
        "b/sub/leaf/index.md": "title: Leaf Title\nslug: leaf-slug",
    })
    dialect = find_site(site, Settings())
    dialect.hugo.main_sections["en"] = ["posts", "a", "b"]
    urls = {p.source: p.url for p in dialect.read().posts}
    assert urls == {"posts/unicode.md": "/2024/cafe-creme.html", "posts/x.md": "/2024/x.html", "posts/y.md": "/1/y.html",
                    "a/Mixed Case.md": "/a/a/february-tuesday-37/24/mixed-case.html",
                    "b/sub/leaf/index.md": "/the-b-section/subsection/leaf/leaf-slug/leaf-slug/leaf-title.html"}


def test_the_base_path_from_hugo_baseurl_in_the_environment(tmp_path, monkeypatch):
    site = make_site(tmp_path / "site", 'baseURL = "https://example.org/"\ntitle = "T"\n', {"posts/a.md": "title: A"})
    monkeypatch.setenv("HUGO_BASEURL", "https://someone.github.io/project/")
    assert read(site).posts[0].url == "/project/posts/a/"


# -- dates and visibility ---------------------------------------------------------------------------
def test_dates_without_an_offset_are_utc_whatever_the_machine_zone(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        site = make_site(tmp_path / "site", 'title = "T"\n', {
            "posts/a.md": "title: A\ndate: 2024-01-02T23:30:00", "posts/b.md": "title: B\ndate: 2024-01-02",
            "posts/c.md": "title: C\ndate: 2024-01-02T23:30:00+09:00", "posts/d.md": "title: D\nlastmod: 2024-01-04"})
        dates = {p.source: p.date.isoformat() for p in read(site).posts}
        pub = by_source(read(site))["posts/d.md"].publish_date
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert dates == {"posts/a.md": "2024-01-02T23:30:00+00:00", "posts/b.md": "2024-01-02T00:00:00+00:00",
                     "posts/c.md": "2024-01-02T23:30:00+09:00", "posts/d.md": "2024-01-04T00:00:00+00:00"}
    assert pub is not None and pub.isoformat() == "2024-01-04T00:00:00+00:00"  # lastmod -> date -> publishDate


def test_dates_in_the_site_time_zone_in_the_forms_hugo_reads():
    zone = hp_zone = __import__("zoneinfo").ZoneInfo("America/New_York")
    assert hugo_date("2024-01-03 10:00:00", zone).isoformat() == "2024-01-03T10:00:00-05:00"
    assert hugo_date(dt.date(2024, 1, 3), zone).isoformat() == "2024-01-03T00:00:00-05:00"
    assert hugo_date("2024-01-02T23:30:00Z", hp_zone).isoformat() == "2024-01-02T23:30:00+00:00"
    assert hugo_date("02 Jan 2006", zone).isoformat() == "2006-01-02T00:00:00-05:00"
    assert hugo_date("2022-12-14T9:14:26+09:00", zone).isoformat() == "2022-12-14T09:14:26+09:00"  # Go: 1-2 digit hour
    for bad in ("2024-01-03 10:00", "2024-1-3", "yesterday", True):
        with pytest.raises(ValueError):
            hugo_date(bad, zone)


def test_a_value_hugo_rejects_is_one_line_naming_the_file(tmp_path):
    site = make_site(tmp_path / "site", 'title = "T"\n', {
        "posts/ok.md": "title: OK", "posts/published.md": "title: P\npublished: false",
        "posts/minutes.md": 'title: M\ndate: "2024-01-03 10:00"', "posts/proto.md": "title: U\nurl: https://x.org/a/"})
    corpus = read(site)
    reasons = {p.path: p.reason for p in corpus.problems}
    assert [p.source for p in corpus.posts] == ["posts/ok.md"]
    assert "gohugoio/hugo#13073" in reasons["posts/published.md"] and "draft: true" in reasons["posts/published.md"]
    assert "'2024-01-03 10:00' is not a date Hugo reads" in reasons["posts/minutes.md"]
    assert "protocol" in reasons["posts/proto.md"]


def test_future_expired_drafts_and_unrendered_pages_are_never_listed(tmp_path, monkeypatch):
    """Issue #12: a post dated 2099-06-01 headed the latest lists, although Hugo does not build it."""
    monkeypatch.setattr(corpus_module, "clock", lambda: dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc))
    site = make_site(tmp_path / "site", 'title = "T"\n', {
        "posts/ok.md": "title: OK\ndate: 2024-01-01", "posts/future.md": "title: F\ndate: 2099-06-01",
        "posts/later.md": "title: L\ndate: 2024-01-01\npublishDate: 2099-01-01",
        "posts/published.md": "title: P\ndate: 2024-01-01\npublished: 2099-01-01",  # an alias of publishDate
        "posts/expired.md": "title: E\ndate: 2024-01-01\nexpiryDate: 2024-02-01",
        "posts/draft.md": "title: D\ndraft: true", "posts/not-draft.md": 'title: ND\ndraft: "false"',
        "posts/list-never.md": "title: LN\nbuild:\n  list: never", "posts/render-never.md": "title: RN\nbuild:\n  render: never",
        "posts/render-link.md": "title: RL\nbuild:\n  render: link", "posts/headless/index.md": "title: H\nheadless: true",
        "posts/hidden.md": "title: Hidden\nhidden: true",  # a theme convention: Hugo lists it
        "posts/cased.md": "title: C\nBuild:\n  List: never",  # keys are case-insensitive at every level
    })
    corpus = read(site)
    shown = {p.source for p, ok in zip(corpus.posts, listed(corpus.posts)) if ok}
    assert shown == {"posts/ok.md", "posts/not-draft.md", "posts/hidden.md"}
    assert by_source(corpus)["posts/render-never.md"].url == ""
    (site / "hugo.toml").write_text('title = "T"\nbuildFuture = true\nbuildExpired = true\nbuildDrafts = true\n')
    corpus = read(site)
    shown = {p.source for p, ok in zip(corpus.posts, listed(corpus.posts, build_future=corpus.build_future,
                                                            build_expired=corpus.build_expired)) if ok}
    assert {"posts/future.md", "posts/later.md", "posts/published.md", "posts/expired.md", "posts/draft.md"} <= shown


def test_cascade_from_a_section_page_applies_below_it(tmp_path):
    site = make_site(tmp_path / "site", 'title = "T"\n[[cascade]]\n[cascade.params]\nkeep = 1\n', {
        "posts/a.md": "title: A", "posts/drafts/_index.md": "cascade:\n  draft: true",
        "posts/drafts/b.md": "title: B", "posts/drafts/c.md": "title: C\ndraft: false",
        "posts/old/_index.md": "cascade:\n  - target:\n      path: /posts/old/x*\n    build:\n      list: never",
        "posts/old/x1.md": "title: X1", "posts/old/y1.md": "title: Y1"})
    corpus = read(site)
    drafts = {p.source for p in corpus.posts if p.draft}
    assert drafts == {"posts/drafts/b.md", "posts/old/x1.md"}


def test_a_content_folder_per_language_agrees_with_hugo(tmp_path):
    """languages.<code>.contentDir: each folder's files are that language's; the same path in two folders
    is one page in two languages; each language picks its own main section."""
    config = ('baseURL = "https://example.org/"\ntitle = "T"\n[languages.en]\ncontentDir = "content/en"\nweight = 1\n'
              '[languages.de]\ncontentDir = "content/de"\nweight = 2\n[outputs]\nhome = ["html", "json"]\n')
    site = make_site(tmp_path / "site", config, {
        "en/posts/bread.md": "title: Bread\ndate: 2024-01-01", "en/posts/rye.md": "title: Rye\ndate: 2024-01-02",
        "en/notes/n.md": "title: Note", "de/posts/bread.md": "title: Brot\ndate: 2024-01-03",
        "de/docs/a.md": "title: A", "de/docs/b.md": "title: B", "de/docs/c.md": "title: C",
        "de/posts/x.fr.md": "title: Not French"})
    install_dump(site, site / "content" / "en", site / "content" / "de")
    run_hugo(site)
    hugo = read_dump(site / "public", by_language=True)
    corpus = read(site)
    mine = {(p.lang, p.source.split("/", 1)[1]): p for p in corpus.posts}
    theirs = {k for k, f in hugo.items() if f["kind"] == "page" and f["section"] in f["mainSections"]}
    assert set(mine) == theirs == {("en", "posts/bread.md"), ("en", "posts/rye.md"), ("de", "docs/a.md"),
                                   ("de", "docs/b.md"), ("de", "docs/c.md")}
    for key, post in mine.items():
        assert (post.url, post.ref, post.lang) == (hugo[key]["url"], hugo[key]["path"], hugo[key]["lang"])
    assert mine[("en", "posts/bread.md")].slug == "bread" and len({p.slug for p in corpus.posts}) == 5


def test_page_views_in_front_matter_or_its_params(tmp_path):
    site = make_site(tmp_path / "site", 'title = "T"\n', {
        "posts/a.md": "title: A\nviews: 1200", "posts/b.md": "title: B\nparams:\n  views: 300"})
    assert {p.source: p.popularity for p in read(site).posts} == {"posts/a.md": 1200.0, "posts/b.md": 300.0}


def test_content_mounted_from_other_folders_agrees_with_hugo(tmp_path):
    """module.mounts targeting content replace contentDir: a folder mounted below content/posts and a
    language's own folder are read where Hugo puts them."""
    config = ('baseURL = "https://example.org/"\ntitle = "T"\n[languages.en]\nweight = 1\n[languages.nl]\nweight = 2\n'
              '[outputs]\nhome = ["html", "json"]\n[[module.mounts]]\nsource = "content"\ntarget = "content"\n'
              '[[module.mounts]]\nsource = "essays"\ntarget = "content/posts/essays"\n'
              '[[module.mounts]]\nsource = "dutch"\ntarget = "content"\n[module.mounts.sites.matrix]\nlanguages = ["nl"]\n')
    site = make_site(tmp_path / "site", config, {"posts/a.md": "title: A\ndate: 2024-01-01",
                                                 "posts/b.md": "title: B\ndate: 2024-01-02"})
    for folder, name, front in (("essays", "long-read.md", "title: A long read\ndate: 2024-01-03"),
                                ("dutch", "posts/a.md", "title: Een\ndate: 2024-01-04"),
                                ("dutch", "posts/c.md", "title: Twee\ndate: 2024-01-05")):
        (site / folder / name).parent.mkdir(parents=True, exist_ok=True)
        (site / folder / name).write_text(f"---\n{front}\n---\nText.\n", encoding="utf-8")
    (site / "data" / "dump").mkdir(parents=True)
    install_dump(site, site / "content")
    (site / "data" / "dump" / "sources.json").write_text(json.dumps(
        ["posts/a.md", "posts/b.md", "posts/essays/long-read.md", "posts/c.md"]), encoding="utf-8")
    run_hugo(site)
    hugo = read_dump(site / "public", by_language=True)
    dialect = find_site(site, Settings())
    corpus = dialect.read()
    mine = {(p.lang, dialect._files[p.source].logical): p for p in corpus.posts}
    assert set(mine) == {k for k, f in hugo.items() if f["kind"] == "page"} == {
        ("en", "posts/a.md"), ("en", "posts/b.md"), ("en", "posts/essays/long-read.md"), ("nl", "posts/a.md"),
        ("nl", "posts/c.md")}
    for key, post in mine.items():
        assert (post.url, post.ref, post.lang) == (hugo[key]["url"], hugo[key]["path"], hugo[key]["lang"]), key
    assert {p.slug for p in corpus.posts} == {"a", "b", "long-read", "a.nl", "c.nl"}


def test_taxonomies_the_site_defines(tmp_path):
    site = make_site(tmp_path / "site", 'title = "T"\n[taxonomies]\ntopic = "topics"\n', {
        "posts/a.md": "title: A\ntopics: [Databases, Search]\ntags: [ignored]\ncategories: [x]"})
    post = read(site).posts[0]
    assert (post.tags, post.categories) == (["Databases", "Search"], [])


# -- titles, tags -------------------------------------------------------------------------------------
def test_titles_are_verbatim_and_a_string_of_tags_is_one_term(tmp_path):
    site = make_site(tmp_path / "site", 'title = "T"\n', {
        "posts/markup.md": "title: 'Use <details> & 2*3 <script>alert(1)</script>'\ntags: [C++, Python 3.12]",
        "posts/string.md": "title: S\ntags: a b c\ncategories: 'x, y'",
        "posts/singular.md": "title: One\ntag: ignored", "posts/cased.md": "title: C\ntags: [Garden, garden, GARDEN]",
        "posts/untitled.md": "date: 2024-01-01"})
    posts = by_source(read(site))
    assert posts["posts/markup.md"].title == "Use <details> & 2*3 <script>alert(1)</script>"
    assert posts["posts/markup.md"].tags == ["C++", "Python 3.12"]
    assert (posts["posts/string.md"].tags, posts["posts/string.md"].categories) == (["a b c"], ["x, y"])
    assert posts["posts/singular.md"].tags == [] and posts["posts/cased.md"].tags == ["Garden"]
    assert posts["posts/untitled.md"].title == ""


# -- finding the site ------------------------------------------------------------------------------
def test_hugo_is_recognised_by_its_configuration_and_not_by_a_zola_config(tmp_path):
    make_site(tmp_path / "hugo-config", 'baseURL = "https://x.org/"\n', {"posts/a.md": "title: A"}, "config.toml")
    assert find_site(tmp_path / "hugo-config" / "content" / "posts", Settings()).name == "hugo"
    make_site(tmp_path / "zola", 'base_url = "https://x.org"\ntitle = "Z"\n', {"posts/a.md": "title: A"}, "config.toml")
    (tmp_path / "zola" / ".git").mkdir()
    assert find_site(tmp_path / "zola", Settings()).name != "hugo"
    split = make_site(tmp_path / "split", "", {"blog/a.md": "title: A"}, "unused.txt")
    (split / "config" / "_default").mkdir(parents=True)
    (split / "config" / "_default" / "hugo.yaml").write_text("baseURL: https://x.org/docs/\n", encoding="utf-8")
    (split / "config" / "_default" / "params.toml").write_text('mainSections = ["blog"]\n', encoding="utf-8")
    (split / "config" / "production").mkdir()
    (split / "config" / "production" / "hugo.toml").write_text('baseURL = "https://x.org/prod/"\n', encoding="utf-8")
    dialect = find_site(split, Settings())
    assert dialect.name == "hugo" and [p.url for p in dialect.read().posts] == ["/prod/blog/a/"]


def test_a_configuration_hugo_cannot_read_is_one_line(tmp_path):
    site = make_site(tmp_path / "site", 'title = "T"\n[permalinks]\nposts = "/:year/:slugg/"\n', {"posts/a.md": "title: A"})
    with pytest.raises(Exception, match=r"':slugg' .* is not a token Hugo knows"):
        find_site(site, Settings())
    (site / "hugo.toml").write_text('title = "T"\ntimeZone = "Mars/Olympus"\n', encoding="utf-8")
    with pytest.raises(Exception, match="timeZone 'Mars/Olympus'"):
        find_site(site, Settings())


# -- the data Hugo reads ------------------------------------------------------------------------------
def test_build_writes_hugo_data_a_page_finds_by_its_own_path(tmp_path, fake_encoder):
    site = make_site(tmp_path / "site", MULTILINGUAL, {
        "posts/sourdough.md": "title: Sourdough bread\ntags: [bread]\ndate: 2024-01-01",
        "posts/rye.md": "title: Rye bread\ntags: [bread]\ndate: 2024-01-02",
        "posts/sourdough.fr.md": "title: Le levain\ntags: [pain]\ndate: 2024-01-01",
        "posts/baguette.fr.md": "title: La baguette\ntags: [pain]\ndate: 2024-01-03"})
    data, _ = build(site, tmp_path)
    pages = json.loads((data / "pages.json").read_text(encoding="utf-8"))
    assert pages == {"en": {"/posts/rye": "rye", "/posts/sourdough": "sourdough"},
                     "fr": {"/posts/baguette": "baguette.fr", "/posts/sourdough": "sourdough.fr"}}
    en = json.loads((data / "posts" / "sourdough.json").read_text(encoding="utf-8"))
    assert [r["url"] for r in en["related"]] == ["/blog/posts/rye/"]  # the site's languages: lists keep to one
    assert [(t["lang"], t["url"]) for t in en["translations"]] == [("fr", "/blog/fr/posts/sourdough/")]
    before = {p: p.stat().st_mtime_ns for p in data.rglob("*.json")}
    _, output = build(site, tmp_path)
    assert "0 files written" in output
    assert before == {p: p.stat().st_mtime_ns for p in data.rglob("*.json")}


# -- against the real Hugo ---------------------------------------------------------------------------
CONTENT = {
    "posts/_index.md": "title: Posts",
    "posts/_index.fr.md": "title: Articles",
    "posts/compost-heap/index.md": "title: Building a Compost Heap\ndate: 2024-03-01\ntags: [garden, compost]",
    "posts/compost-heap/index.fr.md": "title: Construire un compost\ndate: 2024-03-02",
    "posts/compost-heap/notes.md": "title: Notes",
    "posts/tomatoes-on-a-balcony/index.md": "title: Tomatoes on a balcony\ndate: 2024-05-10T08:30:00+02:00",
    "posts/sourdough.md": "title: Sourdough starter\ndate: 2024-02-10T10:00:00",
    "posts/sourdough.fr.md": "title: Le levain\ndate: 2024-02-11T10:00:00",
    "posts/fromage.fr.md": "title: Un fromage\ndate: 2024-02-12",
    "posts/future.md": "title: Scheduled\ndate: 2099-06-01",
    "posts/publish-later.md": "title: Publish later\ndate: 2024-01-05\npublishDate: 2099-01-01",
    "posts/expired.md": "title: Expired\ndate: 2019-01-01\nexpiryDate: 2020-01-01",
    "posts/draft.md": "title: Draft\ndate: 2024-01-03\ndraft: true",
    "posts/markup.md": "title: 'Use <details> & 2*3 <script>alert(1)</script>'\ndate: 2024-01-10",
    "posts/2024-02-03-dated-name.md": "title: Date only in the file name",
    "posts/2024-02-04-name-and-date.md": "title: Name and date\ndate: 2023-12-31",
    "posts/Mixed Case Name.md": "title: Mixed case file name\ndate: 2024-01-12",
    "posts/with-slug.md": "title: With slug\nslug: My Custom Slug!\ndate: 2024-01-08",
    "posts/with-url.md": "title: With URL\nurl: /custom/place/\ndate: 2024-01-09",
    "posts/no-title.md": "date: 2024-01-11",
    "posts/date-notz.md": "title: Date without offset\ndate: 2024-01-02T23:30:00",
    "posts/tags-string.md": "title: Tags as a string\ntags: a b c\ndate: 2024-01-14",
    "posts/nested/deep-post.md": "title: Nested without an _index\ndate: 2024-01-17",
    "posts/list-never.md": "title: List never\ndate: 2024-01-19\nbuild:\n  list: never",
    "posts/render-never.md": "title: Render never\ndate: 2024-01-20\nbuild:\n  render: never",
    "posts/headless/index.md": "title: Headless\ndate: 2024-01-18\nheadless: true",
    "posts/unicode.md": "title: 'Café crème: ça marche! 日本語'\ndate: 2024-01-13",
    "posts/c-plus.md": "title: C++ tips\ndate: 2024-01-13",
    "posts/lastmod-only.md": "title: Only lastmod\nlastmod: 2024-01-04",
    "posts/sourdough.de.md": "title: Undeclared language\ndate: 2024-01-15",
    "posts/_underscore.md": "title: Underscore\ndate: 2024-01-16",
    "posts/url-tokens.md": "title: URL with tokens\ndate: 2024-02-20\nurl: /archive/:year/:slug/",
    "posts/url-file.md": "title: URL of a file\ndate: 2024-02-21\nurl: /legacy/page.html",
    "posts/url-relative.fr.md": "title: URL relative\ndate: 2024-02-22\nurl: relative/place/",
    "posts/fraction.md": "title: Fractional seconds\ndate: 2024-01-02T10:00:00.250Z",
    "posts/日本語の記事.md": "title: 日本語の記事\ndate: 2024-01-23",
    "posts/draft-yes.md": "title: Draft yes\ndate: 2024-01-24\ndraft: yes",
    "posts/json-front.md": '{\n  "title": "JSON front matter",\n  "date": "2024-01-25",\n  "tags": ["json"]\n}',
    "posts/toml-front.md": '+++\ntitle = "TOML front matter"\ndate = 2024-01-26T09:00:00-05:00\n+++',
    "notes/other.md": "title: Another section\ndate: 2024-01-22",
    "notes/more.md": "title: More notes\ndate: 2024-01-23",
    "about.md": "title: About",
}
CONFIGS = {
    "default": MULTILINGUAL,
    "permalinks": 'defaultContentLanguageInSubdir = true\ntimeZone = "America/New_York"\n' + MULTILINGUAL
                  + '[permalinks]\nposts = "/:year/:month/:slug/"\n',
    "filename-ugly": 'baseURL = "https://example.org/"\ntitle = "T"\nuglyURLs = true\nremovePathAccents = true\n'
                     'mainSections = ["posts"]\n[frontmatter]\ndate = [":filename", ":default"]\n'
                     '[permalinks.page]\nposts = "/:year/:slugorcontentbasename/"\n',
    "case-cascade": 'baseURL = "https://example.org/"\ntitle = "T"\ndisablePathToLower = true\n'
                    '[uglyURLs]\nposts = true\n'
                    '[[cascade]]\n[cascade.build]\nlist = "never"\n[cascade.target]\npath = "/posts/nested/**"\n',
}


def written(public: Path, url: str) -> bool:
    """Whether Hugo wrote the page at `url` (a RelPermalink, below the baseURL's path /blog/ or not)."""
    path = unquote(url).removeprefix("/blog/").lstrip("/")
    return (public / (path + "index.html" if path.endswith("/") or not path else path)).is_file()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_postkin_agrees_with_hugo(tmp_path, name):
    """Hugo builds the site and dumps, for every content file, what it made of it; postkin must find the
    same posts with the same URL, .Path, language, dates and translations, list what Hugo lists (except
    pages Hugo lists without writing them: render never), and give every post a unique key."""
    config = CONFIGS[name] + '[outputs]\nhome = ["html", "json"]\n'
    site = make_site(tmp_path / "site", config, CONTENT)
    install_dump(site)
    run_hugo(site)
    hugo = read_dump(site / "public")
    corpus = read(site)
    posts = by_source(corpus)
    shown = dict(zip(posts, listed(corpus.posts)))
    assert len({p.slug for p in corpus.posts}) == len(corpus.posts)
    hugo_posts = {s for s, f in hugo.items() if f["kind"] == "page" and f["section"] in f["mainSections"]}
    assert hugo_posts <= set(posts), "Hugo's posts that postkin does not read"
    compared = 0
    for source, post in posts.items():
        facts = hugo.get(source)
        if facts is None:  # not built by Hugo: never listed by postkin
            assert not shown[source], source
            continue
        compared += 1
        assert (post.url, post.ref, post.lang, post.title) == (facts["url"], facts["path"], facts["lang"],
                                                              facts["title"]), source
        assert (post.date.replace(microsecond=0).isoformat() if post.date else "") == facts["date"], source
        assert (post.publish_date.replace(microsecond=0).isoformat() if post.publish_date else "") == \
            facts["publishDate"], source  # the dump prints whole seconds
        unwritten = not post.url or not written(site / "public", post.url)
        assert shown[source] == (facts["inMain"] and not unwritten), source
        group = {p.lang: p.url for p in corpus.posts if p.translation_key == post.translation_key and p is not post}
        assert group == {lang: url for lang, url in facts["translations"].items()}, source
    assert compared >= 20


PARTIAL = Path(__file__).resolve().parents[1] / "hooks" / "templates" / "hugo" / "layouts" / "_partials" / "postkin"


def test_the_partial_shows_nothing_before_postkin_ran_and_text_titles_after(tmp_path, fake_encoder):
    """The shipped partial in a site of its own: no data yet -> Hugo builds and prints nothing; after
    `postkin build` -> every post lists the others, titles with markup characters as text, in each
    language, with the translation linked."""
    title = "Use <details> & 2*3 <script>alert(1)</script>"
    site = make_site(tmp_path / "site", MULTILINGUAL, {
        "posts/a.md": f"title: {json.dumps(title)}\ndate: 2024-01-01\ntags: [html]",
        "posts/b.md": "title: Disclosure widgets\ndate: 2024-01-02\ntags: [html]",
        "posts/c.md": "title: Native dialogs\ndate: 2024-01-03\ntags: [html]",
        "posts/a.fr.md": "title: Les widgets de divulgation\ndate: 2024-01-04",
        "posts/d.fr.md": "title: Les dialogues natifs\ndate: 2024-01-05"})
    shutil.copytree(PARTIAL, site / "layouts" / "_partials" / "postkin")
    (site / "layouts" / "single.html").write_text('<h1>{{ .Title }}</h1>{{ partial "postkin/related.html" . }}\n',
                                                  encoding="utf-8")
    (site / "layouts" / "home.html").write_text("home\n", encoding="utf-8")
    (site / "layouts" / "list.html").write_text("list\n", encoding="utf-8")
    run_hugo(site)
    assert "postkin" not in (site / "public" / "posts" / "a" / "index.html").read_text(encoding="utf-8")
    build(site, tmp_path)
    run_hugo(site)
    page = (site / "public" / "posts" / "b" / "index.html").read_text(encoding="utf-8")
    assert html.escape(title, quote=False) in page and "<script>alert" not in page
    assert page.count('<a class="postkin-related"') == 2 and 'href="/blog/posts/a/"' in page
    french = (site / "public" / "fr" / "posts" / "a" / "index.html").read_text(encoding="utf-8")
    assert 'class="postkin-related" href="/blog/fr/posts/d/"' in french
    assert 'class="postkin-translation" href="/blog/posts/a/" hreflang="en"' in french
