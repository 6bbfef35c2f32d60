"""The Jekyll dialect: a Jekyll site read as Jekyll 4.3 reads it (which files are posts, keys, URLs,
dates, titles, tags, visibility), the data a Liquid include finds by `page.path`, the tag hook on
Jekyll's tag strings, and the same sites built by the real Jekyll, whose own dump is the truth.

Every site is made in the test. Tests that run Jekyll skip when it is not installed
(`apt-get install -y --no-install-recommends jekyll`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from postkin import corpus as corpus_module
from postkin.cli import main
from postkin.corpus import listed
from postkin.dialects import find_site
from postkin.dialects.jekyll import data_key, escape_path, slugify
from postkin.hosts.precommit import main as hook_main
from postkin.settings import Settings

JEKYLL = shutil.which("jekyll")
needs_jekyll = pytest.mark.skipif(JEKYLL is None, reason="Jekyll is not installed "
                                  "(apt-get install -y --no-install-recommends jekyll)")


def make_site(root: Path, files: dict[str, str], config: str = "") -> Path:
    """A Jekyll site: _config.yml and the files given (name -> text, dedented)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(textwrap.dedent(config), encoding="utf-8")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def fm(front: str, body: str = "Some text.\n") -> str:
    """A post with YAML front matter."""
    return f"---\n{textwrap.dedent(front).strip()}\n---\n{body}"


def read(root: Path, **settings) -> dict:
    """{source: Post} of the site, read by the dialect find_site picks."""
    dialect = find_site(root, Settings(**settings))
    assert dialect.name == "jekyll"
    return {p.source: p for p in dialect.read(None).posts}


