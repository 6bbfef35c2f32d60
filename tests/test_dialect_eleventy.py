"""The Eleventy dialect reads a site as Eleventy 3 builds it (issue #12): which files are posts (the tag
collection, directory data, exclusions), their URL, key, date, title, tags, visibility and language,
each rule on a small site made here; one test builds a site with the real Eleventy and compares
postkin's reading with Eleventy's own dump of its pages."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from node_generators import run_eleventy

from postkin.cli import main
from postkin.dialects import find_site
from postkin.errors import PostkinError
from postkin.settings import Settings

pytest.importorskip("tree_sitter_javascript", reason="the Eleventy dialect needs postkin[eleventy]")

CONFIG = 'export const config = { dir: { input: "src" } };\n'


def make_site(root: Path, files: dict[str, str], config: str | None = CONFIG) -> Path:
    """A site at root: eleventy.config.js (None: none) and `files` (path -> text, dedented)."""
    root.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (root / "eleventy.config.js").write_text(config, encoding="utf-8")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def post(front: str, body: str = "Some words about the post.\n") -> str:
    return f"---\n{textwrap.dedent(front).strip()}\n---\n{body}"


def read(root: Path, **settings):
    dialect = find_site(root, Settings(**settings))
    corpus = dialect.read()
    return dialect, corpus, {p.source: p for p in corpus.posts}


def build(root: Path, tmp_path: Path, *extra: str) -> tuple[Path, str]:
    """`postkin build` with the fake encoder: (the data folder, the command's output)."""
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(root), "--config", str(config),
                                       "--cache-dir", str(tmp_path / "cache"), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return find_site(root, Settings()).data_dir(), result.output


def test_posts_are_the_collection_directory_data_names_and_tags_concatenate(tmp_path):
    root = make_site(tmp_path / "site", {
        "src/posts/posts.json": '{"tags": "post", "layout": "post.njk"}',
        "src/posts/a.md": post("title: A\ntags: [python, web]"),
        "src/posts/README.md": "# Notes\n\nA README in the posts folder is tagged like every file there.\n",
        "src/README.md": "# About\n\nThe site's README: a page at /README/, in no collection.\n",
        "src/about.md": post("title: About"),
        "src/_includes/post.njk": "{{ content | safe }}",
    })
    dialect, corpus, posts = read(root)
    assert dialect.name == "eleventy" and dialect.collection() == "post"
    assert set(posts) == {"posts/a.md", "posts/README.md"}  # as collections.post holds them
    assert posts["posts/a.md"].tags == ["python", "web"]  # the collection tag itself is not a topic
    assert {str(p) for p in corpus.not_posts} >= {"README.md: not in the 'post' collection (tags: [])",
                                                 "about.md: not in the 'post' collection (tags: [])"}
    assert posts["posts/a.md"].ref == "./src/posts/a.md"  # page.inputPath


def test_the_collection_from_a_javascript_data_file_and_the_setting(tmp_path):
    root = make_site(tmp_path / "site", {
        "content/blog/blog.11tydata.js": 'export default {\n  tags: ["posts"], // the collection\n'
                                         '  eleventyComputed: { title: (data) => data.title.toUpperCase() },\n};\n',
        "content/blog/first.md": post("title: First"),
        "content/notes/n.md": post("title: Note\ntags: notes"),
    }, config='export const config = { dir: { input: "content" } };\n')
    dialect, _, posts = read(root)
    assert dialect.collection() == "posts" and set(posts) == {"blog/first.md"}
    _, _, posts = read(root, collection="notes")
    assert set(posts) == {"notes/n.md"}


def test_tags_split_on_commas_without_trimming(tmp_path):
    root = make_site(tmp_path / "site", {
        "src/posts/posts.json": '{"tags": ["post"]}',
        "src/posts/comma.md": post("title: C\ntags: cat, dog"),
        "src/posts/one.md": post("title: O\ntags: cat and dog"),
        "src/posts/numbers.md": post("title: N\ntags: [2024, true, 2024]"),
    })
    _, _, posts = read(root)
    assert posts["posts/comma.md"].tags == ["cat", " dog"]  # Eleventy's collections['cat'] and [' dog']
    assert posts["posts/one.md"].tags == ["cat and dog"]
    assert posts["posts/numbers.md"].tags == ["2024", "true"]


def test_excluded_and_overridden_tags_leave_the_collection(tmp_path):
    root = make_site(tmp_path / "site", {
        "src/posts/posts.json": '{"tags": "post"}',
        "src/posts/kept.md": post("title: K"),
        "src/posts/excluded.md": post("title: E\neleventyExcludeFromCollections: true"),
        "src/posts/not-from-post.md": post("title: N\neleventyExcludeFromCollections: [post]"),
        "src/posts/only-from-rss.md": post("title: R\neleventyExcludeFromCollections: rss"),
        "src/posts/override.md": post("title: O\n'override:tags': [misc]"),
    })
    _, corpus, posts = read(root)
    assert set(posts) == {"posts/kept.md", "posts/only-from-rss.md"}
    assert "posts/override.md: not in the 'post' collection (tags: ['misc'])" in {str(p) for p in corpus.not_posts}


def test_permalink_false_stays_in_the_collection_but_is_never_linked(tmp_path, fake_encoder):
    posts = {f"src/posts/p{n}.md": post(f"title: CSS grid part {n}\ndate: 2024-01-0{n + 1}", "css grid layout\n")
             for n in range(4)}
    posts["src/posts/p0.md"] = post("title: CSS grid part 0\ndate: 2024-01-01\npermalink: false", "css grid layout\n")
    posts["src/posts/p1.md"] = post("title: CSS grid part 1\ndate: 2024-01-02\npermalink: {serverless: /x/}",
                                    "css grid layout\n")
    root = make_site(tmp_path / "site", {"src/posts/posts.json": '{"tags": "post"}', **posts})
    data, _ = build(root, tmp_path)
    contexts = json.loads((data / "posts.json").read_text(encoding="utf-8"))
    assert set(contexts) == {f"./src/posts/p{n}.md" for n in range(4)}  # in the collection: read
    assert contexts["./src/posts/p0.md"]["draft"] and contexts["./src/posts/p0.md"]["url"] is None
    assert contexts["./src/posts/p1.md"]["draft"]  # a permalink object without `build`: no page either
    linked = {item["inputPath"] for ctx in contexts.values() for name in ("related", "cluster_latest",
              "cluster_popular") for item in ctx[name]}
    assert linked and linked <= {"./src/posts/p2.md", "./src/posts/p3.md"}


def test_urls_keep_the_date_prefix_that_the_key_drops(tmp_path):
    root = make_site(tmp_path / "site", {
        "src/posts/posts.json": '{"tags": "post"}',
        "src/posts/2024-01-02-file-date.md": post("title: F"),
        "src/posts/my-2024-07-08-embedded.md": post("title: E"),
        "src/posts/index-dir/index.md": post("title: I\ndate: 2024-01-01"),
        "src/posts/same/same.md": post("title: S\ndate: 2024-01-01"),
        "src/posts/Café Olé.md": post("title: C\ndate: 2024-01-01"),
        "src/posts/custom.md": post("title: P\ndate: 2024-01-01\npermalink: /custom/path/"),
        "src/posts/relative.md": post("title: R\ndate: 2024-01-01\npermalink: articles/x.html"),
        "src/posts/stem.md": post("title: T\ndate: 2024-01-01\npermalink: \"/a/{{ page.fileSlug }}/\""),
        "src/posts/templated.md": post("title: Templated Title!\ndate: 2024-01-01\n"
                                       "permalink: \"articles/{{ title | slugify }}/\""),
    })
    dialect, _, posts = read(root)
    got = {source: (p.slug, p.url) for source, p in posts.items()}
    assert got["posts/2024-01-02-file-date.md"] == ("file-date", "/posts/2024-01-02-file-date/")
    assert got["posts/my-2024-07-08-embedded.md"] == ("embedded", "/posts/my-2024-07-08-embedded/")
    assert posts["posts/my-2024-07-08-embedded.md"].date == dt.datetime(2024, 7, 8, tzinfo=dt.timezone.utc)
    assert got["posts/index-dir/index.md"] == ("index-dir", "/posts/index-dir/")
    assert got["posts/same/same.md"] == ("same", "/posts/same/")
    assert got["posts/Café Olé.md"] == ("Café Olé", "/posts/Café Olé/")  # not encoded, case kept
    assert got["posts/custom.md"][1] == "/custom/path/"
    assert got["posts/relative.md"][1] == "/articles/x.html"
    assert got["posts/stem.md"][1] == "/a/stem/"
    # a template postkin does not render: listed, linked through Eleventy's inputPathToUrl, url unknown
    assert not posts["posts/templated.md"].draft and dialect.no_url == {"templated": "templated permalink"}


def test_keys_are_unique_across_folders(tmp_path):
    root = make_site(tmp_path / "site", {
        "src/posts/posts.json": '{"tags": "post"}',
        "src/posts/2023/hello.md": post("title: A\ndate: 2023-01-01"),
        "src/posts/2024/hello.md": post("title: B\ndate: 2024-01-01"),
    })
    _, _, posts = read(root)
    assert {p.slug for p in posts.values()} == {"posts--2023--hello", "posts--2024--hello"}


@pytest.mark.parametrize("value, expected", [
    ("2024-05-06", "2024-05-06T00:00:00+00:00"),  # a YAML date: UTC midnight
    ("2024-05-06T23:30:00-05:00", "2024-05-06T23:30:00-05:00"),
    ('"2024-05-06"', "2024-05-06T00:00:00+00:00"),  # Luxon fromISO in UTC
    ('"2024-05-06T10:00"', "2024-05-06T10:00:00+00:00"),
    ('"20240506T1000"', "2024-05-06T10:00:00+00:00"),
])
def test_dates_as_eleventy_maps_them(tmp_path, value, expected):
    root = make_site(tmp_path / "site", {"src/posts/posts.json": '{"tags": "post"}',
                                         "src/posts/x.md": post(f"title: X\ndate: {value}")})
    _, corpus, posts = read(root)
    assert posts["posts/x.md"].date.isoformat() == expected, corpus.problems


@pytest.mark.parametrize("value", ['"2024-01-02 10:00"', "Jan 8 2022", '" Last Modified"', "2024"])
def test_a_date_eleventy_refuses_is_one_line(tmp_path, value):
    root = make_site(tmp_path / "site", {"src/posts/posts.json": '{"tags": "post"}',
                                         "src/posts/x.md": post(f"title: X\ndate: {value}")})
    _, corpus, posts = read(root)
    assert not posts and len(corpus.problems) == 1
    assert "(Eleventy stops the build" in str(corpus.problems[0])


def test_created_and_last_modified_read_the_file_last_modified_is_the_ctime(tmp_path):
    root = make_site(tmp_path / "site", {"src/posts/posts.json": '{"tags": "post"}',
                                         "src/posts/created.md": post("title: C\ndate: Created"),
                                         "src/posts/modified.md": post("title: M\ndate: Last Modified"),
                                         "src/posts/undated.md": post("title: U")})
    old = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    os.utime(root / "src/posts/modified.md", (old, old))  # mtime 2020: Eleventy reads the ctime, not this
    _, corpus, posts = read(root)
    now = dt.datetime.now(dt.timezone.utc)
    for name in ("created.md", "modified.md", "undated.md"):  # undated: the file's birth time
        assert abs((posts[f"posts/{name}"].date - now).total_seconds()) < 120, (name, posts[f"posts/{name}"].date)


def test_git_date_keywords_read_the_commits(tmp_path):
    root = make_site(tmp_path / "site", {"src/posts/posts.json": '{"tags": "post"}',
                                         "src/posts/a.md": post("title: A\ndate: git Created"),
                                         "src/posts/b.md": post("title: B\ndate: git Last Modified"),
                                         "src/posts/new.md": post("title: N\ndate: git Created")})
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args: str, when: str = "2021-03-04T05:06:07Z") -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                       env={**env, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})

    git("init", "-q")
    git("add", "src/posts/posts.json", "src/posts/a.md", "src/posts/b.md")
    git("commit", "-qm", "first")
    (root / "src/posts/b.md").write_text(post("title: B\ndate: git Last Modified", "Edited.\n"), encoding="utf-8")
    git("commit", "-qam", "edit", when="2022-06-07T08:09:10Z")
    _, _, posts = read(root)
    assert posts["posts/a.md"].date == dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
    assert posts["posts/b.md"].date == dt.datetime(2022, 6, 7, 8, 9, 10, tzinfo=dt.timezone.utc)
    now = dt.datetime.now(dt.timezone.utc)  # not committed yet: Eleventy says now
    assert abs((posts["posts/new.md"].date - now).total_seconds()) < 120


