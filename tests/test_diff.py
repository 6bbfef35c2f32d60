"""`postkin diff` (issue #17): the posts it names are exactly the posts whose data files a build rewrites,
whichever two builds it compares (the site now against the last build, the last build against the one
before it, two output folders), and each line says what entered or left a list and why."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_post

from postkin.cli import main
from postkin.diff import Ranked, Snapshot, compare, read_output


def build(content: Path, out: Path, config: Path, cache: Path) -> None:
    result = CliRunner().invoke(main, ["build", str(content), "--out", str(out), "--config", str(config),
                                       "--cache-dir", str(cache)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def diff(*args: str | Path) -> str:
    result = CliRunner().invoke(main, ["diff", *map(str, args)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def named(text: str) -> set[str]:
    """The posts a text diff names: its unindented lines after the summary, up to the topics."""
    return {line.split("  ")[0] for line in text.splitlines()[1:]
            if line and not line.startswith((" ", "topics:", "note:"))}


def changed_files(old: Path, new: Path) -> set[str]:
    """Keys of the posts/<key>.json files that differ, appeared or went between two output folders."""
    a = {p.stem: p.read_bytes() for p in (old / "posts").glob("*.json")}
    b = {p.stem: p.read_bytes() for p in (new / "posts").glob("*.json")}
    return {key for key in a.keys() | b.keys() if a.get(key) != b.get(key)}


@pytest.fixture
def site(small_blog, tmp_path, fake_encoder):
    """small_blog built once (with a second post in a third language of words, so edits move lists)."""
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\nrelated_k = 3\ntags_min_score = 0.0\nclusters = 3\n', encoding="utf-8")
    build(small_blog, tmp_path / "out", config, tmp_path / "cache")
    return small_blog, config, tmp_path / "cache", tmp_path / "out"


@pytest.mark.parametrize("edit", ["title", "body", "new post", "removed post", "draft"])
def test_the_posts_it_names_are_the_files_the_next_build_rewrites(site, tmp_path, edit):
    content, config, cache, out = site
    shutil.copytree(out, tmp_path / "before")
    target = content / "2024-01-04-postgres-0.md"
    if edit == "title":
        target.write_text(target.read_text().replace("PostgreSQL tuning part 0", "CSS grid and flexbox tuning"))
    elif edit == "body":
        target.write_text(target.read_text() + "\nMore on css grid flexbox layout and frontend browser work.\n")
    elif edit == "new post":
        write_post(content, "2024-02-01-sql.md", 'title: "SQL for layout people"\ntags: [css, postgresql]',
                   "postgresql query planner css grid layout\n")
    elif edit == "removed post":
        target.unlink()
    else:
        target.write_text(target.read_text().replace("---\n", "---\ndraft: true\n", 1))
    now = diff(content, "--config", config, "--cache-dir", cache)
    build(content, out, config, cache)
    rewritten = changed_files(tmp_path / "before", out)
    assert rewritten and named(now) == rewritten, now
    assert named(diff(content, "--last", "--config", config, "--cache-dir", cache)) == rewritten
    assert named(diff(tmp_path / "before", out)) == rewritten
    assert now.splitlines()[0].startswith(f"postkin: {len(rewritten)} of ")


def test_lines_say_what_entered_and_left_and_which_signal_moved(site, tmp_path):
    content, config, cache, out = site
    target = content / "2024-01-04-postgres-0.md"
    target.write_text(target.read_text().replace("PostgreSQL tuning part 0", "CSS grid and flexbox layout")
                      .replace("postgresql index vacuum query planner database", "css grid flexbox layout frontend"))
    text = diff(content, "--config", config, "--cache-dir", cache)
    entered = [line for line in text.splitlines() if re.match(r"  related +\+ ", line)]
    left = [line for line in text.splitlines() if re.match(r"  related +- ", line)]
    assert entered and left, text
    # the edited post entered the CSS posts' lists: its embedding and words moved toward theirs
    assert any('"CSS grid and flexbox layout" at #' in line and re.search(r"fused -?[\d.]+ -> -?[\d.]+: "
                                                                           r"(semantic|lexical) ", line)
               for line in entered), text
    assert any(re.search(r"\(was #\d\): fell (to #\d+|below #10)", line) for line in left), text
    own = next(line for line in text.splitlines() if line.startswith("  post "))
    assert 'title "PostgreSQL tuning part 0" -> "CSS grid and flexbox layout"' in own


@pytest.mark.parametrize("signals", [False, True])
def test_two_folders_built_without_signals_say_how_to_see_why(site, tmp_path, signals):
    """OLD NEW cannot say why related posts moved unless the builds kept their signals: one line says
    so and names `--signals`; built with `--signals`, the lines say which signal moved and no note."""
    content, config, cache, _ = site
    flags = ["--signals"] if signals else []

    def build_to(out: Path) -> None:
        result = CliRunner().invoke(main, ["build", str(content), "--out", str(out), "--config", str(config),
                                           "--cache-dir", str(cache), *flags], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    build_to(tmp_path / "old")
    target = content / "2024-01-04-postgres-0.md"
    target.write_text(target.read_text().replace("PostgreSQL tuning part 0", "CSS grid and flexbox layout")
                      .replace("postgresql index vacuum query planner database", "css grid flexbox layout frontend"))
    build_to(tmp_path / "new")
    text = diff(tmp_path / "old", tmp_path / "new")
    related = [line for line in text.splitlines() if re.match(r"  related +[+~-] ", line)]
    assert related, text
    notes = [line for line in text.splitlines() if line.startswith("note:")]
    markdown = diff(tmp_path / "old", tmp_path / "new", "--format", "markdown")
    if signals:
        assert notes == [] and "built without signals" not in markdown
        assert any(re.search(r"fused -?[\d.]+ -> -?[\d.]+: ", line) for line in related), text
    else:
        assert notes == [text.splitlines()[-1]] == [
            f"note: {tmp_path / 'old'} and {tmp_path / 'new'} were built without signals, so this diff cannot "
            "say why related posts moved; build with `postkin build --signals` (setting `signals = true`) to "
            "see which signal moved"]
        assert not any("fused" in line for line in related)
        assert markdown.rstrip().splitlines()[-1].startswith("_") and "postkin build --signals" in markdown


def test_markdown_links_posts_and_escapes_titles(site, tmp_path):
    content, config, cache, out = site
    target = content / "2024-01-07-css-0.md"
    target.write_text(target.read_text().replace('title: "CSS layout part 0"', 'title: "CSS *grid* [tips] <b>|"'))
    text = diff(content, "--format", "markdown", "--config", config, "--cache-dir", cache)
    assert text.startswith("### postkin: ")
    assert "**[CSS \\*grid\\* \\[tips\\] \\<b\\>\\|](</2024/01/07/css-0/>)** `css-0`" in text
    assert "<b>" not in text.replace("\\<b\\>", "")
    assert re.search(r"^- related: \*\*[+~-]\*\* ", text, re.M)


def test_without_a_record_it_says_what_to_do_in_one_line(small_blog, tmp_path, fake_encoder):
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(small_blog), "--config", str(config), "--cache-dir",
                                       str(tmp_path / "cache")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'cache'}: no record of a build of this site; run `postkin build` (or the site's build "
        "with postkin's plugin) first"]
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "nothing-here"), str(tmp_path)])
    assert result.exit_code == 1 and "no postkin outputs here" in result.output


def test_every_output_shape_reads_the_same(tmp_path):
    """postkin.json (Hugo, generic), posts.json keyed by page (Eleventy, Astro), keys.json + posts/ (Jekyll)."""
    ctx = {"slug": "a", "title": "A", "url": "/a/", "related": [{"slug": "b", "title": "B", "url": "/b/",
                                                                 "signals": {"fused": 2.5, "semantic": 0.4}}]}
    (tmp_path / "generic").mkdir()
    (tmp_path / "generic" / "postkin.json").write_text(json.dumps({"clusters": [], "posts": {"a": ctx}}))
    (tmp_path / "node").mkdir()
    (tmp_path / "node" / "posts.json").write_text(json.dumps({"./posts/a.md": ctx}))
    (tmp_path / "jekyll" / "posts").mkdir(parents=True)
    (tmp_path / "jekyll" / "keys.json").write_text(json.dumps({"_posts/a.md": "a"}))
    (tmp_path / "jekyll" / "posts" / "a.json").write_text(json.dumps(ctx))
    for shape in ("generic", "node", "jekyll"):
        snapshot = read_output(tmp_path / shape)
        assert snapshot.posts == {"a": ctx}
        assert snapshot.ranked == {"a": {"b": Ranked(1, 2.5, {"semantic": 0.4})}}


def test_a_pinned_or_fallback_entry_says_so():
    old = Snapshot("old", {"a": {"slug": "a", "related": []}, "b": {"slug": "b"}, "c": {"slug": "c"}})
    new = Snapshot("new", {"a": {"slug": "a", "related": [{"slug": "b", "title": "B", "pinned": True},
                                                          {"slug": "c", "title": "C", "fallback": True}]},
                           "b": {"slug": "b"}, "c": {"slug": "c"}})
    text = compare(old, new).text()
    assert '  related         + "B" at #1: pinned' in text
    assert '  related         + "C" at #2: fallback: newest of the topic' in text


@pytest.mark.slow
def test_the_action_appends_what_the_build_changed_to_the_job_summary(tmp_path, monkeypatch):
    """The GitHub Action's steps, run locally (real bundled model): with diff-summary, a first run says no
    list changed (there is one build's record), and a run after an edit appends the Markdown diff."""
    from test_github_action import POSTS, LocalRunner

    workspace = tmp_path / "workspace"
    for name, (title, tags) in POSTS.items():
        write_post(workspace / "blog" / "content", name, f'title: "{title}"\ntags: {tags}', f"\n{title}\n")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    runner = LocalRunner(workspace, tmp_path / "bin")
    inputs = {"content": "blog/content", "output": "blog/data/postkin", "diff-summary": "true"}
    runner.run(inputs)
    assert summary.read_text().startswith("### postkin: 0 of 5 posts' lists changed")
    summary.unlink()
    edited = workspace / "blog" / "content" / "grid.md"
    edited.write_text(edited.read_text().replace("CSS grid for page layout", "PostgreSQL grid of partial indexes"))
    runner.run(inputs)
    text = summary.read_text()
    assert text.startswith("### postkin: ") and "**[PostgreSQL grid of partial indexes](<" in text
    assert "title \"CSS grid for page layout\" → \"PostgreSQL grid of partial indexes\"" in text
