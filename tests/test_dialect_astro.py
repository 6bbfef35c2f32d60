"""The Astro dialect reads a site's posts as Astro 5 builds its content collection (issue #12): entry
ids, URLs from the route and base, dates as z.coerce.date() reads them, drafts, tags; each rule on a
small site made here, and one test builds a site with the real Astro and compares."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from node_generators import run_astro

from postkin.cli import main
from postkin.dialects import find_site
from postkin.dialects.astro import entry_slug, github_slug
from postkin.errors import PostkinError
from postkin.settings import Settings

pytest.importorskip("tree_sitter_typescript", reason="the Astro dialect needs postkin[astro]")

ASTRO_CONFIG = "import { defineConfig } from 'astro/config';\nexport default defineConfig({ site: 'https://example.com' });\n"
CONTENT_CONFIG = """\
import { defineCollection, z } from 'astro:content';
import { glob } from 'astro/loaders';

const blog = defineCollection({
\t// Load Markdown and MDX files in the `src/content/blog/` directory.
\tloader: glob({ base: './src/content/blog', pattern: '**/*.{md,mdx}' }),
\tschema: z.object({
\t\ttitle: z.string(),
\t\tdescription: z.string(),
\t\tpubDate: z.coerce.date(),
\t\tupdatedDate: z.coerce.date().optional(),
\t\tdraft: z.boolean().optional(),
\t\ttags: z.array(z.string()).optional(),
\t}),
});

export const collections = { blog };
"""
ROUTE = """\
---
import { type CollectionEntry, getCollection, render } from 'astro:content';

export async function getStaticPaths() {
\tconst posts = await getCollection('blog', ({ data }) => (import.meta.env.PROD ? data.draft !== true : true));
\treturn posts.map((post) => ({ params: { slug: post.id }, props: post }));
}
type Props = CollectionEntry<'blog'>;
const post = Astro.props;
const { Content } = await render(post);
---
<h1>{post.data.title}</h1>
<Content />
"""


def entry(front: str, body: str = "Some words about the post.\n") -> str:
    return f"---\n{textwrap.dedent(front).strip()}\n---\n{body}"


def make_site(root: Path, entries: dict[str, str], *, config: str = ASTRO_CONFIG,
              content_config: str | None = CONTENT_CONFIG, files: dict[str, str] | None = None) -> Path:
    """An Astro site: astro.config.mjs, src/content.config.ts, the starter's route, entries under
    src/content/blog (path -> text) and other files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "astro.config.mjs").write_text(config, encoding="utf-8")
    all_files = {"src/pages/blog/[...slug].astro": ROUTE, **(files or {})}
    if content_config is not None:
        all_files["src/content.config.ts"] = content_config
    all_files.update({f"src/content/blog/{name}": text for name, text in entries.items()})
    for name, text in all_files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def read(root: Path, **settings):
    dialect = find_site(root, Settings(**settings))
    corpus = dialect.read()
    return dialect, corpus, {p.source: p for p in corpus.posts}