@pytest.fixture
def restore_tz():
    """Tests that set TZ get the machine's zone back afterwards."""
    old = os.environ.get("TZ")
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def build(site: Path, tmp_path: Path, *extra: str) -> tuple[dict, str]:
    """`postkin build SITE -v` with the fake encoder into the site's _data/postkin: (posts by page.path,
    the output)."""
    config = tmp_path / "postkin.toml"
    if not config.exists():
        config.write_text('encoder = "fake"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(site), "--config", str(config), "--cache-dir",
                                       str(tmp_path / "cache"), "-v", *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = site / "_data" / "postkin"
    keys = json.loads((out / "keys.json").read_text(encoding="utf-8"))
    posts = {path: json.loads((out / "posts" / f"{key}.json").read_text(encoding="utf-8")) for path, key in keys.items()}
    return posts, result.output


def listed_everywhere(posts: dict) -> set[str]:
    """Slugs that appear in any post's related, latest or popular list."""
    return {item["slug"] for ctx in posts.values() for k in ("related", "cluster_latest", "cluster_popular")
            for item in ctx[k]}


# --- finding the site and its posts ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["_config.yml", "_config.yaml", "_config.toml"])
def test_a_jekyll_configuration_makes_a_jekyll_site(tmp_path, name):
    root = tmp_path / "site"
    (root / "_posts").mkdir(parents=True)
    (root / name).write_text('permalink = "pretty"\n' if name.endswith(".toml") else "permalink: pretty\n",
                             encoding="utf-8")
    (root / "_posts" / "2024-01-02-x.md").write_text(fm("title: X"), encoding="utf-8")
    assert find_site(root / "_posts", Settings()).name == "jekyll"  # from a folder inside the site too
    assert read(root)["_posts/2024-01-02-x.md"].url == "/2024/01/02/x/"


def test_posts_are_dated_files_in_posts_folders_and_nothing_else(tmp_path, fake_encoder):
    """Surprise 1: an undated file in _posts is ignored by Jekyll (said with --verbose); a folder's
    README is no post (issue #12: "a folder's README.md is recommended at /README/")."""
    site = make_site(tmp_path / "site", {
        "_posts/2024-01-02-x.md": fm("title: CSS grid x\ntags: [css]"),
        "_posts/2024-1-9-short.md": fm("title: CSS grid short\ntags: [css]"),
        "_posts/sub/2024-01-18-in-subfolder.md": fm("title: CSS grid sub\ntags: [css]"),
        "_posts/2024-01-03-no-front-matter.md": "CSS grid without any front matter.\n",
        "_posts/notdated.md": fm("title: CSS grid undated\ntags: [css]"),
        "_posts/README.md": "# About this folder\n",
        "_posts/_private/2024-01-04-private.md": fm("title: private"),
        "docs/README.md": fm("title: Read me"),
        "README.md": "# The blog\n",
        "about.md": fm("title: About"),
        "_site/_posts/2024-01-05-built.md": fm("title: old output"),
        "node_modules/pkg/_posts/2024-01-06-dep.md": fm("title: a dependency"),
        "old/_posts/2024-01-07-old.md": fm("title: excluded"),
        "_notes/2024-01-08-note.md": fm("title: a collection postkin does not read"),
        "travel/_posts/2024-01-09-lisbon.md": fm("title: Lisbon\ntags: [css]"),
    }, config="exclude: [old]\ncollections: {notes: {output: true}}\n")
    assert sorted(read(site)) == ["_posts/2024-01-02-x.md", "_posts/2024-01-03-no-front-matter.md",
                                  "_posts/2024-1-9-short.md", "_posts/sub/2024-01-18-in-subfolder.md",
                                  "travel/_posts/2024-01-09-lisbon.md"]
    posts, output = build(site, tmp_path)
    assert "_posts/notdated.md: not a post: in _posts but its name has no date (YYYY-MM-DD-title.md): Jekyll ignores it" in output
    assert "_posts/README.md: not a post: in _posts but its name has no date" in output
    assert "README" not in json.dumps(list(posts)) and "skipped" not in output
    assert read(site)["_posts/2024-01-03-no-front-matter.md"].title == "No Front Matter"


# --- keys, URLs, dates, titles, tags ---------------------------------------------------------------


def test_urls_slugs_and_categories_as_jekyll_makes_them(tmp_path):
    """Surprise 4: the default style ends in .html and `:title` is the slug, cased."""
    site = make_site(tmp_path / "site", {
        "_posts/2024-01-02-x.md": fm("title: X"),
        "_posts/2024-01-06-with-slug.md": fm('title: Has a slug\nslug: "My Custom Slug!"'),
        "_posts/2024-01-15-Mixed Case Name.md": fm("title: Mixed"),
        "_posts/2024-01-16-café-crème.md": fm("title: Unicode"),
        "_posts/2024-01-17-python-3.12.md": "No front matter.\n",
        "_posts/2024-01-05-with-permalink.md": fm("title: P\npermalink: /custom/place/"),
        "travel/europe/_posts/2024-01-07-porto.md": fm("title: Porto\ncategories: [Food Trips]"),
    }, config="baseurl: /blog\ntimezone: UTC\n")
    posts = read(site)
    assert {p.source: p.url for p in posts.values()} == {
        "_posts/2024-01-02-x.md": "/2024/01/02/x.html",
        "_posts/2024-01-06-with-slug.md": "/2024/01/06/My-Custom-Slug!.html",
        "_posts/2024-01-15-Mixed Case Name.md": "/2024/01/15/Mixed-Case-Name.html",
        "_posts/2024-01-16-café-crème.md": "/2024/01/16/caf%C3%A9-cr%C3%A8me.html",
        "_posts/2024-01-17-python-3.12.md": "/2024/01/17/python-3.12.html",
        "_posts/2024-01-05-with-permalink.md": "/custom/place/",
        "travel/europe/_posts/2024-01-07-porto.md": "/travel/europe/food%20trips/2024/01/07/porto.html",
    }
    assert posts["_posts/2024-01-06-with-slug.md"].slug == "My Custom Slug!"  # Jekyll's page.slug
    assert posts["_posts/2024-01-17-python-3.12.md"].title == "Python 3.12"
    assert posts["travel/europe/_posts/2024-01-07-porto.md"].categories == ["travel", "europe", "Food Trips"]
    assert all(p.ref == p.source for p in posts.values())  # page.path: what the include looks up
    # the same posts with `permalink: pretty` and a template using :slug and :slugified_categories
    (site / "_config.yml").write_text("permalink: pretty\n", encoding="utf-8")
    assert read(site)["_posts/2024-01-06-with-slug.md"].url == "/2024/01/06/My-Custom-Slug!/"
    (site / "_config.yml").write_text("permalink: /:slugified_categories/:year/:slug/\n", encoding="utf-8")
    urls = {p.source: p.url for p in read(site).values()}
    assert urls["_posts/2024-01-06-with-slug.md"] == "/2024/my-custom-slug/"
    assert urls["travel/europe/_posts/2024-01-07-porto.md"] == "/travel/europe/food-trips/2024/porto/"
    assert urls["_posts/2024-01-17-python-3.12.md"] == "/2024/python-3-12/"


def test_jekyll_helpers_match_its_results():
    # values from Jekyll 4.3.1 (Utils.slugify, URL.escape_path) on the notes' fixtures
    assert slugify("Slug Value!", "pretty", cased=True) == "Slug-Value!"
    assert slugify("Ünïcode Slug, Really!") == "ünïcode-slug-really"
    assert slugify("C++") == "c" and slugify("Food Trips") == "food-trips"
    assert slugify("The _config.yml file", "ascii") == "the-config-yml-file"
    assert escape_path("café crème") == "caf%C3%A9%20cr%C3%A8me"
    assert escape_path("a#b") == "a%23b" and escape_path("My-Custom-Slug!") == "My-Custom-Slug!"


def test_dates_timezone_and_unquoted_times_are_utc(tmp_path, restore_tz, monkeypatch):
    """Surprise 6: an unquoted YAML time has no zone, so it is UTC, shown in the site's zone: with no
    `timezone` the URL's day depends on the machine."""
    files = {
        "_posts/2024-01-02-notz.md": fm("title: t\ndate: 2024-01-02 23:30:00"),
        "_posts/2024-01-02-quoted.md": fm('title: t\ndate: "2024-01-02 23:30:00"'),
        "_posts/2024-01-02-offset.md": fm("title: t\ndate: 2024-01-02 23:30:00 +0900"),
        "_posts/2024-01-02-date-only.md": fm("title: t\ndate: 2024-01-03"),
        "_posts/2024-01-12-fm-date-wins.md": fm("title: t\ndate: 2023-12-31 10:00:00"),
        "_posts/2024-01-02-from-name.md": fm("title: t"),
    }
    site = make_site(tmp_path / "ny", files, config="timezone: America/New_York\n")
    got = {p.source.split("-", 3)[-1]: (p.date.isoformat(), p.url) for p in read(site).values()}
    assert got == {
        "notz.md": ("2024-01-02T18:30:00-05:00", "/2024/01/02/notz.html"),
        "quoted.md": ("2024-01-02T23:30:00-05:00", "/2024/01/02/quoted.html"),
        "offset.md": ("2024-01-02T09:30:00-05:00", "/2024/01/02/offset.html"),
        "date-only.md": ("2024-01-03T00:00:00-05:00", "/2024/01/03/date-only.html"),
        "fm-date-wins.md": ("2023-12-31T05:00:00-05:00", "/2023/12/31/fm-date-wins.html"),
        "from-name.md": ("2024-01-02T00:00:00-05:00", "/2024/01/02/from-name.html"),
    }
    # Ruby's Time.parse takes a zone only right after the time: jekyll/jekyll's own news has this one
    odd = make_site(tmp_path / "la", {"_posts/2023-01-29-odd.md": fm("title: t\ndate: 2023-01-29 18:30:22 2023 -0800")},
                    config="timezone: America/Los_Angeles\n")
    assert read(odd)["_posts/2023-01-29-odd.md"].date.isoformat() == "2023-01-29T18:30:22-08:00"
    machine = make_site(tmp_path / "machine", files)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    tokyo = read(machine)["_posts/2024-01-02-notz.md"]
    assert (tokyo.date.isoformat(), tokyo.url) == ("2024-01-03T08:30:00+09:00", "/2024/01/03/notz.html")
    in_tokyo = find_site(machine, Settings()).fingerprint()
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    assert read(machine)["_posts/2024-01-02-notz.md"].url == "/2024/01/02/notz.html"
    # the machine's zone is part of the parsed-post cache key: a cached Tokyo parse is not reused in UTC
    assert find_site(machine, Settings()).fingerprint() != in_tokyo


def test_titles_tags_and_categories(tmp_path):
    site = make_site(tmp_path / "site", {
        "_posts/2024-01-08-tags-string.md": fm('title: Tags as a string\ntags: "a b c"\ncategories: "x y"'),
        "_posts/2024-01-08-tags-comma.md": fm('title: Tags with commas\ntags: "a, b"'),
        "_posts/2024-01-14-tag-singular.md": fm("tag: solo two\ntags: [ignored, list]\ncategory: single-cat"),
        "_posts/2024-01-10-markup-title.md": fm('title: "Using <details> and 2*3 in __init__"\ntags: [2024, x]'),
    })
    posts = read(site)
    assert posts["_posts/2024-01-08-tags-string.md"].tags == ["a", "b", "c"]
    assert posts["_posts/2024-01-08-tags-string.md"].categories == ["x", "y"]
    assert posts["_posts/2024-01-08-tags-string.md"].url == "/x/y/2024/01/08/tags-string.html"
    assert posts["_posts/2024-01-08-tags-comma.md"].tags == ["a,", "b"]
    singular = posts["_posts/2024-01-14-tag-singular.md"]
    assert (singular.tags, singular.categories, singular.title) == (["solo two"], ["single-cat"], "Tag Singular")
    assert posts["_posts/2024-01-10-markup-title.md"].title == "Using <details> and 2*3 in __init__"
    assert posts["_posts/2024-01-10-markup-title.md"].tags == ["2024", "x"]


def test_front_matter_defaults_apply_by_path_and_type(tmp_path):
    site = make_site(tmp_path / "site", {
        "_posts/2024-01-02-a.md": fm("title: A"),
        "_posts/2024-01-03-b.md": fm("title: B\ntags: [own]"),
        "travel/_posts/2024-01-04-c.md": fm("title: C"),
    }, config="""\
        defaults:
          - scope: {path: ""}
            values: {tags: [everywhere], lang: en}
          - scope: {path: travel, type: posts}
            values: {tags: [trip], hidden: true, categories: [Road]}
        """)
    posts = read(site)
    assert posts["_posts/2024-01-02-a.md"].tags == ["everywhere"] and posts["_posts/2024-01-02-a.md"].lang == "en"
    assert posts["_posts/2024-01-03-b.md"].tags == ["own"]  # front matter replaces a default list
    travel = posts["travel/_posts/2024-01-04-c.md"]
    assert (travel.tags, travel.categories, travel.draft) == (["trip"], ["travel", "Road"], True)


def test_a_collection_is_read_when_it_says_postkin_true(tmp_path):
    site = make_site(tmp_path / "site", {
        "_recipes/pancakes.md": fm("title: Pancakes\ndate: 2024-02-01"),
        "_recipes/2024-02-03-dated-name.md": fm("title: Dated"),
        "_recipes/sub/Regular File.md": fm("title: Sub"),
        "_recipes/no-fm.md": "No front matter: a static file.\n",
        "_notes/n.md": fm("title: Not read"),
        "_posts/2024-01-02-pancakes.md": fm("title: A post named like a recipe"),
    }, config="collections: {recipes: {output: true, postkin: true}, notes: {output: true}}\n")
    posts = read(site)
    assert {p.source: p.url for p in posts.values()} == {
        "_recipes/pancakes.md": "/recipes/pancakes.html",
        "_recipes/2024-02-03-dated-name.md": "/recipes/2024-02-03-dated-name.html",
        "_recipes/sub/Regular File.md": "/recipes/sub/Regular%20File.html",
        "_posts/2024-01-02-pancakes.md": "/2024/01/02/pancakes.html",
    }
    assert posts["_recipes/2024-02-03-dated-name.md"].date.date() == dt.date(2024, 2, 3)
    # one slug, two documents: both keys made unique and stable
    assert {posts["_recipes/pancakes.md"].slug, posts["_posts/2024-01-02-pancakes.md"].slug} == \
        {"recipes-pancakes", "2024-01-02-pancakes"}


def test_keys_stay_unique_when_jekyll_slugs_repeat(tmp_path):
    site = make_site(tmp_path / "site", {
        "_posts/2023-05-08-notes.md": fm("title: Notes 2023"),
        "_posts/2024-01-12-notes.md": fm("title: Notes 2024"),
        "_drafts/notes.md": fm("title: Notes draft"),
        "de/_posts/2024-01-12-notes.md": fm("title: Notizen 2024\nlang: de"),  # a translation
        "_posts/2024-02-01-other.md": fm('title: Other\nslug: "a/b"'),
    })
    posts = read(site)
    assert {p.source: p.slug for p in posts.values()} == {
        "_posts/2023-05-08-notes.md": "2023-05-08-notes", "_posts/2024-01-12-notes.md": "2024-01-12-notes",
        "_drafts/notes.md": "drafts-notes", "_posts/2024-02-01-other.md": "a-b",
        "de/_posts/2024-01-12-notes.md": "de-2024-01-12-notes"}
    assert posts["_posts/2024-02-01-other.md"].url == "/2024/02/01/a-b.html"


# --- visibility: the situations ------------------------------------------------------------


def test_hidden_scheduled_unpublished_and_drafts_are_listed_nowhere(tmp_path, fake_encoder, monkeypatch):
    """Issue #12: a `hidden: true` post and a post dated 2099-06-01 were listed everywhere (the
    scheduled one heading a latest list with a dead link). Surprise 7: `draft: true` in _posts means
    nothing to Jekyll, which publishes and lists the post, so postkin lists it too."""
    monkeypatch.setattr(corpus_module, "clock", lambda: dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc))
    topic = "\ntags: [css]"
    site = make_site(tmp_path / "site", {
        "_posts/2024-01-01-a.md": fm("title: CSS grid a" + topic, "css grid layout\n"),
        "_posts/2024-01-02-b.md": fm("title: CSS grid b" + topic, "css grid layout\n"),
        "_posts/2024-01-03-hidden.md": fm("title: CSS grid hidden\nhidden: true" + topic, "css grid layout\n"),
        "_posts/2099-06-01-later.md": fm("title: CSS grid later" + topic, "css grid layout\n"),
        "_posts/2024-01-04-off.md": fm("title: CSS grid off\npublished: false" + topic, "css grid layout\n"),
        "_posts/2024-01-05-draft-true.md": fm("title: CSS grid draft true\ndraft: true" + topic, "css grid layout\n"),
        "_drafts/wip.md": fm("title: CSS grid wip" + topic, "css grid layout\n"),
    }, config="timezone: UTC\n")
    posts, _ = build(site, tmp_path)
    visible = {"a", "b", "draft-true"}
    assert {ctx["slug"] for ctx in posts.values() if not ctx["draft"]} == visible
    assert listed_everywhere(posts) == visible
    assert posts["_posts/2024-01-01-a.md"]["cluster_latest"][0]["slug"] == "draft-true"  # not 'later'
    # every post still gets its own lists (the hidden post's page is written by Jekyll)
    assert posts["_posts/2024-01-03-hidden.md"]["related"]
    # the site's own flags: future, unpublished, show_drafts
    (site / "_config.yml").write_text("timezone: UTC\nfuture: true\nunpublished: true\nshow_drafts: true\n",
                                      encoding="utf-8")
    posts, _ = build(site, tmp_path)
    assert {ctx["slug"] for ctx in posts.values() if not ctx["draft"]} == visible | {"later", "off", "wip"}


