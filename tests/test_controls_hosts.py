"""Editorial controls through the real generators' plugins (issue #17): Material for MkDocs' `links:` as
pins, controls given in mkdocs.yml and in pelicanconf.py, front-matter pins in Pelican's metadata."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from postkin.cli import main


def test_material_links_that_are_posts_lead_the_related_posts(tmp_path, fake_encoder):
    """A post's `links:` (Material 9.7+: paths relative to docs_dir, titled entries, nested sections,
    anchors, external URLs): the entries that are posts are pins, first and in order, counted in
    related_k, winning over an exclusion (the CSS posts); a docs page and an address elsewhere are no pins
    (the partial still shows them); a draft never is. The command line reads the same pins."""
    pytest.importorskip("material.plugins.blog", reason="mkdocs-material is not installed (pip install '.[mkdocs]')")
    from test_mkdocs_plugin import block, build_site, material_blog, post_pages, write

    root = material_blog(tmp_path / "blog", f"""
        encoder: fake
        tags_min_score: 0.0
        related_k: 4
        exclude_categories: [Frontend]
        cache_dir: {tmp_path / 'cache'}
        json_output: {tmp_path / 'json'}
        """)
    write(root / "docs" / "blog" / "posts" / "linked.md", """
        ---
        date: 2024-02-04
        tags: [databases]
        links:
          - blog/posts/css-2.md
          - Setting up: guide/setup.md
          - More reading:
            - blog/posts/python-1.md#pip-basics
            - blog/posts/draft.md
            - "The PostgreSQL manual": https://www.postgresql.org/docs/
        ---

        # Linked PostgreSQL notes

        Text about postgresql index vacuum query planner database.
        """)
    site = build_site(root)
    data = json.loads((tmp_path / "json" / "postkin.json").read_text())
    linked = next(ctx for ctx in data["posts"].values() if ctx["source"] == "blog/posts/linked.md")
    related = linked["related"]
    assert [item["source"] for item in related[:2]] == ["blog/posts/css-2.md", "blog/posts/python-1.md"]
    assert [item.get("pinned") for item in related] == [True, True, None, None]  # pins count in related_k 4
    assert not any(item["source"].startswith(("guide/", "blog/posts/draft")) for item in related)
    css = {ctx["slug"] for ctx in data["posts"].values() if ctx["source"].startswith("blog/posts/css-")}
    others = [item["slug"] for ctx in data["posts"].values() if ctx is not linked
              for name in ("related", "cluster_latest", "cluster_popular") for item in ctx[name]]
    assert css.isdisjoint(others)  # excluded: listed nowhere else
    assert all(data["posts"][slug]["excluded"] == "exclude_categories 'frontend'" for slug in css)

    truth = json.loads((root / "truth.json").read_text())
    shown = block(post_pages(site, truth)["blog/posts/linked.md"])
    assert shown is not None
    texts = [text for _, text in shown.links]
    assert texts[:5] == ["CSS layout part 2", "Setting up", "Python packaging part 1", "The PostgreSQL manual",
                         texts[4]]  # the partial shows every entry of links:, posts first as postkin lists them
    assert "Draft about Python packaging" not in texts

    (root / "postkin.toml").write_text(f'encoder = "fake"\ntags_min_score = 0.0\nrelated_k = 4\n'
                                       f'exclude_categories = ["Frontend"]\ncache_dir = "{tmp_path / "cache"}"\n')
    result = CliRunner().invoke(main, ["build", str(root), "--out", str(tmp_path / "cli")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "cli" / "postkin.json").read_text()) == data


def test_conflicting_controls_in_mkdocs_yml_stop_the_build_in_one_line(tmp_path, fake_encoder, caplog):
    pytest.importorskip("material.plugins.blog", reason="mkdocs-material is not installed (pip install '.[mkdocs]')")
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort
    from test_mkdocs_plugin import material_blog

    root = material_blog(tmp_path / "blog", "encoder: fake\nrelated_k: 0\nrelated_min_score: 2.5")
    with pytest.raises(Abort):
        load_config(str(root / "mkdocs.yml"))
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [f"Config value 'plugins': Plugin 'postkin' option 'related_min_score': {root / 'mkdocs.yml'} "
                      "plugins.postkin: setting 'related_min_score' applies to related posts, and related_k is 0 (no "
                      "related posts are listed); remove it or set related_k"]


def test_pelican_articles_pin_and_opt_out_in_their_metadata(tmp_path, fake_encoder):
    """Pelican's Markdown metadata (`Key: value` lines, lower-cased by Pelican): postkin_pin and
    postkin_recommend work as in YAML front matter, and POSTKIN's exclude_tags applies."""
    pytest.importorskip("pelican")
    from test_pelican_plugin import build, links, make_site

    root = make_site(tmp_path / "site", {"encoder": "fake", "tags_min_score": 0.0, "related_k": 3,
                                          "exclude_tags": ["postgresql"]})
    content = root / "content"
    for name, line in (("python-0", "Postkin_pin: postgres-1, css-2.md"), ("python-2", "Postkin_recommend: false")):
        path = content / f"{name}.md"
        path.write_text(path.read_text(encoding="utf-8").replace("Slug:", f"{line}\nSlug:"), encoding="utf-8")
    build(root)
    page = (root / "output" / "posts" / "python-0.html").read_text(encoding="utf-8")
    assert links(page, "related")[:2] == ["../posts/postgres-1.html", "../posts/css-2.html"]  # pinned, excluded or not
    assert len(links(page, "related")) == 3
    for name in ("python-1", "css-0", "postgres-0"):
        other = (root / "output" / "posts" / f"{name}.html").read_text(encoding="utf-8")
        shown = links(other, "related") + links(other, "latest") + links(other, "popular")
        assert shown and not any(re.search(r"postgres-|python-2", href) for href in shown), name
    own = (root / "output" / "posts" / "python-2.html").read_text(encoding="utf-8")
    assert links(own, "related")  # opted out of other pages, not of its own lists


def test_hugo_params_and_cascade_carry_the_controls(tmp_path, fake_encoder):
    """Hugo 0.123+ puts custom front matter under `params`, and a section's `cascade` hands values to the
    pages below it: postkin_pin and postkin_recommend work from both."""
    from test_dialect_hugo import build, make_site

    words = {"a": "python packaging wheels", "b": "python packaging pip", "c": "python wheels pip",
             "d": "css grid layout", "e": "css flexbox layout"}
    files = {f"posts/{k}.md": f"title: {k.upper()} {w}\ndate: 2024-01-0{n + 1}\ntags: [{w.split()[0]}]"
             for n, (k, w) in enumerate(words.items())}
    files["posts/a.md"] += "\nparams:\n  postkin_pin: [/posts/e/, posts/d.md]"
    files["posts/notes/_index.md"] = "cascade:\n  params:\n    postkin_recommend: false"
    files["posts/notes/n.md"] = "title: N python packaging wheels pip\ndate: 2024-02-01\ntags: [python]"
    site = make_site(tmp_path / "site", 'baseURL = "https://example.org/"\ntitle = "T"\n', files)
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\nrelated_k = 3\n', encoding="utf-8")
    data_dir, _ = build(site, tmp_path)
    posts = json.loads((data_dir / "postkin.json").read_text())["posts"]
    assert [item["slug"] for item in posts["a"]["related"]][:2] == ["e", "d"]
    assert posts["n"]["excluded"] == "postkin_recommend: false"
    assert all(item["slug"] != "n" for ctx in posts.values() for item in ctx["related"] + ctx["cluster_latest"])
