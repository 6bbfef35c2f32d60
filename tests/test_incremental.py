"""Builds that cost what changed (issue #21): what a build leaves for the next one, "nothing changed",
`--full`, and the incremental path of large sites giving what a full computation gives."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

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


# -- whole builds (postkin build with the fake encoder) ------------------------------------------

WORDS = {
    "python": "pip wheel virtualenv packaging interpreter import module typing asyncio pytest",
    "postgres": "postgresql index vacuum planner query replication table schema transaction wal",
    "css": "grid flexbox layout selector cascade browser stylesheet animation viewport media",
    "hiring": "interview candidate rubric salary onboarding recruiter offer team role feedback",
}


def _blog(folder, n: int, seed: int = 0):
    """content/ with n posts on four topics: words of the topic's own vocabulary (Zipf-like frequencies,
    so posts differ by more than near-ties) and a few of another topic's, one or two tags."""
    rng = np.random.default_rng(seed)
    keys = sorted(WORDS)
    for i in range(n):
        topic, other = keys[i % 4], keys[(i + 1 + i // 4) % 4]
        _post(folder, i, topic, other, _words(rng, topic, 50) + " " + _words(rng, other, 8))
    return folder


def _words(rng, topic: str, count: int) -> str:
    vocabulary = WORDS[topic].split() + [f"{topic[:3]}{j}" for j in range(150)]
    p = 1.0 / np.arange(1, len(vocabulary) + 1)
    return " ".join(rng.choice(vocabulary, count, p=p / p.sum()))


def _post(folder, i: int, topic: str, other: str, body: str) -> None:
    from conftest import write_post

    write_post(folder, f"2023-{1 + i % 12:02d}-{1 + i % 27:02d}-post-{i}.md",
               f'title: "{topic} notes {i}"\ntags: [{topic}{", " + other if i % 3 == 0 else ""}]\nviews: {(i * 37) % 101}',
               f"\n{body}.\n")


def _cli(content, out, cache, *extra: str):
    from click.testing import CliRunner

    from postkin.cli import main

    config = content.parent / "postkin.toml"
    if not config.exists():
        config.write_text('encoder = "fake"\ntags_min_score = 0.0\n')
    result = CliRunner().invoke(main, ["build", str(content), "--out", str(out), "--cache-dir", str(cache),
                                       "--config", str(config), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def written(line: str) -> int:
    """The number of files a build's summary line says it wrote."""
    found = re.search(r"\b(\d+) files written", line)
    assert found, line
    return int(found.group(1))


def _files(out) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.json"))}


def _mtimes(out) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted(out.rglob("*.json"))}


def _edit(content, name_part: str, extra: str) -> None:
    path = next(p for p in content.iterdir() if name_part in p.name)
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")


def _views(content, name_part: str, views: int) -> None:
    path = next(p for p in content.iterdir() if name_part in p.name)
    path.write_text(re.sub(r"(?m)^views: .*$", f"views: {views}", path.read_text(encoding="utf-8")), encoding="utf-8")


def _cold(tmp_path, content, label: str) -> dict[str, bytes]:
    out = tmp_path / f"cold-{label}"
    _cli(content, out, tmp_path / f"cold-cache-{label}")
    return _files(out)


def test_an_edit_rewrites_only_the_outputs_whose_bytes_change(tmp_path, fake_encoder):
    content = _blog(tmp_path / "content", 24)
    out, cache = tmp_path / "out", tmp_path / "cache"
    _cli(content, out, cache)
    before, times = _files(out), _mtimes(out)
    _edit(content, "post-5.", "\nA last sentence on pip, wheel and interpreter import.\n")
    line = _cli(content, out, cache)
    after = _files(out)
    assert after == _cold(tmp_path, content, "edit")  # what a first build of the edited blog writes
    changed = {name for name in after if after[name] != before[name]}
    assert 0 < len(changed) < len(after)
    now = _mtimes(out)
    assert {name for name in now if now[name] != times[name]} == changed  # the others were not touched
    assert written(line) == len(changed)


def test_nothing_changed_stops_after_reading_and_writes_nothing(tmp_path, fake_encoder, monkeypatch):
    from postkin import pipeline

    content = _blog(tmp_path / "content", 12)
    out, cache = tmp_path / "out", tmp_path / "cache"
    _cli(content, out, cache)
    files, times = _files(out), _mtimes(out)

    def no_stage(*args, **kwargs):
        raise AssertionError("a build with nothing changed computed a stage")

    monkeypatch.setattr(pipeline, "compute", no_stage)
    line = _cli(content, out, cache)
    assert "12 posts; nothing changed since the last build; embedded 0 now, 12 from cache" in line
    assert written(line) == 0 and "0 removed" in line and _mtimes(out) == times
    # outputs changed by hand: the stored contexts are written again, still without computing
    (out / "posts" / "post-3.json").write_text("{}")
    (out / "posts" / "post-4.json").unlink()
    line = _cli(content, out, cache)
    assert "nothing changed since the last build" in line and written(line) == 2 and _files(out) == files
    # a host gets the stored contexts too
    from postkin.pipeline import read_folder, run
    from postkin.settings import load_settings

    settings, _ = load_settings(content.parent / "postkin.toml")
    build = run(read_folder(content, settings), settings, cache_dir=cache)
    assert build.unchanged and build.posts_json()["post-3"] == json.loads(files["posts/post-3.json"])


def test_full_recomputes_everything_and_gives_a_cold_build(tmp_path, fake_encoder, monkeypatch):
    from postkin import pipeline

    content = _blog(tmp_path / "content", 16)
    out, cache = tmp_path / "out", tmp_path / "cache"
    _cli(content, out, cache)
    calls = []
    real = pipeline.compute
    monkeypatch.setattr(pipeline, "compute", lambda *a, **k: calls.append(1) or real(*a, **k))
    line = _cli(content, out, cache, "--full")
    assert calls and "nothing changed" not in line and "embedded 0 now, 16 from cache" in line
    assert _files(out) == _cold(tmp_path, content, "full")


def _state_folder(cache):
    from postkin.state import CURRENT

    (site,) = (cache / "state").iterdir()
    return site / (site / CURRENT).read_text().strip()


@pytest.mark.parametrize("damage", ["missing", "torn", "garbage manifest", "old version"])
def test_a_state_that_cannot_be_used_falls_back_to_a_full_build(tmp_path, fake_encoder, damage):
    content = _blog(tmp_path / "content", 12)
    out, cache = tmp_path / "out", tmp_path / "cache"
    _cli(content, out, cache)
    files = _files(out)
    folder = _state_folder(cache)
    if damage == "missing":
        shutil.rmtree(cache / "state")
    elif damage == "torn":
        (folder / "texts.bytes.npy").write_bytes(b"\x93NUMPY torn")
    elif damage == "garbage manifest":
        (folder / "manifest.json").write_text("{not json")
    else:
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps({**manifest, "version": "0"}))
    line = _cli(content, out, cache)
    notes = [x for x in line.splitlines() if not x.startswith("postkin: 12 posts")]
    if damage == "missing":
        assert notes == []  # a first build, as far as the state goes
    else:
        assert len(notes) == 1 and "computing every stage" in notes[0], line
    assert "nothing changed" not in line and "embedded 0 now, 12 from cache" in line  # the cache is kept
    assert written(line) == 0 and _files(out) == files  # nothing lost, nothing rewritten
    line = _cli(content, out, cache)  # the state was saved afresh
    assert "nothing changed since the last build" in line


def _lists(files: dict[str, bytes]) -> dict[str, tuple]:
    """Each post's related, topic and tag lists (by slug or tag, in order)."""
    out = {}
    for name, data in files.items():
        if name.startswith("posts/"):
            ctx = json.loads(data)
            out[name] = tuple(tuple(x.get("slug", x.get("tag")) for x in ctx[key])
                              for key in ("related", "cluster_latest", "cluster_popular", "suggested_tags"))
    return out


def test_the_large_site_path_agrees_with_a_cold_build(tmp_path, fake_encoder, monkeypatch):
    # A site "large" from 40 posts on: the candidate engine, kept between builds and updated after edits.
    from postkin import largebuild, pipeline, similarity

    monkeypatch.setattr(similarity, "LARGE_SITE", 40)
    monkeypatch.setattr(largebuild, "INCREMENTAL_MIN", 40)
    monkeypatch.setattr(similarity, "CANDIDATES", 30)
    content = _blog(tmp_path / "content", 90)
    out, cache = tmp_path / "out", tmp_path / "cache"
    _cli(content, out, cache)
    assert json.loads((_state_folder(cache) / "manifest.json").read_text())["large"]
    real, calls = pipeline.compute, []
    monkeypatch.setattr(pipeline, "compute", lambda *a, **k: calls.append(1) or real(*a, **k))
    before = _files(out)
    # Between full fits the kept statistics (idf, LSI axes, row statistics over a sample that on this toy
    # site is every post, the tag model) are not refitted: on 90 posts one post moves them by about 1%,
    # which reorders near-ties (on 6,000 composed posts: 99.8% of lists identical after a body edit).
    # A change of page views alone moves none of them: a cold build's bytes exactly.
    edits = [(lambda: _views(content, "post-12.", 5000), 1.0),
             (lambda: _edit(content, "post-7.", "\nMore on postgresql vacuum, replication and wal.\n"), 0.9),
             (lambda: _post(content, 90, "css", "python", "grid flexbox layout pip wheel viewport cascade"), 0.3),
             (lambda: next(p for p in content.iterdir() if "post-31." in p.name).unlink(), 0.3)]
    for step, (edit, share) in enumerate(edits):
        edit()
        done = len(calls)
        line = _cli(content, out, cache)
        assert len(calls) == done, "the large-site path computed every stage"
        got, want = _files(out), _cold(tmp_path, content, str(step))
        assert set(got) == set(want)
        lists = _lists(got), _lists(want)
        agree = sum(lists[0][k] == lists[1][k] for k in lists[1]) / len(lists[1])
        print(f"step {step}: lists identical to a cold build's for {agree:.1%} of posts; {line.strip()}")
        assert agree >= share, (step, agree)
        if share == 1.0:
            assert got == want
        if step == 3:  # no list names the removed post
            assert "posts/post-31.json" not in got and not any("post-31" in x for v in lists[0].values() for x in v)
        changed = sum(got[k] != before.get(k) for k in got)
        assert written(line) == changed
        before = got
    # --full: a cold build's bytes
    done = len(calls)
    _cli(content, out, cache, "--full")
    assert len(calls) > done and _files(out) == _cold(tmp_path, content, "full")


def test_a_project_moved_with_its_cache_stops_early(tmp_path, fake_encoder, monkeypatch):
    """The kept state is found by the site relative to its cache (Corpus.site_key): a project copied with
    its cache, or a CI cache restored in another workspace, still has nothing to compute."""
    import shutil

    from postkin import pipeline

    first = tmp_path / "a"
    _blog(first / "content", 12)
    _cli(first / "content", first / "out", first / "cache")
    moved = tmp_path / "elsewhere" / "b"
    shutil.copytree(first, moved)

    def no_stage(*args, **kwargs):
        raise AssertionError("the moved project computed a stage")

    monkeypatch.setattr(pipeline, "compute", no_stage)
    line = _cli(moved / "content", moved / "out", moved / "cache")
    assert "nothing changed since the last build" in line and written(line) == 0
