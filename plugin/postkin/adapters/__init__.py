"""Adapters: host objects (Pelican articles, ...) in, postkin Posts out, and results back to the host."""
