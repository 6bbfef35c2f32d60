"""postkin: related posts, topic clusters and tag suggestions for static sites, from embeddings.

Importing this package is cheap: encoders, faiss, ScaNN and TensorFlow load only when a build needs them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
