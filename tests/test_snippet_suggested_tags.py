"""The snippets' optional suggested-tags block (issue #14), rendered by the real generators: Hugo's partial
with (dict "page" . "tags" true), Jekyll's include with tags=true, Eleventy's Nunjucks include after
{% set postkin_tags = true %} and its Liquid include with postkin_tags: true, Astro's component with
tags={true}. Each example is copied, one of its tags renamed to one full of markup characters, built by
`postkin build` (tags_min_score 0, so every post has suggestions) and then by the generator with the block
turned on for one post page (two on Eleventy, one per engine): that page's `postkin-tag` items are the
post's suggested_tags in postkin's data, printed as text; a page left as it was shows no tags."""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKUP_TAG = 'Fast & <b>"quick"</b>'  # replaces the examples' tag `performance`
QUOTED = "'" + MARKUP_TAG + "'"  # as a YAML flow-sequence item

pytestmark = pytest.mark.slow


class TagItems(html.parser.HTMLParser):
    """The text of every element of class postkin-tag (without its <small> score), and the elements
    opened inside one."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.inside: list[str] = []
        self._depth = 0  # open elements inside a postkin-tag item
        self._small = 0

    def handle_starttag(self, tag, attrs):
        if self._depth:
            self._depth += 1
            self.inside.append(tag)
            self._small += tag == "small"
        elif "postkin-tag" in (dict(attrs).get("class") or "").split():
            self._depth = 1
            self.tags.append("")

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1
            if tag == "small":
                self._small -= 1

    def handle_data(self, data):
        if self._depth and not self._small:
            self.tags[-1] += data


def rename_tag(content: Path, pattern: str = "*.md") -> None:
    """In every post's `tags: [...]` line under `content`, the tag `performance` becomes MARKUP_TAG."""
    for path in content.rglob(pattern):
        text = path.read_text(encoding="utf-8")
        renamed = re.sub(r"(?m)^(tags: \[.*?)(?<=[\[ ])performance(?=[,\]])", lambda m: m.group(1) + QUOTED, text)
        path.write_text(renamed, encoding="utf-8")


def set_front_matter(post: Path, key: str, value: str) -> None:
    """Set one YAML front-matter key of a post (replacing the key if it is there)."""
    text = post.read_text(encoding="utf-8")
    head, sep, body = text[4:].partition("\n---\n")
    lines = [line for line in head.splitlines() if not line.startswith(f"{key}:")]
    post.write_text("---\n" + "\n".join([*lines, f"{key}: {value}"]) + sep + body, encoding="utf-8")


def config(tmp: Path) -> Path:
    """A postkin.toml outside the site: every post gets suggestions, however unsure."""
    path = tmp / "postkin.toml"
    path.write_text("tags_min_score = 0.0\n", encoding="utf-8")
    return path


def with_markup_tag(contexts: dict[str, dict], eligible) -> list[str]:
    """Keys (sorted) of published posts (a draft has no page) whose suggested tags include MARKUP_TAG, among
    those eligible(key)."""
    found = sorted(key for key, ctx in contexts.items() if eligible(key) and not ctx["draft"]
                   and MARKUP_TAG in [t["tag"] for t in ctx["suggested_tags"]])
    assert found, "no post has the markup tag among its suggestions"
    return found


def assert_tags(page: Path, ctx: dict) -> None:
    """The page's postkin-tag items are the post's suggested tags, as text, the markup tag among them."""
    parsed = TagItems()
    source = page.read_text(encoding="utf-8")
    parsed.feed(source)
    expected = [t["tag"] for t in ctx["suggested_tags"]]
    assert [t.strip() for t in parsed.tags] == expected, page
    assert MARKUP_TAG in expected and MARKUP_TAG not in source  # escaped, not markup
    assert not set(parsed.inside) - {"small"}, parsed.inside  # no <b> inside an item


