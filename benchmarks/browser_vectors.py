"""The compact vectors file of "Recommended for you": ranking agreement with the full vectors, and size.

    python benchmarks/browser_vectors.py CORPUS_DIR [CORPUS_DIR ...] [--cache-dir DIR]

For each corpus and each candidate form (PCA to d dimensions, centred or not, 8-bit codes) prints one
JSON line: overlap@5 between the full embeddings' ranking and the compact one for (a) each post's 5
nearest neighbours and (b) the 5 posts recommended from a reading history (mean of 3 read posts,
history excluded) for two kinds of reader: "topical" (a post and 2 of its 10 nearest neighbours) and
"random" (3 posts drawn uniformly). Then, for the first 1,000 posts of all corpora together (real
titles and URLs), the vectors file's size raw and gzipped (level 6, as web servers compress) per form.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
from pathlib import Path

import numpy as np

from postkin import features as features_stage
from postkin.pipeline import open_cache, read_folder
from postkin.readers import browser
from postkin.settings import load_settings

FORMS = [(d, c) for d in (32, 48, 64, 96, 128) for c in (True, False)]
K = 5


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / K for x, y in zip(a, b)]))


def top(scores: np.ndarray, exclude: list[list[int]]) -> np.ndarray:
    scores = scores.copy()
    for row, ex in enumerate(exclude):
        scores[row, ex] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :K]


def centred_codes(V: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """The alternative postkin does not ship: centred PCA, 8-bit codes. A post is mean + P^T c, so its
    inner product with a query q = mean + P^T c_q is, up to a constant, c . (c_q + P mean)."""
    mean = V.mean(axis=0)
    packed = browser.pca_codes(V - mean, dims)
    P = np.linalg.svd(V - mean, full_matrices=False)[2][:packed["codes"].shape[1]]
    P *= np.where(P[np.arange(len(P)), np.abs(P).argmax(axis=1)] < 0, -1.0, 1.0)[:, None]
    return packed["lo"] + packed["codes"] * packed["step"], P @ mean


def agreement(V: np.ndarray, dims: int, centred: bool, rng: np.random.Generator) -> dict[str, float]:
    n = len(V)
    if centred:
        C, center = centred_codes(V, dims)
    else:
        packed = browser.pca_codes(V, dims)
        C, center = packed["lo"] + packed["codes"] * packed["step"], np.zeros(packed["codes"].shape[1])
    full_nn = V @ V.T
    comp_nn = C @ (C + center).T
    selves = [[i] for i in range(n)]
    out = {"nn_overlap@5": overlap(top(full_nn, selves), top(comp_nn, selves))}
    near = np.argsort(-np.where(np.eye(n, dtype=bool), -np.inf, full_nn), axis=1)[:, :10]
    histories = {
        "topical": [[i, *rng.choice(near[i], 2, replace=False)] for i in range(n)],
        "random": [list(rng.choice(n, 3, replace=False)) for _ in range(n)],
    }
    for name, hist in histories.items():
        qf = np.stack([V[h].mean(axis=0) for h in hist])
        qc = np.stack([C[h].mean(axis=0) + center for h in hist])
        out[f"history_{name}_overlap@5"] = overlap(top(qf @ V.T, hist), top(qc @ C.T, hist))
    return {k: round(v, 4) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default: beside each corpus)")
    args = parser.parse_args(argv)
    logging.getLogger("postkin").setLevel(logging.ERROR)
    pooled: list[tuple[str, str, str, np.ndarray]] = []
    for corpus in args.corpora:
        settings, _ = load_settings(None, {"cache_dir": str(args.cache_dir)} if args.cache_dir else {})
        posts = [p for p in read_folder(corpus, settings).posts if not p.draft]
        with open_cache(settings.cache_folder(corpus)) as cache:
            V = features_stage.extract(posts, settings, cache=cache).vectors
        pooled += [(p.slug, p.url, p.title, v) for p, v in zip(posts, V)]
        for dims, centred in FORMS:
            rng = np.random.default_rng(0)
            print(json.dumps({"corpus": corpus.name, "posts": len(posts), "dims": dims, "centred": centred,
                              "bits": 8, **agreement(V, dims, centred, rng)}), flush=True)
    sample = pooled[:1000]
    V = np.stack([v for *_, v in sample])
    for dims in (32, 48, 64, 96, 128, 512):
        data = browser.vectors_file([s[0] for s in sample], [s[1] for s in sample], [s[2] for s in sample], V, dims) \
            if dims != 512 else json.dumps({"posts": [list(s[:3]) for s in sample],
                                            "vectors": np.round(V, 4).tolist()}).encode()
        print(json.dumps({"posts": len(sample), "dims": dims,
                          "form": "float32 JSON, 4 decimals" if dims == 512 else "8-bit codes, base64 JSON",
                          "bytes": len(data), "gzip_bytes": len(gzip.compress(data, 6))}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