def test_title_has_no_fallback_and_drafts_are_javascript_truthy(tmp_path):
    root = make_site(tmp_path / "site", {
        "src/posts/posts.json": '{"tags": "post"}',
        "src/posts/no-title.md": post("date: 2024-01-01", "# A heading is not a title\n\nText.\n"),
        "src/posts/draft.md": post("title: D\ndate: 2024-01-01\ndraft: true"),
        "src/posts/draft-string.md": post("title: S\ndate: 2024-01-01\ndraft: 'false'"),
        "src/posts/published.md": post("title: P\ndate: 2024-01-01\ndraft: false"),
    })
    _, _, posts = read(root)
    assert posts["posts/no-title.md"].title == ""
    assert {s for s, p in posts.items() if p.draft} == {"posts/draft.md", "posts/draft-string.md"}


def test_lang_from_directory_data_and_from_the_i18n_plugin(tmp_path):
    files = {"src/posts/posts.json": '{"tags": "post"}', "src/es/es.json": '{"lang": "es", "tags": "post"}',
             "src/posts/a.md": post("title: A\ndate: 2024-01-01"), "src/es/b.md": post("title: B\ndate: 2024-01-01")}
    site = make_site(tmp_path / "plain", files)
    _, corpus, posts = read(site)
    assert (posts["posts/a.md"].lang, posts["es/b.md"].lang) == ("", "es")
    i18n = make_site(tmp_path / "i18n", files, config=(
        'import { I18nPlugin } from "@11ty/eleventy";\nexport default function (c) {\n'
        '  c.addPlugin(I18nPlugin, { defaultLanguage: "en" });\n}\nexport const config = { dir: { input: "src" } };\n'))
    _, corpus, posts = read(i18n)
    assert (posts["posts/a.md"].lang, posts["es/b.md"].lang) == ("en", "es")
    assert corpus.languages == ("en", "es")


