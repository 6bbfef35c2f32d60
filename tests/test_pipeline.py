"""The one pipeline behind every entry point: empty sites, failed runs, and one suggest-tags behaviour."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeEncoder, write_post

from postkin import encoders
from postkin.cli import main
from postkin.corpus import Post
from postkin.errors import PostkinError
from postkin.hosts.precommit import main as hook_main
from postkin.pipeline import Build, run
from postkin.settings import Settings


def _tables(cache_file: Path) -> dict[str, list]:
    db = sqlite3.connect(cache_file)
    try:
        return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall())
                for table in ("vectors", "token_counts", "parsed_posts")}
    finally:
        db.close()


def test_an_empty_site_gives_the_empty_result_without_loading_a_model(monkeypatch):
    monkeypatch.setitem(encoders._REGISTRY, "usem3", lambda settings: pytest.fail("no model for no posts"))
    build = run([], Settings())
    assert isinstance(build, Build) and build.contexts == {}
    assert build.site.to_json() == {"clusters": [], "encoder": {"dim": 0, "id": ""}, "post_count": 0}


def test_a_run_whose_encoder_fails_leaves_the_cache_as_it_was(small_blog, tmp_path, fake_encoder, monkeypatch):
    """Parsed posts and token counts used to be stored before the encoder failed."""
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\n')
    cache = tmp_path / "cache"
    args = ["build", str(small_blog), "--out", str(tmp_path / "out"), "--cache-dir", str(cache), "--config", str(config)]
    assert CliRunner().invoke(main, args).exit_code == 0
    before = _tables(cache / "embeddings.sqlite3")
    write_post(small_blog, "2024-03-01-new.md", 'title: "A new post"\ntags: [python]', "new words here\n")

    class Broken(FakeEncoder):
        def encode(self, texts):
            raise PostkinError("the model is not available")

    monkeypatch.setitem(encoders._REGISTRY, "fake", lambda settings: Broken())
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "the model is not available" in result.output
    assert _tables(cache / "embeddings.sqlite3") == before


def test_both_suggest_tags_front_ends_behave_alike(small_blog, tmp_path, fake_encoder, capsys):
    """`postkin suggest-tags` and the hook `postkin-suggest-tags` had different defaults and output."""
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\ntags_min_score = 0.0\n')
    new = write_post(small_blog, "2024-02-01-new.md", 'title: "Packaging python wheels"\ntags: [python]',
                     "pip wheels virtualenv packaging python tooling\n")
    args = [str(new), "--config", str(config), "--cache-dir", str(tmp_path / "cache")]
    cli = CliRunner().invoke(main, ["suggest-tags", *args])
    capsys.readouterr()
    status = hook_main(args)
    hook = capsys.readouterr().out
    assert cli.exit_code == status == 0
    assert cli.output == hook and hook.startswith(f"{new}: suggested tags: ") and "packaging (" in hook
    assert all(len(part.split("(")[1].rstrip(")\n")) == 3 for part in hook.split(": ", 2)[2].split(", "))  # 0.x
    for front_end in (lambda: CliRunner().invoke(main, ["suggest-tags", *args, "--min-tags", "3"]).exit_code,
                      lambda: hook_main([*args, "--min-tags", "3"])):
        assert front_end() == 1


def test_the_pipeline_takes_posts_from_any_host(fake_encoder):
    posts = [Post(source=f"{i}.md", slug=f"p{i}", title=f"Post about {w}", body=f"{w} words", tags=[w])
             for i, w in enumerate(["css", "css", "sql", "sql"])]
    build = run(posts, Settings(encoder="fake"))
    assert [r.slug for r in build.contexts["p0"].related][:1] == ["p1"]
    assert build.stats.posts == 4 and build.stats.embedded == 2  # two distinct texts
    assert build.posts_json()["p0"]["url"] == "/p0/"  # made from url_pattern when the host gave none
