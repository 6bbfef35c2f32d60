"""The MkDocs plugin and dialect with the real MkDocs and Material for MkDocs (the `mkdocs` extra).

Small Material blogs are built in the test process (MkDocs' own `build`, with the fake encoder), the
example site and `mkdocs serve` in subprocesses with the bundled encoder (slow). Every check reads
what MkDocs wrote: the pages, and what Material itself said about each page (a `hooks:` file records
`page.title` and `page.url` after rendering).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from click.testing import CliRunner

pytest.importorskip("mkdocs", reason="the mkdocs extra is not installed (pip install '.[mkdocs]')")
pytest.importorskip("material.plugins.blog", reason="mkdocs-material is not installed (pip install '.[mkdocs]')")

from postkin.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "site_example" / "mkdocs"
MKDOCS = [sys.executable, "-m", "mkdocs"]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
MARKUP_TITLE = "Use <details> & 2*3 <script>alert(1)</script>"

TRUTH_HOOK = '''
import json, os
seen = {}
def on_pre_build(config):
    seen.clear()
def on_page_context(context, page, config, nav):
    seen[page.file.src_uri] = {"title": page.title, "url": page.url}
def on_post_build(config):
    with open(os.path.join(os.path.dirname(config.config_file_path), "truth.json"), "w") as f:
        json.dump(seen, f)
'''

TOPICS = {
    "python": ("Python packaging", "python", "pip wheels virtualenv packaging python tooling"),
    "postgres": ("PostgreSQL tuning", "databases", "postgresql index vacuum query planner database"),
    "css": ("CSS layout", "frontend", "css grid flexbox layout frontend browser"),
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def material_blog(root: Path, options: str = "encoder: fake", extra_plugins: str = "") -> Path:
    """A Material blog at root: 9 posts on three topics, and the cases Material decides: a draft, a
    future post (draft_if_future_date), `links:`, a title with markup, a setext heading, a date mapping."""
    options = textwrap.indent(textwrap.dedent(options).strip(), " " * 6)
    lines = ["site_name: Test blog", "site_url: https://example.com/sub/", "theme:", "  name: material",
             "plugins:", "  - search", "  - blog:", "      draft_if_future_date: true", "  - tags"]
    lines += [line for line in extra_plugins.splitlines() if line.strip()]
    lines += ["  - postkin:", options, "hooks:", "  - truth_hook.py", ""]
    write(root / "mkdocs.yml", "\n".join(lines))
    write(root / "truth_hook.py", TRUTH_HOOK)
    posts = root / "docs" / "blog" / "posts"
    day = 1
    for key, (title, tag, words) in TOPICS.items():
        for n in range(3):
            write(posts / f"{key}-{n}.md", f"""
                ---
                date: 2024-01-{day:02d}
                categories: [{tag.title()}]
                tags: [{tag}]
                ---

                # {title} part {n}

                Some text about {words}, part {n}.

                <!-- more -->

                ## {words.split()[0]} basics

                More about {words}.
                """)
            day += 1
    write(posts / "draft.md", """
        ---
        date: 2024-02-01
        draft: true
        tags: [python]
        ---

        # Draft about Python packaging

        Unpublished text about pip wheels virtualenv packaging python tooling.
        """)
    write(posts / "future.md", """
        ---
        date: 2099-01-01
        tags: [python]
        ---

        # Future Python packaging

        Scheduled text about pip wheels virtualenv packaging python tooling.
        """)
    write(posts / "markup.md", f"""
        ---
        date: 2024-02-02
        title: "{MARKUP_TITLE}"
        tags: [frontend]
        ---

        Text about css grid flexbox layout frontend browser details elements.
        """)
    write(posts / "setext.md", """
        ---
        date:
          created: 2024-02-03
          updated: 2024-02-10
        tags: [databases]
        ---

        Setext title about PostgreSQL &amp; vacuum
        ==========================================

        Text about postgresql index vacuum query planner database.
        """)
    write(posts / "linked.md", """
        ---
        date: 2024-02-04
        tags: [databases]
        links:
          - blog/posts/postgres-1.md
          - blog/posts/draft.md
          - "The PostgreSQL manual": https://www.postgresql.org/docs/
        ---

        # Linked PostgreSQL notes

        Text about postgresql index vacuum query planner database.
        """)
    write(root / "docs" / "index.md", "# Home\n\nA test site.\n")
    write(root / "docs" / "guide" / "setup.md", "# Setting up Python packaging\n\npip wheels virtualenv.\n")
    return root


def build_site(root: Path, *, dirty: bool = False, command: str = "build") -> Path:
    """Build with MkDocs' own build function, as `mkdocs build [--dirty]` does (strict unless dirty)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(root / "mkdocs.yml"), strict=not dirty)  # MkDocs warns about every --dirty build
    config.plugins.on_startup(command=command, dirty=dirty)
    try:
        build(config, dirty=dirty)
    finally:
        config.plugins.on_shutdown()
    return root / "site"


