"""What README.md and site_example/README.md show is what happens: their commands and snippets run on a
fresh temporary blog and the output has the shape the README shows.

The blocks come from the READMEs themselves: a block follows a marker comment,

    <!-- readme-test: NAME -->
    ```sh
    postkin build content/ --out data/postkin
    ```

so a change to a README's block is tested as it now reads, and a marked block that no test knows fails
`test_every_marked_block_is_tested`. The fresh blog is site_example/jekyll's posts as a plain folder
(22 real posts with tags and page views) in a temporary folder; commands run as a user runs them, as
processes with the bundled model.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
EXAMPLE_README = REPO / "site_example" / "README.md"
VENV_BIN = Path(sys.executable).parent
MARKER = re.compile(r"^<!-- readme-test: ([\w-]+) -->\n```(\w*)\n(.*?)^```$", re.M | re.S)
TESTED = {README: {"make-example", "make-test", "build", "context", "summary", "suggest-tags",
                   "suggest-tags-output", "pelicanconf", "pre-commit-config", "action", "diff", "report"},
          EXAMPLE_README: {"pelican-commands"}}


def blocks(path: Path) -> dict[str, tuple[str, str]]:
    """{name: (language, text)} of the marked code blocks of a Markdown file."""
    found: dict[str, tuple[str, str]] = {}
    for name, lang, text in MARKER.findall(path.read_text(encoding="utf-8")):
        assert name not in found, f"{path.name}: two blocks named {name}"
        found[name] = (lang, text)
    return found


def commands(text: str) -> list[list[str]]:
    """The command lines of a shell block, each split as the shell would (comments dropped)."""
    return [shlex.split(line, comments=True) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A command as a user types it, postkin's console scripts on the PATH (this environment's)."""
    full = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "300", **env}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=full, timeout=900)


def number_pattern(line: str) -> re.Pattern[str]:
    """A README line as a pattern in which every number may be any number."""
    parts = re.split(r"\d+(?:\.\d+)?", line)
    return re.compile(r"\d+(?:\.\d+)?".join(re.escape(p) for p in parts) + r"\Z")


def test_every_marked_block_is_tested() -> None:
    for path, names in TESTED.items():
        assert set(blocks(path)) == names, path


# --- the two commands at the top ----------------------------------------------------------------------

def test_the_two_make_targets_do_what_the_readme_says() -> None:
    """`make example` builds site_example with Pelican (its command is run by the site_example README
    test) and `make test` runs ruff, mypy and pytest; both exist as the README shows them. Run for
    real they would install a virtual environment, so `make -n` shows what they run."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    found = blocks(README)
    assert commands(found["make-example"][1]) == [["make", "example"]]
    assert commands(found["make-test"][1]) == [["make", "test"]]
    example = run(["make", "-n", "example"], REPO)
    assert example.returncode == 0, example.stderr
    assert "-m pelican content -s pelicanconf.py -o output" in example.stdout
    assert "The example blog is in site_example/output/" in example.stdout
    test = run(["make", "-n", "test"], REPO)
    assert test.returncode == 0, test.stderr
    for tool in ("ruff check", "mypy", "-m pytest"):
        assert tool in test.stdout, tool


# --- postkin build, the context, the summary line, suggest-tags -----------------------------------------

@pytest.fixture(scope="module")
def blog(tmp_path_factory) -> Path:
    """A fresh folder holding content/: site_example/jekyll's posts, one of them held out untagged as
    content/new.md (the post being written), and one post whose front matter does not parse."""
    root = tmp_path_factory.mktemp("readme-blog")
    content = root / "content"
    content.mkdir()
    for post in sorted((REPO / "site_example" / "jekyll").glob("*/_posts/*.md")):
        shutil.copy(post, content / post.name)
    held = content / "2023-03-09-reading-explain-analyze.md"
    (content / "new.md").write_text(re.sub(r"(?m)^tags:.*\n", "", held.read_text(encoding="utf-8")),
                                    encoding="utf-8")
    held.unlink()
    (content / "2025-09-01-broken.md").write_text("---\ntitle: [unclosed\n---\nText.\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def built(blog: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The README's `postkin build` line run in the blog's folder (`pip install` lines: postkin is
    installed in this environment, which is what they do)."""
    lines = commands(blocks(README)["build"][1])
    assert lines[0][:2] == ["pip", "install"] and len(lines) == 2
    result = run(lines[1], blog)
    assert result.returncode == 0, result.stderr
    return blog, result


