"""Approximate nearest-neighbour backends for large sites (faiss IVF / HNSW / flat, ScaNN).

Importing this package registers the backends with `postkin.neighbours`; faiss and ScaNN themselves
are imported only when an index is built. Parameters and measurements: benchmarks/ann.py.
"""

from . import faiss_index, scann_index  # noqa: F401  (registration)
