"""Co-view signal: item2vec trained on sessions (gensim), its place in the related-posts fusion, and the
pipeline reading logs end to end (page views, the co-view signal, the missing-extra error)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("gensim", reason="needs the readers extra: pip install 'postkin[readers]'")
pytest.importorskip("apachelogs", reason="needs the readers extra: pip install 'postkin[readers]'")

from postkin import readers, similarity  # noqa: E402
from postkin.dialects import read_site as read_corpus  # noqa: E402
from postkin.errors import PostkinError  # noqa: E402
from postkin.pipeline import run  # noqa: E402
from postkin.readers import item2vec  # noqa: E402
from postkin.settings import Settings  # noqa: E402

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def grouped_sessions(rng: np.random.Generator, groups: int = 10, size: int = 20, n: int = 3000) -> list[list[str]]:
    """Readers of group g read 3 of its `size` posts g-0..g-19; 'lone' is read in one session only."""
    out = []
    for s in range(n):
        g = s % groups
        out.append([f"{g}-{i}" for i in rng.choice(size, size=3, replace=False)])
    return out + [["lone", "0-0"]]


def test_item2vec_puts_posts_read_together_close() -> None:
    keys, IN, OUT = item2vec.train(grouped_sessions(np.random.default_rng(1)), seed=0)
    assert "lone" not in keys and len(keys) == 200  # read once (min_count=2): no vector made of noise
    X = item2vec.coview_vectors(IN, OUT)
    S = X @ X.T
    group = np.array([k.split("-")[0] for k in keys])
    same = group[:, None] == group[None, :]
    assert S[same].mean() > S[~same].mean() + 0.2, (S[same].mean(), S[~same].mean())
    np.fill_diagonal(S, -np.inf)
    nearest = S.argmax(axis=1)
    assert np.mean(group[nearest] == group) > 0.95
    exact = (IN @ OUT.T + OUT @ IN.T) / 2  # X X^T is its positive part
    assert np.corrcoef((X @ X.T).ravel(), exact.ravel())[0, 1] > 0.9


TRAIN = """
import json, sys
import numpy as np
from postkin.readers import item2vec
sessions = [[f"p{(s * 7 + i * 3) % 23}" for i in range(2 + s % 4)] for s in range(400)]
keys, IN, OUT = item2vec.train(sessions, seed=3)
sys.stdout.write(json.dumps([keys, IN.round(12).tolist(), OUT.round(12).tolist()]))
"""


def test_item2vec_is_deterministic_whatever_the_hash_seed() -> None:
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run([sys.executable, "-c", TRAIN], env=env, capture_output=True, text=True, check=True)
        outputs.append(json.loads(run.stdout))
    assert outputs[0] == outputs[1]


def test_posts_without_sessions_are_not_pushed_around_by_the_coview_signal() -> None:
    rng = np.random.default_rng(0)
    n = 40
    text = rng.normal(size=(n, 16)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    coview = rng.normal(size=(n, 8)).astype(np.float32)
    known = np.arange(n) < 25  # posts 25..39 were never read in a session: zero rows
    coview[~known] = 0
    confidence = np.where(known, 0.8, 0.0)
    plain = similarity.FusedSimilarity([similarity.Signal("semantic", text)], qe_k=0)
    fused = similarity.FusedSimilarity([similarity.Signal("semantic", text),
                                        similarity.Signal("coview", coview, 1.0, confidence=confidence)], qe_k=0)
    unknown = np.flatnonzero(~known)
    # their rows, and their column in every row, are exactly what the text alone gives
    np.testing.assert_allclose(fused.rows(unknown), plain.rows(unknown), atol=1e-6)
    np.testing.assert_allclose(fused.rows(np.arange(n))[:, unknown], plain.rows(np.arange(n))[:, unknown], atol=1e-6)
    # and between read posts the co-view signal counts
    assert not np.allclose(fused.rows(np.flatnonzero(known))[:, known], plain.rows(np.flatnonzero(known))[:, known])
    # the same holds on the large-site path (candidates, sampled row statistics)
    big = [similarity.Signal("semantic", text), similarity.Signal("coview", coview, 1.0, confidence=confidence)]
    large = similarity.FusedSimilarity(big, qe_k=0, large_site=10, backend="exact", candidates=n)
    small = similarity.FusedSimilarity(big[:1], qe_k=0, large_site=10, backend="exact", candidates=n)
    np.testing.assert_allclose(large.rows(unknown), small.rows(unknown), atol=1e-6)


def test_the_related_fusion_with_coview_starts_from_the_text_fusion_and_equals_fusing_all_again() -> None:
    rng = np.random.default_rng(2)
    n = 60
    a, b, cv = (rng.normal(size=(n, d)).astype(np.float32) for d in (16, 24, 8))
    for m in (a, b, cv):
        m /= np.linalg.norm(m, axis=1, keepdims=True)
    edges = sp.csr_matrix((np.ones(4), ([0, 1, 5, 9], [1, 0, 9, 5])), shape=(n, n))
    text = [similarity.Signal("lexical", a), similarity.Signal("semantic", b)]
    coview = similarity.Signal("coview", cv, 1.5, confidence=np.where(np.arange(n) < 40, 0.7, 0.0))
    everything = similarity.FusedSimilarity(text + [coview], edges=edges).rows(np.arange(n))
    kept = similarity.FusedSimilarity(text, edges=edges, keep_sum=True)
    alone = similarity.FusedSimilarity(text, edges=edges).rows(np.arange(n))
    assert np.array_equal(kept.plus([coview]).rows(np.arange(n)), everything)  # the same bytes
    assert np.array_equal(kept.rows(np.arange(n)), alone)  # and the text fusion is untouched
    # without a kept sum (or on the large-site path) every signal is fused again: the same result
    assert np.array_equal(similarity.FusedSimilarity(text, edges=edges).plus([coview]).rows(np.arange(n)), everything)
    large = similarity.FusedSimilarity(text, edges=edges, keep_sum=True, large_site=10, backend="exact", candidates=n)
    again = similarity.FusedSimilarity(text + [coview], edges=edges, large_site=10, backend="exact", candidates=n)
    assert np.array_equal(large.plus([coview]).rows(np.arange(n)), again.rows(np.arange(n)))


def _log(path: Path, pairs: list[tuple[str, str]], sessions: int) -> None:
    lines = []
    for s in range(sessions):
        first, second = pairs[s % len(pairs)]
        ip = f"198.51.100.{s % 250}"
        hour = 8 + s // 250
        for minute, page in ((0, first), (3, second)):
            lines.append(f'{ip} - - [10/Oct/2024:{hour:02d}:{minute + s % 50:02d}:00 +0000] '
                         f'"GET {page} HTTP/1.1" 200 900 "-" "{CHROME} s{s}"')
    path.write_text("\n".join(lines) + "\n")


def test_build_reads_logs_for_views_and_readers_also_read(small_blog: Path, fake_encoder, tmp_path, caplog) -> None:
    base = Settings(encoder="fake", related_k=8, url_pattern="/posts/{slug}/")
    plain = run(read_corpus(small_blog, base).posts, base, cache_dir=tmp_path / "cache").posts_json()
    assert "postgres-2" not in [r["slug"] for r in plain["python-0"]["related"][:2]]
    # readers of python-0 go on to postgres-2 (and css-1 to css-2): a pair the text alone does not link
    log = tmp_path / "logs" / "access.log"
    log.parent.mkdir()
    _log(log, [("/posts/python-0/", "/posts/postgres-2/?ref=rss"), ("/posts/css-1/", "/posts/css-2/index.html")], 1000)
    settings = Settings(encoder="fake", related_k=8, url_pattern="/posts/{slug}/", reader_logs=(str(tmp_path / "logs" / "*"),))
    posts = read_corpus(small_blog, settings).posts
    with caplog.at_level("INFO", logger="postkin"):
        results = run(posts, settings, cache_dir=tmp_path / "cache").posts_json()
    assert [r.getMessage() for r in caplog.records if "reader logs" in r.getMessage()] == [
        "reader logs: 1 file(s), 1 read now: 2,000 lines, 2,000 post views, 1,000 sessions; dropped 0 bot requests, "
        "0 other requests; 1,000 sessions of 2+ posts to learn from in all, views for 4 posts"]
    popular = {p.slug: p.popularity for p in posts if p.popularity}
    assert popular == {"python-0": 500.0, "postgres-2": 500.0, "css-1": 500.0, "css-2": 500.0}
    related = [r["slug"] for r in results["python-0"]["related"]]
    before = [r["slug"] for r in plain["python-0"]["related"]]
    assert related.index("postgres-2") < before.index("postgres-2") and related[:3] != before[:3], (related, before)
    # co-view joins the related posts only: the tag suggestions are the text's
    assert all(results[key]["suggested_tags"] == plain[key]["suggested_tags"] for key in plain)
    # a post no reader opened keeps the related posts the text gives it
    assert results["postgres-0"]["related"][:3] == plain["postgres-0"]["related"][:3]
    # weight 0: views still come from the logs, the related posts are the text's
    off = Settings(**{**settings.__dict__, "related_coview": 0.0})
    again = run(read_corpus(small_blog, off).posts, off, cache_dir=tmp_path / "cache").posts_json()
    assert again["python-0"]["related"] == plain["python-0"]["related"]


def test_missing_extra_is_one_line_naming_pip(monkeypatch, small_blog: Path, fake_encoder, tmp_path) -> None:
    real_import = __import__

    def no_gensim(name, *args, **kwargs):
        if name == "gensim":
            raise ImportError("No module named 'gensim'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", no_gensim)
    settings = Settings(encoder="fake", reader_logs=(str(tmp_path / "*.log"),))
    with pytest.raises(PostkinError) as error:
        run(read_corpus(small_blog, settings).posts, settings, cache_dir=tmp_path / "cache")
    assert str(error.value) == f"setting reader_logs needs gensim: {readers.EXTRA}"