@pytest.mark.parametrize("config, input_dir", [
    ('export const config = { dir: { input: "content", output: "_site" } };', "content"),
    ("module.exports = function (eleventyConfig) {\n  return { dir: { input: 'content' }, pathPrefix: '/b/' };\n};",
     "content"),
    ('export default function (c) {\n  c.setInputDirectory("content");\n}', "content"),
    ('export const config = {\n  dir: {\n    // input: "old",\n    input: `content`,\n  },\n};', "content"),
    ("module.exports = function () { return {}; };", "."),
])
def test_the_input_folder_is_read_from_the_configuration(tmp_path, config, input_dir):
    root = make_site(tmp_path / "site", {f"{input_dir}/posts/posts.json": '{"tags": "post"}',
                                         f"{input_dir}/posts/a.md": post("title: A\ndate: 2024-01-01")},
                     config=config)
    dialect, _, posts = read(root)
    assert dialect.site.content == root / input_dir and set(posts) == {"posts/a.md"}


def test_a_computed_input_folder_is_one_line_or_the_folder_given(tmp_path):
    root = make_site(tmp_path / "site", {"src/posts/posts.json": '{"tags": "post"}',
                                         "src/posts/a.md": post("title: A\ndate: 2024-01-01")},
                     config='export const config = { dir: { input: process.env.SRC } };\n')
    with pytest.raises(PostkinError, match="dir.input is computed, not a quoted string"):
        find_site(root, Settings())
    dialect = find_site(root / "src", Settings())
    assert dialect.site.content == root / "src" and [p.source for p in dialect.read().posts] == ["posts/a.md"]


