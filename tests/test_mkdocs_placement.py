"""Where the MkDocs plugin's block goes on a Material page, with the real MkDocs and Material for MkDocs:
a `custom_dir` override of postkin's partial replaces it, and `placement: sidebar` puts the block in
Material's table-of-contents sidebar instead of after the content (issue #15)."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the mkdocs extra is not installed (pip install '.[mkdocs]')")
pytest.importorskip("material.plugins.blog", reason="mkdocs-material is not installed (pip install '.[mkdocs]')")

from test_mkdocs_plugin import ENV, MKDOCS, block, build_site, material_blog, post_pages, resolve, write  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def with_custom_dir(root: Path, partials: dict[str, str]) -> Path:
    """Add `theme.custom_dir: overrides` to the blog's mkdocs.yml and write the given partials there."""
    config = root / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("  name: material\n",
                                                                 "  name: material\n  custom_dir: overrides\n", 1),
                      encoding="utf-8")
    for name, text in partials.items():
        write(root / "overrides" / "partials" / name, text)
    return root


OVERRIDE = """
    <section class="my-related">{% for item in page.meta.postkin.related %}<a class="my-link" href="{{ item.url | url }}">{{ item.title | e }}</a>{% endfor %}</section>
    """


def test_custom_dir_overrides_the_partial_on_every_post_page(tmp_path, fake_encoder):
    root = with_custom_dir(material_blog(tmp_path / "blog", f"encoder: fake\ncache_dir: {tmp_path / 'cache'}"),
                           {"postkin.html": OVERRIDE})
    site = build_site(root)  # strict, as `mkdocs build --strict`
    truth = json.loads((root / "truth.json").read_text())
    pages = post_pages(site, truth)
    assert len(pages) == 12
    for src, page in pages.items():
        text = page.read_text(encoding="utf-8")
        assert "postkin__heading" not in text and 'class="postkin ' not in text, src  # postkin's partial is gone
        found = block(page)
        assert found is not None and text.count('class="my-related"') == 1, src
        assert found.links and all(resolve(site, page, href).is_file() for href, _ in found.links
                                   if not href.startswith("https://")), src
        assert re.search(r'<a class="my-link" href="[^"]+">[^<]+</a>', text), src


class _Ancestors(HTMLParser):
    """The classes of every element enclosing each postkin block of a page (one list per block)."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "area", "base", "col", "embed", "track"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.blocks: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class") or ""
        if "postkin-block" in classes.split():
            self.blocks.append(list(self.stack))
        if tag not in self.VOID:
            self.stack.append(classes)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()


def enclosing(page: Path) -> list[list[str]]:
    parser = _Ancestors()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.blocks


def sidebar_blog(root: Path, tmp_path: Path, extra: str = "") -> Path:
    return material_blog(root, f"encoder: fake\nplacement: sidebar\ncache_dir: {tmp_path / 'cache'}\n{extra}")


def test_placement_sidebar_puts_the_block_below_materials_table_of_contents(tmp_path, fake_encoder):
    from postkin.hosts.mkdocs import pages as page_digests

    root = sidebar_blog(tmp_path / "blog", tmp_path)
    site = build_site(root)  # strict
    truth = json.loads((root / "truth.json").read_text())
    pages = post_pages(site, truth)
    assert len(pages) == 12
    for src, page in pages.items():
        text = page.read_text(encoding="utf-8")
        where = enclosing(page)
        assert len(where) == 1, (src, len(where))  # once per page
        classes = " ".join(where[0]).split()
        assert "md-sidebar--secondary" in classes and "md-content" not in classes, (src, where)
        sidebar = text[text.index('data-md-type="toc"'):]
        # Material's own table of contents (its partials/toc.html) comes first
        assert sidebar.index('<nav class="md-nav md-nav--secondary" aria-label="Table of contents">') < \
            sidebar.index('class="postkin-block"')
        article = text[text.index("<article"):text.index("</article>")]
        assert "postkin" not in article, src  # nothing after the content
        found = block(page)
        assert found is not None and found.links, src
        assert all(resolve(site, page, href).is_file() for href, _ in found.links if not href.startswith("https://"))
        assert 'class="md-nav md-nav--secondary postkin postkin--sidebar"' in text
        assert page_digests.built_digest(page) is not None  # --dirty builds find the block's digest here too
    linked = block(pages["blog/posts/linked.md"]).links
    assert linked[0][1] == "PostgreSQL tuning part 1"  # links: entries first, as after the content
    assert block(site / "index.html") is None  # pages that are not posts get no block


def test_placement_sidebar_with_a_custom_dir(tmp_path, fake_encoder):
    """custom_dir still wins: its postkin-sidebar.html replaces postkin's; its own toc.html replaces
    postkin's toc.html and places `postkin_block` itself."""
    root = with_custom_dir(sidebar_blog(tmp_path / "a", tmp_path), {
        "postkin-sidebar.html": '<p class="mine">{{ page.meta.postkin.related | length }} related</p>'})
    page = next(iter(post_pages(build_site(root), json.loads((root / "truth.json").read_text())).values()))
    text = page.read_text(encoding="utf-8")
    assert re.search(r'<p class="mine">[1-9] related</p>', text) and "postkin--sidebar" not in text
    assert "md-sidebar--secondary" in " ".join(enclosing(page)[0])
    root = with_custom_dir(sidebar_blog(tmp_path / "b", tmp_path), {
        "toc.html": '<nav class="my-toc">my table of contents</nav><div class="my-slot">{{ postkin_block }}</div>'})
    page = next(iter(post_pages(build_site(root), json.loads((root / "truth.json").read_text())).values()))
    classes = " ".join(enclosing(page)[0]).split()
    assert "my-slot" in classes and "md-sidebar--secondary" in classes
    assert "my table of contents" in page.read_text(encoding="utf-8")


