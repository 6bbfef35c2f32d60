"""The compact vectors file behind "Recommended for you", and the same recommendation in Python.

The browser keeps the posts a reader opened (localStorage, on the reader's device only) and ranks the
site's posts by their inner product with the mean of the last few read, as the source talk does with a
reader's history. For that it needs every post's vector, so postkin ships a compact form:

- Truncated SVD: the post embeddings projected on their first DIMS right singular vectors, not
  centred: that is the best rank-DIMS approximation of the posts' inner products (Eckart-Young), which
  is what the ranking uses. Centred PCA loses each post's inner product with the mean, and agreed less
  at every size measured (18F, 64 dimensions: overlap@5 of nearest neighbours 0.65 vs 0.83). Each axis
  is signed so its largest coefficient is positive, so a rebuild gives the same bytes.
- 8-bit codes: each dimension scaled from its minimum to its maximum over the posts into 0..255.
  Against float codes this changes no ranking measured (overlap 0.828 vs 0.828); the dimensions do.
- JSON with the codes in base64 (one post after another), the posts' keys, URLs and titles.

benchmarks/browser_vectors.py measures the choice. 64 dimensions: overlap@5 with the full vectors
0.83 / 0.78 (18F / efcl) for nearest neighbours, 0.87 / 0.84 for a topical reader's recommendations;
1,000 real posts (18F and efcl titles and URLs) make 243 KB, 110 KB gzipped. 96 dimensions agree
more (0.89-0.93) but make 143 KB gzipped, too close to the 150 KB budget for blogs with longer titles.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..outputs import write_if_changed

DIMS = 64
BITS = 8
SCRIPT = Path(__file__).resolve().parent.parent / "static" / "postkin-recommend.js"
# Where the hosts write the two files: Pelican and MkDocs into their output folder, `postkin build` into the
# folder the site's generator copies as is (Dialect.browser_dir), both as SERVED_FILES; for a plain folder
# of posts, into --out beside postkin.json as BUILD_FILES (the user serves them).
SERVED_FILES = ("postkin/vectors.json", "postkin/recommend.js")
BUILD_FILES = ("postkin-vectors.json", "postkin-recommend.js")


def pca_codes(vectors: np.ndarray, dims: int = DIMS, bits: int = BITS) -> dict[str, np.ndarray]:
    """Compact codes of (n, D) vectors: {'codes': uint8 (n, d), 'lo', 'step': float (d,)}, with
    d = min(dims, n, D); a post's vector is approximated by (lo + codes * step) @ P."""
    X = np.asarray(vectors, np.float64)
    d = max(1, min(dims, *X.shape))
    P = np.linalg.svd(X, full_matrices=False)[2][:d] if len(X) else np.eye(d, X.shape[1])
    P *= np.where(P[np.arange(d), np.abs(P).argmax(axis=1)] < 0, -1.0, 1.0)[:, None]  # deterministic signs
    C = X @ P.T
    lo, hi = (C.min(axis=0), C.max(axis=0)) if len(X) else (np.zeros(d), np.ones(d))
    levels = (1 << bits) - 1
    step = np.where(hi > lo, (hi - lo) / levels, 1.0)
    codes = np.clip(np.rint((C - lo) / step), 0, levels).astype(np.uint8)
    return {"codes": codes, "lo": lo, "step": step}


def _round(values: np.ndarray) -> list[float]:
    return [float(f"{v:.6g}") for v in np.asarray(values, np.float64)]


def vectors_file(keys: Sequence[str], urls: Sequence[str], titles: Sequence[str], vectors: np.ndarray,
                 dims: int = DIMS) -> bytes:
    """The vectors file for the posts that may be recommended (canonical JSON: the same posts and
    vectors give the same bytes)."""
    packed = pca_codes(vectors, dims)
    data = {
        "version": 1,
        "dim": int(packed["codes"].shape[1]),
        "lo": _round(packed["lo"]),
        "step": _round(packed["step"]),
        "posts": [[k, u, t] for k, u, t in zip(keys, urls, titles)],
        "codes": base64.b64encode(packed["codes"].tobytes()).decode("ascii"),
    }
    return (json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def load(data: bytes | str | dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """(keys, dequantised codes (n, d)) from a vectors file's bytes or parsed JSON."""
    parsed: dict[str, Any] = data if isinstance(data, dict) else json.loads(data)
    keys = [p[0] for p in parsed["posts"]]
    codes = np.frombuffer(base64.b64decode(parsed["codes"]), np.uint8).reshape(len(keys), parsed["dim"])
    lo, step = np.array(parsed["lo"]), np.array(parsed["step"])
    return keys, lo + codes * step


def recommend(data: bytes | str | dict[str, Any], history: Sequence[str], k: int = 5, last: int = 5) -> list[str]:
    """What the browser script shows for a reading `history` (post keys, oldest first): the k posts
    with the largest inner product with the mean of the last `last` read posts found in the file,
    none of the history; ties to the earlier post in the file. Fewer than 2 read posts: []."""
    keys, C = load(data)
    index = {key: i for i, key in enumerate(keys)}
    read = [index[h] for h in dict.fromkeys(reversed(history)) if h in index][:last]
    if len(read) < 2:
        return []
    query = C[read].mean(axis=0)
    scores = C @ query
    seen = set(dict.fromkeys(index[h] for h in history if h in index))
    order = sorted((i for i in range(len(keys)) if i not in seen), key=lambda i: (-scores[i], i))
    return [keys[i] for i in order[:k]]


def served_paths(static: Path | None, served_at: str = "") -> dict[str, str]:
    """{'vectors', 'script'}: where `write_for_site(static, ...)` puts the two files, as paths below the
    site's base path when `static` is a folder the generator serves as is at `served_at` (a dialect's
    browser_path, e.g. "assets/"), else their names in the data folder: the site data's
    `recommend_for_you`, which tells the generators' templates to show the block and where its files are."""
    if static is None:
        return dict(zip(("vectors", "script"), BUILD_FILES))
    return {kind: served_at + name for kind, name in zip(("vectors", "script"), SERVED_FILES)}


def write_for_site(static: Path | None, out: Path, data: bytes) -> tuple[int, int]:
    """`postkin build`'s "Recommended for you" files: into `static` (a dialect's browser_dir, a folder the
    generator copies into the site as is) as SERVED_FILES, else into the data folder `out` as BUILD_FILES.
    Returns (files written, files removed): copies an earlier build left in the data folder are removed
    (an Eleventy data folder runs a .js file; Jekyll loads a .json one as site data)."""
    if static is None:
        return write_browser_files(out, data), 0
    written = write_browser_files(static, data, SERVED_FILES)
    removed = 0
    for name in BUILD_FILES:
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()
            removed += 1
    return written, removed


def write_browser_files(folder: Path, data: bytes, names: tuple[str, str] = BUILD_FILES) -> int:
    """Write the vectors file (`data`) and the script into `folder` under `names` (vectors, script), each
    only if its bytes changed; returns how many files were written. Both are made readable by the web
    server: mode 0644 less the umask (write_if_changed's temporary file is created 0600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    mode = 0o644 & ~umask
    written = 0
    for name, content in zip(names, (data, SCRIPT.read_bytes())):
        path = folder / name
        written += write_if_changed(path, content)
        if path.stat().st_mode & 0o777 != mode:
            os.chmod(path, mode)
    return written
