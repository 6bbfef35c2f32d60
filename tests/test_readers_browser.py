"""'Recommended for you': the compact vectors file, its size for 1,000 posts, and the Python reference of
the ranking the browser script computes."""

from __future__ import annotations

import gzip
import json

import numpy as np

from postkin.readers import browser


def _posts(n: int, rng: np.random.Generator):
    # 512-dimensional unit vectors around 40 topics (as sentence embeddings of a blog are), with titles
    # and URLs as long as real ones (18F: 52 characters of title and 45 of URL on average)
    topics = rng.normal(size=(40, 512))
    V = topics[rng.integers(40, size=n)] + rng.normal(scale=1.2, size=(n, 512))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    keys = [f"post-{i:04d}-{'x' * (i % 20)}" for i in range(n)]
    urls = [f"/2024/{1 + i % 12:02d}/{1 + i % 28:02d}/{k}/" for i, k in enumerate(keys)]
    titles = [f"Notes on topic {i % 40}: what we learned shipping part {i} of the service" for i in range(n)]
    return keys, urls, titles, V.astype(np.float32)


def test_vectors_file_for_1000_posts_is_under_150_kb_gzipped_and_deterministic() -> None:
    keys, urls, titles, V = _posts(1000, np.random.default_rng(0))
    data = browser.vectors_file(keys, urls, titles, V)
    assert len(gzip.compress(data, 6)) < 150_000
    assert browser.vectors_file(keys, urls, titles, V.copy()) == data  # same input, same bytes
    parsed = json.loads(data)
    assert parsed["dim"] == browser.DIMS and [p[0] for p in parsed["posts"]] == keys


def test_recommendations_follow_the_mean_of_what_was_read_and_skip_it() -> None:
    rng = np.random.default_rng(1)
    keys, urls, titles, V = _posts(300, rng)
    data = browser.vectors_file(keys, urls, titles, V)
    history = [keys[3], keys[43], keys[83]]  # all three about topic 3
    found = browser.recommend(data, history, k=5)
    assert len(found) == 5 and not set(found) & set(history)
    # against the full vectors: the compact ranking picks posts the full one ranks near the top
    query = V[[3, 43, 83]].mean(axis=0)
    order = [keys[i] for i in np.argsort(-(V @ query)) if keys[i] not in history]
    assert set(found) <= set(order[:15]) and len(set(found) & set(order[:5])) >= 3
    assert browser.recommend(data, [keys[3]]) == []  # one post read: nothing to say yet
    assert browser.recommend(data, ["gone", keys[3]]) == []  # posts no longer in the file do not count


def test_postkin_build_writes_the_browser_files_beside_postkin_json(small_blog, tmp_path, fake_encoder) -> None:
    import os

    from click.testing import CliRunner
    from conftest import write_post

    from postkin.cli import main

    write_post(small_blog, "2024-02-01-draft.md", "title: Unfinished\ndraft: true\n", "\nNot yet.\n")
    config = tmp_path / "postkin.toml"

    def build(setting: str) -> str:
        config.write_text(f'encoder = "fake"\n{setting}')
        result = CliRunner().invoke(main, ["build", str(small_blog), "--out", str(tmp_path / "out"), "--cache-dir",
                                           str(tmp_path / "cache"), "--config", str(config)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    build("")  # off by default: no browser files
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["postkin.json", "posts"]
    old = os.umask(0o022)
    try:
        # the two files, and postkin.json, which names them for templates (its posts are the same bytes)
        assert "3 files written" in build("recommend_for_you = true\n")
    finally:
        os.umask(old)
    vectors, script = (tmp_path / "out" / name for name in browser.BUILD_FILES)
    assert json.loads((tmp_path / "out" / "postkin.json").read_bytes())["recommend_for_you"] == \
        dict(zip(("vectors", "script"), browser.BUILD_FILES))
    data = json.loads(vectors.read_bytes())
    posts = json.loads((tmp_path / "out" / "postkin.json").read_bytes())["posts"]
    # every post that may be listed, none of the drafts, with the URL and title of postkin.json
    assert sorted(p[0] for p in data["posts"]) == sorted(k for k in posts if k != "draft") and "draft" in posts
    assert all([posts[k]["url"], posts[k]["title"]] == [u, t] for k, u, t in data["posts"])
    assert script.read_bytes() == browser.SCRIPT.read_bytes()
    assert {vectors.stat().st_mode & 0o777, script.stat().st_mode & 0o777} == {0o644}  # a web server reads them
    assert "0 files written" in build("recommend_for_you = true\n")