@pytest.fixture
def local_time(monkeypatch):
    """Run with the process time zone set (postkin reads local times as the build machine does)."""
    def set_zone(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
    yield set_zone
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("path, expected", [
    ("first-post.md", "first-post"), ("My Post With Caps.md", "my-post-with-caps"),
    ("v1.2 Release Notes!.md", "v12-release-notes"), ("Café Olé.md", "café-olé"),
    ("2024/nested-post.md", "2024/nested-post"), ("folder-post/index.md", "folder-post"),
    ("2024-06-01-dated-name.md", "2024-06-01-dated-name"), ("_underscored.md", "_underscored"),
    ("C++ & Rust: a tour.mdx", "c--rust-a-tour"), ("index.md", "index"),
])
def test_entry_ids_as_the_glob_loader_makes_them(path, expected):
    assert entry_slug(path) == expected


def test_github_slug_drops_punctuation_and_symbols_keeps_letters():
    assert github_slug("Ünïcode — ½ of 日本語_x") == "ünïcode---of-日本語_x"  # as github-slugger 2.0.0 gives it


def test_ids_urls_and_the_front_matter_slug(tmp_path):
    root = make_site(tmp_path / "site", {
        "first-post.md": entry("title: First\npubDate: 2024-01-01"),
        "2024/Nested Post.md": entry("title: Nested\npubDate: 2024-01-02"),
        "custom.md": entry("title: Custom\npubDate: 2024-01-03\nslug: Custom/Slug_Kept As-Is"),
        "_underscored.md": entry("title: Underscore\npubDate: 2024-01-04"),
        ".hidden.md": entry("title: Hidden\npubDate: 2024-01-05"),
        "notes.txt": "not an entry",
    })
    dialect, _, posts = read(root)
    got = {s: (p.ref, p.slug, p.url) for s, p in posts.items()}
    assert got == {
        "first-post.md": ("first-post", "first-post", "/blog/first-post/"),
        "2024/Nested Post.md": ("2024/nested-post", "2024--nested-post", "/blog/2024/nested-post/"),
        "custom.md": ("Custom/Slug_Kept As-Is", "Custom--Slug_Kept As-Is", "/blog/Custom/Slug_Kept As-Is/"),
        "_underscored.md": ("_underscored", "_underscored", "/blog/_underscored/"),  # Astro 5 reads it
    }
    assert dialect.site.content == root / "src/content/blog"


def test_base_route_url_pattern_and_build_format(tmp_path):
    entries = {"a.md": entry("title: A\npubDate: 2024-01-01")}
    root = make_site(tmp_path / "base", entries, config="export default { base: '/docs', trailingSlash: 'always' };\n")
    assert read(root)[2]["a.md"].url == "/docs/blog/a/"  # base is never added to links by Astro itself
    root = make_site(tmp_path / "route", entries, files={"src/pages/writing/[slug].astro": ROUTE})
    (root / "src/pages/blog/[...slug].astro").unlink()
    assert read(root)[2]["a.md"].url == "/writing/a/"  # the page route that renders the collection
    root = make_site(tmp_path / "file", entries, config="export default { build: { format: 'file' } };\n")
    assert read(root)[2]["a.md"].url == "/blog/a.html"
    assert read(root, url_pattern="/posts/{id}/")[2]["a.md"].url == "/posts/a/"  # the setting wins


def test_base_and_pattern_of_the_glob_loader(tmp_path):
    content_config = CONTENT_CONFIG.replace("'./src/content/blog', pattern: '**/*.{md,mdx}'",
                                            "'./posts', pattern: '**/[^_]*.md'")
    root = make_site(tmp_path / "site", {}, content_config=content_config, files={
        "posts/a.md": entry("title: A\npubDate: 2024-01-01"), "posts/_b.md": entry("title: B\npubDate: 2024-01-01"),
        "posts/c.mdx": entry("title: C\npubDate: 2024-01-01")})
    dialect, _, posts = read(root)
    assert dialect.site.content == root / "posts" and set(posts) == {"a.md"}


def test_legacy_collections_skip_underscore_files(tmp_path):
    legacy = ("import { defineCollection, z } from 'astro:content';\n"
              "const blog = defineCollection({ type: 'content', schema: z.object({ title: z.string(), "
              "pubDate: z.coerce.date() }) });\nexport const collections = { blog };\n")
    root = make_site(tmp_path / "site", {"a.md": entry("title: A\npubDate: 2024-01-01"),
                                         "_b.md": entry("title: B\npubDate: 2024-01-01"),
                                         "_drafts/c.md": entry("title: C\npubDate: 2024-01-01")},
                     content_config=None, files={"src/content/config.ts": legacy})
    dialect, _, posts = read(root)
    assert dialect.chosen.legacy and set(posts) == {"a.md"}


@pytest.mark.parametrize("value, zone, expected", [
    ("2024-06-01", "America/New_York", "2024-06-01T00:00:00+00:00"),  # YAML date: UTC midnight
    ("'2024-06-01'", "America/New_York", "2024-06-01T00:00:00+00:00"),  # ISO date string: UTC too
    ("'Jul 08 2022'", "America/New_York", "2022-07-08T04:00:00+00:00"),  # the starter's: local time
    ("'Jul 08 2022'", "UTC", "2022-07-08T00:00:00+00:00"),
    ("'2024-06-01T10:00'", "Europe/Paris", "2024-06-01T08:00:00+00:00"),  # no offset: local
    ("2024-05-02T08:30:00+02:00", "UTC", "2024-05-02T06:30:00+00:00"),
])
def test_pub_dates_as_z_coerce_date_reads_them(tmp_path, local_time, value, zone, expected):
    local_time(zone)
    root = make_site(tmp_path / "site", {"a.md": entry(f"title: A\npubDate: {value}")})
    post = read(root)[2]["a.md"]
    assert post.date.astimezone(dt.timezone.utc).isoformat() == expected


def test_an_invalid_date_is_one_line_and_the_schema_names_the_date_field(tmp_path):
    root = make_site(tmp_path / "bad", {"a.md": entry("title: A\npubDate: someday"),
                                        "b.md": entry("title: B\npubDate: 2024-01-01")})
    _, corpus, posts = read(root)
    assert set(posts) == {"b.md"} and "is not a date z.coerce.date() reads (Astro stops the build)" in \
        str(corpus.problems[0])
    paper = CONTENT_CONFIG.replace("pubDate: z.coerce.date()", "pubDatetime: z.date()")
    root = make_site(tmp_path / "paper", {"a.md": entry("title: A\npubDatetime: 2024-01-05\ndate: 1999-01-01")},
                     content_config=paper)
    assert read(root)[2]["a.md"].date == dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc)


