"""The fused related-posts method, calibrated tag suggestions, and `postkin eval`, on generated blogs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_post

from postkin import evaluate, features, pipeline, similarity, tags
from postkin.cli import main
from postkin.corpus import Post
from postkin.related import related_posts
from postkin.settings import Settings

TOPIC_WORDS = {
    "db": "postgresql index vacuum query planner replication wal autovacuum btree",
    "css": "css grid flexbox layout selector cascade stylesheet specificity subgrid",
    "py": "python packaging wheels virtualenv pip pyproject setuptools interpreter",
    "ml": "model training gradient dataset embedding tokenizer transformer inference",
}
TAGS = {"db": ["databases", "postgresql"], "css": ["css", "frontend"], "py": ["python", "packaging"],
        "ml": ["machine learning", "nlp"]}


def blog(n_per_topic: int, seed: int = 0, tagged: bool = True) -> list[Post]:
    """Posts whose bodies share words within a topic; titles are generic (the embedding sees little)."""
    rng = np.random.default_rng(seed)
    filler = "the a an and of to in for on with this that about our new some".split()
    posts = []
    for t, (topic, words) in enumerate(TOPIC_WORDS.items()):
        vocab = words.split()
        for i in range(n_per_topic):
            body = " ".join(rng.choice(vocab + filler, size=60))
            tag_list = TAGS[topic][: 1 + (i % 2)] if tagged else []
            posts.append(Post(source=f"{topic}-{i}.md", slug=f"{topic}-{i}", title=f"Notes {t * 100 + i}",
                              body=body, tags=list(tag_list), date=dt.datetime(2024, 1, 1) + dt.timedelta(days=i * 4 + t)))
    return posts


def random_vectors(n: int, dim: int = 32, seed: int = 1) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def compute(posts: list[Post], vectors: np.ndarray, settings: Settings) -> dict:
    """Every post's context (JSON data) from given vectors: the pipeline after the Features stage."""
    return pipeline.compute(posts, features.from_vectors(posts, vectors, settings), settings).posts_json()


def fused(posts: list[Post], vectors: np.ndarray, settings: Settings):
    feats = features.from_vectors(posts, vectors, settings)
    return feats, similarity.compute(posts, feats, settings)


def topic(slug: str) -> str:
    return slug.split("-")[0]


def test_lexically_related_posts_are_found_when_embeddings_disagree():
    posts = blog(5)
    results = compute(posts, random_vectors(len(posts)), Settings(related_k=3))
    for slug, ctx in results.items():
        assert [topic(r["slug"]) for r in ctx["related"]] == [topic(slug)] * 3, slug
        assert slug not in [r["slug"] for r in ctx["related"]]
        # score is the embedding cosine of the pair (stable across unrelated edits), not the fused order
        vectors = {p.slug: v for p, v in zip(posts, random_vectors(len(posts)))}
        assert [r["score"] for r in ctx["related"]] == [round(float(vectors[slug] @ vectors[r["slug"]]), 4)
                                                         for r in ctx["related"]]


