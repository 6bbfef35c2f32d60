"""The Pelican plugin on small throwaway sites: context, site-wide data, settings, drafts, incremental pages."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pelican = pytest.importorskip("pelican")
from pelican import Pelican
from pelican.log import console  # noqa: E402
from pelican.settings import read_settings  # noqa: E402

from postkin.errors import PostkinError, SettingsError  # noqa: E402

THEME = {
    "base.html": """
        <html><head><title>{{ SITENAME }}</title></head><body>
        {% block content %}{% endblock %}
        <nav class="topics">{% for c in postkin.clusters %}<section data-size="{{ c.size }}"><h3>{{ c.label }}</h3>
        {% for m in c.members %}<a class="member" href="{{ SITEURL }}/{{ m.url }}">{{ m.article.title }}</a>
        {% endfor %}</section>{% endfor %}</nav>
        <aside>{% for a in articles %}<a href="{{ SITEURL }}/{{ a.url }}">{{ a.title }}</a>{% endfor %}</aside>
        </body></html>""",
    "article.html": """
        {% extends "base.html" %}{% block content %}<h1>{{ article.title }}</h1>{{ article.content }}
        {% if article.postkin %}
        <ul class="related">{% for item in article.postkin.related %}
        <li><a class="related" href="{{ SITEURL }}/{{ item.url }}">{{ item.article.title }}</a> {{ item.score }}</li>
        {% endfor %}</ul>
        <p class="cluster">{{ article.postkin.cluster.label }}</p>
        <ul class="latest">{% for item in article.postkin.cluster_latest %}<li><a class="latest" href="{{ SITEURL }}/{{ item.url }}">{{ item.article.title }}</a></li>{% endfor %}</ul>
        <ul class="popular">{% for item in article.postkin.cluster_popular %}<li><a class="popular" href="{{ SITEURL }}/{{ item.url }}">{{ item.title }}</a> {{ item.popularity }}</li>{% endfor %}</ul>
        <ul class="tags">{% for t in article.postkin.suggested_tags %}<li>{{ t.tag }}</li>{% endfor %}</ul>
        {% endif %}{% endblock %}""",
    "index.html": """
        {% extends "base.html" %}{% block content %}
        {% for a in articles_page.object_list %}<h2>{{ a.title }}</h2>{{ a.summary }}{% endfor %}
        {% if articles_page.has_next() %}<a href="{{ SITEURL }}/{{ articles_next_page.url }}">next</a>{% endif %}
        {% endblock %}""",
    "tag.html": """
        {% extends "base.html" %}{% block content %}<h1>{{ tag }}</h1>
        {% for a in articles_page.object_list %}<h2>{{ a.title }}</h2>{{ a.summary }}{% endfor %}{% endblock %}""",
    "category.html": """
        {% extends "base.html" %}{% block content %}<h1>{{ category }}</h1>
        {% for a in articles_page.object_list %}<h2>{{ a.title }}</h2>{% endfor %}{% endblock %}""",
}

TOPICS = {
    "python": ("Python packaging", "python", "pip wheels virtualenv packaging python tooling"),
    "postgres": ("PostgreSQL tuning", "postgresql", "postgresql index vacuum query planner database"),
    "css": ("CSS layout", "css", "css grid flexbox layout frontend browser"),
}

CONF = """
PATH = "content"
THEME = "theme"
SITENAME = "Throwaway"
SITEURL = ""
TIMEZONE = "UTC"
RELATIVE_URLS = True
PLUGINS = ["postkin"]
POSTKIN = {postkin!r}
ARTICLE_URL = ARTICLE_SAVE_AS = "posts/{{slug}}.html"
DRAFT_URL = DRAFT_SAVE_AS = "drafts/{{slug}}.html"
DEFAULT_PAGINATION = 3
SUMMARY_MAX_LENGTH = 6
DIRECT_TEMPLATES = ["index"]
AUTHOR_SAVE_AS = AUTHORS_SAVE_AS = ""
FEED_ALL_ATOM = CATEGORY_FEED_ATOM = TRANSLATION_FEED_ATOM = AUTHOR_FEED_ATOM = AUTHOR_FEED_RSS = None
"""

SUMMARY = re.compile(r"pages rendered (\d+), kept (\d+)")


def article(folder: Path, slug: str, title: str, tag: str, words: str, day: int, extra: str = "") -> Path:
    """Write a Pelican Markdown article."""
    path = folder / f"{slug}.md"
    path.write_text(textwrap.dedent(f"""\
        Title: {title}
        Date: 2024-01-{day:02d}
        Tags: {tag}
        Category: notes
        Slug: {slug}
        {extra}
        First paragraph about {words}.

        ## {words.split()[0]} basics

        Later paragraph: {words}.
        """).replace("\n\n\n", "\n\n"), encoding="utf-8")
    return path


def make_site(root: Path, postkin: dict | None = None) -> Path:
    """A site with 9 articles on three topics, a draft, a minimal theme and pelicanconf.py."""
    content = root / "content"
    content.mkdir(parents=True)
    day = 1
    for key, (title, tag, words) in TOPICS.items():
        for n in range(3):
            article(content, f"{key}-{n}", f"{title} part {n}", tag, words, day,
                    extra=f"Views: {100 * day}")
            day += 1
    article(content, "python-draft", "Python packaging draft", "python", TOPICS["python"][2], 20,
            extra="Status: draft")
    templates = root / "theme" / "templates"
    templates.mkdir(parents=True)
    for name, text in THEME.items():
        (templates / name).write_text(textwrap.dedent(text).strip() + "\n", encoding="utf-8")
    (root / "pelicanconf.py").write_text(CONF.format(postkin=postkin or {"encoder": "fake", "tags_min_score": 0.0}), encoding="utf-8")
    return root


PRINTED: list[str] = []  # what the last build() printed on Pelican's console


def build(root: Path, out: str = "output", caplog=None, **overrides) -> tuple[int, int] | None:
    """Build the site in-process; returns (pages rendered, pages kept) from postkin's summary line."""
    settings = read_settings(str(root / "pelicanconf.py"), override={"OUTPUT_PATH": str(root / out), **overrides})
    if caplog is not None:
        caplog.clear()
    with caplog.at_level(logging.INFO, logger="pelican.plugins.postkin") if caplog else _null():
        with console.capture() as printed:  # postkin's summary is printed beside Pelican's "Done:" line
            Pelican(settings).run()
    PRINTED[:] = printed.get().splitlines()
    if caplog is None:
        return None
    found = [m for m in map(SUMMARY.search, printed.get().splitlines()) if m]
    assert found, "postkin printed no summary line"
    return int(found[-1].group(1)), int(found[-1].group(2))


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def files(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder: relative path -> bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def links(html: str, css_class: str) -> list[str]:
    return re.findall(rf'<a class="{css_class}" href="([^"]+)"', html)


@pytest.fixture
def site(tmp_path: Path, fake_encoder) -> Path:
    return make_site(tmp_path / "site")


def test_articles_get_postkin_context_linked_to_articles(site: Path) -> None:
    build(site)
    out = site / "output"
    page = (out / "posts" / "python-0.html").read_text(encoding="utf-8")
    related = links(page, "related")
    assert len(related) == 5
    assert related[:2] == ["../posts/python-1.html", "../posts/python-2.html"] or \
        set(related[:2]) == {"../posts/python-1.html", "../posts/python-2.html"}
    for href in related + links(page, "latest"):
        assert (out / "posts" / href).resolve().is_file(), href  # links resolve to pages that exist
    assert "Python packaging part 1" in page  # item.article.title
    assert re.search(r'<ul class="tags"><li>\w+', page)  # suggested tags
    assert links(page, "popular")  # views from the articles' metadata


def test_site_wide_clusters_on_every_template(site: Path) -> None:
    build(site)
    index = (site / "output" / "index.html").read_text(encoding="utf-8")
    sizes = [int(s) for s in re.findall(r'data-size="(\d+)"', index)]
    assert sum(sizes) == 9  # every published article in one cluster, the draft in none
    members = links(index, "member")
    assert len(members) == 9 and not any("draft" in m for m in members)
    assert "Python packaging part 2" in index  # member.article.title
    assert 'data-size="' in (site / "output" / "tag" / "css.html").read_text(encoding="utf-8")


def test_drafts_get_context_but_are_never_recommended(site: Path) -> None:
    build(site)
    out = site / "output"
    draft = (out / "drafts" / "python-draft.html").read_text(encoding="utf-8")
    assert links(draft, "related"), "a draft previews its related posts"
    for page in (out / "posts").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not any("draft" in href for cls in ("related", "latest", "popular") for href in links(html, cls))


def _errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_settings_typo_is_one_error_line_and_the_site_still_builds(site: Path, fake_encoder, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="pelican.plugins.postkin"):
        build(site, POSTKIN={"encoder": "fake", "relatd_k": 3})
    assert _errors(caplog) == ["postkin: pelicanconf.py POSTKIN: unknown postkin setting 'relatd_k' (did you mean "
                               "'related_k'?); the site is built without postkin's lists (POSTKIN strict = True "
                               "stops the build instead)"]
    page = (site / "output" / "posts" / "css-0.html").read_text(encoding="utf-8")
    assert not links(page, "related") and fake_encoder.calls == 0


def test_settings_typo_stops_a_strict_build_naming_the_key(site: Path) -> None:
    settings = read_settings(str(site / "pelicanconf.py"), override={
        "OUTPUT_PATH": str(site / "output"), "POSTKIN": {"encoder": "fake", "relatd_k": 3, "strict": True}})
    with pytest.raises(SettingsError, match=r"pelicanconf.py POSTKIN: unknown postkin setting 'relatd_k' "
                                            r"\(did you mean 'related_k'\?\)"):
        Pelican(settings)


def test_bad_value_names_the_key(site: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="pelican.plugins.postkin"):
        build(site, POSTKIN={"related_k": "five"})
    assert len(_errors(caplog)) == 1 and "setting 'related_k' must be a whole number" in _errors(caplog)[0]


def test_a_failing_build_step_is_one_line_unless_strict(site: Path, fake_encoder, caplog) -> None:
    """An error found while postkin runs (here a popularity file that is not JSON) leaves the build going."""
    (site / "views.json").write_text("{not json", encoding="utf-8")
    postkin = {"encoder": "fake", "popularity_file": str(site / "views.json")}
    with caplog.at_level(logging.INFO, logger="pelican.plugins.postkin"):
        build(site, POSTKIN=postkin)
    assert len(_errors(caplog)) == 1 and "views.json: not valid JSON (line 1" in _errors(caplog)[0]
    assert (site / "output" / "posts" / "css-0.html").is_file()
    with pytest.raises(PostkinError, match="views.json: not valid JSON"):
        build(site, POSTKIN={**postkin, "strict": True})


def test_the_pelican_command_shows_no_traceback(site: Path) -> None:
    """What a user of `pelican` sees for a misspelt key: one line, the site built, exit code 0."""
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8").replace("POSTKIN = {", "POSTKIN = {'relatd_k': 3, ", 1),
                    encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pelican", "content", "-s", "pelicanconf.py", "-o", "output"],
                            cwd=site, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "COLUMNS": "400", "PYTHONPATH": os.pathsep.join(sys.path)})
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "unknown postkin setting 'relatd_k' (did you mean 'related_k'?)" in said
    assert "Traceback" not in said and (site / "output" / "index.html").is_file()


def test_json_output_and_cache(site: Path, fake_encoder, caplog) -> None:
    build(site, POSTKIN={"encoder": "fake", "json_output": "data"})
    data = json.loads((site / "data" / "postkin.json").read_text(encoding="utf-8"))
    assert set(data["posts"]) >= {"python-0", "css-2", "python-draft"}
    assert (site / "data" / "posts" / "css-0.json").is_file()
    assert (site / ".postkin-cache").is_dir()  # beside the content folder
    calls = fake_encoder.calls
    build(site, caplog=caplog, POSTKIN={"encoder": "fake", "json_output": "data"})
    assert fake_encoder.calls == calls  # every embedding from the cache
    assert any("10 posts (0 embedded now, 10 from cache)" in line for line in PRINTED)


def test_bad_metadata_is_a_warning_naming_the_file(site: Path, caplog) -> None:
    article(site / "content", "bad-views", "Bad views", "css", "css grid", 25, extra="Views: lots")
    build(site, caplog=caplog)
    assert any("bad-views.md" in r.getMessage() and "'views' must be a number" in r.getMessage()
               and r.levelno == logging.WARNING for r in caplog.records)


# -- incremental rendering -------------------------------------------------------------------------

def _edit_body(site: Path) -> None:
    path = site / "content" / "css-1.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nA new closing paragraph on subgrid.\n", encoding="utf-8")


