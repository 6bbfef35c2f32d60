"""Shared test fixtures: a deterministic fake encoder and small throwaway blogs."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from postkin import encoders
from postkin.encoders import normalise

# The bundled encoder keeps its inflated weights in the user's cache folder: tests use a folder of their
# own, made once per test session (subprocesses inherit it) and removed when the session ends.
_MODEL_CACHE: str | None = None
if "POSTKIN_MODEL_CACHE" not in os.environ:
    _MODEL_CACHE = tempfile.mkdtemp(prefix="postkin-test-model-cache-")
    os.environ["POSTKIN_MODEL_CACHE"] = _MODEL_CACHE


def pytest_sessionfinish(session, exitstatus) -> None:
    """Remove the session's model cache: 76 MB of inflated weights per test run otherwise stay in /tmp."""
    if _MODEL_CACHE is not None:
        shutil.rmtree(_MODEL_CACHE, ignore_errors=True)


class FakeEncoder:
    """Bag of hashed words: texts sharing words get similar vectors. Counts its calls and texts."""

    name = "fake"
    dim = 64

    def __init__(self, version: str = "1") -> None:
        self.version = version
        self.calls = 0
        self.texts: list[str] = []

    @property
    def cache_id(self) -> str:
        return f"fake/{self.version}"

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little")
                out[i, h % self.dim] += 1.0 if h & 1 << 20 else -1.0
            out[i, 0] += 0.01  # no zero vectors
        return normalise(out)


@pytest.fixture
def fake_encoder(monkeypatch) -> FakeEncoder:
    """A FakeEncoder registered as encoder 'fake' for this test only (settings: encoder='fake')."""
    encoder = FakeEncoder()
    monkeypatch.setitem(encoders._REGISTRY, "fake", lambda settings: encoder)
    encoders._load_builtin()
    return encoder


def write_post(folder: Path, name: str, front: str, body: str = "") -> Path:
    """Write a Markdown post with YAML front matter (dedented) and return its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{textwrap.dedent(front).strip()}\n---\n{textwrap.dedent(body)}", encoding="utf-8")
    return path


TOPICS = {
    "python": ("Python packaging", ["python", "packaging"], "pip wheels virtualenv packaging python tooling"),
    "postgres": ("PostgreSQL tuning", ["postgresql", "databases"], "postgresql index vacuum query planner database"),
    "css": ("CSS layout", ["css", "frontend"], "css grid flexbox layout frontend browser"),
}


@pytest.fixture
def small_blog(tmp_path: Path) -> Path:
    """content/ with 9 posts on three topics (3 each), tags on all, dates in file names."""
    content = tmp_path / "content"
    day = 1
    for key, (title, tags, words) in TOPICS.items():
        for n in range(3):
            write_post(
                content, f"2024-01-{day:02d}-{key}-{n}.md",
                f"""
                title: "{title} part {n}"
                tags: [{", ".join(tags[: 1 + n % 2])}]
                description: "{words}"
                """,
                f"\n## {words.split()[0]} basics\n\nSome text about {words}.\n",
            )
            day += 1
    return content


SITE_EXAMPLE = Path(__file__).resolve().parent.parent / "site_example"


@pytest.fixture(scope="session")
def site_example_output(tmp_path_factory) -> Path:
    """site_example built once per test session by Pelican with the real bundled encoder (the embedding
    cache in a temporary folder): its output folder. Tests read it and never change it."""
    pytest.importorskip("pelican")
    from pelican import Pelican
    from pelican.settings import read_settings

    if not (SITE_EXAMPLE / "pelicanconf.py").is_file():
        pytest.skip("site_example/ is not in this checkout")
    tmp = tmp_path_factory.mktemp("site_example")
    conf = read_settings(str(SITE_EXAMPLE / "pelicanconf.py"), override={"OUTPUT_PATH": str(tmp / "output")})
    conf["POSTKIN"] = {**conf.get("POSTKIN", {}), "cache_dir": str(tmp / "cache")}
    Pelican(conf).run()
    return tmp / "output"

