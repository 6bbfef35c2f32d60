"""The real Eleventy and Astro for the tests: the versions pinned by the example sites' package-lock.json,
installed by `npm ci` in site_example/eleventy and site_example/astro (.ci/run does it). A test that
needs one skips, saying how to install it, when node or the package is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ELEVENTY_DIR = REPO / "site_example" / "eleventy"
ASTRO_DIR = REPO / "site_example" / "astro"


def _bin(folder: Path, name: str) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (apt-get install -y nodejs npm)")
    path = folder / "node_modules" / ".bin" / name
    if not path.exists():
        pytest.skip(f"{name} is not installed: cd {folder.relative_to(REPO)} && npm ci")
    return path


def eleventy_bin() -> Path:
    """site_example/eleventy/node_modules/.bin/eleventy, or skip."""
    return _bin(ELEVENTY_DIR, "eleventy")


def astro_bin() -> Path:
    """site_example/astro/node_modules/.bin/astro, or skip."""
    return _bin(ASTRO_DIR, "astro")


def link_node_modules(site: Path, folder: Path) -> None:
    """Let a site made in a test import the installed packages (node resolves them from its folder up)."""
    target = site / "node_modules"
    if not target.exists():
        target.symlink_to(folder / "node_modules", target_is_directory=True)


def run_eleventy(site: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`eleventy` in `site` (its node_modules linked to the installed Eleventy); asserts it succeeded."""
    binary = eleventy_bin()
    link_node_modules(site, ELEVENTY_DIR)
    done = subprocess.run([str(binary), *args], cwd=site, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def run_astro(site: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`astro build` (or the given command) in `site`; asserts it succeeded. Telemetry off, UTC."""
    binary = astro_bin()
    link_node_modules(site, ASTRO_DIR)
    done = subprocess.run([str(binary), *(args or ("build",))], cwd=site, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "ASTRO_TELEMETRY_DISABLED": "1", "TZ": "UTC",
                                            **(env or {})})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done