def test_no_configuration_file_but_a_package_json(tmp_path):
    root = make_site(tmp_path / "site", {"package.json": '{"devDependencies": {"@11ty/eleventy": "^3.1.8"}}',
                                         "posts/posts.json": '{"tags": "post"}',
                                         "posts/a.md": post("title: A\ndate: 2024-01-01")}, config=None)
    dialect, _, posts = read(root)
    assert dialect.name == "eleventy" and set(posts) == {"posts/a.md"} and posts["posts/a.md"].ref == "./posts/a.md"


def test_ignored_files_and_special_folders_are_not_read(tmp_path):
    root = make_site(tmp_path / "site", {
        ".gitignore": "drafts/\n",
        ".eleventyignore": "src/posts/private.md\n",
        "src/posts/posts.json": '{"tags": "post"}',
        "src/posts/a.md": post("title: A\ndate: 2024-01-01"),
        "src/posts/private.md": post("title: P\ndate: 2024-01-01"),
        "drafts/posts/x.md": post("title: X\ndate: 2024-01-01\ntags: post"),
        "_includes/snippet.md": post("title: S\ntags: post"),
        "_site/posts/built.md": post("title: B\ntags: post"),
    }, config='export const config = { dir: { input: "." } };\n')
    (root / "src/src.json").write_text('{"tags": "post"}', encoding="utf-8")
    _, _, posts = read(root)
    assert set(posts) == {"src/posts/a.md"}