def test_build_writes_the_files_the_readme_lists(built) -> None:
    blog, _ = built
    text = README.read_text(encoding="utf-8")
    out = Path(blocks(README)["build"][1].split("--out")[1].split()[0])
    assert f"`{out}/postkin.json`" in text and f"`{out}/posts/<slug>.json`" in text
    site = json.loads((blog / out / "postkin.json").read_text(encoding="utf-8"))
    for slug in site["posts"]:
        assert json.loads((blog / out / "posts" / f"{slug}.json").read_text(encoding="utf-8")) == site["posts"][slug]


def _same_shape(shown: object, real: object, where: str) -> None:
    """Every key the README shows is in the real value, with a value of the same JSON type."""
    if isinstance(shown, dict):
        assert isinstance(real, dict), where
        for key, value in shown.items():
            if key == "...":
                continue
            assert key in real, f"{where}.{key}"
            _same_shape(value, real[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(real, list), where
        for item in real:
            for example in shown:
                _same_shape(example, item, f"{where}[]")
    elif isinstance(shown, float):
        assert isinstance(real, (int, float)), where
    elif shown is not None and real is not None:
        assert type(real) is type(shown), where


def test_a_posts_context_has_the_readmes_shape(built) -> None:
    blog, _ = built
    shown = json.loads(blocks(README)["context"][1])
    posts = json.loads((blog / "data" / "postkin" / "postkin.json").read_text(encoding="utf-8"))["posts"]
    full = [p for p in posts.values() if p["related"] and p["cluster_latest"] and p["cluster_popular"]
            and p["suggested_tags"]]
    assert full, "no post has every list the README shows"
    for context in full:
        _same_shape(shown, context, context["slug"])
        # the README: suggested_tags scores are probabilities with one decimal
        assert all(round(t["score"], 1) == t["score"] and 0 <= t["score"] <= 1 for t in context["suggested_tags"])
    for tag in shown["suggested_tags"]:
        assert round(tag["score"], 1) == tag["score"]


def test_a_second_build_prints_the_readmes_summary_line(built) -> None:
    blog, _ = built
    shown = blocks(README)["summary"][1].strip()
    assert "embedded 0 now" in shown and "0 files written" in shown  # what the README says it shows
    again = run(commands(blocks(README)["build"][1])[1], blog)
    assert again.returncode == 0
    line = again.stderr.strip().splitlines()[-1]
    assert number_pattern(shown).match(line), (shown, line)
    assert "embedded 0 now" in line and " 0 files written, 0 removed" in line


def test_suggest_tags_prints_the_readmes_line(built) -> None:
    blog, _ = built
    [command] = commands(blocks(README)["suggest-tags"][1])
    shown = blocks(README)["suggest-tags-output"][1].strip()
    result = run(command, blog)
    assert result.returncode == 0, result.stderr
    pattern = re.escape(shown.split(": suggested tags: ")[0]) + r": suggested tags: [^,()]+ \(\d\.\d\)(, [^,()]+ \(\d\.\d\))*"
    assert re.fullmatch(pattern, result.stdout.strip()), result.stdout
    assert "postgresql (" in result.stdout  # the held-out post's own first tag


# --- postkin diff and postkin report -------------------------------------------------------------------

def test_the_readmes_diff_lines_after_a_build_and_an_edit(built, tmp_path: Path) -> None:
    """Every `postkin diff` line of the README, run in a copy of the built blog: nothing changed, then one
    title edited (the site against its last build), built, and the last build against the one before it;
    `old/ new/` compares the output folders from before and after the edit."""
    blog = tmp_path / "blog"
    shutil.copytree(built[0], blog)
    lines = {tuple(line[2:]): line for line in commands(blocks(README)["diff"][1])}
    site, last, folders, markdown = (lines[key] for key in (("content/",), ("content/", "--last"),
                                                            ("old/", "new/"), ("content/", "--format", "markdown")))
    unchanged = run(site, blog)
    assert unchanged.returncode == 0, unchanged.stderr
    assert re.match(r"postkin: 0 of \d+ posts' lists changed", unchanged.stdout), unchanged.stdout
    shutil.copytree(blog / "data" / "postkin", blog / "old")
    post = blog / "content" / "2024-10-02-partial-covering-indexes.md"
    post.write_text(re.sub(r"(?m)^title:.*$", 'title: "Covering indexes for the impatient"',
                           post.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    now = run(site, blog)
    assert now.returncode == 0 and "Covering indexes for the impatient" in now.stdout, now.stdout + now.stderr
    assert not now.stdout.startswith("postkin: 0 of")
    build = commands(blocks(README)["build"][1])[1]
    assert run(build, blog).returncode == 0
    shutil.copytree(blog / "data" / "postkin", blog / "new")
    for line in (last, folders):
        shown = run(line, blog)
        assert shown.returncode == 0 and "Covering indexes for the impatient" in shown.stdout, (line, shown.stdout)
    assert run(markdown, blog).stdout.startswith("### postkin: 0 of ")  # built since: the site = its last build


def test_the_readmes_report_line(built, tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="the report extra is not installed")
    blog = tmp_path / "blog"
    shutil.copytree(built[0], blog)
    lines = commands(blocks(README)["report"][1])
    assert lines[0][:2] == ["pip", "install"] and len(lines) == 2
    result = run(lines[1], blog)
    assert result.returncode == 0, result.stderr
    page = (blog / "report.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>") and "Partial" in page


# --- Pelican ---------------------------------------------------------------------------------------------

def test_the_readmes_pelican_settings_on_the_example_blog(tmp_path: Path) -> None:
    """site_example's settings with their postkin part replaced by the README's snippet, built by the
    `pelican` command: every article page lists related posts, and the popular lists have page views
    from the popularity file."""
    pytest.importorskip("pelican")
    lang, snippet = blocks(README)["pelicanconf"]
    assert lang == "python"
    site = tmp_path / "site"
    for name in ("content", "theme"):
        shutil.copytree(REPO / "site_example" / name, site / name)
    shutil.copy(REPO / "site_example" / "pageviews.json", site / "pageviews.json")
    conf = (REPO / "site_example" / "pelicanconf.py").read_text(encoding="utf-8")
    conf = conf[:conf.index("# --- postkin")]  # the example's own postkin settings, replaced by the README's
    (site / "pelicanconf.py").write_text(conf + "\n" + snippet + "\n", encoding="utf-8")
    result = run([sys.executable, "-m", "pelican", "content", "-s", "pelicanconf.py", "-o", "output"], site)
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert re.search(r"postkin: 46 posts \(\d+ embedded now, 0 from cache\)", said), said
    pages = sorted((site / "output" / "posts").glob("*.html"))
    assert len(pages) == 43 and all('id="related-posts"' in p.read_text(encoding="utf-8") for p in pages)
    assert any(re.search(r'class="postkin-popular".*?\n.*?views</span>', p.read_text(encoding="utf-8")) for p in pages)


# --- pre-commit and GitHub Actions ---------------------------------------------------------------------

def _pre_commit() -> str:
    found = shutil.which("pre-commit", path=str(VENV_BIN)) or shutil.which("pre-commit")
    if found is None:
        pytest.skip("pre-commit is not installed (pip install 'postkin[test]')")
    return found


def _pre_commit_blog(tmp_path: Path) -> Path:
    """A git repository with the README's .pre-commit-config.yaml (this repository in place of
    github.com/<owner>/postkin) and a blog in content/."""
    lang, config = blocks(README)["pre-commit-config"]
    assert lang == "yaml" and "https://github.com/<owner>/postkin" in config
    root = tmp_path / "blog"
    shutil.copytree(REPO / "site_example" / "jekyll" / "databases" / "_posts", root / "content")
    (root / ".pre-commit-config.yaml").write_text(config.replace("https://github.com/<owner>/postkin", str(REPO)),
                                                  encoding="utf-8")
    run(["git", "init", "-q"], root)
    return root


def test_the_pre_commit_config_pins_the_newest_commit_as_the_readme_says(tmp_path: Path) -> None:
    pre_commit = _pre_commit()
    root = _pre_commit_blog(tmp_path)
    home = {"PRE_COMMIT_HOME": str(tmp_path / "home")}
    assert "pre-commit autoupdate --bleeding-edge --freeze" in README.read_text(encoding="utf-8")
    pinned = run([pre_commit, "autoupdate", "--bleeding-edge", "--freeze"], root, **home)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    head = run(["git", "rev-parse", "HEAD"], REPO).stdout.strip()
    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert config["repos"][0]["rev"] == head
    valid = run([pre_commit, "validate-config"], root, **home)
    assert valid.returncode == 0, valid.stdout + valid.stderr


@pytest.mark.slow
def test_the_pre_commit_config_runs_the_hook(tmp_path: Path) -> None:
    """The README's config, pinned, run by pre-commit on a new post: pre-commit builds the hook's own
    environment from this repository's HEAD commit (PyPI, minutes)."""
    pre_commit = _pre_commit()
    root = _pre_commit_blog(tmp_path)
    home = {"PRE_COMMIT_HOME": str(tmp_path / "home")}
    assert run([pre_commit, "autoupdate", "--bleeding-edge", "--freeze"], root, **home).returncode == 0
    new = root / "content" / "new.md"
    text = (root / "content" / "2024-10-02-partial-covering-indexes.md").read_text(encoding="utf-8")
    new.write_text(re.sub(r"(?m)^tags:.*\n", "", text).replace("title: \"", "title: \"Again: "), encoding="utf-8")
    (root / "README.md").write_text("# My blog\n", encoding="utf-8")
    result = run([pre_commit, "run", "--files", "content/new.md", "README.md"], root, **home)
    said = result.stdout + result.stderr
    assert result.returncode == 0, said[-3000:]
    assert "README.md: not a post: no front matter (--- or +++)" in said
    assert re.search(r"content/new\.md: (suggested tags: |no suggestions above the threshold)", said), said


def test_the_action_snippet_names_this_action_and_its_inputs() -> None:
    lang, snippet = blocks(README)["action"]
    steps = yaml.safe_load(snippet)
    ours = next(step for step in steps if "/postkin/hooks/github-action@" in step.get("uses", ""))
    path, ref = ours["uses"].split("/postkin/", 1)[1].split("@")
    action = yaml.safe_load((REPO / path / "action.yml").read_text(encoding="utf-8"))
    assert set(ours["with"]) <= set(action["inputs"])
    assert ref == "COMMIT_SHA" and "full 40-character SHA" in snippet


def test_the_action_snippet_builds_a_blog(tmp_path: Path) -> None:
    """The snippet's inputs through the action's own steps (test_github_action.LocalRunner): without
    `output`, the data lands where `postkin build` writes without --out."""
    from conftest import write_post
    from test_github_action import LocalRunner

    inputs = {k: str(v) for k, v in next(s for s in yaml.safe_load(blocks(README)["action"][1])
                                         if "with" in s)["with"].items()}
    workspace = tmp_path / "workspace"
    for n, (title, tags) in enumerate([("Faster installs with pip wheels", "[python]"),
                                       ("Tuning PostgreSQL autovacuum", "[postgresql]"),
                                       ("CSS grid for page layout", "[css]")]):
        write_post(workspace / inputs["content"], f"2024-01-0{n + 1}-p{n}.md", f'title: "{title}"\ntags: {tags}',
                   f"\n{title}\n")
    outputs = LocalRunner(workspace, tmp_path / "bin").run(inputs)
    assert re.search(r"^postkin: 3 posts; embedded 3 now", outputs["build"]["summary"])
    assert (workspace / "data" / "postkin" / "postkin.json").is_file()


def test_no_snippet_names_a_tag_that_does_not_exist() -> None:
    """`rev: v0.1.0` and `@v1` were shown before any tag existed: every version a snippet pins is a tag."""
    tags = set(run(["git", "tag", "-l"], REPO).stdout.split())
    texts = [text for _, text in blocks(README).values()]
    texts += [p.read_text(encoding="utf-8") for p in (REPO / "hooks" / "github-action").glob("*.yml")]
    texts.append((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    pinned = {m for text in texts for m in re.findall(r"(?:rev: |/postkin/hooks/github-action@)(v[\w.]+)", text)}
    assert pinned <= tags, pinned - tags


def test_versions_and_the_changelog() -> None:
    from postkin import __version__
    from postkin.settings import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == __version__
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog and "CHANGELOG.md" in README.read_text(encoding="utf-8")
    released = set(re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M))
    tags = set(run(["git", "tag", "-l"], REPO).stdout.split())
    assert {f"v{v}" for v in released} <= tags  # a version the changelog calls released has its tag


# --- site_example/README.md ----------------------------------------------------------------------------

def test_the_example_has_the_posts_its_readme_counts() -> None:
    text = EXAMPLE_README.read_text(encoding="utf-8")
    found = re.search(r"(\d+) posts \((\d+) English, (\d+) Japanese, (\d+) of them drafts\)", text)
    assert found
    posts = [p.read_text(encoding="utf-8") for p in (REPO / "site_example" / "content").glob("*.md")]
    japanese = sum(bool(re.search(r"(?m)^Lang: ja$", p)) for p in posts)
    drafts = sum(bool(re.search(r"(?m)^Status: draft$", p)) for p in posts)
    assert [int(g) for g in found.groups()] == [len(posts), len(posts) - japanese, japanese, drafts]


@pytest.mark.slow
def test_the_example_readmes_pelican_commands(tmp_path: Path) -> None:
    """The three commands, in order, on a copy of site_example: with postkin (related posts and topics,
    drafts in output/drafts/), without it (the theme's fallback), and the authoring preview (suggested
    tags as probabilities in words)."""
    pytest.importorskip("pelican")
    site = tmp_path / "site_example"
    shutil.copytree(REPO / "site_example", site, ignore=shutil.ignore_patterns(
        "output", ".postkin-cache", "hugo", "jekyll", "eleventy", "astro", "mkdocs", "node_modules"))
    lines = commands(blocks(EXAMPLE_README)["pelican-commands"][1])
    assert lines[0] == ["cd", "site_example"]
    checks = [  # what each build's article pages show
        lambda pages: all('id="related-posts"' in p and 'class="postkin-related"' in p for p in pages)
        and not any("data-score" in p for p in pages),
        lambda pages: any('id="category-posts"' in p for p in pages) and not any('id="related-posts"' in p for p in pages),
        lambda pages: any(re.search(r'id="suggested-tags".*?\(\d+% likely\)', p, re.S) for p in pages),
    ]
    for line, check in zip(lines[1:], checks, strict=True):
        assert line[0] == "pelican"
        shutil.rmtree(site / "output", ignore_errors=True)
        result = run([sys.executable, "-m", *line], site)
        assert result.returncode == 0, result.stdout + result.stderr
        pages = [p.read_text(encoding="utf-8") for p in (site / "output" / "posts").glob("*.html")]
        assert len(pages) == 43 and check(pages), line
    assert "Drafts are written to `output/drafts/`" in EXAMPLE_README.read_text(encoding="utf-8")
    assert list((site / "output" / "drafts").glob("*.html"))
