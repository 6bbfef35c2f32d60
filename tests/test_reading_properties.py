"""Property-based tests (Hypothesis) of reading a post (issue #13): any bytes, and front matter made of the
pieces hostile files use (anchors and aliases, explicit YAML tags, tabs, NUL, a byte-order mark, TOML
fences, huge numbers), give a Post, None (opted out) or a one-line reason, never another exception, within
a time bound (Hypothesis' deadline) and a memory bound (tracemalloc's peak for that one file)."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from postkin.corpus import Post
from postkin.dialects.base import NotAPost
from postkin.dialects.generic import post_from_source
from postkin.errors import PostkinError

MEMORY_BOUND = 64 << 20  # bytes allocated while reading one file of at most a few KB

KEYS = ["title", "date", "tags", "tag", "categories", "slug", "views", "draft", "lang", "description",
        "summary", "postkin", "postkin_pin", "published", "updated", "permalink", "aliases"]
VALUES = ["T", '"quoted: title"', "2024-01-02", "2024-13-45", "2024-01-02T03:04:05+09:00", "Created",
          "[a, b, c]", "[a, [b, [c]]]", "{x: 1}", "&a [x, y, x, y]", "*a", "&h [*a, *a, *a, *a]", "*h",
          '!!timestamp "J"', '!!int "x"', '!!float "x"', "!!binary aGVsbG8=", "!!python/object:os.system {}",
          "!!set {a, b}", "~", "null", "yes", "no", "1,200", "-1", "1e309", "9" * 5000, "'\t'", "\"\\0\"",
          "|\n  block\n  text", ">-\n  folded", "\"\\U0001F600\"", "テスト", "<script>alert(1)</script>"]
FENCES = [("---\n", "---\n"), ("+++\n", "+++\n"), ("\ufeff---\n", "---\n"), ("---\r\n", "---\r\n"), ("", "")]


def _read(raw: bytes) -> None:
    """Read one file; fail the test on anything but a Post, None or a one-line reason, or on a file that
    allocates more than MEMORY_BOUND."""
    tracemalloc.start()
    try:
        try:
            result = post_from_source(raw, "posts/2024-01-02-x.md")
        except (ValueError, NotAPost, PostkinError) as exc:
            reason = str(exc)
            assert reason and "\n" not in reason and len(reason) < 2000, repr(reason)
        else:
            assert result is None or isinstance(result, Post)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.0f} MB for a {len(raw)}-byte file"


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_any_bytes_give_a_post_or_one_line(raw: bytes) -> None:
    _read(raw)


@settings(max_examples=500, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@example(fence=FENCES[0], pairs=[("title", '!!timestamp "J"', "")], noise="", body="")  # found by fuzzing (#13)
@given(fence=st.sampled_from(FENCES),
       pairs=st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES),
                                st.sampled_from(["", "", "", "", "  ", "\t"])), min_size=1, max_size=8),
       noise=st.sampled_from(["", "", "", "", "# a comment", "a line without a colon", "\x00", "\t- x", ": :"]),
       body=st.text(max_size=300))
def test_hostile_front_matter_gives_a_post_or_one_line(fence: tuple[str, str], pairs: list[tuple[str, str, str]],
                                                       noise: str, body: str) -> None:
    opening, closing = fence
    lines = [f"{indent}{key}: {value}" for key, value, indent in pairs]
    text = opening + "\n".join([*lines, noise]) + "\n" + closing + "# Heading\n\n" + body
    _read(text.encode("utf-8", "surrogatepass"))


def test_an_alias_bomb_is_refused_within_the_bounds() -> None:
    """The billion-laughs shape under 1 KB (it grew to 5.5 GB before #13)."""
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(8)]
    raw = ("---\n" + "\n".join(levels) + "\ntitle: *i\n---\nbody\n").encode()
    _read(raw)
    with pytest.raises(ValueError, match="aliases"):
        post_from_source(raw, "posts/2024-01-02-x.md")