def test_drafts_titles_tags_and_lang(tmp_path):
    root = make_site(tmp_path / "site", {
        "draft.md": entry("title: D\npubDate: 2024-01-01\ndraft: true"),
        "not-draft.md": entry("title: N\npubDate: 2024-01-01\ndraft: false"),
        "tags.md": entry("title: 'A <details> tag & 2*3'\npubDate: 2024-01-01\ntags: [astro, web]\nlang: fr"),
        "untitled.md": entry("pubDate: 2024-01-01", "# Heading\n\ntext\n"),
    })
    _, _, posts = read(root)
    assert [s for s, p in posts.items() if p.draft] == ["draft.md"]
    assert posts["tags.md"].tags == ["astro", "web"] and posts["tags.md"].lang == "fr"
    assert posts["tags.md"].title == "A <details> tag & 2*3" and posts["untitled.md"].title == ""


def test_which_collection(tmp_path):
    two = CONTENT_CONFIG.replace("export const collections = { blog };", (
        "const notes = defineCollection({ loader: glob({ base: './src/notes', pattern: '*.md' }) });\n"
        "const authors = defineCollection({ loader: file('src/authors.json') });\n"
        "export const collections = { notes, 'authors': authors };"))
    root = make_site(tmp_path / "one", {}, content_config=two, files={"src/notes/n.md": entry("title: N")})
    assert set(read(root)[2]) == {"n.md"}  # the only collection of Markdown files
    three = two.replace("export const collections = { notes,", "const docs = defineCollection({ loader: "
                        "glob({ base: './src/docs', pattern: '*.md' }) });\nexport const collections = { docs, notes,")
    root = make_site(tmp_path / "site", {}, content_config=three, files={"src/notes/n.md": entry("title: N")})
    with pytest.raises(PostkinError, match="collections docs, notes; set `collection`"):
        find_site(root, Settings())
    assert set(read(root, collection="notes")[2]) == {"n.md"}
    with pytest.raises(PostkinError, match="its loader is not a glob"):
        find_site(root, Settings(collection="authors"))


def test_generate_id_cannot_be_run(tmp_path):
    config = CONTENT_CONFIG.replace("pattern: '**/*.{md,mdx}'", "pattern: '**/*.md', generateId: ({ entry }) => entry")
    root = make_site(tmp_path / "site", {}, content_config=config)
    with pytest.raises(PostkinError, match="generateId function, which postkin cannot run"):
        find_site(root, Settings())


def test_duplicate_ids_keep_one_entry(tmp_path, caplog):
    root = make_site(tmp_path / "site", {"first-post.md": entry("title: A\npubDate: 2024-01-01"),
                                         "First Post.md": entry("title: B\npubDate: 2024-01-02")})
    _, corpus, _ = read(root)
    assert [p.source for p in corpus.posts] == ["First Post.md"]
    assert "duplicate id 'first-post'" in caplog.text


def test_mdx_imports_are_not_text(tmp_path):
    root = make_site(tmp_path / "site", {"intro.mdx": entry(
        "title: Intro\npubDate: 2024-02-01", "import Chart from '../../components/Chart.astro';\n"
        "export const year = 2024;\n\nIslands of interactivity.\n\n<Chart />\n")})
    post = read(root)[2]["intro.mdx"]
    assert post.lede == "Islands of interactivity." and "import" not in post.body