def _add_post(site: Path) -> None:
    article(site / "content", "css-3", "CSS layout part 3", "css", TOPICS["css"][2], 28)


def _edit_template(site: Path) -> None:
    path = site / "theme" / "templates" / "article.html"
    path.write_text(path.read_text(encoding="utf-8").replace("<h1>", "<h1 class='title'>"), encoding="utf-8")


def _edit_title(site: Path) -> None:
    path = site / "content" / "postgres-2.md"
    path.write_text(path.read_text(encoding="utf-8").replace("PostgreSQL tuning part 2", "Vacuum deep dive"),
                    encoding="utf-8")


CHANGES = {
    "no change": (lambda site: None, {}),
    "one body edited": (_edit_body, {}),
    "post added": (_add_post, {}),
    "template edited": (_edit_template, {}),
    "title edited": (_edit_title, {}),
    "pelican setting": (lambda site: None, {"SITENAME": "Renamed"}),
    "postkin setting": (lambda site: None, {"POSTKIN": {"encoder": "fake", "related_k": 2}}),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_incremental_build_equals_clean_build(site: Path, caplog, change: str) -> None:
    edit, overrides = CHANGES[change]
    rendered, kept = build(site, caplog=caplog)
    assert kept == 0 and rendered > 0
    total = rendered
    untouched = site / "output" / "posts" / "python-0.html"
    before = untouched.stat().st_mtime_ns

    edit(site)
    rendered, kept = build(site, caplog=caplog, **overrides)
    clean = build(site, out="clean", caplog=caplog, **overrides)
    assert clean[1] == 0, "a new output folder is a clean build"
    assert files(site / "output") == files(site / "clean")

    if change == "no change":
        assert (rendered, kept) == (0, total)
    elif change == "one body edited":
        # the post itself and the list pages that show it (index, its tag, its category); no other article
        assert 1 <= rendered <= 7 and kept >= total - 7
        assert untouched.stat().st_mtime_ns == before
    elif change == "post added":
        assert kept == 0 and rendered > total  # the site-wide article list is on every page
    else:
        assert rendered + kept == total and rendered >= 1
    if change in ("template edited", "pelican setting", "postkin setting", "title edited"):
        assert kept == 0


def test_deleted_output_is_rendered_again(site: Path, caplog) -> None:
    build(site)
    victim = site / "output" / "posts" / "css-2.html"
    expected = victim.read_bytes()
    victim.unlink()
    (site / "output" / "index.html").write_text("tampered", encoding="utf-8")
    rendered, kept = build(site, caplog=caplog)
    assert rendered == 2
    assert victim.read_bytes() == expected
    assert "tampered" not in (site / "output" / "index.html").read_text(encoding="utf-8")


def test_incremental_off_uses_pelicans_writer(site: Path, caplog) -> None:
    build(site, caplog=None, POSTKIN={"encoder": "fake", "incremental": False})
    build(site, caplog=None, POSTKIN={"encoder": "fake", "incremental": False})
    lines = [line for line in PRINTED if "posts (" in line]
    assert lines and "pages rendered" not in lines[-1]


def test_delete_output_directory_renders_everything_and_says_why(site: Path, caplog) -> None:
    build(site, caplog=caplog, DELETE_OUTPUT_DIRECTORY=True)
    # (Pelican's loggers say a message once per process, so look for it after the first build.)
    assert any("DELETE_OUTPUT_DIRECTORY is on" in r.getMessage() for r in caplog.records)
    rendered, kept = build(site, caplog=caplog, DELETE_OUTPUT_DIRECTORY=True)
    assert kept == 0 and rendered > 0


def test_installed_pelican_keeps_the_writer_contract() -> None:
    """The incremental writer overrides Pelican internals: this fails loudly on a Pelican that changed them."""
    from postkin.pelican_writer import SUPPORTED_PELICAN, check_pelican

    assert check_pelican() is None
    assert pelican.__version__.rsplit(".", 1)[0] in SUPPORTED_PELICAN, (
        f"Pelican {pelican.__version__} is not in SUPPORTED_PELICAN {SUPPORTED_PELICAN}: run this suite "
        "against it and add it there")


def test_a_changed_pelican_writer_falls_back_to_pelicans_own(site: Path, caplog, monkeypatch) -> None:
    from pelican.writers import Writer

    def _open_w(self, path, encoding, overwrite=False, **kwargs):  # renamed parameters: the contract broke
        return open(path, "w", encoding=encoding)

    monkeypatch.setattr(Writer, "_open_w", _open_w)
    with caplog.at_level(logging.WARNING, logger="pelican.plugins.postkin"):
        build(site)
    assert any("incremental writer off" in r.getMessage() and "Writer._open_w" in r.getMessage()
               for r in caplog.records)
    assert (site / "output" / "posts" / "css-2.html").is_file()
    assert not any("pages rendered" in line for line in PRINTED)
