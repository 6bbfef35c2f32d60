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
