"""A build killed while embedding leaves a cache the next build uses, and the same results as a clean build."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import write_post

# Runs `postkin build` with a slow fake encoder so the test can kill it part-way through embedding.
SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
from conftest import FakeEncoder
from postkin import encoders, features
features.CHUNK = 8
class Slow(FakeEncoder):
    def encode(self, texts):
        time.sleep({delay})
        return super().encode(texts)
encoders._load_builtin()
encoders._REGISTRY["fake"] = lambda settings: Slow()
from postkin.cli import main
main(sys.argv[1:])
"""


def _build(tmp_path: Path, out: str, delay: float, cache: str = "cache") -> subprocess.Popen:
    script = SCRIPT.format(tests=str(Path(__file__).parent), delay=delay)
    args = [sys.executable, "-c", script, "build", str(tmp_path / "content"), "--out", str(tmp_path / out),
            "--cache-dir", str(tmp_path / cache), "--config", str(tmp_path / "postkin.toml")]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _rows(cache_file: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{cache_file}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_killed_build_then_rebuild_equals_clean_build(tmp_path):
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\nbatch_size = 4\n')
    for i in range(64):
        write_post(tmp_path / "content", f"p{i:02d}.md", f"title: Post {i} about topic {i % 5}\ntags: [t{i % 5}]",
                   f"words {i % 7} and {i % 3}")
    proc = _build(tmp_path, "out", delay=0.15)
    cache_file = tmp_path / "cache" / "embeddings.sqlite3"
    deadline = time.time() + 60
    # Kill once at least one chunk is committed and the build is still embedding.
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if _rows(cache_file) >= 8:
            break
    assert proc.poll() is None, proc.stdout.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "out" / "postkin.json").exists()

    again = _build(tmp_path, "out", delay=0)
    output = again.communicate(timeout=120)[0]
    assert again.returncode == 0, output
    embedded = int(output.split("embedded ")[1].split(" now")[0])
    assert 0 < embedded < 64, output  # the killed build's finished batches were kept

    clean = _build(tmp_path, "clean", delay=0, cache="clean-cache")
    assert clean.wait(timeout=120) == 0
    files = sorted(p.relative_to(tmp_path / "clean") for p in (tmp_path / "clean").rglob("*.json"))
    assert files and all((tmp_path / "out" / f).read_bytes() == (tmp_path / "clean" / f).read_bytes() for f in files)
