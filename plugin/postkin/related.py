"""The Related stage: each post's top-k related posts by the fused similarity.

A post is never its own related post, and only recommendable posts (not drafts) are listed. Ties go to
the lower post index (posts are in source order), so equal scores list the same way in every build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .neighbours import top_k_rows
from .similarity import FusedSimilarity

if TYPE_CHECKING:
    from .controls import Controls


@dataclass
class Related:
    """Row i: the related posts of post i, best first (indices, -1 past the end) and their fused scores."""

    idx: np.ndarray  # (n, k) int64
    fused: np.ndarray  # (n, k) float32, -inf past the end


def related_posts(fused: FusedSimilarity, recommendable: np.ndarray, k: int, *,
                  lang_ids: np.ndarray | None = None, groups: np.ndarray | None = None,
                  controls: Controls | None = None, rows: np.ndarray | None = None,
                  previous: Related | None = None) -> Related:
    """Top-k posts of every post by fused score among the recommendable ones (bool (n,)), itself
    excluded; computed in row blocks, so no n x n matrix is held on large sites.

    lang_ids: (n,) language of each post: only posts of the row's language are listed (None: any);
    groups: (n,) translation group (-1: none): a post's translations are never listed;
    controls: the build's editorial controls (controls.py: only its candidates are listed, pins first);
    rows: compute only these rows (sorted indices) and keep the others from `previous` (an incremental
    build)."""
    n = fused.n
    idx = np.full((n, k), -1, np.int64) if previous is None else previous.idx.copy()
    scores = np.full((n, k), -np.inf, np.float32) if previous is None else previous.fused.copy()
    if k == 0 or n == 0:
        return Related(idx, scores)
    blocked = ~np.asarray(recommendable if controls is None else controls.candidates, bool)
    todo = np.arange(n) if rows is None else np.asarray(rows, np.int64)
    for b in range(0, len(todo), fused.block):
        r = todo[b:b + fused.block]
        F = fused.rows(r)
        pinned = controls.pin_scores(F, r) if controls is not None else {}
        F[:, blocked] = -np.inf
        F[np.arange(len(r)), r] = -np.inf
        if lang_ids is not None:
            F[lang_ids[None, :] != lang_ids[r][:, None]] = -np.inf
        if groups is not None and (groups >= 0).any():
            F[(groups[None, :] == groups[r][:, None]) & (groups[r][:, None] >= 0)] = -np.inf
        idx[r], scores[r] = top_k_rows(F, k) if controls is None else controls.select(F, r, k, pinned)
    return Related(idx, scores)