class _Blocks(HTMLParser):
    """The postkin block of a page: its HTML, and each link's href and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.links: list[tuple[str, str]] = []
        self.tags: list[str] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            self.depth += tag not in ("br", "img", "input", "meta", "link")
            self.tags.append(tag)
            if tag == "a":
                self._href, self._text = attrs.get("href"), []
        elif tag == "div" and "postkin-block" in (attrs.get("class") or ""):
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            if tag == "a" and self._href is not None:
                self.links.append((self._href, "".join(self._text)))
                self._href = None
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and self._href is not None:
            self._text.append(data)


def block(page: Path) -> _Blocks | None:
    """The postkin block of a built page, None when the page has none."""
    text = page.read_text(encoding="utf-8")
    if 'class="postkin-block"' not in text:
        return None
    parser = _Blocks()
    parser.feed(text)
    return parser


def resolve(site: Path, page: Path, href: str) -> Path:
    """The file a relative link of a built page points to (directory URLs: its index.html)."""
    base = "/" + page.relative_to(site).as_posix()
    path = unquote(urlsplit(urljoin(base, href)).path).lstrip("/")
    target = site / path
    return target / "index.html" if path.endswith("/") or not path else target


def post_pages(site: Path, truth: dict) -> dict[str, Path]:
    """src_uri -> built file of every blog post MkDocs wrote."""
    out = {}
    for src, seen in truth.items():
        if src.startswith("blog/posts/"):
            out[src] = site / unquote(seen["url"]) / "index.html"
    return out


@pytest.fixture
def blog(tmp_path, fake_encoder) -> Path:
    return material_blog(tmp_path / "blog", f"""
        encoder: fake
        tags_min_score: 0.0
        cache_dir: {tmp_path / 'cache'}
        json_output: {tmp_path / 'json'}
        """)


def test_every_post_lists_related_posts_mkdocs_wrote_and_never_a_draft(blog, tmp_path):
    site = build_site(blog)
    truth = json.loads((blog / "truth.json").read_text())
    pages = post_pages(site, truth)
    assert "blog/posts/draft.md" not in truth and "blog/posts/future.md" not in truth  # Material built neither
    contexts = json.loads((tmp_path / "json" / "postkin.json").read_text())["posts"]
    drafts = {c["url"] for c in contexts.values() if c["draft"]}
    assert {contexts["draft"]["url"], contexts["future"]["url"]} == drafts
    assert len(pages) == 12
    for src, page in pages.items():
        found = block(page)
        assert found is not None and found.links, src
        for href, _ in found.links:
            if href.startswith("https://"):
                continue
            assert resolve(site, page, href).is_file(), (src, href)
            assert not any(d.rstrip("/") in urljoin(page.relative_to(site).as_posix(), href) for d in drafts), href
    # Material's own titles (page.title after rendering; MkDocs keeps the heading's HTML entities)
    titles = {c["source"]: c["title"] for c in contexts.values()}
    for src in pages:
        assert titles[src] == html.unescape(truth[src]["title"]), src
    assert titles["blog/posts/setext.md"] == "Setext title about PostgreSQL & vacuum"
    # URLs as Material made them (post_url_format, its slugify)
    for src in pages:
        assert next(c["url"] for c in contexts.values() if c["source"] == src) == truth[src]["url"]


def test_titles_with_markup_are_text_and_links_come_first(blog, tmp_path):
    site = build_site(blog)
    truth = json.loads((blog / "truth.json").read_text())
    pages = post_pages(site, truth)
    shown = [(src, text) for src, page in pages.items() for _, text in block(page).links if "details" in text]
    assert shown and all(text == MARKUP_TITLE for _, text in shown)
    for src, _ in shown:
        raw = pages[src].read_text(encoding="utf-8")
        part = raw[raw.index('class="postkin-block"'):]
        part = part[:part.index("</aside>")]
        assert "<script>" not in part and "&lt;script&gt;alert(1)&lt;/script&gt;" in part
        assert "details" not in block(pages[src]).tags  # the title made no element
    linked = pages["blog/posts/linked.md"]
    links = block(linked).links
    related = links[:links.index(next(link for link in links if link[1] == "The PostgreSQL manual")) + 1]
    assert related[0][1] == "PostgreSQL tuning part 1" and related[1] == ("https://www.postgresql.org/docs/",
                                                                          "The PostgreSQL manual")
    assert resolve(site, linked, related[0][0]) == pages["blog/posts/postgres-1.md"]
    assert not any("draft" in href for href, _ in links)  # its link to a draft is not listed
    html_text = linked.read_text(encoding="utf-8")
    assert html_text.count('class="postkin__item postkin__item--pinned"') == 2


def test_the_cli_reads_the_same_pages_and_options_as_the_plugin(blog, tmp_path):
    """The plugin's options in mkdocs.yml are the settings of `postkin build` too (encoder, cache folder,
    tags_min_score here); a postkin.toml beside it would make them disagree, so it is not read, and said."""
    build_site(blog)
    plugin = json.loads((tmp_path / "json" / "postkin.json").read_text())
    (blog / "postkin.toml").write_text('related_k = 1\ntags_min_score = 0.9\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(blog), "--out", str(tmp_path / "cli")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (f"postkin: warning: {blog / 'postkin.toml'}: not read: {blog / 'mkdocs.yml'} configures the postkin "
            "plugin, and its options there are this site's settings") in result.stderr
    cli = json.loads((tmp_path / "cli" / "postkin.json").read_text())
    assert cli == plugin
    (blog / "postkin.toml").unlink()
    flags = CliRunner().invoke(main, ["build", str(blog), "--out", str(tmp_path / "flags"), "--related-k", "1"])
    assert flags.exit_code == 0 and "warning" not in flags.stderr
    posts = json.loads((tmp_path / "flags" / "postkin.json").read_text())["posts"]
    assert max(len(p["related"]) for p in posts.values()) == 1  # flags still win
    assert "14 posts" in result.output
    new = write(blog / "docs" / "blog" / "posts" / "new.md", """
        ---
        date: 2024-03-01
        ---

        # More CSS layout

        Text about css grid flexbox layout frontend browser.
        """)
    result = CliRunner().invoke(main, ["suggest-tags", str(new), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "frontend" in [t["tag"] for t in json.loads(result.stdout)[str(new)]["suggested_tags"]]


def test_the_cli_reads_urls_and_titles_as_material_with_other_blog_options(tmp_path, fake_encoder):
    """Material's options that shape URLs and titles (the notes' second fixture): the dialect, without
    building, gives every post the URL and title Material gives it in a real build."""
    root = tmp_path / "news"
    write(root / "mkdocs.yml", f"""
        site_name: Options
        site_url: https://example.org/
        use_directory_urls: false
        theme:
          name: material
          language: de
        plugins:
          - blog:
              blog_dir: news
              post_url_format: "{{date}}/{{categories}}/{{slug}}"
              post_url_date_format: yyyy
              post_slugify_separator: _
              draft: true
          - postkin:
              encoder: fake
              cache_dir: {tmp_path / 'cache'}
        hooks:
          - truth_hook.py
        """)
    write(root / "truth_hook.py", TRUTH_HOOK)
    posts = root / "docs" / "news" / "posts"
    write(posts / "hello.md", "---\ndate: 2024-01-15\ncategories: [Python]\n---\n\n# Hello World\n\nText.\n")
    write(posts / "2024" / "nested.md", "---\ndate: 2024-03-05\n---\n\n# Nested *folder* post\n\nText.\n")
    write(posts / "slugged.md", "---\ndate: 2024-03-02\nslug: my-custom-slug\ntitle: Custom\n---\n\nText.\n")
    write(posts / "unicode.md", "---\ndate: 2024-03-09\n---\n\n# Über Café:  naïve `code` &amp; more\n\nText.\n")
    write(posts / "no-heading.md", "---\ndate: 2024-03-10\n---\n\nJust text, no heading.\n")
    write(posts / "draft.md", "---\ndate: 2024-03-11\ndraft: true\n---\n\n# A draft\n\nText.\n")
    write(root / "docs" / "index.md", "# Home\n")
    build_site(root)
    truth = json.loads((root / "truth.json").read_text())
    (root / "postkin.toml").write_text(f'encoder = "fake"\ncache_dir = "{tmp_path / "cache"}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(root / "docs"), "--out", str(tmp_path / "out")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    read = json.loads((tmp_path / "out" / "postkin.json").read_text())["posts"]
    assert len(read) == 6
    for context in read.values():
        seen = truth[context["source"]]  # the blog's draft: true renders drafts: Material built all six
        assert (context["url"], context["title"]) == (seen["url"], html.unescape(seen["title"]))
    assert read["hello"]["url"] == "news/2024/python/hello_world.html"
    assert read["nested"]["title"] == "Nested folder post" and read["no-heading"]["title"] == "No heading"
    assert read["unicode"]["title"] == "Über Café: naïve code & more"
    assert read["draft"]["draft"] and not any(item["slug"] == "draft" for c in read.values() for item in c["related"])


def test_dirty_builds_never_leave_stale_related_posts(blog, tmp_path):
    site = build_site(blog)
    truth = json.loads((blog / "truth.json").read_text())
    pages = post_pages(site, truth)
    before = {src: page.stat().st_mtime_ns for src, page in pages.items()}
    time.sleep(0.05)
    source = blog / "docs" / "blog" / "posts" / "python-0.md"
    source.write_text(source.read_text().replace("# Python packaging part 0", "# Python wheels explained"))
    listing = [src for src, page in pages.items() if any(t == "Python packaging part 0" for _, t in block(page).links)]
    assert len(listing) >= 2
    build_site(blog, dirty=True)
    clean = tmp_path / "clean"
    shutil.copytree(blog, clean, ignore=shutil.ignore_patterns("site"))
    (clean / "mkdocs.yml").write_text((clean / "mkdocs.yml").read_text().replace(str(tmp_path / "json"),
                                                                                 str(tmp_path / "json2")))
    clean_site = build_site(clean)
    truth = json.loads((clean / "truth.json").read_text())  # the dirty build's hook saw only the pages it wrote
    kept = 0
    for src, page in post_pages(site, truth).items():
        if src == "blog/posts/python-0.md":
            assert page.is_file() and page not in pages.values()  # its URL changed with its title: a new page
            continue
        dirty_block = block(page)
        assert dirty_block is not None and "Python packaging part 0" not in [t for _, t in dirty_block.links], src
        same = block(clean_site / page.relative_to(site))
        assert dirty_block.links == same.links, src  # exactly what a clean build shows
        kept += page.stat().st_mtime_ns == before[src]
    assert kept >= 3  # pages whose context did not change were not written again


def test_enabled_false_and_config_errors_as_mkdocs_reports_them(tmp_path):
    root = material_blog(tmp_path / "blog", "enabled: false\nrelated_k: 3")
    run = subprocess.run([*MKDOCS, "build", "--strict", "-q"], cwd=root, env=ENV, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert not list((root / "site").rglob("*.html")) or not any(
        "postkin-block" in p.read_text(encoding="utf-8") for p in (root / "site").rglob("*.html"))
    assert not (root / ".postkin-cache").exists()
    for options, words in [("related_kk: 3", ["'related_kk'", "did you mean 'related_k'", "mkdocs.yml"]),
                           ("scoep: docs", ["'scoep'", "did you mean 'scope'", "mkdocs.yml"]),
                           ("url_pattern: /x/", ["'url_pattern'", "Material's blog plugin give every page its URL"]),
                           ("related_k: many", ["'related_k'", "must be a whole number"])]:
        root = material_blog(tmp_path / options.split(":")[0], options)
        run = subprocess.run([*MKDOCS, "build", "-q"], cwd=root, env=ENV, capture_output=True, text=True)
        assert run.returncode == 1, run.stderr
        errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR")]
        assert len(errors) == 1 and all(w in errors[0] for w in words), run.stderr


def test_scope_docs_and_all(tmp_path, fake_encoder):
    root = material_blog(tmp_path / "all", f"encoder: fake\nscope: all\ncache_dir: {tmp_path / 'cache'}")
    site = build_site(root)
    setup = block(site / "guide" / "setup" / "index.html")
    assert setup is not None and any("Python packaging" in t for _, t in setup.links)
    root = material_blog(tmp_path / "docs", f"encoder: fake\nscope: docs\ncache_dir: {tmp_path / 'cache'}")
    site = build_site(root)
    assert block(site / "guide" / "setup" / "index.html") is not None
    assert block(site / "blog" / "2024" / "01" / "01" / "python-packaging-part-0" / "index.html") is None


def test_a_site_without_a_blog_says_so(tmp_path, fake_encoder, caplog):
    from mkdocs.exceptions import Abort

    root = tmp_path / "docs-only"
    write(root / "mkdocs.yml", "site_name: x\ntheme:\n  name: material\nplugins:\n  - postkin:\n      encoder: fake\n")
    write(root / "docs" / "index.md", "# Home\n")
    with pytest.raises(Abort):
        build_site(root)
    assert "mkdocs.yml plugins.postkin: scope is 'blog' but no Material blog plugin is enabled" in caplog.text


def test_recommend_for_you_and_the_report(tmp_path, fake_encoder):
    pytest.importorskip("sklearn", reason="the report extra is not installed")
    root = material_blog(tmp_path / "blog", f"""
        encoder: fake
        recommend_for_you: true
        report: report.html
        cache_dir: {tmp_path / 'cache'}
        """)
    site = build_site(root)
    assert json.loads((site / "postkin" / "vectors.json").read_text())["version"] == 1
    assert (site / "postkin" / "recommend.js").is_file()
    page = site / "blog" / "2024" / "01" / "01" / "python-packaging-part-0" / "index.html"
    text = page.read_text(encoding="utf-8")
    assert 'data-postkin-vectors="../../../../../postkin/vectors.json"' in text
    assert 'data-postkin-root="../../../../../"' in text
    report = (root / "report.html").read_text(encoding="utf-8")
    assert "Python packaging part 0" in report and "https://example.com/sub/blog/2024/01/01/" in report


def test_reader_logs_give_page_views_to_most_read(tmp_path, fake_encoder, caplog):
    """The plugin reads setting reader_logs as `postkin build` does (pipeline.run): the page views of an
    access log (gzip, nginx combined, the site below /sub/) fill "Most read"; a bot's views and a
    malformed line count for nothing, and the build says so in one line."""
    pytest.importorskip("gensim", reason="the readers extra is not installed (pip install '.[readers]')")
    import gzip

    chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

    def line(ip: str, minute: int, day: int, agent: str = chrome) -> str:
        return (f'{ip} - - [10/Oct/2024:13:{minute:02d}:00 +0000] "GET /sub/blog/2024/01/{day:02d}/'
                f'python-packaging-part-{day - 1}/ HTTP/1.1" 200 512 "-" "{agent}"')

    views = [line(f"203.0.113.{n}", n, 1) for n in range(1, 4)] + [line("203.0.113.9", 9, 2)]
    views += [line("66.249.66.1", m, 3, bot) for m in range(5)] + ["this is no log line"]
    root = material_blog(tmp_path / "blog", f"""
        encoder: fake
        reader_logs: logs/access.log*
        cache_dir: {tmp_path / 'cache'}
        """)
    (root / "logs").mkdir()
    (root / "logs" / "access.log.1.gz").write_bytes(gzip.compress("\n".join(views).encode() + b"\n"))
    with caplog.at_level("INFO", logger="mkdocs.plugins.postkin"):  # `mkdocs build -v`: the core's info lines
        site = build_site(root)
    said = [r.getMessage() for r in caplog.records if r.name == "mkdocs.plugins.postkin" and "reader logs" in r.getMessage()]
    assert len(said) == 1 and "5 bot requests" in said[0] and "1 malformed (first: access.log.1.gz line 10)" in said[0], said
    page = site / "blog" / "2024" / "01" / "03" / "python-packaging-part-2" / "index.html"
    popular = re.search(r'<ul class="postkin__popular">(.*?)</ul>', page.read_text(encoding="utf-8"), re.S)
    assert popular, "no Most read list on python-packaging-part-2"
    titles = [html.unescape(t) for t in re.findall(r">([^<]+)</a>", popular.group(1))]
    assert titles == ["Python packaging part 0", "Python packaging part 1"]  # 3 views, 1; the bot's 5: none
    assert (tmp_path / "cache" / "readers.sqlite3").is_file()  # the logs' sessions kept for the next build


# --- the example site and `mkdocs serve`, with the real bundled encoder ------------------------------

@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    """site_example/mkdocs built by `mkdocs build --strict` (a copy, with its own cache)."""
    root = tmp_path_factory.mktemp("example") / "mkdocs"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("site", ".postkin-cache"))
    run = subprocess.run([*MKDOCS, "build", "--strict"], cwd=root, env=ENV, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "postkin: 27 pages (27 embedded now, 0 from cache)" in run.stderr
    return root


@pytest.mark.slow
def test_example_every_post_page(example):
    site = example / "site"
    posts = sorted(p for p in (site / "blog").rglob("index.html")
                   if re.match(r"blog/\d{4}/\d\d/\d\d/", p.relative_to(site).as_posix()))
    assert len(posts) == 25  # 27 posts, 2 drafts (draft: true, and one dated 2099 with draft_if_future_date)
    assert not any("embedding-model" in p.as_posix() or "blameless" in p.as_posix() for p in posts)
    for page in posts:
        found = block(page)
        assert found is not None and len(found.links) >= 5, page
        for href, text in found.links:
            assert text.strip(), (page, href)
            if not href.startswith("https://"):
                assert resolve(site, page, href).is_file(), (page, href)
            assert "embedding-model" not in href and "blameless" not in href
        text = page.read_text(encoding="utf-8")
        assert 'data-md-color-scheme="default"' in text and 'data-md-color-scheme="slate"' in text  # both palettes


@pytest.mark.slow
def test_example_block_in_chromium_light_and_dark(example, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    from browser import CHROMIUM, serve

    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium)")
    site = example / "site"
    page_path = next(p for p in (site / "blog").rglob("index.html") if "hybrid-search" in p.as_posix())
    server = serve(site)
    url = f"http://127.0.0.1:{server.server_address[1]}/{page_path.parent.relative_to(site).as_posix()}/"
    seen = {}
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
                page.goto(url)
                aside = page.locator("aside.postkin")
                aside.scroll_into_view_if_needed()
                shot = tmp_path / f"related-{scheme}.png"
                aside.screenshot(path=str(shot))
                seen[scheme] = page.evaluate("""() => {
                  const a = document.querySelector('aside.postkin a.postkin__link');
                  const box = document.querySelector('aside.postkin').getBoundingClientRect();
                  const titles = [...document.querySelectorAll('aside.postkin a')].map(x => x.textContent);
                  return {scheme: document.body.getAttribute('data-md-color-scheme'),
                          link: getComputedStyle(a).color,
                          variable: getComputedStyle(document.body).getPropertyValue('--md-typeset-a-color').trim(),
                          background: getComputedStyle(document.body).backgroundColor,
                          height: box.height, width: box.width, titles,
                          details: document.querySelectorAll('aside.postkin details, aside.postkin script').length};
                }""")
                seen[scheme]["png"] = shot.stat().st_size
            browser.close()
    finally:
        server.shutdown()
    light, dark = seen["light"], seen["dark"]
    assert (light["scheme"], dark["scheme"]) == ("default", "slate")
    for s in (light, dark):
        assert s["height"] > 200 and s["width"] > 400 and s["png"] > 5000, s
        assert s["details"] == 0
    assert light["background"] != dark["background"] and light["link"] != dark["link"]  # the palette applies
    titles = light["titles"]
    assert titles[:2] == ["Embeddings for people who maintain search boxes",  # its links: entries first
                          "Vector search in PostgreSQL with pgvector: HNSW vs IVFFlat"]
    markup = "<details> & <summary> vs. 140 lines of ARIA: disclosures without JavaScript"
    assert markup in titles  # the title with markup shown as text


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--dirty"]], ids=["serve", "serve-dirty"])
def test_mkdocs_serve_rebuilds_the_pages_whose_context_changed(tmp_path, flags):
    root = material_blog(tmp_path / "blog", f"cache_dir: {tmp_path / 'cache'}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen([*MKDOCS, "serve", "-a", f"127.0.0.1:{port}", *flags], cwd=root, env=ENV,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/sub/"

    def fetch(path: str) -> str:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return response.read().decode("utf-8")

    def wait_for(path: str, text: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                page = fetch(path)
                if text in page:
                    return page
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{path}: {text!r} not served in {timeout} s:\n{(tmp_path / 'serve.log').read_text()}")

    try:
        first = wait_for("blog/2024/01/02/python-packaging-part-1/", "postkin-block")
        assert "Python packaging part 0" in first
        assert "Draft about Python packaging" not in first  # served (draft_on_serve) but never listed
        wait_for("blog/2024/02/01/draft-about-python-packaging/", "postkin-block")
        source = root / "docs" / "blog" / "posts" / "python-0.md"
        source.write_text(source.read_text().replace("part 0\n\nSome", "part 0 revised\n\nSome"))
        # an unchanged page that lists the edited post (with --dirty, MkDocs writes it only because postkin
        # told it its context changed)
        page = wait_for("blog/2024/01/02/python-packaging-part-1/", "Python packaging part 0 revised")
        assert "postkin-block" in page
        wait_for("blog/2024/01/01/python-packaging-part-0-revised/", "postkin-block")
        output = (tmp_path / "serve.log").read_text()
        assert re.search(r"postkin: 14 pages \(14 embedded now, 0 from cache\)", output), output
        assert re.search(r"postkin: 14 pages \(1 embedded now, 13 from cache\)", output), output  # only the edit
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_a_post_symlinked_from_outside_docs_is_not_read(tmp_path, fake_encoder):
    """MkDocs follows symbolic links; postkin reads nothing outside docs_dir unless follow_symlinks (#13),
    as it does for every other generator."""
    root = material_blog(tmp_path / "site")
    secret = write(tmp_path / "outside.md", """
        ---
        date: 2024-03-01
        ---
        # Secret postgresql notes

        Text about postgresql index vacuum query planner database.
        """)
    (root / "docs" / "blog" / "posts" / "leak.md").symlink_to(secret)
    result = CliRunner().invoke(main, ["build", str(root), "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    posts = json.loads((tmp_path / "out" / "postkin.json").read_text(encoding="utf-8"))["posts"]
    assert posts and not any("secret" in ctx["title"].lower() for ctx in posts.values())
    assert "leak.md" in result.output and "outside" in result.output and "follow_symlinks" in result.output
