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


def _site(n: int, seed: int = 0):
    """TF-IDF, LSI-like and embedding vectors of n posts in 6 topics, and a few links."""
    import scipy.sparse as sp

    from postkin import lexical

    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(600)]
    topic = rng.integers(0, 6, n)
    texts = [" ".join(rng.choice(words[t * 80:t * 80 + 160], size=50)) for t in topic]
    X = lexical.build_index([lexical.token_counts(t) for t in texts]).tfidf
    X.sort_indices()  # as row edits through lil leave them (a cosine's last bit follows the order of terms)
    centres = rng.standard_normal((6, 24))
    S = (centres[topic] + 0.8 * rng.standard_normal((n, 24))).astype(np.float32)
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    Z = lexical.l2_rows(np.asarray(X @ rng.standard_normal((X.shape[1], 12)))).astype(np.float32)
    e = sp.random(n, n, density=3 / n, random_state=seed, format="csr")
    return X, Z, S, ((e + e.T) > 0).astype(np.float64).tocsr()


def _signals(X, Z, S, fetch: bool):
    from postkin.largesite import Signal

    lexical = Signal("lexical", 1.0, fetch=lambda idx: X[idx]) if fetch else Signal("lexical", 1.0, X)
    return [lexical, Signal("lsi", 1.0, Z), Signal("semantic", 1.0, S)]


def _same(a, b):
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    for name in ("found", "nbr"):
        assert np.array_equal(np.sort(getattr(a, name), 1), np.sort(getattr(b, name), 1)), name
    for name in ("f0", "wf", "mean", "std"):  # equal up to the last bits of BLAS products in other blocks
        assert np.allclose(getattr(a, name), getattr(b, name), rtol=1e-6, atol=1e-8), name


def test_an_update_after_edits_gives_the_fit_of_the_edited_site():
    from postkin import largesite

    n = 300
    X2, Z2, S2, E2 = _site(2 * n)  # the second half: the edited posts' new vectors
    X, Z, S, edges = X2[:n], Z2[:n], S2[:n], E2[:n][:, :n].tocsr()
    old_edges = edges.copy()
    sample = np.arange(0, n, 3)
    first = largesite.fit(_signals(X, Z, S, False), n, edges, c=30, qe_k=10, sample=sample, backend="exact", block=64)
    edited = np.array([4, 5, 101, 200])  # none of them in the sample
    X = X.tolil()
    X[edited] = X2[edited + n]
    X = X.tocsr()
    Z, S = Z.copy(), S.copy()
    Z[edited], S[edited] = Z2[edited + n], S2[edited + n]
    edges = edges.tolil()
    edges[5, 7] = edges[7, 5] = 1.0  # a new link
    edges = edges.tocsr()
    want = largesite.fit(_signals(X, Z, S, False), n, edges, c=30, qe_k=10, sample=sample, backend="exact", block=64)
    got, lost = largesite.remap(first, np.arange(n))
    fresh = np.zeros(n, bool)
    fresh[edited] = True
    change = largesite.update(got, _signals(X, Z, S, True), fresh, edges, old_edges, c=30, qe_k=10, sample=sample,
                              lost=lost)
    _same(got, want)
    assert 0 < len(change.f1_rows) < n
    # F1 is unchanged outside the rows the update names
    rows = np.setdiff1d(np.arange(n), change.f1_rows)
    assert np.allclose(first.f1(rows)[1], got.f1(rows)[1], rtol=1e-12)


def test_an_update_after_posts_are_added_and_removed_gives_the_fit_of_the_new_site():
    from postkin import largesite

    n = 320
    X, Z, S, edges = _site(n, seed=2)
    before = np.setdiff1d(np.arange(n), [10, 150, 151, 319])  # the site had these posts ...
    after = np.setdiff1d(np.arange(n), [3, 77])  # ... then 10, 150, 151 and 319 were added, 3 and 77 removed
    keys = [f"post-{i}" for i in range(n)]
    sample_b = np.flatnonzero(np.isin(before, np.arange(0, n, 4)) & ~np.isin(before, [3, 77]))
    sample_a = np.flatnonzero(np.isin(after, np.arange(0, n, 4)) & ~np.isin(after, [10, 150, 151, 319]))

    def sub(idx):
        return X[idx], Z[idx], S[idx], edges[idx][:, idx]

    Xb, Zb, Sb, Eb = sub(before)
    first = largesite.fit(_signals(Xb, Zb, Sb, False), len(before), Eb, c=30, qe_k=10, sample=sample_b,
                          backend="exact")
    Xa, Za, Sa, Ea = sub(after)
    want = largesite.fit(_signals(Xa, Za, Sa, False), len(after), Ea, c=30, qe_k=10, sample=sample_a,
                         backend="exact")
    position = {keys[i]: r for r, i in enumerate(before)}
    old_of_new = np.array([position.get(keys[i], -1) for i in after])
    got, lost = largesite.remap(first, old_of_new)
    assert lost.any()
    old_edges = Eb[np.maximum(old_of_new, 0)][:, np.maximum(old_of_new, 0)].multiply(
        np.outer(old_of_new >= 0, old_of_new >= 0)).tocsr()
    largesite.update(got, _signals(Xa, Za, Sa, True), old_of_new < 0, Ea, old_edges, c=30, qe_k=10,
                     sample=sample_a, lost=lost)
    _same(got, want)
