"""Editorial controls (issue #17): pins, exclusions, ignored tags, recency and direction, the threshold
and its fallback, on small blogs built through `postkin build` with the fake encoder."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_post

from postkin import corpus as corpus_module
from postkin.cli import main
from postkin.controls import PostLookup
from postkin.errors import SettingsError
from postkin.pipeline import build_folder
from postkin.readers.browser import load
from postkin.related import related_posts
from postkin.settings import Settings

# (file, title, tags, categories, words): three topics of four posts, dated a month apart
POSTS = [
    ("2023-01-05-wheels.md", "Python wheels", "[python, packaging]", "[code]", "pip wheels packaging python build"),
    ("2023-03-05-uv.md", "Moving to uv", "[python, packaging]", "[code]", "uv python lock packaging pip"),
    ("2023-05-05-venv.md", "Virtual environments", "[python]", "[code]", "venv python packaging pip virtualenv"),
    ("notes/2023-07-05-pyproject.md", "pyproject notes", "[python, featured]", "[notes]",
     "pyproject python packaging build pip"),
    ("2023-02-05-vacuum.md", "Tuning autovacuum", "[postgresql]", "[databases]", "postgresql vacuum bloat tuples"),
    ("2023-04-05-indexes.md", "Partial indexes", "[postgresql]", "[databases]", "postgresql index planner partial"),
    ("2023-06-05-explain.md", "Reading EXPLAIN", "[postgresql, featured]", "[databases]",
     "postgresql planner explain analyze"),
    ("2024-08-05-replication.md", "Logical replication", "[postgresql]", "[databases]",
     "postgresql replication wal slots"),
    ("2023-01-20-grid.md", "CSS grid areas", "[css]", "[frontend]", "css grid areas layout frontend"),
    ("2023-03-20-has.md", "The has selector", "[css]", "[frontend]", "css has selector layout frontend"),
    ("2023-05-20-subgrid.md", "Subgrid", "[css, featured]", "[frontend]", "css subgrid grid layout frontend"),
    ("2024-09-20-container.md", "Container queries", "[css]", "[frontend]", "css container queries layout"),
]
NOW = dt.datetime(2024, 10, 1, tzinfo=dt.timezone.utc)
SCHEMA = Path(__file__).resolve().parents[1] / "plugin" / "postkin" / "schema" / "postkin.schema.json"
LISTS = ("related", "cluster_latest", "cluster_popular")


def make_blog(root: Path, front: dict[str, str] | None = None, views: bool = True) -> Path:
    """content/ with POSTS (front: extra front-matter lines by file name); posts get page views."""
    content = root / "content"
    for n, (name, title, tags, categories, words) in enumerate(POSTS):
        lines = [f'title: "{title}"', f"tags: {tags}", f"categories: {categories}"]
        if views:
            lines.append(f"views: {100 * (n + 1)}")
        lines += (front or {}).get(name, "").splitlines()
        write_post(content, name, "\n".join(lines), f"\n{words}. More about {words}.\n")
    return content


def build(root: Path, settings: str = "", front: dict[str, str] | None = None, **kwargs: object) -> dict:
    """Build root's blog with `settings` (postkin.toml lines) through the CLI: postkin.json's data."""
    content = make_blog(root, front) if not (root / "content").exists() else root / "content"
    config = root / "postkin.toml"
    config.write_text('encoder = "fake"\nrelated_k = 3\ncluster_k = 3\nclusters = 3\ntags_min_score = 0.0\n'
                      f"{settings}\n", encoding="utf-8")
    out = root / "out"
    result = CliRunner().invoke(main, ["build", str(content), "--out", str(out), "--config", str(config),
                                       "--cache-dir", str(root / "cache")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((out / "postkin.json").read_text(encoding="utf-8"))


def listed_anywhere(data: dict) -> set[str]:
    """Every post key any list of any post shows, and every topic member."""
    found = {item["slug"] for ctx in data["posts"].values() for name in LISTS for item in ctx[name]}
    return found | {m["slug"] for c in data["clusters"] for m in c["members"]}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(corpus_module, "clock", lambda: NOW)


def test_no_control_set_builds_what_it_built_before(tmp_path, fake_encoder):
    """Controls that are not set make no Controls value at all, so nothing in the lists can change."""
    data = build(tmp_path)
    assert not any("pinned" in item or "fallback" in item for ctx in data["posts"].values() for item in ctx["related"])
    assert not any("excluded" in ctx for ctx in data["posts"].values())
    posts = [corpus_module.Post("a.md", "a", "A")]
    from postkin.controls import of

    assert of(posts, Settings(), np.ones(1, bool)) is None


def test_pins_by_key_path_and_url_come_first_and_count_toward_related_k(tmp_path, fake_encoder, caplog):
    front = {"2023-01-20-grid.md": "postkin_pin: [explain, notes/2023-07-05-pyproject.md, /2023/03/05/uv/, nope]"}
    with caplog.at_level(logging.WARNING, logger="postkin"):
        data = build(tmp_path, front=front)
    related = data["posts"]["grid"]["related"]
    assert [item["slug"] for item in related] == ["explain", "pyproject", "uv"]  # related_k 3: pins fill it
    assert all(item.get("pinned") is True for item in related)
    assert all("pinned" not in item for slug, ctx in data["posts"].items() if slug != "grid" for item in ctx["related"])
    missing = [r.getMessage() for r in caplog.records if "nope" in r.getMessage()]
    assert missing == ["2023-01-20-grid.md: postkin_pin 'nope' names no post; write another post's key, source path or URL"]


def test_a_pin_beats_an_exclusion_but_never_a_draft(tmp_path, fake_encoder):
    front = {"2023-01-20-grid.md": "postkin_pin: [explain, wheels]",
             "2023-06-05-explain.md": "postkin_recommend: false",
             "2023-01-05-wheels.md": "draft: true"}
    data = build(tmp_path, front=front)
    grid = data["posts"]["grid"]["related"]
    assert grid[0] == {**grid[0], "slug": "explain", "pinned": True}  # excluded, and pinned: listed here
    assert "wheels" not in {item["slug"] for item in grid}  # a draft: never listed, pinned or not
    assert len(grid) == 3  # the draft's place went to the best unpinned post
    others = {item["slug"] for slug, ctx in data["posts"].items() if slug != "grid" for name in LISTS
              for item in ctx[name]}
    assert "explain" not in others and "wheels" not in others
    assert data["posts"]["explain"]["excluded"] == "postkin_recommend: false"
    assert len(data["posts"]["explain"]["related"]) == 3  # it keeps its own lists
    assert data["posts"]["wheels"]["draft"] is True and "excluded" not in data["posts"]["wheels"]
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed (pip install 'postkin[test]')")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)  # pinned items and `excluded` are in the published schema
    data["posts"]["grid"]["related"][0]["pinned"] = False
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


@pytest.mark.parametrize("setting, gone", [
    ('exclude_tags = ["Feat*"]', {"pyproject", "explain", "subgrid"}),
    ('exclude_categories = "databases"', {"vacuum", "indexes", "explain", "replication"}),
    ('exclude_posts = ["notes/*"]', {"pyproject"}),  # a folder, by source path
    ('exclude_posts = ["has", "/2023/05/*"]', {"has", "venv", "subgrid"}),  # a key; URLs
])
def test_exclusions_keep_posts_out_of_every_list_but_not_out_of_their_own(tmp_path, fake_encoder, setting, gone):
    data = build(tmp_path, setting + "\nrecommend_for_you = true")
    assert listed_anywhere(data).isdisjoint(gone)
    for slug in gone:
        assert data["posts"][slug]["excluded"].startswith(setting.split(" =")[0])
        assert data["posts"][slug]["related"]  # its own page keeps its lists
    keys, _ = load((tmp_path / "out" / "postkin-vectors.json").read_bytes())
    assert set(keys) == set(data["posts"]) - gone  # nor in "Recommended for you"


def test_ignored_tags_are_no_signal_but_their_posts_stay_listed(tmp_path, fake_encoder):
    data = build(tmp_path, 'ignore_tags = ["featured"]\nrelated_use_tags = 0.5')
    assert not any(t["tag"] == "featured" for ctx in data["posts"].values() for t in ctx["suggested_tags"])
    assert all("featured" not in c["label"] for c in data["clusters"])
    assert {"pyproject", "explain", "subgrid"} <= listed_anywhere(data)
    with pytest.raises(SettingsError, match=r"^x: setting 'ignore_tags' keeps the posts of 'featured' listed, and "
                                            r"exclude_tags lists them nowhere"):
        Settings.from_mapping({"ignore_tags": ["Featured"], "exclude_tags": "featured"}, "x")


def test_max_age_days_lists_only_recent_posts_everywhere(tmp_path, fake_encoder):
    data = build(tmp_path, "max_age_days = 500")  # NOW - 500 days = 2023-05-20
    recent = {"subgrid", "pyproject", "explain", "replication", "container"}
    assert listed_anywhere(data) - {m["slug"] for c in data["clusters"] for m in c["members"]} <= recent
    shown = {item["slug"] for ctx in data["posts"].values() for name in LISTS for item in ctx[name]}
    assert shown and shown <= recent
    assert data["posts"]["wheels"]["excluded"] == "older than max_age_days (500)"


def test_include_newer_false_lists_only_older_posts(tmp_path, fake_encoder):
    data = build(tmp_path, "include_newer = false")
    for ctx in data["posts"].values():
        for name in LISTS:
            assert all(item["date"] <= ctx["date"] for item in ctx[name]), (ctx["slug"], name)
    assert data["posts"]["wheels"]["related"] == []  # the oldest post has nothing older
    assert data["posts"]["container"]["related"]


def test_the_recency_prior_orders_by_fused_score_plus_log_decay(tmp_path, fake_encoder):
    """Ranking by F + ln 2 * t / h; the scores kept are the fused scores themselves."""
    make_blog(tmp_path)
    half_life = 60.0
    settings = Settings(encoder="fake", related_k=4, recency_half_life_days=half_life, signals=True,
                        cache_dir=str(tmp_path / "cache"))
    corpus, result = build_folder(tmp_path / "content", settings)
    stages = result.stages
    assert stages is not None and stages.controls is not None
    plain = related_posts(stages.similarity.related, stages.listed, 4)
    days = np.array([p.sort_date() for p in stages.posts]) / 86400.0
    for i in range(len(stages.posts)):
        F = stages.similarity.related.rows(np.array([i]))[0].astype(np.float64)
        F[i] = -np.inf
        expected = np.argsort(-(F + math.log(2) * days / half_life), kind="stable")[:4]
        assert stages.related.idx[i].tolist() == expected.tolist()
        np.testing.assert_allclose(stages.related.fused[i], F[expected], rtol=1e-5)
    assert (stages.related.idx != plain.idx).any()  # the prior moved something on this blog
    newer = [np.mean([stages.posts[j].sort_date() for j in row]) for row in stages.related.idx]
    older = [np.mean([stages.posts[j].sort_date() for j in row]) for row in plain.idx]
    assert np.mean(newer) > np.mean(older)


def test_the_threshold_cuts_lists_and_the_fallback_fills_them_with_the_topics_newest(tmp_path, fake_encoder):
    data = build(tmp_path, "related_min_score = 1000.0")
    assert all(ctx["related"] == [] for ctx in data["posts"].values())
    data = build(tmp_path, "related_min_score = 1000.0\nrelated_fallback = \"latest\"\ninclude_newer = false")
    for ctx in data["posts"].values():
        assert all(item["fallback"] is True for item in ctx["related"])
        latest = [item["slug"] for item in ctx["cluster_latest"]]
        assert [item["slug"] for item in ctx["related"]] == latest[:3]  # the newest of its topic it may show
        assert all(item["date"] <= ctx["date"] for item in ctx["related"])
    plain = build(tmp_path, "signals = true")
    fused = sorted(item["signals"]["fused"] for ctx in plain["posts"].values() for item in ctx["related"])
    m = next(m for m in range(len(fused) // 2, len(fused) - 1) if fused[m + 1] - fused[m] > 0.001)
    cut = round((fused[m] + fused[m + 1]) / 2, 5)  # between two scores: rounding cannot put one on the line
    some = build(tmp_path, f"signals = true\nrelated_min_score = {cut}\nrelated_fallback = \"latest\"")
    for slug, ctx in some["posts"].items():
        kept = [item for item in ctx["related"] if "fallback" not in item]
        assert all(item["signals"]["fused"] >= cut for item in kept)
        was = [item["slug"] for item in plain["posts"][slug]["related"] if item["signals"]["fused"] >= cut]
        assert [item["slug"] for item in kept] == was  # the same ranking, cut at the threshold
        filled = [item["slug"] for item in ctx["related"] if item.get("fallback")]
        topic = [item["slug"] for item in ctx["cluster_latest"] if item["slug"] not in was]
        assert filled == topic[:3 - len(kept)]  # then filled with the newest of its topic
    assert any(item.get("fallback") for ctx in some["posts"].values() for item in ctx["related"])


@pytest.mark.parametrize("values, key", [
    ({"related_k": 0, "related_min_score": 1.0}, "related_min_score"),
    ({"related_k": 0, "related_fallback": "latest"}, "related_fallback"),
    ({"related_k": 0, "recency_half_life_days": 30}, "recency_half_life_days"),
])
def test_controls_that_would_do_nothing_are_one_line_errors(values, key):
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping(values, "postkin.toml")
    assert str(info.value) == (f"postkin.toml: setting '{key}' applies to related posts, and related_k is 0 (no "
                               "related posts are listed); remove it or set related_k")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("key, value, expected", [
    ("exclude_tags", "", "a pattern or a list of patterns"),
    ("exclude_posts", [1], "a pattern or a list of patterns"),
    ("max_age_days", 0, "a whole number of at least 1"),
    ("recency_half_life_days", -1, "a number above 0"),
    ("related_min_score", "high", "a number"),
    ("related_fallback", "popular", "one of ['none', 'latest']"),
])
def test_bad_control_values_name_the_key(key, value, expected):
    with pytest.raises(SettingsError, match=re.escape(f"src: setting '{key}' must be {expected}")):
        Settings.from_mapping({key: value}, "src")


def test_controls_are_row_local(tmp_path, fake_encoder):
    """Every control is a function of the row's post and the columns: ranking the rows in blocks of 2
    (as a build that recomputes some rows does) gives the lists of one block of all rows."""
    make_blog(tmp_path, {"2023-01-20-grid.md": "postkin_pin: [explain]"})
    settings = Settings(encoder="fake", related_k=3, include_newer=False, recency_half_life_days=90.0,
                        related_min_score=-5.0, exclude_tags=("featured",), cache_dir=str(tmp_path / "cache"))
    _, result = build_folder(tmp_path / "content", settings)
    stages = result.stages
    assert stages is not None and stages.controls is not None
    fused = stages.similarity.related
    whole = related_posts(fused, stages.listed, 3, controls=stages.controls)
    fused.block = 2
    blocks = related_posts(fused, stages.listed, 3, controls=stages.controls)
    assert (whole.idx == blocks.idx).all() and np.allclose(whole.fused, blocks.fused)
    assert (whole.idx == stages.related.idx).all()


def test_the_lookup_names_posts_as_authors_write_them():
    posts = [corpus_module.Post("blog/2024-01-02-a.md", "a", "A", url="/blog/2024/01/02/a/", aliases=["/old-a/"]),
             corpus_module.Post("b.md", "b", "B", url="/b.html", ref="/posts/b")]
    lookup = PostLookup(posts, base_path="/blog/")
    for ref, expected in [("a", 0), ("blog/2024-01-02-a.md", 0), ("./blog/2024-01-02-a", 0), ("{filename}/b.md", 1),
                          ("https://example.com/blog/2024/01/02/a/index.html", 0), ("/old-a", 0), ("posts/b", 1),
                          ("/b/", 1), ("c", None)]:
        assert lookup.find(ref) == expected, ref


def test_eval_reports_how_full_the_lists_are_and_the_fused_scores_to_choose_a_threshold(tmp_path, fake_encoder):
    content = make_blog(tmp_path)
    config = tmp_path / "postkin.toml"

    def evaluate(settings: str) -> tuple[dict, str]:
        config.write_text(f'encoder = "fake"\nrelated_k = 3\ncache_dir = "{tmp_path / "cache"}"\n{settings}\n')
        runs = [CliRunner().invoke(main, ["eval", str(content), "--config", str(config), "--no-baselines", *flag])
                for flag in (["--json"], [])]
        assert all(r.exit_code == 0 for r in runs), runs[0].output
        return json.loads(runs[0].stdout), runs[1].stdout

    data, table = evaluate("")
    lists = data["related_lists"]
    assert lists["k"] == 3 and lists["full_share"] == 1.0
    q = lists["fused"]
    assert q["p10"] <= q["p25"] <= q["median"] <= q["p75"] <= q["p90"]
    assert lists["first_median"] >= lists["last_median"]
    assert "related lists (related_k 3): 100.0% of posts have a full list; fused score of listed related posts: " \
           f"p10 {q['p10']:.2f}" in table
    cut, _ = evaluate(f"related_min_score = {q['median']}")
    assert 0.0 < cut["related_lists"]["full_share"] < 1.0
    assert cut["related_lists"]["fused"]["p10"] >= q["median"] - 0.001  # only scores above the threshold listed
    assert cut["methods"][0]["related"] != data["methods"][0]["related"]  # Dice@4 scores the cut lists
