"""Lexical features: tokens in any script, TF-IDF, LSI, and the token-count cache."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from postkin import lexical
from postkin.cache import EmbeddingCache
from postkin.corpus import Post


def test_english_tokens_are_words_and_adjacent_word_bigrams():
    toks = lexical.tokens("Hello, World! hello 2024 a x2 under_score")
    words = ["hello", "world", "hello", "x2", "under", "score"]  # no 1-letter words, no pure numbers
    assert toks == words + ["hello world", "world hello", "hello x2", "x2 under", "under score"]
    assert lexical.tokens("Hello world", word_bigrams=False) == ["hello", "world"]


def test_japanese_posts_are_segmented_by_mecab_others_keep_character_pairs():
    pytest.importorskip("fugashi", reason="fugashi is not installed (a postkin dependency)")
    assert lexical.tokens("JavaScriptで非同期処理 async await", lang="ja") == \
        ["で", "非", "同期", "処理", "javascript", "async", "await", "async await"]
    assert lexical.segmenter("ja") == "mecab" and lexical.segmenter("zh") == ""
    assert lexical.tokens("東京タワー", lang="zh") == ["東京", "京タ", "タワ", "ワー"]


def test_japanese_runs_become_character_bigrams():
    assert lexical.tokens("東京タワー") == ["東京", "京タ", "タワ", "ワー"]
    assert lexical.tokens("猫") == ["猫"]  # a lone CJK character stays a token
    assert lexical.tokens("한국어") == ["한국", "국어"]


def test_mixed_text_splits_at_script_boundaries():
    toks = lexical.tokens("JavaScriptで非同期処理 async await")
    assert toks[:1] == ["javascript"]
    assert {"非同", "同期", "期処", "処理", "で非"} <= set(toks)
    assert "async await" in toks
    assert not any(" " in t and any("\u3040" <= ch <= "\u9fff" for ch in t) for t in toks)  # no bigram across CJK


def test_token_counts_keep_first_seen_order():
    keys, counts = lexical.token_counts("bb aa bb")
    assert keys.tolist() == lexical.token_keys(["bb", "aa", "bb aa", "aa bb"]).tolist()
    assert counts.tolist() == [2, 1, 1, 1]
    assert len(set(lexical.token_keys(["ab", "ba", "東京", "京東", "a b"]).tolist())) == 5


def test_lexical_text_has_title_twice_headings_and_body_without_urls():
    post = Post(source="p.md", slug="p", title="Vacuum", headings=["Why"], body="See https://example.com/x now")
    text = lexical.lexical_text(post)
    assert text.split("\n") == ["Vacuum", "Vacuum", "Why", "See   now"]


def _index(texts, **kw):
    return lexical.build_index([lexical.token_counts(t) for t in texts], **kw)


def test_tfidf_drops_rare_and_ubiquitous_terms_and_weights_rare_terms_up():
    texts = ["common alpha beta", "common alpha gamma", "common delta beta", "common delta epsilon"]
    index = _index(texts, max_df=0.5)
    X = index.tfidf
    assert X.dtype == np.float32 and X.shape[0] == 4
    np.testing.assert_allclose(np.sqrt(np.asarray(X.multiply(X).sum(1)).ravel()), 1.0, rtol=1e-6)
    assert index.contains(["common", "gamma", "epsilon"]).any(axis=0).all()  # presence knows every token ...
    kept = X.shape[1]
    # ... TF-IDF only alpha, beta, delta, "common alpha", "common delta": df 1 (gamma, "alpha beta")
    # and df 4 of 4 (common) are dropped
    assert kept == 5
    # posts 0 and 1 share alpha; posts 0 and 3 share nothing kept
    K = (X @ X.T).toarray()
    assert K[0, 1] > 0 and K[0, 3] == 0


def test_tfidf_is_deterministic_and_presence_finds_phrases():
    texts = ["python packaging wheels", "python virtualenv", "東京の天気", "天気予報 東京"]
    a, b = _index(texts), _index(texts)
    assert (a.tfidf != b.tfidf).nnz == 0
    hit = a.contains(["python", "python wheels", "東京", "rust", "天気予報"])
    assert hit.tolist() == [[True, True, False, False, False], [True, False, False, False, False],
                            [False, False, True, False, False], [False, False, True, False, True]]


def test_lsi_is_deterministic_unit_and_the_gram_path_agrees():
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice([f"w{i}" for i in range(40)], size=30)) for _ in range(50)]
    X = _index(texts).tfidf
    Z = lexical.lsi(X, 8)
    assert Z.shape == (50, 16) and Z.dtype == np.float32  # 2k components, softly weighted past k
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-5)
    assert np.array_equal(Z, lexical.lsi(X, 8))
    gram = (X @ X.T).toarray().astype(np.float32)
    Zg = lexical.lsi(X, 8, gram=gram, cut="rank")  # a blog's: the exact eigendecomposition
    Zr = lexical.lsi(X, 8, n_iter=30, cut="rank")  # the randomized path, run to convergence, agrees with it
    np.testing.assert_allclose(np.abs(Zg @ Zg.T - Zr @ Zr.T).max(), 0, atol=1e-3)
    w = lexical.lsi_weights(16, 8)
    assert w[0] > 0.85 and abs(w[8] - 0.5) < 1e-12 and w[15] < 0.05 and np.all(np.diff(w) < 0)
    assert lexical.lsi(X[:2], 8).shape == (2, 0)  # too few posts: no LSI


def test_degenerate_inputs():
    assert _index([]).tfidf.shape == (0, 0)
    one = _index(["only one post"])
    assert one.tfidf.shape[0] == 1


def test_token_cache_round_trip_and_reuse(tmp_path):
    posts = [Post(source=f"{i}.md", slug=str(i), title=f"Post {i}", body="shared words 東京") for i in range(3)]
    with EmbeddingCache(tmp_path) as cache:
        counts, now = lexical.count_posts(posts, cache)
        assert len(now) == 3
        assert len(lexical.count_posts(posts, cache)[1]) == 3  # count_posts itself stores nothing
        cache.put_tokens(lexical.TOKENIZER_VERSION, now)  # the pipeline stores them once a build succeeded
        again, now2 = lexical.count_posts(posts, cache)
        assert now2 == {}
        assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(again, counts))
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(again, counts))
    posts[1].body += " edited"
    with EmbeddingCache(tmp_path) as cache:
        assert len(lexical.count_posts(posts, cache)[1]) == 1


def test_torn_token_row_is_ignored(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_tokens("v", {"h": (np.array([1, 2], np.uint64), np.array([1, 1]))})
        cache._db.execute("UPDATE token_counts SET keys = substr(keys, 1, 5)")
        assert cache.get_tokens("v", ["h"]) == {}


def test_older_cache_without_tokens_table_gains_it(tmp_path):
    with EmbeddingCache(tmp_path):
        pass
    db = sqlite3.connect(tmp_path / "embeddings.sqlite3")
    db.execute("DROP TABLE token_counts")
    db.commit()
    db.close()
    with EmbeddingCache(tmp_path) as cache:
        cache.put_tokens("v", {"h": (np.array([7, 2**63 + 5], np.uint64), np.array([1, 2]))})
        keys, counts = cache.get_tokens("v", ["h", "missing"])["h"]
        assert keys.tolist() == [7, 2**63 + 5] and counts.tolist() == [1, 2]
        assert cache.count() == 0  # the vectors table is untouched


@pytest.mark.parametrize("junk", [b"not a database at all" * 100])
def test_corrupt_cache_is_moved_aside_and_tokens_work(tmp_path, junk):
    (tmp_path / "embeddings.sqlite3").write_bytes(junk)
    with EmbeddingCache(tmp_path) as cache:
        cache.put_tokens("v", {"h": (np.array([9], np.uint64), np.array([3]))})
        assert cache.get_tokens("v", ["h"])["h"][1].tolist() == [3]
    assert list(tmp_path.glob("embeddings.sqlite3.unusable-*"))
