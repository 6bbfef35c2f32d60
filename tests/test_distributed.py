"""The distributed runner (postkin.distributed) on a local Dask cluster of 2 worker processes: the same
Build as the single-machine pipeline, the sharded index equal to exact search, the encoder loaded once
per worker, the cache read and written by the client."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pytest
from conftest import FakeEncoder

pytest.importorskip("distributed", reason="the distributed extra is not installed: pip install 'postkin[distributed]'")

from postkin import distributed as pd  # noqa: E402
from postkin import tags, topics  # noqa: E402
from postkin.cache import EmbeddingCache  # noqa: E402
from postkin.corpus import Post  # noqa: E402
from postkin.pipeline import run  # noqa: E402
from postkin.settings import Settings  # noqa: E402

pytestmark = pytest.mark.slow  # a cluster takes ~2 s to start; the module shares one

WORDS = {
    "python": "pip wheels virtualenv packaging python tooling interpreter",
    "postgres": "postgresql index vacuum query planner database replication",
    "css": "css grid flexbox layout frontend browser selectors",
    "security": "tls certificates phishing passwords authentication audit",
    "design": "usability research interviews prototypes accessibility service",
}


def fake_factory(settings: Settings) -> FakeEncoder:
    """The tests' encoder in the workers; counts how many this process made (in os.environ, so the
    count survives the factory being unpickled again)."""
    os.environ["POSTKIN_TEST_FAKE_MADE"] = str(int(os.environ.get("POSTKIN_TEST_FAKE_MADE", "0")) + 1)
    return FakeEncoder()


@pytest.fixture(scope="module")
def client():
    client = pd.connect(workers=2)
    pd.register_encoder(client, "fake", fake_factory)
    yield client
    pd.close(client)


def blog(n: int, seed: int = 0) -> list[Post]:
    """n posts on five topics: most tagged, some drafts, some with page views, a few exact duplicates
    (ties in every similarity)."""
    rng = np.random.default_rng(seed)
    keys = list(WORDS)
    posts = []
    for i in range(n):
        key = keys[i % len(keys)]
        words = WORDS[key].split()
        picked = " ".join(rng.choice(words, size=4, replace=True))
        title = f"{key.title()} notes {i // 7}" if i % 11 else f"{key.title()} notes 0"
        posts.append(Post(
            source=f"{i}.md", slug=f"post-{i}", title=title, lede=picked,
            body=f"{picked} {' '.join(rng.choice(words, size=8))}",
            tags=[key, words[i % 3]][: 1 + i % 2] if i % 9 else [],
            date=dt.datetime(2024, 1, 1) + dt.timedelta(days=i), draft=i % 13 == 5,
            popularity=float(rng.integers(1, 100)) if i % 4 == 0 else None))
    return posts


@pytest.mark.parametrize("n", [12, 70])  # below and above tags.MIN_TAGGED tagged posts
def test_the_cluster_gives_the_single_machine_build(client, fake_encoder, tmp_path, monkeypatch, n):
    settings = Settings(encoder="fake", clusters=3)
    single = run(blog(n), settings)

    def not_here(*args, **kwargs):
        raise AssertionError("this stage runs in the workers, not in the client")

    # the embedding, k-means and tag suggestions run in the workers: the client's copies are never called
    fake_encoder.calls = 0
    monkeypatch.setattr(topics, "spherical_kmeans", not_here)
    monkeypatch.setattr(tags, "suggest", not_here)
    cluster = pd.run(blog(n), settings, client, cache_dir=tmp_path / "cache")
    assert fake_encoder.calls == 0
    assert cluster.posts_json() == single.posts_json()  # related, topic lists and labels, suggested tags
    assert cluster.site.to_json() == single.site.to_json()
    a, b = single.stages, cluster.stages
    np.testing.assert_array_equal(a.topics.assignment, b.topics.assignment)
    np.testing.assert_allclose(a.topics.centroids, b.topics.centroids, atol=1e-6)
    assert [[(s.tag, round(s.score, 6)) for s in row] for row in a.suggestions] == \
        [[(s.tag, round(s.score, 6)) for s in row] for row in b.suggestions]
    assert any(row for row in b.suggestions) and len(b.topics.labels) > 1
    assert cluster.stats.embedded == single.stats.embedded > 0
    again = pd.run(blog(n), settings, client, cache_dir=tmp_path / "cache")
    assert again.stats.embedded == 0 and again.stats.cached == n
    assert again.posts_json() == single.posts_json()


def test_embedding_loads_the_encoder_once_per_worker_and_fills_the_clients_cache(client, tmp_path):
    settings = Settings(encoder="fake")
    texts = [f"text number {i} about {w}" for i, w in enumerate(list(WORDS) * 40)]
    with EmbeddingCache(tmp_path) as cache:
        vectors, embedded, _ = pd.embed(client, texts + texts[:5], settings, cache, partition=16)
        assert embedded == len(texts)  # each distinct text once
        assert cache.count("fake/1") == len(texts)
        again, embedded_again, _ = pd.embed(client, texts, settings, cache, partition=16)
    assert embedded_again == 0
    expected = FakeEncoder().encode(texts)
    np.testing.assert_array_equal(vectors[:len(texts)], expected)
    np.testing.assert_array_equal(again, expected)
    made = client.run(lambda: os.environ.get("POSTKIN_TEST_FAKE_MADE"))
    assert sorted(made.values()) == ["1", "1"]  # 13 partitions, 2 workers, one encoder each


def test_every_worker_task_uses_the_cores_it_was_given(client):
    threads = client.run(pd.worker_threads)
    assert list(threads.values()) == [max(1, len(os.sched_getaffinity(0)) // 2)] * 2


def reference_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k over the whole matrix, ties to the lower row index, -1 past the end."""
    scores = queries @ vectors.T
    order = np.lexsort((np.broadcast_to(np.arange(len(vectors)), scores.shape), -scores), axis=1)[:, :k]
    idx = np.pad(order, ((0, 0), (0, max(0, k - order.shape[1]))), constant_values=-1)
    return idx, scores