def test_url_pattern_is_refused_on_an_eleventy_site(tmp_path):
    root = make_site(tmp_path / "site", {"src/posts/a.md": post("title: A")})
    with pytest.raises(PostkinError, match="'url_pattern' is not used on an Eleventy site"):
        find_site(root, Settings(url_pattern="/{slug}/"))


def test_data_for_the_templates_keyed_by_input_path_and_rewritten_only_when_changed(tmp_path, fake_encoder):
    files = {"src/posts/posts.json": '{"tags": "post"}'}
    for n in range(6):
        files[f"src/posts/p{n}.md"] = post(f"title: Python packaging {n}\ndate: 2024-01-0{n + 1}\ntags: [python]",
                                          "pip wheels packaging\n")
    root = make_site(tmp_path / "site", files)
    data, output = build(root, tmp_path)
    assert data == root / "src/_data/postkin" and "2 files written" in output
    site = json.loads((data / "site.json").read_text(encoding="utf-8"))
    contexts = json.loads((data / "posts.json").read_text(encoding="utf-8"))
    assert site["add_path_prefix"] is True  # no HtmlBasePlugin in this configuration
    ctx = contexts["./src/posts/p0.md"]
    assert ctx["url"] == "/posts/p0/" and ctx["inputPath"] == "./src/posts/p0.md"
    assert all(item["inputPath"].startswith("./src/posts/") for item in ctx["related"])
    _, output = build(root, tmp_path)
    assert "0 files written" in output


def test_a_site_with_the_html_base_plugin_needs_no_url_filter(tmp_path, fake_encoder):
    root = make_site(tmp_path / "site", {"src/posts/posts.json": '{"tags": "post"}',
                                         "src/posts/a.md": post("title: A\ndate: 2024-01-01"),
                                         "src/posts/b.md": post("title: B\ndate: 2024-01-02")},
                     config='import { HtmlBasePlugin as base } from "@11ty/eleventy";\n'
                            'export default function (c) { c.addPlugin(base); }\n'
                            'export const config = { dir: { input: "src" }, pathPrefix: "/blog/" };\n')
    data, _ = build(root, tmp_path)
    assert json.loads((data / "site.json").read_text(encoding="utf-8"))["add_path_prefix"] is False


TRUTH_PLUGIN = """
import fs from "node:fs";
export default function (eleventyConfig) {
  const seen = new Map();
  let members = [];
  eleventyConfig.addPreprocessor("truth", "*", (data) => { seen.set(data.page.inputPath, data); });
  eleventyConfig.addCollection("__truth", (api) => { members = api.getFilteredByTag("post").map((i) => i.inputPath); return []; });
  eleventyConfig.on("eleventy.after", () => {
    const pages = {};
    for (const [inputPath, data] of seen) {
      pages[inputPath] = { post: members.includes(inputPath), url: data.page.url ?? null, fileSlug: data.page.fileSlug,
        date: data.page.date instanceof Date ? data.page.date.toISOString() : null, title: data.title ?? null,
        tags: data.tags || [], lang: data.page.lang ?? data.lang ?? null };
    }
    fs.writeFileSync("truth.json", JSON.stringify(pages));
  });
}
"""


