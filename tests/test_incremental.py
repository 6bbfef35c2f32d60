"""Builds that cost what changed (issue #21): what a build leaves for the next one, "nothing changed",
`--full`, and the incremental path of large sites giving what a full computation gives."""

from __future__ import annotations

import numpy as np

from postkin import tags as tags_module
from postkin.corpus import Post
from postkin.languages import centre_by_group
from postkin.settings import Settings
from postkin.topics import find_topics


def test_adding_a_post_to_a_two_language_blog_keeps_its_topics():
    # Centring by language moves every vector when one post is added: the topics must still see one
    # new post, not 61 changed ones (that refit them and rewrote every output file of such a blog).
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16))
    raw = np.vstack([c + 0.3 * rng.standard_normal((20, 16)) for c in centres] + [centres[:1]]).astype(np.float32)
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    groups = np.arange(61) % 2
    posts = [Post(source=f"{i}.md", slug=f"p{i}", title=f"p{i}", tags=[f"t{i // 20}"]) for i in range(61)]
    settings = Settings(clusters=3)
    first = find_topics(posts[:60], centre_by_group(raw[:60], groups[:60]), np.ones(60, bool),
                        tags_module.vocabulary(posts[:60]), settings, own=raw[:60])
    centred = centre_by_group(raw, groups)
    assert not np.allclose(centred[:60], centre_by_group(raw[:60], groups[:60]))  # every vector moved
    after = find_topics(posts, centred, np.ones(61, bool), tags_module.vocabulary(posts), settings,
                        previous=first.state, own=raw)
    assert not after.refitted and after.ids == first.ids and after.labels == first.labels
    # hashing the centred vectors (as before) counts every post as changed and refits
    before = find_topics(posts[:60], centre_by_group(raw[:60], groups[:60]), np.ones(60, bool),
                         tags_module.vocabulary(posts[:60]), settings)
    again = find_topics(posts, centred, np.ones(61, bool), tags_module.vocabulary(posts), settings,
                        previous=before.state)
    assert again.refitted


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(300)]
    return [" ".join(rng.choice(words, size=int(rng.integers(20, 80)))) for _ in range(n)]


def test_tfidf_rows_under_a_kept_model_are_the_rows_of_the_full_index():
    from postkin import lexical

    counts = [lexical.token_counts(t) for t in _texts(80)]
    index = lexical.build_index(counts)
    assert index.terms is not None and index.idf is not None
    some = [3, 17, 42, 79]
    rows = lexical.tfidf_rows([counts[i] for i in some], index.terms, index.idf)
    want = index.tfidf[some]
    assert rows.shape == want.shape
    assert np.array_equal(rows.indptr, want.indptr) and np.array_equal(rows.indices, want.indices)
    assert np.array_equal(rows.data, want.data)  # bit for bit


def test_lsi_folds_a_post_of_the_model_back_onto_its_own_coordinates():
    from postkin import lexical

    counts = [lexical.token_counts(t) for t in _texts(120, seed=1)]
    X = lexical.build_index(counts).tfidf
    for gram in (np.asarray((X @ X.T).toarray(), np.float32), None):  # exact, then randomized
        Z, fold = lexical.lsi_model(X, k=8, gram=gram, n_iter=12)
        P = X.T @ fold
        again = lexical.l2_rows(np.asarray(X @ P))
        assert np.abs((again * Z).sum(1)).min() > 0.99  # the same direction
