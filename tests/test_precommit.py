"""The pre-commit hook: tag edits that touch only the tags entry, main() on a throwaway git repo, and the
two ways users run it (the pre-commit framework's try-repo, and the plain git hook on a real commit)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_post

from postkin.frontmatter_edit import add_tags
from postkin.hosts.precommit import main

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# Front matter copied from the corpora (18F: block list; efcl: no tags key at all), and the other forms
# real blogs use, built on them.
BLOCK_18F = """\
---
layout: post
date: '2014-03-19T10:14:29-04:00'
tumblr_url: http://18fblog.tumblr.com/post/80066867648/hello-world-we-are-18f

title: "Hello, world! We are 18F"

description: 18F is a startup within GSA, encompassing the Presidential Innovation Fellows program.
image:
authors:
- 18F
tags:
- transformation services
- culture change
- modern practices
hero: false
---

Today we're launching 18F.
"""

NO_TAGS_EFCL = """\
---
title: 今日はエイプリルフール
author: azu
layout: post
permalink: /2008/0401/res128/
SBM_count:
  - '00000<>1355428169<>0<>0<>0<>0<>0'
dsq_thread_id:
  - 379080628
categories:
  - 雑記
---
普段なら、記念日とかに疎いので普通にスルーしてる気がしますが、今年は窓の杜のエイプリルネタ関係で覚えていました。
"""

INDENTED_EFCL = """\
---
title: Homebrewを使ってMacにPHP環境を構築する
author: azu
layout: post
categories:
  - インストール設定
tags:
  - 'Mac'
  - 'php'   # quoted, as WordPress exports write them
