"""Page views from analytics exports: encodings, comment lines, percent-encoded paths, permalinks."""

from __future__ import annotations

import pytest

from postkin.errors import PostkinError
from postkin.popularity import read_pageviews


def test_pageviews_file_not_utf8_is_one_line_error(tmp_path):
    path = tmp_path / "views.csv"
    path.write_bytes("url,views\n/a/,10\n".encode("utf-16"))  # Excel/GA "Unicode text" export
    with pytest.raises(PostkinError, match="views.csv.*UTF-8"):
        read_pageviews(path)


def test_pageviews_match_percent_encoded_paths_and_permalinks(tmp_path):
    """Analytics exports percent-encode non-ASCII paths and report a post's permalink, not postkin's URL."""
    from postkin.dialects.generic import post_from_source
    from postkin.popularity import apply_pageviews

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


def test_pageviews_of_a_site_served_below_a_path_match_its_posts(tmp_path):
    """Jekyll's page.url leaves out `baseurl`: analytics report /blog/2024/01/02/x/ for the post Jekyll
    calls /2024/01/02/x/. A path that names no post is tried without its first segments; one that names
    a post as it is keeps its own count."""
    from postkin.dialects.generic import post_from_source
    from postkin.popularity import apply_pageviews

    x = post_from_source(b"---\ntitle: X\ndate: 2024-01-02\n---\nbody\n", "2024-01-02-x.md")
    y = post_from_source(b"---\ntitle: Y\ndate: 2024-01-03\n---\nbody\n", "2024-01-03-y.md")
    z = post_from_source(b"---\ntitle: Z\ndate: 2024-01-04\n---\nbody\n", "2024-01-04-z.md")
    x.url, y.url, z.url = "/2024/01/02/x/", "/2024/01/03/y/", "/2024/01/04/z/"
    path = tmp_path / "views.csv"
    path.write_text("Page path,Views\n/blog/2024/01/02/x/,120\n/2024/01/03/y/,30\n/blog/2024/01/03/y/,7\n"
                    "/blog/about/,99\n")
    assert apply_pageviews([x, y, z], read_pageviews(path)) == 2
    assert (x.popularity, y.popularity, z.popularity) == (120.0, 30.0, None)