def test_lang_is_data_and_several_languages_keep_lists_to_the_posts_language(tmp_path, fake_encoder):
    """Jekyll has no languages: `lang` is data. Posts in two or more languages (www.ruby-lang.org keeps
    `<lang>/news/_posts/`) make lists keep to the post's language, and one file name in several
    languages makes translations."""
    one = make_site(tmp_path / "one", {"_posts/2024-01-19-levain.md": fm("title: Le levain\nlang: fr")})
    assert find_site(one, Settings()).read(None).languages == ()
    assert read(one)["_posts/2024-01-19-levain.md"].lang == "fr"
    words = "ruby release notes version\n"
    site = make_site(tmp_path / "many", {
        "en/news/_posts/2024-01-02-ruby-3-3.md": fm("title: Ruby 3.3 released\nlang: en", words),
        "de/news/_posts/2024-01-02-ruby-3-3.md": fm("title: Ruby 3.3 veröffentlicht\nlang: de", words),
        "en/news/_posts/2024-02-02-ruby-3-3-1.md": fm("title: Ruby 3.3.1 released\nlang: en", words),
        "de/news/_posts/2024-02-02-ruby-3-3-1.md": fm("title: Ruby 3.3.1 veröffentlicht\nlang: de", words),
        "en/news/_posts/2024-03-02-ruby-3-3-2.md": fm("title: Ruby 3.3.2 released", words),  # site.lang
    }, config="lang: en\n")
    assert find_site(site, Settings()).read(None).languages == ("en", "de")
    posts, _ = build(site, tmp_path)
    for path, ctx in posts.items():
        lang = "de" if path.startswith("de/") else "en"
        assert ctx["lang"] == lang and {r["source"][:3] for r in ctx["related"]} == {f"{lang}/"}, path
    assert [t["source"] for t in posts["de/news/_posts/2024-01-02-ruby-3-3.md"]["translations"]] == \
        ["en/news/_posts/2024-01-02-ruby-3-3.md"]


