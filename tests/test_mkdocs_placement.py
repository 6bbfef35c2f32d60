"""Where the MkDocs plugin's block goes on a Material page, with the real MkDocs and Material for MkDocs:
a `custom_dir` override of postkin's partial replaces it, and `placement: sidebar` puts the block in
Material's table-of-contents sidebar instead of after the content (issue #15)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the mkdocs extra is not installed (pip install '.[mkdocs]')")
pytest.importorskip("material.plugins.blog", reason="mkdocs-material is not installed (pip install '.[mkdocs]')")

from test_mkdocs_plugin import block, build_site, material_blog, post_pages, resolve, write  # noqa: E402


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
