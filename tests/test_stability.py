"""Builds that change only what changed: topics that stay put between builds (ids and labels kept),
tag suggestions that stay quiet when unsure, and lists that do not reshuffle for an edit elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from conftest import write_post

from postkin import tags as tags_module
from postkin.cli import main
from postkin.corpus import Corpus, Post
from postkin.features import from_vectors
from postkin.pipeline import compute
from postkin.settings import Settings
from postkin.tags import Suggestion, shown, tag_fold
from postkin.topics import TOPIC_DRIFT, find_topics

WORDS = {"db": "vacuum index planner replication postgres query", "css": "grid flexbox cascade selector layout",
         "py": "wheels pip packaging virtualenv pyproject", "ml": "embedding model training tokenizer dataset"}


def blog(folder: Path, per_topic: int = 8) -> Path:
    content = folder / "content"
    day = 1
    for topic, words in WORDS.items():
        for n in range(per_topic):
            write_post(content, f"2024-{1 + day // 28:02d}-{1 + day % 28:02d}-{topic}-{n}.md",
                       f'title: "{topic} notes {n}"\ntags: [{topic}]', f"{words} number {n}\n")
            day += 1
    return content


def build(content: Path, tmp: Path, config: str = 'encoder = "fake"\n') -> dict:
    (tmp / "postkin.toml").write_text(config, encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(content), "--out", str(tmp / "out"), "--config",
                                       str(tmp / "postkin.toml"), "--cache-dir", str(tmp / "cache")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((tmp / "out" / "postkin.json").read_text(encoding="utf-8"))


def topic_of(data: dict) -> dict[str, tuple[int, str]]:
    return {slug: (ctx["cluster"]["id"], ctx["cluster"]["label"]) for slug, ctx in data["posts"].items()}


def test_a_new_post_joins_a_kept_topic_and_moves_no_other_post(tmp_path, fake_encoder):
    content = blog(tmp_path)
    before = topic_of(build(content, tmp_path))
    write_post(content, "2024-03-01-db-new.md", 'title: "db notes new"\ntags: [db]', WORDS["db"] + " again\n")
    after = topic_of(build(content, tmp_path))
    assert {k: v for k, v in after.items() if k != "db-new"} == before  # same ids, same labels
    assert after["db-new"] == after["db-0"]  # joined its topic
    # a build from an empty cache fits the topics afresh (and may number and group them otherwise)
    (tmp_path / "fresh").mkdir()
    fresh = topic_of(build(content, tmp_path / "fresh"))
    assert set(fresh) == set(after) and fresh["db-new"][0] == fresh["db-0"][0]


def test_topics_refit_past_the_drift_bound_keep_their_ids_by_matching():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16))
    vectors = np.vstack([c + 0.3 * rng.standard_normal((20, 16)) for c in centres]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    posts = [Post(source=f"{i}.md", slug=f"p{i}", title=f"p{i}", tags=[f"t{i // 20}"]) for i in range(60)]
    settings = Settings(clusters=3)
    vocab = tags_module.vocabulary(posts)
    first = find_topics(posts, vectors, np.ones(60, bool), vocab, settings)
    assert first.refitted and first.state is not None
    kept = find_topics(posts, vectors, np.ones(60, bool), vocab, settings, previous=first.state)
    assert not kept.refitted and kept.ids == first.ids and kept.labels == first.labels
    moved = vectors.copy()
    n_changed = int(60 * TOPIC_DRIFT) + 2  # past the bound: a refit, from the previous centroids
    moved[:n_changed] = (moved[:n_changed] + 0.05 * rng.standard_normal((n_changed, 16))).astype(np.float32)
    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
    refit = find_topics(posts, moved, np.ones(60, bool), vocab, settings, previous=first.state)
    assert refit.refitted
    before = {posts[i].slug: first.ids[first.assignment[i]] for i in range(60)}
    after = {posts[i].slug: refit.ids[refit.assignment[i]] for i in range(60)}
    assert sum(before[k] == after[k] for k in before) >= 58  # the same topics under the same ids


def test_tag_suggestions_below_the_threshold_are_not_shown_and_ties_list_by_name():
    raw = [Suggestion("zeta", 0.34), Suggestion("alpha", 0.31), Suggestion("mid", 0.52), Suggestion("low", 0.12)]
    assert [(s.tag, s.score) for s in shown(raw, 0.3)] == [("mid", 0.5), ("alpha", 0.3), ("zeta", 0.3)]
    assert [s.tag for s in shown(raw, 0.0)][-1] == "low"


def test_a_posts_own_tags_are_never_suggested_in_any_spelling():
    assert tag_fold("Node.js") == tag_fold("nodejs") == tag_fold("NodeJS") == tag_fold("node js")
    posts = [Post(source=f"{i}.md", slug=f"p{i}", title="Node.js streams", body="node js streams events",
                  tags=["nodejs", "streams"] if i % 2 else ["Node.js"]) for i in range(40)]
    vectors = np.tile(np.eye(8, dtype=np.float32)[:1], (40, 1))
    build = compute(Corpus(posts), from_vectors(posts, vectors, Settings()), Settings(tags_min_score=0.0))
    for ctx in build.contexts.values():
        own = {tag_fold(t) for t in posts[int(ctx.slug[1:])].tags}
        assert not own & {tag_fold(t.tag) for t in ctx.suggested_tags}


def test_an_edit_rewrites_the_edited_post_and_few_others(tmp_path, fake_encoder):
    content = blog(tmp_path, per_topic=10)
    build(content, tmp_path)
    files = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.json")}
    post = next(content.glob("*-py-3.md"))
    post.write_text(post.read_text(encoding="utf-8") + "\nA sentence about wheels.\n", encoding="utf-8")
    build(content, tmp_path)
    changed = {p.name for p, data in files.items() if p.read_bytes() != data}
    assert len(changed) <= 12, sorted(changed)  # of 41 files (8 here: the post's topic neighbours, near-ties)


def test_a_project_moved_with_its_cache_keeps_its_topics(tmp_path, fake_encoder):
    """The topic state is keyed by the site relative to the cache folder: a project moved or copied with its
    cache (a CI cache restored in another workspace) starts from its kept topics, not from new ones."""
    import shutil
    import sqlite3

    from postkin.topics import STATE_KIND

    first = tmp_path / "a"
    content = blog(first)
    before = topic_of(build(content, first))
    moved = tmp_path / "elsewhere" / "b"
    shutil.copytree(first, moved)
    write_post(moved / "content", "2024-03-01-db-new.md", 'title: "db notes new"\ntags: [db]', WORDS["db"] + " again\n")
    after = topic_of(build(moved / "content", moved))
    assert {k: v for k, v in after.items() if k != "db-new"} == before
    with sqlite3.connect(moved / "cache" / "embeddings.sqlite3") as db:
        states = db.execute("SELECT count(*) FROM derived WHERE kind = ?", (STATE_KIND,)).fetchone()[0]
    assert states == 1  # the moved site found its state under the same key (and updated it)


def test_lsi_weighted_by_eigenvalue_does_not_jump_when_two_components_swap():
    """Two components with (nearly) equal eigenvalues may come out of the eigendecomposition in any rotation
    of each other; a tiny edit of one post turns them. Weighted by rank (the component's position) the two
    carry different weights, so the LSI cosines of posts the edit never touched jump; weighted by
    eigenvalue (lexical.lsi_value_weights) they carry the same weight and the LSI moves with the edit only."""
    from postkin import lexical

    rng = np.random.default_rng(0)
    n, k = 40, 4
    U = np.linalg.qr(rng.standard_normal((n, n)))[0]
    lam = np.geomspace(8.0, 0.5, n)
    lam[k - 1] = lam[k] = (lam[k - 2] + lam[k + 1]) / 2  # a tie at the cut-off (real spectra: 18F's gaps near k = 64 are ~0.003)
    G = (U * lam) @ U.T
    E = np.zeros((n, n))
    E[0, 1] = E[1, 0] = 1e-6  # an edit of post 0 (its similarity with post 1)
    X = np.zeros((n, n))  # the exact path reads only X's shape
    moved = {}
    for cut in ("rank", "value"):
        before = lexical.lsi(X, k, gram=G, cut=cut).astype(np.float64)
        after = lexical.lsi(X, k, gram=G + E, cut=cut).astype(np.float64)
        moved[cut] = np.abs(before @ before.T - after @ after.T)[2:, 2:].max()  # pairs the edit did not touch
    assert moved["value"] < 1e-4 < 1e-2 < moved["rank"], moved