def assert_no_tags(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert '<aside class="postkin"' in text, f"{page}: no postkin block at all"
    parsed = TagItems()
    parsed.feed(text)
    assert parsed.tags == [], f"{page}: tags shown without being asked for"


def test_hugo_partial_shows_suggested_tags(tmp_path):
    from hugo_site import require_hugo, run_hugo
    from test_hugo_site_example import copy_example, page_file, postkin_build

    require_hugo()
    site = copy_example(tmp_path)
    rename_tag(site / "content")
    postkin_build(site, tmp_path / "cache", "--config", str(config(tmp_path)))
    data = json.loads((site / "data/postkin/postkin.json").read_text(encoding="utf-8"))["posts"]
    pages = json.loads((site / "data/postkin/pages.json").read_text(encoding="utf-8"))["en"]
    source = {key: site / "content" / f"{path.strip('/')}.md" for path, key in pages.items()}
    target = with_markup_tag(data, lambda key: key in source and source[key].is_file())[0]
    layout = (site / "layouts/single.html").read_text(encoding="utf-8")
    call = '{{ partial "postkin/related.html" . }}'
    assert call in layout
    (site / "layouts/tags.html").write_text(
        layout.replace(call, '{{ partial "postkin/related.html" (dict "page" . "tags" true) }}'), encoding="utf-8")
    set_front_matter(source[target], "layout", "tags")
    run_hugo(site)
    public = site / "public"
    assert_tags(page_file(public, data[target]["url"]), data[target])
    other = next(key for key, ctx in data.items() if key != target and not ctx["draft"])
    assert_no_tags(page_file(public, data[other]["url"]))


def test_jekyll_include_shows_suggested_tags(tmp_path):
    from test_jekyll_example import BASEURL, JEKYLL, copy_example, jekyll_build, page_file, postkin_build

    if JEKYLL is None:
        pytest.skip("Jekyll is not installed (apt-get install -y --no-install-recommends jekyll)")
    site = copy_example(tmp_path / "site")
    rename_tag(site)
    postkin_build(site, tmp_path / "cache", "--config", str(config(tmp_path)))
    keys = json.loads((site / "_data/postkin/keys.json").read_text(encoding="utf-8"))
    data = {path: json.loads((site / "_data/postkin/posts" / f"{key}.json").read_text(encoding="utf-8"))
            for path, key in keys.items()}
    target = with_markup_tag(data, lambda path: True)[0]
    layout = (site / "_layouts/post.html").read_text(encoding="utf-8")
    call = "{% include postkin-related.html %}"
    assert call in layout
    (site / "_layouts/post-tags.html").write_text(layout.replace(call, "{% include postkin-related.html tags=true %}"),
                                                  encoding="utf-8")
    set_front_matter(site / target, "layout", "post-tags")
    out = jekyll_build(site)
    assert_tags(page_file(out, BASEURL + data[target]["url"]), data[target])
    other = next(path for path, ctx in data.items() if path != target and not ctx["draft"])
    assert_no_tags(page_file(out, BASEURL + data[other]["url"]))


def node_example(example: Path, posts: str, data: str, tmp: Path) -> tuple[Path, dict[str, dict]]:
    """The Eleventy or Astro example copied to tmp, its tag renamed and `postkin build` run: (site, the
    posts.json postkin wrote at `data`)."""
    from test_site_eleventy_astro import copy_example, postkin_build

    site = copy_example(example, tmp / "site")
    rename_tag(site / posts)
    postkin_build(site, tmp / "cache", "--config", str(config(tmp)))
    return site, json.loads((site / data).read_text(encoding="utf-8"))


def test_eleventy_includes_show_suggested_tags_in_both_engines(tmp_path):
    pytest.importorskip("tree_sitter_javascript", reason="the Eleventy dialect needs postkin[eleventy]")
    from node_generators import ELEVENTY_DIR, run_eleventy

    site, data = node_example(ELEVENTY_DIR, "src/posts", "src/_data/postkin/posts.json", tmp_path)
    nunjucks, liquid = with_markup_tag(data, lambda key: "details-and-script" not in key)[:2]
    layouts = site / "src/_includes/layouts"
    post_njk = (layouts / "post.njk").read_text(encoding="utf-8")
    post_liquid = (layouts / "post.liquid").read_text(encoding="utf-8")
    njk_call, liquid_call = '{% include "postkin-related.njk" %}', '{% include "postkin-related.liquid" %}'
    assert njk_call in post_njk and liquid_call in post_liquid
    (layouts / "post-tags.njk").write_text(
        post_njk.replace(njk_call, "{% set postkin_tags = true %}\n" + njk_call), encoding="utf-8")
    (layouts / "post-tags.liquid").write_text(
        post_liquid.replace(liquid_call, '{% include "postkin-related.liquid", postkin_tags: true %}'), encoding="utf-8")
    set_front_matter(site / nunjucks, "layout", "layouts/post-tags.njk")
    set_front_matter(site / liquid, "layout", "layouts/post-tags.liquid")
    run_eleventy(site)
    out = site / "_site/posts"
    for key in (nunjucks, liquid):
        assert_tags(out / Path(key).stem / "index.html", data[key])
    assert_no_tags(out / "details-and-script-in-titles/index.html")  # the Liquid layout, not asked
    other = next(key for key, ctx in data.items()
                 if key not in (nunjucks, liquid) and "details" not in key and not ctx["draft"])
    assert_no_tags(out / Path(other).stem / "index.html")  # the Nunjucks layout, not asked


def test_astro_component_shows_suggested_tags(tmp_path):
    pytest.importorskip("tree_sitter_typescript", reason="the Astro dialect needs postkin[astro]")
    from node_generators import ASTRO_DIR, run_astro

    site, data = node_example(ASTRO_DIR, "src/content/blog", "src/data/postkin/posts.json", tmp_path)
    target = with_markup_tag(data, lambda key: True)[0]
    layout = site / "src/layouts/BlogPost.astro"
    text = layout.read_text(encoding="utf-8")
    call = "<PostkinRelated id={id} />"
    assert call in text
    layout.write_text(text.replace(call, f"<PostkinRelated id={{id}} tags={{id === {json.dumps(target)}}} />"),
                      encoding="utf-8")
    run_astro(site)
    out = site / "dist/blog"
    assert_tags(out / target / "index.html", data[target])
    other = next(key for key, ctx in data.items() if key != target and not ctx["draft"])
    assert_no_tags(out / other / "index.html")
