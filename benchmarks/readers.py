"""Reader signals, evaluated: predict the next page of held-out reading sessions.

    python benchmarks/readers.py CORPUS_DIR [CORPUS_DIR ...] [--cache-dir DIR] [--sessions-per-post 2,20]

Real access logs are not available here, so sessions are generated over the real posts of each corpus
(embedded with the bundled encoder) by this reader model:

- every post has a popularity drawn from a Zipf law (s = 1) over a random order of the posts;
- a session starts at a post drawn by popularity (search and social arrivals favour popular posts), and
  the reader follows one of that post's tags (the blog's own labels, not anything postkin computed);
- each next page (the session goes on with probability 0.6, at most 10 pages) is, with probability 0.7,
  a post sharing the followed tag, drawn by the square root of popularity; 0.15, a post drawn by
  popularity (the "most read" box); 0.15, any post (noise). After a topical step the reader follows one of
  the new post's tags with probability 0.2 (drift). No post is read twice in a session.

Assumptions to keep in mind: readers here never click what the site shows (no position bias: in real
logs "related posts" links steer the next page, which favours the content ranking); tags stand for
topics; there is no recency, no links between posts, no returning readers. Nothing in postkin's fusion
was tuned on this model: the co-view weight is 1 (each text signal's weight), and the sensitivity lines
(weights 0.5 and 2) are printed to show the spread, not to choose.

80% of the sessions (by session) train item2vec; on the other 20%, every step (page t -> page t+1) is a
query: the posts are ranked for page t (itself excluded) and the rank of page t+1 gives hit@5 and the
reciprocal rank (MRR over all steps). Methods: "content" (postkin's related posts: TF-IDF, LSI and
embedding fused, links), "coview" (item2vec cosine only), "fused" (content + co-view signal, weight 1),
"popularity" (views in the training sessions), and for "Recommended for you" the mean of the last 5
pages read so far, with the full embeddings and with the compact 8-bit vectors file (pages already read
in the session excluded, as in the browser). One JSON line per corpus, volume and method.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np

from postkin import features as features_stage
from postkin import similarity
from postkin.pipeline import one_blas_thread, open_cache, read_folder
from postkin.readers import browser, coview_feature
from postkin.settings import load_settings

K = 5


def popularity(n: int, rng: np.random.Generator) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1)
    return rng.permutation(p / p.sum())


def generate(posts, n_sessions: int, pop: np.ndarray, rng: np.random.Generator) -> list[list[int]]:
    """Sessions of post indexes from the reader model in the module docstring."""
    n = len(posts)
    by_tag: dict[str, np.ndarray] = {}
    for i, post in enumerate(posts):
        for tag in post.tags:
            by_tag.setdefault(tag.lower(), []).append(i)  # type: ignore[union-attr]
    by_tag = {t: np.array(m) for t, m in by_tag.items()}
    sqrt_pop = np.sqrt(pop)

    def draw(candidates: np.ndarray, weights: np.ndarray, read: set[int]) -> int | None:
        ok = np.array([c for c in candidates if c not in read])
        if not len(ok):
            return None
        w = weights[ok]
        return int(rng.choice(ok, p=w / w.sum()))

    sessions = []
    everyone = np.arange(n)
    for _ in range(n_sessions):
        first = int(rng.choice(n, p=pop))
        session, read = [first], {first}
        tags = [t.lower() for t in posts[first].tags]
        tag = tags[rng.integers(len(tags))] if tags else None
        while len(session) < 10 and rng.random() < 0.6:
            u = rng.random()
            if u < 0.7 and tag is not None:
                nxt = draw(by_tag[tag], sqrt_pop, read)
                if nxt is not None and rng.random() < 0.2 and posts[nxt].tags:
                    tag = posts[nxt].tags[rng.integers(len(posts[nxt].tags))].lower()
            elif u < 0.85:
                nxt = draw(everyone, pop, read)
            else:
                nxt = draw(everyone, np.ones(n), read)
            if nxt is None:
                break
            session.append(nxt)
            read.add(nxt)
        sessions.append(session)
    return sessions


def score_ranks(rank_of: list[int]) -> dict[str, float]:
    r = np.array(rank_of, dtype=np.float64)
    return {"hit@5": round(float(np.mean(r <= K)), 4), "mrr": round(float(np.mean(1.0 / r)), 4), "steps": len(r)}


def rank(scores: np.ndarray, target: int, exclude) -> float:
    """1-based rank of `target`; posts tied with it share the places (expected rank under a random
    tie-break), so a method that gives every post the same score earns no credit."""
    s = scores.astype(np.float64).copy()
    s[list(exclude)] = -np.inf
    ties = int(np.sum(s == s[target])) - 1
    return float(np.sum(s > s[target])) + 1 + ties / 2


def fused_rows(fused: similarity.FusedSimilarity):
    """Scores of every post for post i, from a fused similarity."""
    return lambda i: fused.rows(np.array([i]))[0]


def evaluate_pairs(rows, test: list[list[int]]) -> dict[str, float]:
    """Next-page ranks when page t is the query: rows(i) gives the scores of every post for post i."""
    ranks = []
    for session in test:
        for t in range(len(session) - 1):
            ranks.append(rank(rows(session[t]), session[t + 1], [session[t]]))
    return score_ranks(ranks)


def evaluate_history(C: np.ndarray, test: list[list[int]], last: int = 5) -> dict[str, float]:
    """"Recommended for you": mean of the last `last` pages read so far, pages read excluded."""
    ranks = []
    for session in test:
        for t in range(1, len(session) - 1):  # from two pages read on, as the browser script
            read = session[:t + 1]
            query = C[read[-last:]].mean(axis=0)
            ranks.append(rank(C @ query, session[t + 1], read))
    return score_ranks(ranks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default: beside each corpus)")
    parser.add_argument("--sessions-per-post", default="2,20", help="session volumes, per post (comma-separated)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.getLogger("postkin").setLevel(logging.ERROR)
    for corpus in args.corpora:
        settings, _ = load_settings(None, {"cache_dir": str(args.cache_dir)} if args.cache_dir else {})
        posts = [p for p in read_folder(corpus, settings).posts if not p.draft]
        with open_cache(settings.cache_folder(corpus)) as cache:
            feats = features_stage.extract(posts, settings, cache=cache)
        n = len(posts)
        with one_blas_thread():
            content = similarity.compute(posts, feats, settings).related
        packed = browser.pca_codes(feats.vectors)
        compact = packed["lo"] + packed["codes"] * packed["step"]
        for per_post in [float(x) for x in args.sessions_per_post.split(",")]:
            rng = np.random.default_rng(args.seed)
            pop = popularity(n, rng)
            sessions = generate(posts, int(per_post * n), pop, rng)
            cut = int(0.8 * len(sessions))
            train, test = sessions[:cut], [s for s in sessions[cut:] if len(s) > 1]
            keys = [[posts[i].slug for i in s] for s in train]
            started = time.perf_counter()
            coview = coview_feature(posts, [k for k in keys if len(set(k)) > 1], args.seed)
            trained = time.perf_counter() - started
            base = {"corpus": corpus.name, "posts": n, "sessions": len(sessions), "train_sessions": len(train),
                    "posts_with_coview": int((coview.confidence > 0).sum()) if coview else 0,
                    "item2vec_seconds": round(trained, 2)}
            views = np.bincount([i for s in train for i in s], minlength=n).astype(np.float64)
            results = {
                "content": evaluate_pairs(fused_rows(content), test),
                "popularity": evaluate_pairs(lambda i, views=views: views, test),
            }
            if coview is not None:
                results["coview"] = evaluate_pairs(lambda i, V=coview.vectors: V @ V[i], test)
                for weight in (1.0, 0.5, 2.0):
                    weighted = dataclasses.replace(settings, related_coview=weight)
                    with one_blas_thread():
                        fused = similarity.compute(posts, dataclasses.replace(feats, coview=coview), weighted).related
                    name = "fused" if weight == 1.0 else f"fused (sensitivity: co-view weight {weight})"
                    results[name] = evaluate_pairs(fused_rows(fused), test)
            results["for-you: full vectors"] = evaluate_history(feats.vectors.astype(np.float64), test)
            results["for-you: compact 8-bit file"] = evaluate_history(compact, test)
            for method, scores in results.items():
                print(json.dumps({**base, "method": method, **scores}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