@pytest.mark.slow
def test_postkin_reads_what_eleventy_builds(tmp_path):
    """The real Eleventy builds a site with the situations above; its own dump of every page (collection
    membership, page.url, page.date, title, tags, page.lang) is what postkin must read."""
    root = make_site(tmp_path / "site", {
        "truth.js": TRUTH_PLUGIN,
        "src/posts/posts.json": '{"tags": "post"}',
        "src/es/es.json": '{"lang": "es", "tags": ["post"]}',
        "src/posts/2024-01-02-file-date.md": post("title: File date"),
        "src/posts/my-2024-07-08-embedded.md": post("title: Embedded"),
        "src/posts/offset.md": post("title: Offset\ndate: 2024-05-06T23:30:00-05:00"),
        "src/posts/quoted.md": post('title: Quoted\ndate: "2024-05-06T10:00"'),
        "src/posts/custom.md": post("title: Custom\ndate: 2024-02-03\npermalink: /custom/path/"),
        "src/posts/stem.md": post('title: Stem\ndate: 2024-02-03\npermalink: "/s/{{ page.fileSlug }}/"'),
        "src/posts/no-output.md": post("title: Hidden page\ndate: 2024-02-01\npermalink: false"),
        "src/posts/excluded.md": post("title: Excluded\ndate: 2024-02-02\neleventyExcludeFromCollections: true"),
        "src/posts/html-title.md": post('title: "Use <details> & 2*3 <script>alert(1)</script>"\ndate: 2024-03-04'
                                        "\ntags: html"),
        "src/posts/string-tags.md": post("title: Tags\ndate: 2024-03-05\ntags: cat, dog"),
        "src/posts/override.md": post("title: Override\ndate: 2024-06-03\n'override:tags': []"),
        "src/posts/same/same.md": post("title: Same\ndate: 2024-06-04"),
        "src/posts/2023-12-31-dated/index.md": post("title: Dated folder"),
        "src/posts/no-title.md": post("date: 2024-06-02"),
        "src/es/hola.md": post("title: Hola\ndate: 2024-07-01"),
        "src/README.md": "# Readme\n\nA page, in no collection.\n",
    }, config='import { I18nPlugin } from "@11ty/eleventy";\nimport truth from "./truth.js";\n'
              'export default function (c) {\n  c.addPlugin(truth);\n'
              '  c.addPlugin(I18nPlugin, { defaultLanguage: "en", errorMode: "never" });\n}\n'
              'export const config = { dir: { input: "src" }, pathPrefix: "/blog/" };\n')
    run_eleventy(root)
    truth = json.loads((root / "truth.json").read_text(encoding="utf-8"))
    dialect, _, posts = read(root)
    by_ref = {p.ref: p for p in posts.values()}
    assert set(by_ref) == {path for path, page in truth.items() if page["post"]}
    checked = 0
    for ref, post_ in by_ref.items():
        page = truth[ref]
        assert (None if post_.slug in dialect.no_url else post_.url) == (page["url"] or None), ref
        assert post_.draft == (page["url"] is False), ref
        assert post_.title == (page["title"] or ""), ref
        assert post_.tags == [t for t in page["tags"] if t != "post"], ref
        assert post_.lang == page["lang"], ref
        assert post_.slug.split("--")[-1] == page["fileSlug"], ref
        assert post_.date == dt.datetime.fromisoformat(page["date"].replace("Z", "+00:00")), ref
        checked += 1
    assert checked == 13


def test_a_gitignored_data_folder_is_said_once_unless_eleventy_reads_no_gitignore(tmp_path, fake_encoder, caplog):
    files = {".gitignore": "src/_data/postkin/\n", "src/posts/posts.json": '{"tags": "post"}',
             "src/posts/a.md": post("title: A\ndate: 2024-01-01"), "src/posts/b.md": post("title: B\ndate: 2024-01-02")}
    root = make_site(tmp_path / "site", files)
    _, output = build(root, tmp_path)
    assert "is in .gitignore, and `eleventy --serve` does not watch gitignored files" in output
    assert "setUseGitIgnore(false)" in output
    root = make_site(tmp_path / "fixed", files, config=CONFIG + "export default function (c) { c.setUseGitIgnore(false); }\n")
    _, output = build(root, tmp_path / "fixed")
    assert "is in .gitignore" not in output


def test_json_and_javascript_front_matter(tmp_path):
    """eleventy-base-blog's draft post is written in `---js` front matter: it must read as a draft."""
    root = make_site(tmp_path / "site", {
        "src/posts/posts.json": '{"tags": "post"}',
        "src/posts/js.md": '---js\nconst title = "A fifth post";\nconst date = "2023-01-23";\nconst draft = true;\n'
                           "function shout(s) { return s.toUpperCase(); }\n---\nThis is a draft post\n",
        "src/posts/object.md": '---js\n{\n  title: "Object", // a comment\n  date: "2023-01-24",\n'
                               '  eleventyComputed: { x: (data) => data.title },\n}\n---\nText.\n',
        "src/posts/json.md": '---json\n{"title": "JSON", "date": "2023-01-25", "tags": ["data"]}\n---\nText.\n',
    })
    _, _, posts = read(root)
    assert (posts["posts/js.md"].title, posts["posts/js.md"].draft) == ("A fifth post", True)
    assert posts["posts/js.md"].date == dt.datetime(2023, 1, 23, tzinfo=dt.timezone.utc)
    assert posts["posts/object.md"].title == "Object" and posts["posts/json.md"].tags == ["data"]