# comments stay where they are
---
本文
"""


def test_block_list_gets_items_in_its_own_style():
    assert add_tags(BLOCK_18F, ["open source", "yes"]) == BLOCK_18F.replace(
        "- modern practices\n", "- modern practices\n- open source\n- \"yes\"\n")


def test_indented_quoted_block_list_keeps_indent_quotes_and_comments():
    assert add_tags(INDENTED_EFCL, ["homebrew"]) == INDENTED_EFCL.replace(
        "  - 'php'   # quoted, as WordPress exports write them\n",
        "  - 'php'   # quoted, as WordPress exports write them\n  - 'homebrew'\n")


def test_post_without_tags_key_gets_one_at_the_end_of_the_front_matter():
    assert add_tags(NO_TAGS_EFCL, ["雑記", "april fool"]) == NO_TAGS_EFCL.replace(
        "  - 雑記\n---\n", "  - 雑記\ntags: [雑記, april fool]\n---\n")


@pytest.mark.parametrize("before, after", [
    ("tags: python", "tags: [python, packaging, \"c: d\"]"),  # one string: a list from now on
    ("tags: python, web", "tags: \"python, web, packaging, c: d\""),  # quoted only when it must be  # comma-separated string stays one
    ("tags: \"python, web\"  # Pelican style", "tags: \"python, web, packaging, c: d\"  # Pelican style"),
    ("tags: [python, web]", "tags: [python, web, packaging, \"c: d\"]"),  # flow list
    ("tags: []", "tags: [packaging, \"c: d\", python]"),
    ("tags:", "tags: [packaging, \"c: d\", python]"),
    ("Tags: [Python]", "Tags: [Python, packaging, \"c: d\"]"),  # key spelling kept
])
def test_one_line_forms(before, after):
    text = BLOCK_18F.replace("tags:\n- transformation services\n- culture change\n- modern practices\n",
                             before + "\n")
    assert add_tags(text, ["packaging", "c: d", "python"]) == text.replace(before + "\n", after + "\n")


def test_crlf_file_stays_crlf_byte_for_byte():
    text = BLOCK_18F.replace("\n", "\r\n")
    expected = text.replace("- modern practices\r\n", "- modern practices\r\n- open source\r\n")
    assert add_tags(text, ["open source"]) == expected
    one_line = NO_TAGS_EFCL.replace("\n", "\r\n")
    assert add_tags(one_line, ["x"]).endswith("  - 雑記\r\ntags: [x]\r\n---\r\n" + one_line.split("---\r\n", 2)[2])


def test_toml_front_matter():
    text = '+++\ntitle = "Moving to uv"\ntags = ["python",\n  "packaging"]  # ok\ndate = 2024-05-01\n+++\nBody\n'
    assert add_tags(text, ["uv"]) == text.replace('"packaging"]', '"packaging", "uv"]')
    no_key = '+++\ntitle = "x"\ndraft = false\n\n[params]\nauthor = "me"\n+++\nBody\n'
    # A top-level key must come before the first table, or it would land inside [params].
    assert add_tags(no_key, ["uv"]) == no_key.replace('draft = false\n', 'draft = false\ntags = ["uv"]\n')


def test_tags_already_there_change_nothing_and_odd_entries_are_refused():
    assert add_tags(BLOCK_18F, ["Culture Change"]) == BLOCK_18F
    nested = BLOCK_18F.replace("tags:\n- transformation services\n", "tags:\n  main: x\n- transformation services\n")
    with pytest.raises(ValueError):
        add_tags(nested.replace("- culture change\n- modern practices\n", ""), ["x"])


# --- main() on a temporary git repository, with the fake encoder -------------------------------------


@pytest.fixture
def blog_repo(small_blog: Path, fake_encoder, monkeypatch) -> Path:
    """The small blog in a git repository with postkin.toml choosing the fake encoder; cwd is the repo."""
    root = small_blog.parent
    (root / "postkin.toml").write_text('encoder = "fake"\ntags_min_score = 0.0\n', encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.chdir(root)
    return root


def _new_post(root: Path, front: str = 'title: "Packaging Python with pip wheels"') -> Path:
    return write_post(root / "content", "2024-02-01-new.md", front,
                      "\n## python packaging\n\npip wheels virtualenv packaging python tooling\n")


def test_prints_suggestions_from_the_rest_of_the_blog(blog_repo, capsys):
    post = _new_post(blog_repo)
    assert main(["content/2024-02-01-new.md"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("content/2024-02-01-new.md: suggested tags: ")
    assert "python (" in out[0] and "packaging (" in out[0]
    assert post.read_text(encoding="utf-8").count("tags") == 0  # showing never writes


def test_readme_and_non_posts_say_so_without_reading_the_blog(blog_repo, capsys, fake_encoder):
    (blog_repo / "README.md").write_text("# My blog\n", encoding="utf-8")
    (blog_repo / "notes.txt").write_text("---\nx: 1\n---\n", encoding="utf-8")
    assert main(["README.md", "notes.txt"]) == 0
    assert capsys.readouterr().out == ("README.md: not a post: no front matter (--- or +++)\n"
                                       "notes.txt: not a post: not a Markdown file (.md, .markdown)\n")
    assert not (blog_repo / ".postkin-cache").exists() and fake_encoder.calls == 0
    assert main(["deleted.md"]) == 1  # a path that is not there is a mistake worth stopping for
    assert capsys.readouterr().out == "deleted.md: no such file\n"


def test_broken_front_matter_is_one_line_naming_the_file(blog_repo, capsys):
    write_post(blog_repo / "content", "broken.md", "title: [unclosed")
    assert main(["--content", "content", "content/broken.md"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("content/broken.md: front matter is not valid YAML")


def test_min_tags_fails_and_says_what_to_add(blog_repo, capsys):
    _new_post(blog_repo, 'title: "Packaging Python with pip wheels"\ntags: [python]')
    assert main(["--min-tags", "2", "content/2024-02-01-new.md"]) == 1
    out = capsys.readouterr().out
    assert "content/2024-02-01-new.md: has 1 tag(s), needs at least 2; add 1, e.g. packaging" in out
    assert main(["--min-tags", "1", "content/2024-02-01-new.md"]) == 0


def test_add_writes_tags_fails_once_then_passes(blog_repo, capsys):
    post = _new_post(blog_repo, 'title: "Packaging Python with pip wheels"  # keep me\nviews: 12')
    before = post.read_text(encoding="utf-8")
    assert main(["--add", "2", "content/2024-02-01-new.md"]) == 1
    after = post.read_text(encoding="utf-8")
    assert "added tags" in capsys.readouterr().out
    assert after == before.replace("views: 12\n", "views: 12\ntags: [python, packaging]\n")  # nothing else
    assert main(["--add", "2", "content/2024-02-01-new.md"]) == 0  # the reviewed post now passes
    assert post.read_text(encoding="utf-8") == after


# --- the way users run it ----------------------------------------------------------------------------

TINY_BLOG = {
    "2024-01-01-pip.md": ("Faster installs with pip wheels", "[python, packaging]", "pip wheels virtualenv packaging"),
    "2024-01-02-uv.md": ("Moving our Python projects to uv", "[python, packaging]", "uv lock files python versions"),
    "2024-01-03-vacuum.md": ("Tuning PostgreSQL autovacuum", "[postgresql, databases]", "vacuum bloat dead tuples"),
    "2024-01-04-index.md": ("Partial indexes in PostgreSQL", "[postgresql, databases]", "index query planner"),
    "2024-01-05-grid.md": ("CSS grid for page layout", "[css, frontend]", "grid template areas layout"),
}


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
                          cwd=root, capture_output=True, text=True, check=check, timeout=600)


def _tiny_repo(root: Path) -> Path:
    """A git repository with a 5-post blog committed, using the real bundled encoder."""
    for name, (title, tags, words) in TINY_BLOG.items():
        write_post(root / "content", name, f'title: "{title}"\ntags: {tags}', f"\n## {title}\n\n{words}\n")
    (root / ".gitignore").write_text(".postkin-cache/\n", encoding="utf-8")
    # five posts are too few for a confident tag model: show every suggestion, however unsure
    (root / "postkin.toml").write_text("tags_min_score = 0.0\n", encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "--no-verify", "-m", "blog")
    write_post(root / "content", "2024-02-01-wheels.md", 'title: "Building Python wheels for pip"',
               "\n## packaging a Python library\n\npip wheels packaging python\n")
    (root / "README.md").write_text("# not a post\n", encoding="utf-8")
    _git(root, "add", "content/2024-02-01-wheels.md", "README.md")
    return root


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.mark.slow
def test_plain_git_hook_on_a_real_commit(tmp_path):
    root = _tiny_repo(tmp_path)
    shutil.copy(REPO / "hooks" / "pre-commit", root / ".git" / "hooks" / "pre-commit")
    env = _env()
    _git(root, "config", "postkin.hookArgs", "--content content --min-tags 1")
    commit = ["git", "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-m", "new post"]
    failed = subprocess.run(commit, cwd=root, capture_output=True, text=True, env=env, timeout=600)
    said = failed.stdout + failed.stderr  # git shows a hook's output on stderr
    assert failed.returncode == 1, said
    assert "content/2024-02-01-wheels.md: suggested tags: " in said
    assert "has 0 tag(s), needs at least 1; add 1, e.g. " in said
    assert "README.md: not a post: no front matter" in said  # one line saying so, no suggestions

    env["POSTKIN_HOOK_ARGS"] = "--content content --add 2"
    fixed = subprocess.run(commit, cwd=root, capture_output=True, text=True, env=env, timeout=600)
    said = fixed.stdout + fixed.stderr
    assert fixed.returncode == 1 and "added tags " in said, said
    written = (root / "content" / "2024-02-01-wheels.md").read_text(encoding="utf-8")
    assert "tags: [python, packaging]\n" in written or "tags: [packaging, python]\n" in written
    _git(root, "add", "content/2024-02-01-wheels.md")
    done = subprocess.run(commit, cwd=root, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _git(root, "status", "--porcelain").stdout.strip() == ""


@pytest.mark.slow
def test_pre_commit_try_repo(tmp_path):
    """What a blog gets from its `repos:` entry. Needs PyPI to build the hook's environment (minutes)."""
    pre_commit = shutil.which("pre-commit", path=str(VENV_BIN)) or shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install 'postkin[test]')")
    root = _tiny_repo(tmp_path / "blog")
    env = {**_env(), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    result = subprocess.run(
        [pre_commit, "try-repo", str(REPO), "postkin-suggest-tags", "--verbose",
         "--files", "content/2024-02-01-wheels.md", "README.md"],
        cwd=root, capture_output=True, text=True, env=env, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "postkin suggested tags" in result.stdout and "Passed" in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith("content/2024-02-01-wheels.md: suggested tags: "))
    assert "python (" in line and "packaging (" in line
