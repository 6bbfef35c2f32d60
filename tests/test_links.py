"""Links between posts, in the forms blogs write them."""

from __future__ import annotations

from postkin.dialects.generic import post_from_source
from postkin.links import extract_links, link_pairs

BODY = """
See [the launch](/2015/08/18/launch/) and [docs](https://example.gov/2016/01/02/docs/#part).
<a href="/blog/2017/03/04/html-link/">raw</a>, ref style [x][1], [liquid]({{ "/2018/05/06/liquid/" | url }}),
{% post_url 2019-07-08-jekyll-ref %}, [hugo]({{< ref "hugo-ref" >}}), ![img](/img/a.png), [mail](mailto:a@b.c).

[1]: /2020/01/01/ref-def/
"""


def test_extract_links_in_every_form():
    assert extract_links(BODY) == [
        "/2015/08/18/launch/", "https://example.gov/2016/01/02/docs/#part", "/blog/2017/03/04/html-link/",
        "/2018/05/06/liquid/", "/2020/01/01/ref-def/", "ref:2019-07-08-jekyll-ref", "ref:hugo-ref",
    ]


def _post(source: str, body: str = "", front: str = "") -> object:
    return post_from_source(f"---\ntitle: T\n{front}---\n{body}".encode(), source)


def test_link_pairs_match_slugs_paths_aliases_but_not_other_hosts():
    posts = [
        _post("2015-08-18-launch.md", BODY),
        _post("2019-07-08-jekyll-ref.md"),
        _post("notes.md", front="slug: hugo-ref\n"),
        _post("old.md", front="redirect_from: [/blog/2017/03/04/html-link/]\n"),
        _post("2016-01-02-docs.md"),  # linked only by an absolute URL on another host: not matched
        _post("2020-01-01-ref-def.md", "[back](/2015/08/18/launch/)"),
    ]
    for p in posts:
        p.url = f"/{p.slug}/"
    assert link_pairs(posts) == [(0, 1), (0, 2), (0, 3), (0, 5), (5, 0)]


def test_footnote_definitions_are_not_links():
    """`[^1]: Note that ...` is a footnote, not a reference definition: its first word is no link target."""
    body = "A claim.[^1]\n\n[^1]: Note that this is a footnote.\n[^2]: <b>bold</b> too\n[ref]: /2020/01/01/x/\n"
    assert extract_links(body) == ["/2020/01/01/x/"]
    posts = [_post("2024-01-01-claims.md", body), _post("note.md")]
    for p in posts:
        p.url = f"/{p.slug}/"
    assert link_pairs(posts) == []
