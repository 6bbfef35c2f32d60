"""The GitHub Action: valid against GitHub's schemas, and its shell steps run locally as a runner would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import write_post

REPO = Path(__file__).resolve().parents[1]
ACTION_DIR = REPO / "hooks" / "github-action"
VENV_BIN = Path(sys.executable).parent


def _check_jsonschema() -> str:
    found = shutil.which("check-jsonschema", path=str(VENV_BIN)) or shutil.which("check-jsonschema")
    if found is None:
        pytest.skip("check-jsonschema is not installed (pip install 'postkin[test]')")
    return found


@pytest.mark.parametrize("schema, path", [
    ("vendor.github-actions", ACTION_DIR / "action.yml"),
    ("vendor.github-workflows", ACTION_DIR / "example-pelican-pages.yml"),
    ("vendor.github-workflows", ACTION_DIR / "example-hugo-pages.yml"),
    ("vendor.github-workflows", ACTION_DIR / "example-mkdocs-pages.yml"),
    ("vendor.github-workflows", ACTION_DIR / "example-eleventy-pages.yml"),
    ("vendor.github-workflows", ACTION_DIR / "example-astro-pages.yml"),
    ("vendor.github-workflows", ACTION_DIR / "example-jekyll-pages.yml"),
])
def test_valid_against_githubs_schema(schema, path):
    # The schemas ship inside check-jsonschema: no network.
    result = subprocess.run([_check_jsonschema(), "--builtin-schema", schema, str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["example-pelican-pages.yml", "example-hugo-pages.yml", "example-mkdocs-pages.yml",
                                  "example-eleventy-pages.yml", "example-astro-pages.yml",
                                  "example-jekyll-pages.yml"])
def test_example_workflow_uses_the_official_pages_actions(name):
    workflow = yaml.safe_load((ACTION_DIR / name).read_text(encoding="utf-8"))
    uses = [step.get("uses", "") for job in workflow["jobs"].values() for step in job["steps"]]
    for action in ("actions/configure-pages@", "actions/upload-pages-artifact@", "actions/deploy-pages@",
                   "/postkin/hooks/github-action@"):
        assert any(action in u for u in uses), action
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_hugo_workflow_builds_the_example_where_its_partial_reads_and_below_the_pages_path(monkeypatch):
    """The Hugo workflow points the action at a Hugo site, writes where that site's dialect writes,
    builds in that folder, and sets HUGO_BASEURL before postkin runs (postkin and Hugo both read it)."""
    from postkin.dialects import find_site
    from postkin.settings import Settings

    workflow = yaml.safe_load((ACTION_DIR / "example-hugo-pages.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["build"]["steps"]
    names = [step.get("id") or step.get("name") for step in steps]
    action = steps[names.index("postkin")]["with"]
    assert "extras" in action and "hugo" in action["extras"].split(",")
    assert names.index("Site address") < names.index("postkin")
    assert "HUGO_BASEURL=" in steps[names.index("Site address")]["run"]
    monkeypatch.setenv("HUGO_BASEURL", "https://owner.github.io/postkin/")
    dialect = find_site(REPO / action["content"], Settings())
    assert dialect.name == "hugo" and dialect.site.base_path == "/postkin/"
    assert dialect.data_dir() == REPO / action["output"]
    build = next(step for step in steps if step.get("name") == "Build the site with Hugo")
    assert build["working-directory"] == action["content"] and build["run"].startswith("hugo")
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == f"{action['content']}/public"


def test_pre_commit_manifest_is_valid():
    pre_commit = shutil.which("pre-commit", path=str(VENV_BIN)) or shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install 'postkin[test]')")
    result = subprocess.run([pre_commit, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the action's steps, run locally -----------------------------------------------------------------

_EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


class LocalRunner:
    """Runs a composite action's `run:` steps with bash the way a runner does; `uses:` steps are simulated.

    actions/setup-python: the test's Python is on PATH. `python -m pip install` is recorded, not run, so the
    test never reinstalls postkin. actions/cache/restore and save: the cache folder stays in the workspace
    between runs (what a restore gives), and cache-hit is true when the key was saved before.
    """

    def __init__(self, workspace: Path, shim_dir: Path) -> None:
        self.action = yaml.safe_load((ACTION_DIR / "action.yml").read_text(encoding="utf-8"))
        self.workspace = workspace
        self.saved_keys: set[str] = set()
        self.pip_calls = shim_dir / "pip-calls.txt"
        shim_dir.mkdir(parents=True, exist_ok=True)
        shim = shim_dir / "python"
        shim.write_text(
            "#!/usr/bin/env bash\n"
            f'if [ "$1 $2 $3" = "-m pip install" ]; then echo "$*" >> "{self.pip_calls}"; exit 0; fi\n'
            f'exec "{sys.executable}" "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        self.path = f"{shim_dir}{os.pathsep}{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

    def run(self, inputs: dict[str, str]) -> dict[str, dict[str, str]]:
        values = {name: str(spec.get("default", "")) for name, spec in self.action["inputs"].items()}
        values.update(inputs)
        outputs: dict[str, dict[str, str]] = {}

        def expand(text: str) -> str:
            def one(match: re.Match) -> str:
                expr = match.group(1)
                if expr.startswith("inputs."):
                    return values[expr[len("inputs."):]]
                if expr == "github.action_path":
                    return str(ACTION_DIR)
                step = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
                if step:
                    return outputs.get(step.group(1), {}).get(step.group(2), "")
                condition = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+) != '(\w+)'", expr)
                if condition:
                    got = outputs.get(condition.group(1), {}).get(condition.group(2), "")
                    return "true" if got != condition.group(3) else "false"
                raise AssertionError(f"expression the local runner does not know: {expr}")
            return _EXPR.sub(one, text)

        for n, step in enumerate(self.action["runs"]["steps"]):
            sid = step.get("id", f"step{n}")
            if "if" in step:
                condition = step["if"] if "${{" in step["if"] else "${{ " + step["if"] + " }}"
                if expand(condition) != "true":
                    continue
            uses = step.get("uses", "")
            with_ = {k: expand(str(v)) for k, v in step.get("with", {}).items()}
            if uses.startswith("actions/setup-python@"):
                continue
            if uses.startswith("actions/cache/restore@"):
                outputs[sid] = {"cache-hit": "true" if with_["key"] in self.saved_keys else "false"}
                continue
            if uses.startswith("actions/cache/save@"):
                self.saved_keys.add(with_["key"])
                continue
            assert "run" in step and step.get("shell") == "bash", step
            output_file = self.workspace.parent / f"output-{sid}"
            output_file.write_text("", encoding="utf-8")
            env = {**os.environ, "PATH": self.path, "GITHUB_WORKSPACE": str(self.workspace),
                   "GITHUB_OUTPUT": str(output_file), "GITHUB_ENV": str(self.workspace.parent / "env"),
                   "RUNNER_OS": "Linux", "RUNNER_TEMP": str(self.workspace.parent)}
            env.update({k: expand(str(v)) for k, v in step.get("env", {}).items()})
            script = self.workspace.parent / f"step-{sid}.sh"
            script.write_text(expand(step["run"]), encoding="utf-8")
            result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                    cwd=self.workspace, env=env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"step {step.get('name', sid)}:\n{result.stdout}\n{result.stderr}"
            outputs[sid] = dict(line.split("=", 1) for line in output_file.read_text(encoding="utf-8").splitlines())
        return outputs


POSTS = {
    "pip.md": ("Faster installs with pip wheels", "[python, packaging]"),
    "uv.md": ("Moving our Python projects to uv", "[python, packaging]"),
    "vacuum.md": ("Tuning PostgreSQL autovacuum", "[postgresql]"),
    "index.md": ("Partial indexes in PostgreSQL", "[postgresql]"),
    "grid.md": ("CSS grid for page layout", "[css]"),
}


@pytest.mark.slow
def test_action_steps_twice_second_run_embeds_nothing(tmp_path):
    """Real bundled model on a 5-post blog: run 1 embeds 5, run 2 none, an edited post costs one."""
    workspace = tmp_path / "workspace"
    for name, (title, tags) in POSTS.items():
        write_post(workspace / "blog" / "content", name, f'title: "{title}"\ntags: {tags}', f"\n{title}\n")
    runner = LocalRunner(workspace, tmp_path / "bin")
    inputs = {"content": "blog/content", "output": "blog/data/postkin", "extras": "pelican"}

    first = runner.run(inputs)
    assert re.search(r"^postkin: 5 posts; embedded 5 now, 0 from cache;", first["build"]["summary"])
    assert first["restore"]["cache-hit"] == "false"
    assert first["key"]["path"] == "blog/.postkin-cache"  # where the Pelican/MkDocs plugins look
    assert first["key"]["key"].startswith(first["key"]["restore-prefix"])
    assert (workspace / "blog" / ".postkin-cache" / "embeddings.sqlite3").is_file()
    assert (workspace / "blog" / "data" / "postkin" / "postkin.json").is_file()
    installed = runner.pip_calls.read_text(encoding="utf-8").split()
    assert installed[-1] == f"{ACTION_DIR}/../..[pelican]"  # the action's own repository, with extras

    second = runner.run(inputs)
    assert second["restore"]["cache-hit"] == "true" and second["key"]["key"] == first["key"]["key"]
    assert re.search(r"^postkin: 5 posts; nothing changed since the last build; embedded 0 now, 5 from cache;",
                     second["build"]["summary"])

    edited = workspace / "blog" / "content" / "grid.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("CSS grid", "CSS subgrid"), encoding="utf-8")
    third = runner.run(inputs)
    assert third["key"]["key"] != first["key"]["key"]  # posts changed: a new cache is saved ...
    assert third["key"]["restore-prefix"] == first["key"]["restore-prefix"]  # ... starting from the old one
    assert re.search(r"^postkin: 5 posts; embedded 1 now, 4 from cache;", third["build"]["summary"])


@pytest.mark.slow
def test_jekyll_workflow_steps_build_the_example_below_the_pages_base_path(tmp_path):
    """The Jekyll example workflow, offline: the postkin action's steps with the workflow's inputs on a
    copy of the repository's example, then the workflow's own Jekyll step with a Pages base path."""
    jekyll = shutil.which("jekyll")
    if jekyll is None:
        pytest.skip("Jekyll is not installed (apt-get install -y --no-install-recommends jekyll)")
    workflow = yaml.safe_load((ACTION_DIR / "example-jekyll-pages.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["build"]["steps"]
    inputs = next(s for s in steps if s.get("id") == "postkin")["with"]
    workspace = tmp_path / "workspace"
    shutil.copytree(REPO / inputs["content"], workspace / inputs["content"],
                    ignore=shutil.ignore_patterns("_site", ".jekyll-cache", "_data", ".postkin-cache"))
    outputs = LocalRunner(workspace, tmp_path / "bin").run({k: str(v) for k, v in inputs.items()})
    assert re.search(r"^postkin: 22 posts; embedded 22 now", outputs["build"]["summary"])
    assert (workspace / inputs["output"] / "keys.json").is_file()
    build = next(s for s in steps if s.get("name") == "Build the site with Jekyll")
    env = {**os.environ, **{k: str(v) for k, v in build["env"].items()}, "BASE_PATH": "/postkin"}
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", build["run"]], cwd=workspace / build["working-directory"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    site = workspace / next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))["with"]["path"]
    page = (site / "databases/2024/10/02/partial-covering-indexes/index.html").read_text(encoding="utf-8")
    assert 'class="postkin-related" href="/postkin/databases/' in page