def test_related_methods_choose_their_signals():
    posts = blog(5)
    # embeddings that pair each post with one post of *another* topic: 'semantic' follows them
    n = len(posts)
    partner = np.array([i + 5 if (i // 5) % 2 == 0 else i - 5 for i in range(n)])
    shared = random_vectors(n, dim=64)[np.minimum(np.arange(n), partner)]
    vectors = shared + 0.3 * random_vectors(n, dim=64, seed=7)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    semantic = compute(posts, vectors, Settings(related_k=1, related_method="semantic"))
    lexical = compute(posts, vectors, Settings(related_k=1, related_method="lexical"))
    assert sum(semantic[p.slug]["related"][0]["slug"] == posts[partner[i]].slug for i, p in enumerate(posts)) >= n - 2
    assert all(topic(lexical[p.slug]["related"][0]["slug"]) == topic(p.slug) for p in posts)


def test_related_use_tags_adds_a_tag_signal():
    posts = blog(5, tagged=False)
    # give tags that cut across topics: posts i and i+5 share a tag
    for i, p in enumerate(posts):
        p.tags = [f"pair{i % 5}"]
    plain = compute(posts, random_vectors(len(posts)), Settings(related_k=1))
    tagged = compute(posts, random_vectors(len(posts)), Settings(related_k=3, related_use_tags=0.9))
    assert all(topic(plain[p.slug]["related"][0]["slug"]) == topic(p.slug) for p in posts)
    shares = [set(tagged[r["slug"]]["slug"] and posts[[q.slug for q in posts].index(r["slug"])].tags) & set(p.tags)
              for p in posts for r in tagged[p.slug]["related"][:3]]
    assert np.mean([bool(s) for s in shares]) > 0.9


def test_drafts_are_never_recommended_and_signals_explain_scores():
    posts = blog(4)
    posts[1].draft = True
    results = compute(posts, random_vectors(len(posts)), Settings(related_k=4, signals=True, tags_k=3))
    for ctx in results.values():
        assert "db-1" not in [r["slug"] for r in ctx["related"]]
        for r in ctx["related"]:
            assert set(r["signals"]) == {"fused", "semantic", "lexical"}
            assert r["signals"]["semantic"] == r["score"]
            assert -1 <= r["signals"]["semantic"] <= 1 and 0 <= r["signals"]["lexical"] <= 1
        fused = [r["signals"]["fused"] for r in ctx["related"]]
        assert fused == sorted(fused, reverse=True)  # the list is in fused order
        for t in ctx["suggested_tags"]:
            assert set(t["signals"]) == set(tags.FEATURES) and 0 <= t["score"] <= 1
    assert results["db-1"]["related"]  # a draft still gets its own related posts
    plain = compute(posts, random_vectors(len(posts)), Settings(related_k=4))
    assert "signals" not in plain["db-0"]["related"][0]


def test_same_input_gives_identical_json():
    posts = blog(6)
    a = compute(posts, random_vectors(len(posts)), Settings(signals=True))
    b = compute([dataclasses.replace(p) for p in posts], random_vectors(len(posts)), Settings(signals=True))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("backend", ["auto", "faiss-ivf"])  # faiss-ivf: what 'auto' picks from 50,000 posts
def test_large_site_path_agrees_with_the_exact_one(backend):
    if backend != "auto":
        pytest.importorskip("faiss")
    posts = blog(30)
    vectors = random_vectors(len(posts))
    _, sims = fused(posts, vectors, Settings())
    exact = related_posts(sims.text, np.ones(len(posts), bool), 3).idx
    big = similarity.FusedSimilarity(sims.text.signals, large_site=50, candidates=40, backend=backend)
    assert big.large
    found = related_posts(big, np.ones(len(posts), bool), 3)
    approx, scores = found.idx, found.fused
    assert np.mean(exact[:, 0] == approx[:, 0]) > 0.8  # 0.99 on 18F (508 posts, 100 candidates)
    assert (approx >= 0).all() and np.isfinite(scores).all()


def _suggest(posts, vectors, k=3, query=None):
    feats, sims = fused(posts, vectors, Settings())
    vocab = tags.vocabulary(posts, np.array([not p.draft for p in posts]))
    return tags.suggest(posts, feats, sims, vocab, k, query=query, explain=True)


@pytest.mark.parametrize("per_topic", [5, 12])  # 20 tagged posts: fixed weights; 48: fitted on the blog
def test_tag_suggestions_fill_in_a_posts_missing_tag(per_topic, monkeypatch):
    fitted = []
    real_fit = tags.fit_logreg
    monkeypatch.setattr(tags, "fit_logreg", lambda *a, **kw: fitted.append(1) or real_fit(*a, **kw))
    posts = blog(per_topic)
    assert (len(posts) >= tags.MIN_TAGGED) == bool(per_topic == 12)
    suggestions = _suggest(posts, random_vectors(len(posts)))
    assert bool(fitted) == (len(posts) >= tags.MIN_TAGGED)
    for p, sug in zip(posts, suggestions):
        own = {tags.tag_key(t) for t in p.tags}
        assert not own & {tags.tag_key(s.tag) for s in sug}  # never a post's own tags
        missing = set(TAGS[topic(p.slug)]) - own
        if missing:  # posts with one of their topic's two tags get the other one first
            assert sug[0].tag in missing, (p.slug, [s.tag for s in sug])
        assert [s.score for s in sug] == sorted((s.score for s in sug), reverse=True)
        assert set(sug[0].signals) == set(tags.FEATURES)


def test_tags_for_query_posts_use_the_most_used_spelling_and_case_insensitive_keys():
    posts = blog(5)
    for p in posts[:3]:
        p.tags = [t.upper() for t in p.tags]  # DATABASES x3 vs databases x2: DATABASES is shown
    new = Post(source="new.md", slug="new", title="Notes", body=posts[0].body, tags=["postgresql"])
    everything = posts + [new]
    query = np.arange(len(everything)) == len(posts)
    sug = _suggest(everything, random_vectors(len(everything)), query=query)
    assert sug[-1][0].tag == "DATABASES"
    assert all(not s for s in sug[:-1])  # only the query post gets suggestions
    assert "postgresql" not in [tags.tag_key(s.tag) for s in sug[-1]]


def test_protocol_scores_by_hand():
    truth = [{"a", "b"}, {"a"}, {"b", "c"}, set()]
    idx = np.array([[1, 2], [0, 3], [0, 1], [0, 1]])
    w = 1 / np.log2(np.array([2, 3]))
    w /= w.sum()
    expected = np.mean([w[0] * 2 / 3 + w[1] * 2 / 4, w[0] * 2 / 3 + 0, w[0] * 2 / 4 + 0])
    assert evaluate.related_dice(idx, truth) == pytest.approx(expected)
    assert evaluate.map_at_10([["a", "x", "b"], ["x"]], [{"a", "b"}, set()]) == pytest.approx((1 + 2 / 3) / 2)
    posts = blog(25)
    test = evaluate.tag_split(posts)
    assert test.sum() == round(0.17 * len(posts)) == 17
    newest = sorted(posts, key=lambda p: (p.sort_date(), p.source))[-17:]
    assert {p.slug for p in newest} == {p.slug for p, t in zip(posts, test) if t}


def test_eval_command_prints_the_table_and_json(tmp_path, fake_encoder):
    content = tmp_path / "content"
    for p in blog(8):
        write_post(content, f"{p.date:%Y-%m-%d}-{p.slug}.md",
                   f'title: "{p.title}"\ntags: [{", ".join(p.tags)}]', p.body + "\n")
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\n')
    args = ["eval", str(content), "--config", str(config), "--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "32 posts, 32 tagged; tags protocol: newest 5 posts as test" in result.output
    for label in ("postkin (hybrid)", "random (3 seeds)", "TF-IDF full body", "LSI (TF-IDF + SVD 100)",
                  "USE title only", "USE title+lede+headings", "tag-name embedding", "tag = mean of its posts",
                  "k-nearest-posts vote (k=10)", "most frequent tags"):
        assert label in result.output
    data = json.loads(CliRunner().invoke(main, args + ["--json"], catch_exceptions=False).output)
    methods = {m["method"]: m for m in data["methods"]}
    ours, rand = methods["postkin (hybrid)"], methods["random (3 seeds)"]
    assert ours["related"] > 0.6 > 0.4 > rand["related"]  # topics are separable (Dice {a} vs {a, b} is 2/3)
    assert 0 <= ours["tags"] <= 1 and methods["most frequent tags"]["related"] is None


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_tiny_blogs_shrink_lsi_and_neighbours_without_errors(n):
    posts = blog(2)[:n]
    results = compute(posts, random_vectors(n), Settings(signals=True))
    assert all(len(ctx["related"]) == min(n - 1, 5) for ctx in results.values())


def test_eval_knn_baseline_keeps_the_nearest_post_when_fewer_than_k_are_tagged(tmp_path):
    """With under 10 training posts, the padding (-1) of the neighbour list must not overwrite post 0's vote."""
    import datetime as dt

    from conftest import FakeEncoder

    from postkin.corpus import Post
    from postkin.evaluate import evaluate
    from postkin.settings import Settings

    def post(n: int, title: str, body: str, tags: list[str]) -> Post:
        return Post(source=f"p{n}.md", slug=f"p{n}", title=title, body=body, tags=tags,
                    date=dt.datetime(2024, 1, 1 + n))

    posts = [post(0, "Vacuum tuning", "postgresql vacuum", ["zeta"])]
    posts += [post(n, f"Other {w}", w, ["alpha"]) for n, w in enumerate(["css grid", "pip wheels",
                                                                        "gradient descent", "kayak trip"], 1)]
    posts.append(post(5, "Vacuum tuning", "postgresql vacuum", ["zeta"]))  # the newest: the one test post
    report = evaluate(posts, Settings(), tmp_path / "cache", encoder=FakeEncoder())
    knn = next(s for s in report.scores if s.method.startswith("k-nearest"))
    assert report.test_posts == 1
    assert knn.tags == 1.0  # its twin p0 carries "zeta": ranked first
