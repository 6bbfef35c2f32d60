"""--verbose and --quiet on every command: -v shows each stage with its time and counts and every file
that is not a post; -q shows warnings and errors only; results on stdout are the same at every level.
The build tests run the real `postkin` command with the bundled model on a small blog."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_post

from postkin.cli import main

POSTKIN = [sys.executable, "-m", "postkin.cli"]
STAGE = re.compile(r"^postkin: (reading|features|similarity|related|tags|topics|writing): (.*; )?\d+\.\d\d s$")


def _blog(root: Path) -> Path:
    """Six posts, one broken post and a README without front matter."""
    content = root / "content"
    for n, (title, tags, words) in enumerate([
        ("Packaging Python", "[python]", "pip wheels packaging"), ("Moving to uv", "[python]", "uv lock files"),
        ("Tuning autovacuum", "[postgresql]", "vacuum bloat"), ("Partial indexes", "[postgresql]", "index planner"),
        ("CSS grid layouts", "[css]", "grid areas"), ("Container queries", "[css]", "container queries"),
    ]):
        write_post(content, f"2024-01-0{n + 1}-p{n}.md", f'title: "{title}"\ntags: {tags}', f"\n{words}\n")
    write_post(content, "2024-02-01-broken.md", "title: [unclosed")
    (content / "README.md").write_text("# About these posts\n", encoding="utf-8")
    return content


def _postkin(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([*POSTKIN, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def test_verbose_build_shows_stages_counts_and_skipped_files(tmp_path: Path) -> None:
    _blog(tmp_path)
    args = ["build", "content", "--out", "data", "--cache-dir", "cache"]
    cold = _postkin(*args, "-v", cwd=tmp_path)
    assert cold.returncode == 0, cold.stderr
    lines = cold.stderr.splitlines()
    stages = [m.group(1) for m in map(STAGE.match, lines) if m]
    assert stages == ["reading", "features", "similarity", "related", "tags", "topics", "writing"], lines
    said = "\n".join(lines)
    assert "postkin: reading: 6 posts, 1 unreadable, 1 not posts (a generic folder of posts); " in said
    assert "postkin: features: embedded 6 now, 0 from cache; " in said
    assert "postkin: content/README.md: not a post: no front matter (--- or +++)" in said
    assert "postkin: warning: content/2024-02-01-broken.md: skipped: front matter is not valid YAML" in said
    assert "postkin: writing: 7 files written, 0 removed in data; " in said
    assert lines[-1].startswith("postkin: 6 posts, 1 skipped; embedded 6 now, 0 from cache;")
    edited = tmp_path / "content" / "2024-01-01-p0.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    warm = _postkin(*args, "-v", cwd=tmp_path)
    assert "postkin: features: embedded 0 now, 6 from cache; " in warm.stderr
    # the default shows the warning and the summary, not the stages nor the files that are not posts
    edited.write_text(edited.read_text(encoding="utf-8") + "\nAnd another.\n", encoding="utf-8")
    default = _postkin(*args, cwd=tmp_path)
    shown = default.stderr.splitlines()
    assert shown[0].startswith("postkin: warning: content/2024-02-01-broken.md: skipped: ")
    assert shown[1] == ("postkin: no popularity data (front-matter key 'views' or popularity_file): "
                        "cluster_popular lists are empty")
    assert shown[2].startswith("postkin: 6 posts, 1 skipped; embedded 0 now, 6 from cache;") and len(shown) == 3
    # nothing changed: the build stops after reading and says so
    unchanged = _postkin(*args, cwd=tmp_path).stderr.splitlines()
    assert unchanged[1].startswith("postkin: 6 posts, 1 skipped; nothing changed since the last build; "
                                   "embedded 0 now, 6 from cache;") and len(unchanged) == 2, unchanged


def test_quiet_build_prints_only_warnings_and_errors(tmp_path: Path) -> None:
    _blog(tmp_path)
    quiet = _postkin("build", "content", "--out", "data", "--cache-dir", "cache", "-q", cwd=tmp_path)
    assert quiet.returncode == 0
    assert quiet.stdout == ""
    assert [line.split(": ")[1] for line in quiet.stderr.splitlines()] == ["warning"]  # the broken post only
    clean = tmp_path / "clean"
    write_post(clean / "content", "2024-01-01-a.md", 'title: "A"\ntags: [x]', "words\n")
    silent = _postkin("build", "content", "--out", "data", "--cache-dir", "cache", "--quiet", cwd=clean)
    assert silent.returncode == 0 and silent.stderr == "" and (clean / "data" / "postkin.json").is_file()
    failed = _postkin("build", "missing", "--quiet", cwd=clean)
    assert failed.returncode == 1 and "content folder not found" in failed.stderr  # errors still show
    both = _postkin("build", "content", "-q", "-v", cwd=clean)
    assert both.returncode == 2 and "--verbose and --quiet cannot be used together" in both.stderr


@pytest.fixture
def fake_blog(tmp_path: Path, fake_encoder) -> Path:
    content = _blog(tmp_path)
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\ntags_min_score = 0.0\n', encoding="utf-8")
    return content


def test_eval_and_suggest_tags_levels(fake_blog: Path, tmp_path: Path) -> None:
    cache = ["--cache-dir", str(tmp_path / "cache")]
    verbose = CliRunner().invoke(main, ["eval", str(fake_blog), "--no-baselines", "--json", "-v", *cache])
    quiet = CliRunner().invoke(main, ["eval", str(fake_blog), "--no-baselines", "--json", "-q", *cache])
    assert verbose.exit_code == quiet.exit_code == 0
    scores = [{k: v for k, v in m.items() if k != "seconds"} for m in json.loads(verbose.stdout)["methods"]]
    assert scores == [{k: v for k, v in m.items() if k != "seconds"} for m in json.loads(quiet.stdout)["methods"]]
    assert "postkin: reading: 6 posts, 1 unreadable, 1 not posts" in verbose.stderr
    assert "postkin: eval: " in verbose.stderr
    assert quiet.stderr.count("\n") == 1 and "warning:" in quiet.stderr
    new = write_post(tmp_path / "drafts", "new.md", 'title: "Packaging wheels"', "pip wheels packaging\n")
    args = ["suggest-tags", str(new), "--content", str(fake_blog), *cache]
    verbose = CliRunner().invoke(main, [*args, "-v"])
    quiet = CliRunner().invoke(main, [*args, "-q"])
    assert verbose.stdout == quiet.stdout and verbose.stdout.startswith(f"{new}: suggested tags: ")
    stages = [m.group(1) for m in map(STAGE.match, verbose.stderr.splitlines()) if m]
    assert stages == ["reading", "features", "similarity", "tags"]
    assert quiet.stderr == ""


def test_report_levels(fake_blog: Path, tmp_path: Path) -> None:
    pytest.importorskip("bokeh")
    pytest.importorskip("sklearn")
    args = ["report", str(fake_blog), "--out", str(tmp_path / "r.html"), "--cache-dir", str(tmp_path / "cache")]
    verbose = CliRunner().invoke(main, [*args, "-v"])
    quiet = CliRunner().invoke(main, [*args, "--quiet"])
    assert verbose.exit_code == quiet.exit_code == 0, verbose.output
    assert "postkin: topics: " in verbose.stderr and "postkin: report of 6 posts" in verbose.stderr
    assert "report of" not in quiet.stderr and (tmp_path / "r.html").is_file()