# --- the data a Liquid include reads ---------------------------------------------------------------


def jekyll_data_key(name: str) -> str:
    """Jekyll 4.3's DataReader#sanitize_filename (data_reader.rb), on a file's base name."""
    name = re.sub(r"[^\w\s-]+|(?:(?<=^)|(?<=\b\s))\s+(?=$|\s?\b)", "", name, flags=re.ASCII)
    return re.sub(r"\s+", "_", name)


def test_data_file_names_survive_jekylls_data_key_sanitising(tmp_path, fake_encoder):
    """Surprise 3: Jekyll renames data files (python-3.12.json is site.data...['python-312']); keys inside
    one JSON file stay. keys.json maps page.path to a file name Jekyll keeps as it is."""
    names = ["x", "python-3.12", "café-crème", "Mixed Case Name", "日本語", "sourdough.fr"]
    site = make_site(tmp_path / "site", {f"_posts/2024-01-{n + 2:02d}-{name}.md": fm(f"title: Post {n}\ntags: [t]")
                                         for n, name in enumerate(names)}
                     | {"_posts/2024-02-01-slugged.md": fm('title: S\nslug: "My Custom Slug!"')})
    posts, output = build(site, tmp_path)
    keys = json.loads((site / "_data/postkin/keys.json").read_text(encoding="utf-8"))
    assert set(keys) == {p for p in posts} and len(keys) == 7
    for path, key in keys.items():
        assert jekyll_data_key(key) == key and key == key.lower(), key
        assert posts[path]["source"] == path
    assert keys["_posts/2024-01-02-x.md"] == "x" and data_key("python-3.12") != "python-3.12"
    assert "9 files written" in output  # 7 posts, site.json, keys.json
    # nothing changed: nothing written; a post removed: its file removed, nothing else touched
    _, again = build(site, tmp_path)
    assert "0 files written, 0 removed" in again
    (site / "_posts/2024-01-07-sourdough.fr.md").unlink()
    _, after = build(site, tmp_path)
    assert ", 1 removed" in after
    assert not (site / "_data/postkin/posts" / f"{keys['_posts/2024-01-07-sourdough.fr.md']}.json").exists()


