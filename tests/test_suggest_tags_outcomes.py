"""`postkin suggest-tags` says what it did for every file it is given, in text and in --json alike:
suggestions, no suggestions above the threshold, a blog without tags to learn from, not a post (and
why, as the site's generator decides), or a file that cannot be read (exit code 1)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_post

from postkin.cli import main
from postkin.hosts.precommit import main as hook_main


def _suggest(*args: str) -> tuple[int, list[str], dict]:
    """Text lines and the --json object of one run (both front ends give the same exit code)."""
    text = CliRunner().invoke(main, ["suggest-tags", *args], catch_exceptions=False)
    as_json = CliRunner().invoke(main, ["suggest-tags", *args, "--json"], catch_exceptions=False)
    assert text.exit_code == as_json.exit_code, (text.output, as_json.output)
    return text.exit_code, text.stdout.strip().splitlines(), json.loads(as_json.stdout)


def _same_in_json(lines: list[str], data: dict) -> None:
    """--json says the same as the text, file by file."""
    from_json = [f"{path}: {message}" for path, entry in data.items() for message in entry["messages"]]
    assert sorted(from_json) == sorted(lines)


@pytest.fixture
def blog(small_blog: Path, tmp_path: Path, fake_encoder, monkeypatch) -> Path:
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\ntags_min_score = 0.0\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return small_blog


def test_every_kind_of_file_gets_its_line(blog: Path, tmp_path: Path) -> None:
    new = write_post(blog, "2024-02-01-new.md", 'title: "Packaging python wheels"',
                     "pip wheels virtualenv packaging python tooling\n")
    draft = write_post(blog, "2024-02-02-draft.md", 'title: "Python wheels draft"\ndraft: true',
                       "pip wheels packaging python\n")
    opted = write_post(blog, "2024-02-03-opted.md", 'title: "Not for postkin"\npostkin: false', "pip wheels\n")
    readme = blog / "README.md"
    readme.write_text("# About this blog\n", encoding="utf-8")
    notes = blog / "notes.txt"
    notes.write_text("---\ntitle: x\n---\n", encoding="utf-8")
    files = [new, draft, opted, readme, notes]
    status, lines, data = _suggest(*map(str, files), "--content", str(blog))
    assert status == 0
    said = dict(line.split(": ", 1) for line in lines)
    assert said[str(new)].startswith("suggested tags: ") and "packaging (" in said[str(new)]
    assert said[str(draft)].startswith("suggested tags: ")  # a draft is a post being written: it gets them
    assert said[str(opted)] == "not a post: its front matter says postkin: false"
    assert said[str(readme)] == "not a post: no front matter (--- or +++)"
    assert said[str(notes)] == "not a post: not a Markdown file (.md, .markdown)"
    assert len(lines) == len(files)  # one line each, in the order given
    assert [line.split(": ", 1)[0] for line in lines] == list(map(str, files))
    _same_in_json(lines, data)
    assert data[str(new)]["status"] == "suggested" and data[str(new)]["suggested_tags"][0]["tag"]
    assert {data[str(p)]["status"] for p in (opted, readme, notes)} == {"not_a_post"}
    assert not any(entry["fails"] for entry in data.values())


def test_a_missing_or_unreadable_file_fails_the_commit(blog: Path) -> None:
    broken = write_post(blog, "broken.md", "title: [unclosed")
    status, lines, data = _suggest(str(broken), str(blog / "gone.md"), "--content", str(blog))
    assert status == 1
    assert lines[0].startswith(f"{broken}: front matter is not valid YAML")
    assert lines[1] == f"{blog / 'gone.md'}: no such file"
    _same_in_json(lines, data)
    assert {entry["status"] for entry in data.values()} == {"unreadable"} and all(e["fails"] for e in data.values())


def test_no_suggestion_above_the_threshold(blog: Path, tmp_path: Path) -> None:
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\ntags_min_score = 1.0\n', encoding="utf-8")
    new = write_post(blog, "2024-02-01-new.md", 'title: "Something else entirely"', "kites wind beaches\n")
    status, lines, data = _suggest(str(new), "--content", str(blog))
    assert status == 0
    assert lines == [f"{new}: no suggestions above the threshold (tags_min_score = 1)"]
    _same_in_json(lines, data)
    assert data[str(new)]["status"] == "no_suggestions" and data[str(new)]["suggested_tags"] == []


def test_a_blog_without_tags_says_so(tmp_path: Path, fake_encoder, monkeypatch) -> None:
    content = tmp_path / "content"
    for n, words in enumerate(["pip wheels packaging", "vacuum index planner", "grid flexbox layout"]):
        write_post(content, f"2024-01-0{n + 1}-p{n}.md", f'title: "Post {n}"', f"{words}\n")
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\ntags_min_score = 0.0\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    new = write_post(content, "2024-02-01-new.md", 'title: "New"', "pip wheels\n")
    status, lines, data = _suggest(str(new), "--content", str(content))
    assert status == 0
    assert lines == [f"{new}: no suggestions: the rest of the blog has no tags to learn from"]
    _same_in_json(lines, data)
    assert data[str(new)]["status"] == "no_tags_in_blog"


def test_min_tags_and_add_lines_are_in_the_json_too(blog: Path) -> None:
    new = write_post(blog, "2024-02-01-new.md", 'title: "Packaging python wheels"',
                     "pip wheels virtualenv packaging python tooling\n")
    status, lines, data = _suggest(str(new), "--content", str(blog), "--min-tags", "5")
    assert status == 1 and len(lines) == 2 and "needs at least 5" in lines[1]
    _same_in_json(lines, data)
    assert data[str(new)]["fails"] is True
    result = CliRunner().invoke(main, ["suggest-tags", str(new), "--content", str(blog), "--add", "1", "--json"])
    assert result.exit_code == 1
    entry = json.loads(result.stdout)[str(new)]  # stdout is the JSON alone, even when tags were written
    assert len(entry["added_tags"]) == 1 and entry["added_tags"][0] in new.read_text(encoding="utf-8")


def test_the_hook_says_the_same(blog: Path, capsys) -> None:
    readme = blog / "README.md"
    readme.write_text("# About\n", encoding="utf-8")
    assert hook_main([str(readme)]) == 0
    assert capsys.readouterr().out == f"{readme}: not a post: no front matter (--- or +++)\n"


def test_the_generator_decides_what_is_a_post_jekyll(tmp_path: Path, fake_encoder, monkeypatch) -> None:
    site = tmp_path / "site"
    (site / "_config.yml").parent.mkdir(parents=True)
    (site / "_config.yml").write_text("title: t\n", encoding="utf-8")
    for n, (words, tag) in enumerate([("pip wheels packaging python", "python"),
                                      ("vacuum index planner postgresql", "databases"),
                                      ("pip virtualenv python packaging", "python")]):
        write_post(site / "_posts", f"2024-01-0{n + 1}-p{n}.md", f'title: "Post {n}"\ntags: [{tag}]', f"{words}\n")
    (site / "postkin.toml").write_text('encoder = "fake"\ntags_min_score = 0.0\n', encoding="utf-8")
    monkeypatch.chdir(site)
    undated = write_post(site / "_posts", "no-date.md", 'title: "Undated"', "pip wheels\n")
    page = write_post(site, "about.md", 'title: "About"', "pip wheels\n")
    new = write_post(site / "_posts", "2024-02-01-new.md", 'title: "New"', "pip wheels python packaging\n")
    status, lines, data = _suggest(str(undated), str(page), str(new))
    assert status == 0
    said = dict(line.split(": ", 1) for line in lines)
    assert said[str(undated)].startswith("not a post: in _posts but its name has no date")
    assert said[str(page)].startswith("not a post: not in a _posts or _drafts folder")
    assert said[str(new)].startswith("suggested tags: ") and "python (" in said[str(new)]
    _same_in_json(lines, data)


PELICAN_CONF = """\
PATH = "content"
PAGE_PATHS = ["pages"]
ARTICLE_EXCLUDES = ["pages"]
TIMEZONE = "UTC"
POSTKIN = {"encoder": "fake", "tags_min_score": 0.0}
"""


def test_the_generator_decides_what_is_a_post_pelican(tmp_path: Path, fake_encoder, monkeypatch) -> None:
    """A Pelican site's articles have Pelican's `Key: value` metadata (no front matter fence)."""
    pytest.importorskip("pelican")
    site = tmp_path / "site"
    content = site / "content"
    (content / "pages").mkdir(parents=True)
    (site / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")
    (site / "postkin.toml").write_text('encoder = "fake"\ntags_min_score = 0.0\n', encoding="utf-8")

    def article(path: Path, title: str, tags: str, words: str) -> Path:
        path.write_text(textwrap.dedent(f"""\
            Title: {title}
            Date: 2024-01-01
            Tags: {tags}

            {words}
            """), encoding="utf-8")
        return path

    for n, (words, tag) in enumerate([("pip wheels packaging python", "python"),
                                      ("vacuum index planner postgresql", "databases"),
                                      ("pip virtualenv python packaging", "python")]):
        article(content / f"p{n}.md", f"Post {n}", tag, words)
    page = article(content / "pages" / "about.md", "About", "", "pip wheels")
    new = (content / "new.md")
    new.write_text("Title: New\nDate: 2024-02-01\n\npip wheels python packaging\n", encoding="utf-8")
    monkeypatch.chdir(site)
    status, lines, data = _suggest(str(page), str(new))
    assert status == 0
    said = dict(line.split(": ", 1) for line in lines)
    assert said[str(page)].startswith("not a post: not an article of this Pelican site")
    assert said[str(new)].startswith("suggested tags: ") and "python (" in said[str(new)]
    _same_in_json(lines, data)
