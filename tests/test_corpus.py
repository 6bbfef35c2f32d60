"""The generic dialect (a folder of Markdown posts without a generator): front matter forms real blogs
use, dates, tags, drafts, opt-out, bad files, files that are not posts, and the parsed-post cache."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import write_post

from postkin.corpus import check_unique_slugs, render_url
from postkin.dialects import read_site
from postkin.dialects.generic import post_from_source
from postkin.errors import PostkinError
from postkin.metadata import as_list
from postkin.settings import Settings


def read_posts(folder, cache=None):
    """(posts, problems, opted out, parsed now) of a folder read by the generic dialect."""
    corpus = read_site(folder, Settings(), cache)
    return corpus.posts, corpus.problems, corpus.opted_out, corpus.parsed


def test_yaml_front_matter_keys_blogs_use():
    raw = (
        b"---\ntitle: 'Hello *world*'\ndate: 2024-05-01T10:00:00+09:00\ntag: python\n"
        b"category: Dev, Tools\ndescription: The lede.\nslug: hello\nviews: 42\n---\n"
        b"Intro paragraph.\n\n## First section\n\n```\n# not a heading\n```\n\nSetext\n------\n"
    )
    post = post_from_source(raw, "a/b.md")
    assert post.title == "Hello *world*" and post.plain_title == "Hello world"  # shown as written
    assert post.slug == "hello"
    assert post.tags == ["python"]
    assert post.categories == ["Dev", "Tools"]
    assert post.lede == "The lede."
    assert post.headings == ["First section", "Setext"]
    assert post.date == dt.datetime(2024, 5, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert post.popularity == 42.0
    assert "not a heading" not in post.body


def test_toml_front_matter_and_comma_separated_tags():
    raw = b'+++\ntitle = "Hugo post"\ndate = 2023-02-03\ntags = "a, b,  c"\ndraft = true\n+++\nBody text here.\n'
    post = post_from_source(raw, "hugo.md")
    assert post.title == "Hugo post" and post.tags == ["a", "b", "c"] and post.draft
    assert post.date == dt.datetime(2023, 2, 3)
    assert post.lede == "Body text here."


def test_jekyll_file_name_gives_date_and_slug_and_published_false_is_draft():
    post = post_from_source(b"---\ntitle: T\npublished: false\n---\ntext", "2019-07-04-my-post.md")
    assert post.slug == "my-post" and post.date == dt.datetime(2019, 7, 4) and post.draft


def test_opt_out_returns_none():
    assert post_from_source(b"---\ntitle: T\npostkin: false\n---\nx", "x.md") is None


@pytest.mark.parametrize("raw, reason", [
    (b"", "empty"),
    (b"---\ntitle: [unclosed\n---\nx", "not valid YAML"),
    (b"---\nauthors:\n- melody\t\t\ntags: [a]\n---\nx", "not valid YAML at line 3"),
    (b"---\ntitle: caf\xe9\n---\n", "not UTF-8"),
    (b"---\n- a list\n---\n", "not a mapping"),
    (b"---\ntitle: x\ndate: yesterday\n---\n", "not a date"),
])
def test_bad_files_give_one_line_reasons(raw, reason):
    with pytest.raises(ValueError, match=reason) as info:
        post_from_source(raw, "bad.md")
    assert "\n" not in str(info.value)


def test_read_posts_skips_bad_files_and_keeps_going(tmp_path):
    write_post(tmp_path, "good.md", "title: Good")
    (tmp_path / "bad.md").write_text("---\ntitle: [x\n---\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    write_post(tmp_path, "sub/other.markdown", "title: Other\npostkin: false")
    (tmp_path / "notes.txt").write_text("ignored")
    posts, problems, opted_out, _ = read_posts(tmp_path)
    assert [p.source for p in posts] == ["good.md"]
    assert [p.path for p in problems] == ["bad.md"] and opted_out == 1


def test_slug_collisions_from_file_names_keep_the_dated_stem(tmp_path):
    write_post(tmp_path, "2023-05-08-award.md", "title: A")
    write_post(tmp_path, "2024-01-12-award.md", "title: B")
    posts, problems, _, _ = read_posts(tmp_path)
    assert sorted(p.slug for p in posts) == ["2023-05-08-award", "2024-01-12-award"]


def test_explicit_duplicate_slugs_are_an_error_naming_both_files(tmp_path):
    write_post(tmp_path, "a.md", "title: A\nslug: same")
    write_post(tmp_path, "b.md", "title: B\nslug: same")
    posts, _, _, _ = read_posts(tmp_path)
    with pytest.raises(PostkinError, match="b.md: slug 'same' is also used by a.md"):
        check_unique_slugs(posts)


@pytest.mark.parametrize("slug", ["../../x", "a/b", ".hidden", ".."])
def test_unsafe_slugs_are_refused(slug):
    with pytest.raises(PostkinError, match="not allowed"):
        post_from_source(f"---\ntitle: T\nslug: '{slug}'\n---\n".encode(), "x.md")


def test_as_list_forms():
    assert as_list(None) == [] and as_list("a") == ["a"] and as_list(["a", "a", " b "]) == ["a", "b"]
    assert as_list(2024) == ["2024"]


def test_url_pattern():
    post = post_from_source(b"---\ntitle: T\n---\n", "2020-01-02-x.md")
    assert render_url("/{year}/{month}/{day}/{slug}/", post) == "/2020/01/02/x/"
    with pytest.raises(PostkinError, match="unknown field"):
        render_url("/{nope}/", post)


def test_dates_blogs_write():
    from postkin.metadata import parse_date

    assert parse_date("2015-12-31T1:44") == dt.datetime(2015, 12, 31, 1, 44)
    assert parse_date("2014-08-19 08:23 +0900").utcoffset() == dt.timedelta(hours=9)
    assert parse_date(dt.date(2020, 1, 2)) == dt.datetime(2020, 1, 2)


def test_parsed_posts_come_back_identical_from_the_cache(tmp_path, monkeypatch):
    from postkin import corpus as posts_module
    from postkin.cache import EmbeddingCache
    from postkin.dialects.generic import GenericDialect

    content = tmp_path / "content"
    write_post(content, "2024-01-02-a.md", "title: A\ndate: 2024-01-02T10:00:00+09:00\ntags: [x, y]\nviews: 3",
               "Intro [link](/b/).\n\n## Part\n\ntext")
    write_post(content, "b.md", "title: B\ndraft: true\nredirect_from: [/old/]")
    write_post(content, "c.md", "title: C\npostkin: false")
    (content / "bad.md").write_text("---\ntitle: [x\n---\n", encoding="utf-8")
    fresh = read_posts(content)
    with EmbeddingCache(tmp_path / "cache") as cache:
        first = read_posts(content, cache=cache)
        assert sorted(first[3]) != [] and cache.get_parsed(posts_module.parser_version(), first[3]) == {}
        cache.put_parsed(posts_module.parser_version(), first[3])  # what a build does once it succeeded
        parsed = []
        real = GenericDialect.document
        monkeypatch.setattr(GenericDialect, "document",
                            lambda self, raw, source, path: parsed.append(source) or real(self, raw, source, path))
        again = read_posts(content, cache=cache)
    assert fresh[:3] == first[:3] == again[:3] and again[3] == {}
    assert parsed == ["bad.md"]  # only the broken file is parsed again: the others come from the cache
    assert again[0][0].date.utcoffset() is not None and again[2] == 1 and len(again[1]) == 1


def test_permalink_wins_and_disambiguated_slugs_keep_their_url(tmp_path):
    write_post(tmp_path, "2007-12-24-res.md", "title: A\npermalink: /2007/1224/res8/")
    write_post(tmp_path, "2021-01-01-report.md", "title: B")
    write_post(tmp_path, "2022-12-22-report.md", "title: C")
    write_post(tmp_path, "2023-01-01-pattern.md", "title: D\npermalink: /:year/:title/")
    posts, _, _, _ = read_posts(tmp_path)
    urls = {p.slug: render_url("/{year}/{month}/{day}/{slug}/", p) for p in posts}
    assert urls == {"res": "/2007/1224/res8/", "2021-01-01-report": "/2021/01/01/report/",
                    "2022-12-22-report": "/2022/12/22/report/", "pattern": "/2023/01/01/pattern/"}


def test_yaml_error_without_a_position_is_still_one_line(monkeypatch):
    import yaml

    def broken(*args, **kwargs):
        raise yaml.YAMLError("something odd")

    monkeypatch.setattr(yaml, "load", broken)
    with pytest.raises(ValueError, match="front matter is not valid YAML: something odd"):
        post_from_source(b"---\ntitle: x\n---\n", "x.md")
