"""One URL normaliser and one front-matter normaliser serve every host: the faults their drift caused."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from postkin.dialects.generic import post_from_source
from postkin.links import link_pairs
from postkin.metadata import as_list, number, split_front_matter, tags_value
from postkin.popularity import apply_pageviews
from postkin.urls import is_absolute, url_key


@pytest.mark.parametrize("url, key", [
    ("https://blog.example/2024/01/02/%E7%8C%AB/index.html?utm=x#top", "2024/01/02/猫"),
    ("/2024/01/02/猫/", "2024/01/02/猫"),
    ("2024/01/02/猫", "2024/01/02/猫"),
    ("/Posts/Cat.html", "posts/cat"),
    ("/posts/cat/index.htm", "posts/cat"),
    ("//cdn.example.org/posts/cat/", "posts/cat"),
    ("//2015/07/17/the-new-10/", "2015/07/17/the-new-10"),  # 18F's Jekyll typo: a path, not a host
    ("/", ""),
])
def test_url_key_folds_every_spelling_of_a_page(url, key):
    assert url_key(url) == key


def test_url_key_strips_the_base_path_and_absolute_urls_are_told_apart():
    assert url_key("/blog/2024/x/", base_path="/blog/") == url_key("2024/x") == "2024/x"
    assert url_key("/blogging/x/", base_path="/blog/") == "blogging/x"
    assert is_absolute("https://other.example/x/") and is_absolute("//cdn.example.org/x")
    assert not is_absolute("/x/") and not is_absolute("//2015/07/17/x/")


def _post(source: str, front: str, body: str = "") -> object:
    post = post_from_source(f"---\ntitle: T\n{front}---\n{body}".encode(), source)
    assert post is not None
    return post


def test_a_percent_encoded_link_links_the_post_like_a_plain_one():
    cat = _post("2024-01-02-neko.md", "slug: 猫\n")
    cat.url = "/2024/01/02/猫/"
    encoded = _post("a.md", "", "[猫の記事](/2024/01/02/%E7%8C%AB/)\n")
    plain = _post("b.md", "", "[猫の記事](/2024/01/02/猫/)\n")
    encoded.url, plain.url = "/a/", "/b/"
    assert link_pairs([cat, encoded, plain]) == [(1, 0), (2, 0)]


def test_pageviews_and_links_use_the_same_keys():
    post = _post("2024-01-02-x.md", "")
    post.url = "/2024/01/02/X/"
    assert apply_pageviews([post], {url_key("https://blog.example/2024/01/02/x/index.html"): 7.0}) == 1
    assert post.popularity == 7.0


@pytest.mark.parametrize("value, expected", [
    (1200, 1200.0), ("1,200", 1200.0), ("1 200", 1200.0), ("1_200", 1200.0), ("12.5", 12.5), (None, None),
    ("1,200,300", 1200300.0),
])
def test_numbers_as_analytics_and_authors_write_them(value, expected):
    assert number(value, "views") == expected


@pytest.mark.parametrize("value", ["many", True, "1,2"])
def test_a_non_number_names_the_key(value):
    with pytest.raises(ValueError, match="'views' must be a number"):
        number(value, "views")


def test_views_with_a_thousands_separator_are_read_not_skipped():
    """`views: "1,200"` made `postkin build` skip the post while the Pelican plugin read 1200."""
    post = post_from_source(b'---\ntitle: T\nviews: "1,200"\n---\nbody\n', "x.md")
    assert post is not None and post.popularity == 1200.0


def test_tags_key_lookup_is_one_rule_everywhere():
    assert tags_value({"Tags": ["a"], "tag": "b"}) == ["a"]
    assert tags_value({"tag": "b"}) == "b"
    assert as_list("a, b") == ["a", "b"] and as_list("a b", separator=" ") == ["a", "b"]
    assert as_list("a, b", separator=None) == ["a, b"]


def test_a_yaml_alias_bomb_is_one_line_and_quick():
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for n, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[n]
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    text = "---\n" + "\n".join(levels) + "\ntitle: *j\ndate: *j\n---\nbody\n"
    started = time.perf_counter()
    with pytest.raises(ValueError, match="repeats YAML aliases into more than 10,000 values"):
        post_from_source(text.encode(), "bomb.md")
    assert time.perf_counter() - started < 5  # a bound on the fault (it ran 51 s into MemoryError), not a benchmark
    ok = "---\nbase: &b {x: 1}\nother: *b\ntitle: T\n---\n"
    assert split_front_matter(ok)[0]["other"] == {"x": 1}


def test_a_bad_date_is_quoted_short():
    with pytest.raises(ValueError) as caught:
        post_from_source(("---\ntitle: T\ndate: " + "9" * 5000 + "x\n---\n").encode(), "x.md")
    assert len(str(caught.value)) < 200


def test_pelican_and_the_cli_read_the_same_front_matter_values(tmp_path: Path) -> None:
    pytest.importorskip("pelican")
    from postkin.hosts.pelican import post_from_article
    from postkin.settings import Settings

    class Article:
        title = "T"
        url = "posts/t.html"
        source_path = str(tmp_path / "t.md")
        relative_source_path = "t.md"
        tags: list = []
        category = None
        date = dt.datetime(2024, 1, 1)
        metadata = {"views": "1,200", "summary": "Lede"}
        _content = "<p>Lede</p><h2>Part</h2><p>Body text here.</p>"

    post = post_from_article(Article(), "t", Settings(), True)
    assert post.popularity == 1200.0 == post_from_source(b'---\ntitle: T\nviews: "1,200"\n---\n', "t.md").popularity


@pytest.mark.parametrize("value", ['!!timestamp "J"', '!!int "x"', '!!float "x"', "!!timestamp 2024-13-45"])
def test_an_explicit_yaml_tag_on_a_value_it_cannot_hold_is_one_line(value):
    """PyYAML's constructors raise AttributeError/ValueError for these: the build died with a traceback."""
    with pytest.raises(ValueError) as caught:
        post_from_source(f"---\ntitle: {value}\n---\nbody\n".encode(), "x.md")
    assert str(caught.value).startswith("front matter is not valid YAML") and "\n" not in str(caught.value)
