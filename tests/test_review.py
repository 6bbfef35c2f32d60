"""Regression tests for bugs found in review: each reproduces a user-facing failure."""

from __future__ import annotations

import pytest

from postkin.errors import PostkinError
from postkin.popularity import read_pageviews


def test_pageviews_file_not_utf8_is_one_line_error(tmp_path):
    path = tmp_path / "views.csv"
    path.write_bytes("url,views\n/a/,10\n".encode("utf-16"))  # Excel/GA "Unicode text" export
    with pytest.raises(PostkinError, match="views.csv.*UTF-8"):
        read_pageviews(path)


def test_eval_knn_baseline_keeps_the_nearest_post_when_fewer_than_k_are_tagged(tmp_path):
    """With under 10 training posts, the padding (-1) of the neighbour list must not overwrite post 0's vote."""
    import datetime as dt

    from postkin.evaluate import evaluate
    from postkin.corpus import Post
    from postkin.settings import Settings

    from conftest import FakeEncoder

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


def test_pageviews_match_percent_encoded_paths_and_permalinks(tmp_path):
    """Analytics exports percent-encode non-ASCII paths and report a post's permalink, not postkin's URL."""
    from postkin.popularity import apply_pageviews
    from postkin.corpus import post_from_source

    ja = post_from_source("---\ntitle: 猫\ndate: 2024-01-02\nslug: 猫の話\n---\nbody\n".encode(), "2024-01-02-neko.md")
    old = post_from_source(b"---\ntitle: Old\ndate: 2007-12-24\npermalink: /2007/1224/res8/\n---\nbody\n",
                           "2007-12-24-old.md")
    ja.url, old.url = "/2024/01/02/猫の話/", "/2007/12/24/old/"  # as render_url gives them
    path = tmp_path / "views.csv"
    path.write_text("Page path,Views\n/2024/01/02/%E7%8C%AB%E3%81%AE%E8%A9%B1/,120\n/2007/1224/res8/,30\n")
    assert apply_pageviews([ja, old], read_pageviews(path)) == 2
    assert (ja.popularity, old.popularity) == (120.0, 30.0)


def test_ga_export_comment_lines_and_empty_cells(tmp_path):
    from postkin.popularity import read_pageviews

    path = tmp_path / "ga.csv"
    path.write_text("# ----------\n# Pages report\n# ----------\n\nPage path,Views,Users\n/a/,10,3\n/b/,,1\n,99,\n/c/,\"1,200\",5\n",
                    encoding="utf-8")
    assert read_pageviews(path) == {"a": 10.0, "c": 1200.0}