def test_data_keyed_by_entry_id(tmp_path, fake_encoder):
    entries = {f"2024/p{n}.md": entry(f"title: Astro islands {n}\npubDate: 2024-01-0{n + 1}\ntags: [astro]",
                                      "islands hydration\n") for n in range(5)}
    entries["intro.mdx"] = entry("title: Intro\npubDate: 2024-02-01", "import X from '../x.astro';\n\nislands\n")
    root = make_site(tmp_path / "site", entries, config="export default { base: '/docs' };\n")
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\n', encoding="utf-8")
    args = ["build", str(root), "--config", str(config), "--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0 and "2 files written" in result.output, result.output
    data = root / "src/data/postkin"
    posts = json.loads((data / "posts.json").read_text(encoding="utf-8"))
    assert set(posts) == {f"2024/p{n}" for n in range(5)} | {"intro"}
    assert posts["2024/p0"]["url"] == "/docs/blog/2024/p0/"
    assert all(item["id"] in posts and item["url"] == f"/docs/blog/{item['id']}/" for item in posts["2024/p0"]["related"])
    assert json.loads((data / "site.json").read_text(encoding="utf-8"))["base"] == "/docs"
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert "0 files written" in result.output


TRUTH_PAGE = """\
import type { APIRoute } from 'astro';
import { getCollection } from 'astro:content';
export const GET: APIRoute = async () => {
\tconst all = await getCollection('blog');
\tconst published = new Set((await getCollection('blog', ({ data }) => data.draft !== true)).map((p) => p.id));
\treturn new Response(JSON.stringify(all.map((e) => ({ id: e.id, filePath: e.filePath, listed: published.has(e.id),
\t\ttitle: e.data.title, date: e.data.pubDate.toISOString(), tags: e.data.tags ?? [] }))));
};
"""


@pytest.mark.slow
def test_postkin_reads_what_astro_builds(tmp_path):
    """The real Astro builds a site with the situations above; its own getCollection() dump (ids, dates,
    drafts) and the pages it writes are what postkin must read."""
    root = make_site(tmp_path / "site", {
        "first-post.md": entry("title: First post\ndescription: d\npubDate: 'Jul 08 2022'\ntags: [astro, web]"),
        "2024/nested-post.md": entry("title: Nested\ndescription: d\npubDate: 2024-03-01"),
        "My Post With Caps.md": entry("title: Caps\ndescription: d\npubDate: '2024-04-02'\n"
                                      "updatedDate: '2024-04-05T10:00:00Z'"),
        "draft-post.md": entry("title: A draft\ndescription: d\npubDate: 2024-05-01\ndraft: true"),
        "custom-slug.md": entry("title: Custom\ndescription: d\npubDate: 2024-05-02T08:30:00+02:00\n"
                                "slug: Custom/Slug_Kept As-Is"),
        "v1.2 Release Notes!.md": entry("title: Release notes\ndescription: d\npubDate: 2024-05-03"),
        "Café Olé.md": entry("title: Café\ndescription: d\npubDate: 2024-05-04"),
        "html-title.md": entry("title: 'Use <details> & 2*3 <script>alert(1)</script>'\ndescription: d\n"
                               "pubDate: 2024-05-05"),
        "folder-post/index.md": entry("title: Folder\ndescription: d\npubDate: 2024-05-06"),
        "_underscored.md": entry("title: Underscore\ndescription: d\npubDate: 2024-05-07"),
        "2024-06-01-dated-name.md": entry("title: Dated\ndescription: d\npubDate: 2024-06-01"),
    }, config="export default { site: 'https://example.com', base: '/blog', cacheDir: './.astro-cache' };\n",
        files={"src/pages/truth.json.ts": TRUTH_PAGE, "src/pages/index.astro": "<p>home</p>\n"})
    run_astro(root)
    truth = {e["id"]: e for e in json.loads((root / "dist/truth.json").read_text(encoding="utf-8"))}
    _, _, posts = read(root)
    by_id = {p.ref: p for p in posts.values()}
    assert set(by_id) == set(truth)
    for entry_id, post in by_id.items():
        page = truth[entry_id]
        assert f"src/content/blog/{post.source}" == page["filePath"]
        assert post.date == dt.datetime.fromisoformat(page["date"].replace("Z", "+00:00")), entry_id
        assert (post.title, post.tags, not post.draft) == (page["title"], page["tags"], page["listed"])
        written = root / "dist" / post.url.removeprefix("/blog/") / "index.html"
        assert written.is_file() == page["listed"], (entry_id, written)  # a page exactly at the URL