def tied_data(rng: np.random.Generator, n: int, d: int = 16) -> np.ndarray:
    """Small-integer vectors (every inner product exact in float32, whatever the summation order),
    a third of them repeated: many exact ties."""
    base = rng.integers(-2, 3, size=(n, d)).astype(np.float32)
    copies = rng.choice(n, size=n // 3)
    base[rng.choice(n, size=n // 3, replace=False)] = base[copies]
    return base


@pytest.mark.parametrize("shards", [2, 3])
def test_the_sharded_exact_search_equals_exact_search_ties_included(client, shards):
    rng = np.random.default_rng(7)
    vectors = tied_data(rng, 301)
    queries = np.vstack([vectors[:40], rng.integers(-2, 3, size=(25, 16)).astype(np.float32)])
    from postkin.neighbours import ExactIndex

    for k in (1, 10, 120):
        with pd.ShardedIndex(client, vectors, backend="exact", shards=shards) as index:
            idx, scores = index.search(queries, k)
        want, full = reference_top_k(vectors, queries, k)
        np.testing.assert_array_equal(idx, want)
        np.testing.assert_array_equal(scores, np.take_along_axis(full, want, axis=1))
        single = ExactIndex(vectors).search(queries, k)  # the single machine breaks ties the same way
        np.testing.assert_array_equal(idx, single[0])
    with pd.ShardedIndex(client, vectors[:5], backend="exact", shards=shards) as index:
        idx, scores = index.search(queries[:3], 8)  # fewer rows than k: padded as on one machine
    assert (idx[:, 5:] == -1).all() and np.isneginf(scores[:, 5:]).all()


def test_related_leaves_each_row_out_and_the_faiss_shards_reach_exact_recall(client):
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((2000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    truth = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    with pd.ShardedIndex(client, vectors, backend="exact") as index:
        idx, _ = index.related(10)
    np.testing.assert_array_equal(idx, truth)
    with pd.ShardedIndex(client, vectors, backend="faiss-flat") as index:
        idx, _ = index.related(10)
        assert len(index.shard_info) == 2 and all(info["peak_rss_mb"] > 0 for info in index.shard_info)
    assert np.mean([len(set(a) & set(b)) for a, b in zip(idx, truth)]) == 10


def test_topics_on_a_sample_assign_every_post_to_the_broadcast_centroids(client, fake_encoder):
    from postkin import features
    from postkin.corpus import listed

    posts = blog(70)
    settings = Settings(encoder="fake")
    vectors = features.extract(posts, settings).vectors
    use = listed(posts)
    vocab = tags.vocabulary(posts, use)
    found = pd.find_topics(client, posts, vectors, use, vocab, settings, sample=30)
    train = np.sort(np.random.default_rng(settings.seed).choice(np.flatnonzero(use), size=30, replace=False))
    want = topics.spherical_kmeans(vectors[train], topics.topic_count(int(use.sum()), settings), seed=0)
    np.testing.assert_allclose(found.centroids, want.centroids, atol=1e-6)
    np.testing.assert_array_equal(found.assignment, np.argmax(vectors @ want.centroids.T, axis=1))
    assert sorted(i for lst in found.by_date for i in lst) == list(np.flatnonzero(use))


def test_postkin_build_on_a_local_cluster_writes_the_single_machine_files(small_blog, tmp_path):
    """The real bundled encoder, loaded by each of the two workers of `--cluster local:2`."""
    from click.testing import CliRunner

    from postkin.cli import main

    outputs = {}
    for name, extra in (("single", []), ("cluster", ["--cluster", "local:2"])):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["build", str(small_blog), "--out", str(out), "--cache-dir",
                                           str(tmp_path / f"cache-{name}"), *extra], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "embedded 9 now" in result.output
        outputs[name] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert len(outputs["single"]) == 10 and outputs["cluster"] == outputs["single"]


def test_a_bad_cluster_address_is_one_clear_line(small_blog, tmp_path):
    from click.testing import CliRunner

    from postkin.cli import main

    result = CliRunner().invoke(main, ["build", str(small_blog), "--out", str(tmp_path / "out"),
                                       "--cluster", "local:zero"])
    assert result.exit_code != 0 and "N in local:N must be a positive number" in result.output