def test_placement_errors_are_one_mkdocs_error_line(tmp_path):
    for name, options, words in [
            ("typo", "placement: side", ["'placement'", "side", "content", "sidebar"]),
            ("theme", "placement: sidebar", ["plugins.postkin", "placement 'sidebar'", "'mkdocs'",
                                             "placement: content"])]:
        root = material_blog(tmp_path / name, options)
        if name == "theme":
            config = root / "mkdocs.yml"
            config.write_text(config.read_text().replace("  name: material\n", "  name: mkdocs\n")
                              .replace("  - blog:", "  - material/blog:").replace("  - tags", "  - material/tags"))
        run = subprocess.run([*MKDOCS, "build", "-q"], cwd=root, env=ENV, capture_output=True, text=True)
        assert run.returncode == 1, run.stderr
        errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR")]
        assert len(errors) == 1 and all(w in errors[0] for w in words), run.stderr


def test_placement_sidebar_in_chromium_light_and_dark(tmp_path, fake_encoder):
    """Seen in a wide window: the block is in the right-hand sidebar, right of the article, below the
    table of contents, with the palette's navigation colours."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    from browser import CHROMIUM, serve

    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium)")
    root = sidebar_blog(tmp_path / "blog", tmp_path)
    config = root / "mkdocs.yml"
    config.write_text(config.read_text().replace("  name: material\n", "  name: material\n  palette:\n"
                                                  "    - media: '(prefers-color-scheme: light)'\n      scheme: default\n"
                                                  "    - media: '(prefers-color-scheme: dark)'\n      scheme: slate\n"))
    site = build_site(root)
    page_path = post_pages(site, json.loads((root / "truth.json").read_text()))["blog/posts/postgres-0.md"]
    server = serve(site)
    url = f"http://127.0.0.1:{server.server_address[1]}/{page_path.parent.relative_to(site).as_posix()}/"
    seen = {}
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": 1400, "height": 900}, color_scheme=scheme)
                page.goto(url)
                nav = page.locator("nav.postkin--sidebar")
                nav.wait_for(state="visible")
                shot = tmp_path / f"sidebar-{scheme}.png"
                nav.screenshot(path=str(shot))
                seen[scheme] = page.evaluate("""() => {
                  const box = e => e.getBoundingClientRect().toJSON();
                  const nav = document.querySelector('nav.postkin--sidebar');
                  return {nav: box(nav), article: box(document.querySelector('article.md-content__inner')),
                          toc: box(document.querySelector('.md-sidebar--secondary [data-md-component="toc"]')),
                          titles: [...nav.querySelectorAll('a')].map(a => a.textContent.trim()),
                          link: getComputedStyle(nav.querySelector('a')).color,
                          scheme: document.body.getAttribute('data-md-color-scheme')};
                }""")
                seen[scheme]["png"] = shot.stat().st_size
            for width, shown in ((900, False), (1000, True)):  # Material shows this sidebar from 60em up
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(url)
                page.locator("article.md-content__inner").wait_for(state="visible")
                seen[width] = page.locator("nav.postkin--sidebar").is_visible()
                assert seen[width] is shown, width
            browser.close()
    finally:
        server.shutdown()
    for s in (seen["light"], seen["dark"]):
        assert s["nav"]["left"] >= s["article"]["right"] and s["nav"]["width"] > 100 and s["nav"]["height"] > 60, s
        assert s["nav"]["top"] >= s["toc"]["bottom"] - 1, s  # below the table of contents
        assert "PostgreSQL tuning part 1" in s["titles"] and s["png"] > 2000, s
    assert (seen["light"]["scheme"], seen["dark"]["scheme"]) == ("default", "slate")
    assert seen["light"]["link"] != seen["dark"]["link"]  # the palette applies


def test_material_authors_of_related_posts_reach_an_overridden_partial(tmp_path, fake_encoder):
    """postkin's context carries no authors: each listed item's `page` is Material's post, whose
    `authors` Material resolved from .authors.yml (name, avatar, url), so a partial shows them."""
    root = material_blog(tmp_path / "blog", f"encoder: fake\ncache_dir: {tmp_path / 'cache'}")
    write(root / "docs" / "blog" / ".authors.yml", """
        authors:
          ada:
            name: Ada Lovelace
            description: Engine notes
            avatar: https://example.com/ada.png
          grace:
            name: Grace Hopper
            description: Compilers
            avatar: https://example.com/grace.png
        """)
    for post in (root / "docs" / "blog" / "posts").glob("*.md"):
        who = "[ada, grace]" if post.stem.startswith("python") else "[grace]"
        post.write_text(post.read_text(encoding="utf-8").replace("---\n", f"---\nauthors: {who}\n", 1),
                        encoding="utf-8")
    with_custom_dir(root, {"postkin.html": """
        <ul class="with-authors">{% for item in page.meta.postkin.related %}<li><a href="{{ item.url | url }}">{{ item.title | e }}</a> by {{ item.page.authors | map(attribute="name") | join(" and ") | e }}</li>{% endfor %}</ul>
        """})
    site = build_site(root)
    pages = post_pages(site, json.loads((root / "truth.json").read_text()))
    shown = set()
    for page in pages.values():
        for title, authors in re.findall(r'<li><a href="[^"]+">([^<]+)</a> by ([^<]*)</li>', page.read_text("utf-8")):
            shown.add(title)
            if title == "The PostgreSQL manual":  # a links: entry outside the site has no page, so no authors
                assert authors == ""
                continue
            assert authors == ("Ada Lovelace and Grace Hopper" if title.startswith("Python") else "Grace Hopper"), title
    assert any(t.startswith("Python") for t in shown) and any(not t.startswith("Python") for t in shown)