# --- the tag hook on Jekyll's tag forms ------------------------------------------------------------


@pytest.fixture
def jekyll_repo(tmp_path, fake_encoder, monkeypatch) -> Path:
    root = make_site(tmp_path / "blog", {
        f"_posts/2024-01-0{n}-{name}.md": fm(f"title: {title}\ntags: [python, packaging]", f"{words}\n")
        for n, (name, title, words) in enumerate([
            ("pip", "Faster installs with pip wheels", "pip wheels virtualenv packaging python"),
            ("uv", "Moving our Python projects to uv", "uv lock python packaging wheels"),
            ("poetry", "Python packaging with poetry", "poetry lock python packaging wheels")], start=1)})
    # tags_min_score = 0: the fake encoder's scores are not calibrated; this test is about the writing
    (root / "postkin.toml").write_text('encoder = "fake"\ntags_min_score = 0\n', encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.chdir(root)
    return root


def test_the_hook_leaves_a_jekyll_tag_string_alone_and_counts_its_tags(jekyll_repo, capsys):
    """Issue #12: a tags value the hook cannot edit exactly as Jekyll reads it (a space-separated
    string) is left alone with one line saying what to add by hand."""
    post = jekyll_repo / "_posts/2024-02-01-new.md"
    post.write_text(fm('title: Python wheels and packaging\ntags: "wheels pip"', "pip wheels python packaging\n"),
                    encoding="utf-8")
    before = post.read_text(encoding="utf-8")
    assert hook_main(["--min-tags", "2", "_posts/2024-02-01-new.md"]) == 0  # Jekyll reads two tags
    capsys.readouterr()
    assert hook_main(["--add", "3", "_posts/2024-02-01-new.md"]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if "tags not added" in line]
    assert len(lines) == 1 and "add these by hand: " in lines[0] and "['wheels', 'pip'" in lines[0], lines
    assert post.read_text(encoding="utf-8") == before
    # `tag:` wins over `tags:` in Jekyll: editing `tags` would change nothing Jekyll reads
    post.write_text(fm("title: Python wheels\ntag: wheels\ntags: [x]", "pip wheels python packaging\n"), encoding="utf-8")
    before = post.read_text(encoding="utf-8")
    assert hook_main(["--add", "2", "_posts/2024-02-01-new.md"]) == 1
    assert "add these by hand" in capsys.readouterr().out and post.read_text(encoding="utf-8") == before
    # a list is edited as usual
    post.write_text(fm("title: Python wheels\ntags: [wheels]", "pip wheels python packaging\n"), encoding="utf-8")
    assert hook_main(["--add", "2", "_posts/2024-02-01-new.md"]) == 1
    assert "added tags" in capsys.readouterr().out and "tags: [wheels, " in post.read_text(encoding="utf-8")


# --- against the real Jekyll -------------------------------------------------------------------------

DUMP = """\
---
layout: null
permalink: /postkin-dump.json
---
{%- assign fmt = "%Y-%m-%dT%H:%M:%S%:z" -%}
{"posts": [{% for p in site.posts %}{{ p.path | jsonify }}{% unless forloop.last %},{% endunless %}{% endfor %}],
 "docs": [{% for p in site.documents %}{% assign k = site.data.postkin.keys[p.path] %}
  {"path": {{ p.path | jsonify }}, "collection": {{ p.collection | jsonify }}, "url": {{ p.url | jsonify }},
   "date": {{ p.date | date: fmt | jsonify }}, "title": {{ p.title | jsonify }}, "tags": {{ p.tags | jsonify }},
   "categories": {{ p.categories | jsonify }}, "hidden": {{ p.hidden | jsonify }},
   "lookup": {{ site.data.postkin.posts[k].source | jsonify }}}{% unless forloop.last %},{% endunless %}{% endfor %}]}
"""

# The fixture of /work/notes/jekyll.md (jekyll-default), as files.
FIXTURE = {
    "_posts/2024-01-02-x.md": fm("title: X marks the spot\ntags: [alpha, beta]"),
    "_posts/2024-01-03-no-front-matter.md": "A post file with no front matter at all.\n",
    "_posts/2024-01-04-unpublished.md": fm("title: Unpublished\npublished: false"),
    "_posts/2024-01-05-with-permalink.md": fm("title: Has a permalink\npermalink: /custom/place/"),
    "_posts/2024-01-06-with-slug.md": fm('title: Has a slug\nslug: "My Custom Slug!"'),
    "_posts/2024-01-08-tags-comma.md": fm('title: Tags with commas\ntags: "a, b"'),
    "_posts/2024-01-08-tags-string.md": fm('title: Tags as a string\ntags: "a b c"\ncategories: "x y"'),
    "_posts/2024-01-09-hidden.md": fm("title: Hidden post\nhidden: true"),
    "_posts/2024-01-10-markup-title.md": fm('title: "Using <details> and 2*3 in __init__"'),
    "_posts/2024-01-11-no-title.md": fm("tags: [untitled]"),
    "_posts/2024-01-12-fm-date-wins.md": fm("title: Front-matter date wins\ndate: 2023-12-31 10:00:00"),
    "_posts/2024-01-13-date-tz.md": fm("title: Date with offset\ndate: 2024-01-13 23:30:00 +0900"),
    "_posts/2024-01-13-late.md": fm("title: Late in the day\ndate: 2024-01-13 23:30:00"),
    "_posts/2024-01-14-tag-singular.md": fm("title: Singular\ntag: solo two\ntags: [ignored]\ncategory: single-cat"),
    "_posts/2024-01-15-Mixed Case Name.md": fm("title: Mixed case file name"),
    "_posts/2024-01-16-café-crème.md": fm("title: Unicode file name"),
    "_posts/2024-01-17-python-3.12.md": fm("title: Dots in the file name"),
    "_posts/2024-01-19-lang-fr.md": fm("title: Le levain\nlang: fr"),
    "_posts/2024-01-20-date-only.md": fm("title: Date-only front matter\ndate: 2024-01-21"),
    "_posts/2024-01-22-date-quoted.md": fm('title: Quoted date without seconds\ndate: "2024-01-22 10:00"'),
    "_posts/2024-01-23-draft-true.md": fm("title: draft true in _posts\ndraft: true"),
    "_posts/2024-1-9-short-date.md": fm("title: One-digit month and day"),
    "_posts/2099-06-01-future.md": fm("title: From the Future"),
    "_posts/notdated.md": fm("title: Not dated"),
    "_posts/sub/2024-01-18-in-subfolder.md": fm("title: In a subfolder of _posts"),
    "_drafts/y.md": fm("title: Draft Y"),
    "travel/_posts/2024-01-07-lisbon.md": fm("title: Lisbon\ncategories: [Food Trips]\ntags: [portugal]"),
    "travel/europe/_posts/2024-01-07-porto.md": fm("title: Porto"),
    "_recipes/pancakes.md": fm("title: Pancakes\ndate: 2024-02-01\ntags: [breakfast]"),
    "_recipes/2024-02-03-dated-name.md": fm("title: Dated name in a collection"),
    "_recipes/Regular File.md": fm("title: Regular\ndate: 2024-03-01 12:00:00 -0500\nslug: \"Slug Value!\""),
    "_recipes/no-fm.md": "A collection file without front matter.\n",
    "README.md": "# Not a post\n",
    "about.md": fm("title: About"),
    "postkin-dump.json": DUMP,
}

CONFIGS = {
    "default-style": "baseurl: /blog\ntimezone: UTC\ncollections: {recipes: {output: true, postkin: true}}\n",
    "pretty-machine-zone": "permalink: pretty\ncollections: {recipes: {output: true, postkin: true}}\n",
    "template-new-york": "timezone: America/New_York\npermalink: /:slugified_categories/:year/:month/:day/:slug/\n"
                         "collections: {recipes: {output: true, postkin: true, permalink: '/r/:title/'}}\n",
}


@needs_jekyll
@pytest.mark.parametrize("variant", list(CONFIGS))
def test_postkin_reads_what_the_real_jekyll_builds(tmp_path, fake_encoder, restore_tz, monkeypatch, variant):
    """The fixture site built by Jekyll itself: its own dump (site.posts, every document's url, date,
    title, tags, categories) against postkin's posts, and Jekyll looking each page's data up through
    the include's expression (site.data.postkin.keys[page.path]). The machine-zone variant builds
    both in Asia/Tokyo with no `timezone`, where an unquoted 23:30 moves the URL to the next day."""
    zone = "Asia/Tokyo" if variant == "pretty-machine-zone" else "UTC"
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    site = make_site(tmp_path / "site", FIXTURE, config=CONFIGS[variant])
    os.utime(site / "_drafts/y.md", (1718452800, 1718452800))
    build(site, tmp_path)
    run = subprocess.run([JEKYLL, "build", "-s", str(site), "-d", str(tmp_path / "_site")], env={**os.environ, "TZ": zone},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    dump = json.loads((tmp_path / "_site/postkin-dump.json").read_text(encoding="utf-8"))
    truth = {d["path"]: d for d in dump["docs"] if d["url"]}  # site.documents also holds static files
    dialect = find_site(site, Settings())
    corpus = dialect.read(None)
    shown = listed(corpus.posts, build_future=corpus.build_future)
    ours = {p.source: p for p in corpus.posts}
    # the posts postkin may list are exactly Jekyll's site.posts (less hidden ones) and opted-in documents
    assert {p.source for p, ok in zip(corpus.posts, shown) if ok and p.source.startswith(("_posts", "travel"))} == \
        {p for p in dump["posts"] if not truth[p]["hidden"]}
    assert {p for p in ours if p.startswith("_recipes")} == {p for p in truth if p.startswith("_recipes")}
    for path, doc in truth.items():
        post = ours[path]
        assert (post.url, post.date.isoformat() if post.date else None, post.title, post.tags, post.categories) == \
            (doc["url"], doc["date"] if post.date else None, doc["title"], doc["tags"], doc["categories"]), path
        assert doc["lookup"] == path, f"{path}: the include's lookup found {doc['lookup']!r}"
    if variant == "pretty-machine-zone":
        assert ours["_posts/2024-01-13-late.md"].url == "/2024/01/14/late/"
