"""The posts on a 2-D map: t-SNE (scikit-learn) on the cosine distances of their embeddings.

Why t-SNE rather than UMAP: measured on efcl (832 posts) and 18F (508), 2 cores, on the posts' USE
vectors (trustworthiness and kNN recall at 10 neighbours, higher is better):

    method                          seconds (import + fit)           trust@10 efcl / 18F   kNN@10 efcl / 18F
    scikit-learn t-SNE              0.7 + 1.4                        0.915 / 0.875         0.45 / 0.40
    openTSNE                        0.7 + 1.5                        0.911 / 0.875         0.45 / 0.41
    umap-learn, numba cache cold    13.1 + 10.3                      0.906 / 0.854         0.40 / 0.37
    umap-learn, numba cache warm    1.3 + 8.3 (4.4 with our kNN)     "                     "
    PaCMAP (numba, warm)            1.2 + 0.4                        0.872 / 0.814         0.35 / 0.31
    PCA                             0 + 0.3                          0.709 / -             0.09 / -

UMAP's layout is JIT-compiled by numba on every process even with its on-disk cache, so a warm report
of an 800-post blog would spend 6-10 s in it, against a 10 s budget for the whole report; t-SNE keeps
neighbours together better here and needs no JIT. Of the two t-SNEs, scikit-learn is the one most
users already have. Its OpenMP gradient runs on one thread: the map is then the same on any number of
cores (and on this shared 2-core box two threads were 3-10x slower, not faster).
"""

from __future__ import annotations

import numpy as np

from .requirements import require

PERPLEXITY = 30.0
# 500 iterations (250 of them early exaggeration) and Barnes-Hut angle 0.8 instead of scikit-learn's 1000
# and 0.5: the same trustworthiness@10 (efcl 0.909 vs 0.911, 18F 0.876 vs 0.871) and kNN recall@10
# (0.45 / 0.40 both) in a third of the time (efcl 1.3 s vs 4.3 s, 18F 0.6 s vs 1.9 s, a busy 2-core box).
MAX_ITER = 500
ANGLE = 0.8


def tsne_2d(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n, 2) float64 map coordinates of (n, d) unit vectors: Barnes-Hut t-SNE on cosine distance,
    PCA initialisation, perplexity 30 (less for under 91 posts: it must stay below n / 3), 500
    iterations, Barnes-Hut angle 0.8.
    Deterministic for a seed. Fewer than 4 posts: their first two principal components.

    van der Maaten & Hinton, "Visualizing Data using t-SNE", JMLR 9 (2008); scikit-learn's TSNE.
    Raises PostkinError naming the `report` extra when scikit-learn is missing.
    """
    x = np.asarray(vectors, np.float32)
    n = len(x)
    if n < 4:
        return _pca_2d(x)
    manifold = require("sklearn.manifold", "scikit-learn")
    from threadpoolctl import threadpool_limits

    perplexity = min(PERPLEXITY, (n - 1) / 3)
    with threadpool_limits(1):
        y = manifold.TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                          learning_rate="auto", max_iter=MAX_ITER, angle=ANGLE, random_state=seed).fit_transform(x)
    return np.asarray(y, np.float64)


def _pca_2d(x: np.ndarray) -> np.ndarray:
    out = np.zeros((len(x), 2))
    if len(x) > 1:
        centred = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        top = centred @ vt[:2].T
        out[:, :top.shape[1]] = top
    return out
