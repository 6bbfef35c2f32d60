"""benchmarks/scale.py (composed blogs, build kinds, file counts, comparison with a cold build, profile)
and benchmarks/ab.py (interleaved A/B) on a small corpus made here; the slow tests run real builds."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
from pathlib import Path

import pytest

from postkin.pipeline import read_folder
from postkin.settings import Settings

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO / "benchmarks"))  # last: benchmarks/distributed.py is not the dask package
scale = importlib.import_module("scale")
ab = importlib.import_module("ab")

TOPICS = {
    "databases": ["Postgres keeps old row versions until VACUUM removes them from the table.",
                  "An index on the foreign key column made the join forty times faster on our data.",
                  "We measured the write amplification of each storage engine under the same load."],
    "design": ["Usability testing with five people found most of the problems in the signup form.",
               "Plain language made the benefits page shorter and easier for every reader to use.",
               "The design system gives every team the same accessible buttons, forms and colours."],
    "hiring": ["Our hiring process now tells every candidate what the interview will ask of them.",
               "Structured interviews with written rubrics made our hiring decisions more consistent.",
               "We publish the salary range of each role so candidates know it before they apply."],
}


def _corpus(folder: Path, posts: int = 12) -> Path:
    folder.mkdir(parents=True)
    topics = sorted(TOPICS)
    for i in range(posts):
        topic = topics[i % len(topics)]
        other = topics[(i + 1) % len(topics)]
        paragraphs = [f"{p} Post {i} says so in its own words, paragraph {n}." for n, p in enumerate(TOPICS[topic])]
        lede = "description: \"A post about " + topic + f" number {i}.\"\n" if i % 2 else ""
        (folder / f"2020-01-{i + 1:02d}-post-{i}.md").write_text(
            f"---\ntitle: \"{topic.title()} lessons, part {i}\"\n{lede}tags:\n- {topic}\n- {other if i % 4 == 0 else topic}\n"
            f"authors:\n- author-{i % 3}\n---\n\n" + paragraphs[0] + f"\n\n## What we learnt about {topic} ({i})\n\n"
            + "\n\n".join(paragraphs[1:]) + "\n\n```\ncode: not a paragraph, left out of the sources\n```\n",
            encoding="utf-8")
    (folder / "2020-02-01-no-tags.md").write_text("---\ntitle: No tags\n---\n\nA post without tags is not a source "
                                                  "because a composed post takes its tags.\n", encoding="utf-8")
    return folder


def test_composed_blog_is_deterministic_cached_and_read_by_postkin(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    sources = scale.load_sources([corpus])
    assert len(sources.posts) == 12 and set(sources.by_tag) == set(TOPICS)
    assert not any("code: not a paragraph" in p for s in sources.posts for p in s.paragraphs)
    first, cached = scale.compose_blog([corpus], sources, 40, 7, tmp_path / "cache1")
    again, cached_again = scale.compose_blog([corpus], sources, 40, 7, tmp_path / "cache1")
    other, _ = scale.compose_blog([corpus], sources, 40, 7, tmp_path / "cache2")
    reseeded, _ = scale.compose_blog([corpus], sources, 40, 8, tmp_path / "cache1")
    assert (cached, cached_again, again) == (False, True, first)
    texts = {p.name: p.read_bytes() for p in scale.post_files(first)}
    assert texts == {p.name: p.read_bytes() for p in scale.post_files(other)}
    assert texts != {p.name: p.read_bytes() for p in scale.post_files(reseeded)}

    corpus_read = read_folder(first, Settings())
    posts = corpus_read.posts
    assert len(posts) == 40 and not corpus_read.problems
    titles = {s.title for s in sources.posts}
    paragraphs = {p for s in sources.posts for p in s.paragraphs}
    assert all(p.title in titles for p in posts)
    assert all(set(p.tags) <= set(TOPICS) and p.tags for p in posts)
    assert len({p.slug for p in posts}) == 40
    dates = sorted(p.date for p in posts)
    assert dates[-1] - dates[0] > dt.timedelta(days=15 * 365)  # spread over the years
    body = next(iter(texts.values())).decode()
    assert any(p in body for p in paragraphs)  # real paragraphs, whole
    # A source with a lede key gives its composed posts that key; the others start with a paragraph.
    assert any(b"\ndescription: " in t for t in texts.values()) and any(b"\ndescription: " not in t for t in texts.values())


def test_edits_change_one_post_each(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    sources = scale.load_sources([corpus])
    folder, _ = scale.compose_blog([corpus], sources, 30, 1, tmp_path / "cache")
    content = tmp_path / "copy"
    scale.copy_blog(folder, content)
    blog = scale.Blog(content, sources, 30, 1, scale.random.Random(3))

    def state() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in scale.post_files(content)}

    before = state()
    edited = blog.edit_body()
    after = state()
    assert [n for n in after if after[n] != before[n]] == [edited.name]
    assert after[edited.name].startswith(before[edited.name].rstrip(b"\n"))
    old_title = scale.split_front_matter(after[edited.name].decode())[0]["title"]

    titled = blog.edit_title()
    meta, _ = scale.split_front_matter(titled.read_text(encoding="utf-8"))
    assert meta["title"] in {s.title for s in sources.posts}
    changed = state()
    assert [n for n in changed if changed[n] != after[n]] == [titled.name]
    if titled == edited:
        assert meta["title"] != old_title

    added = blog.add_post()
    assert set(state()) - set(changed) == {added.name}
    newest = max(p.date for p in read_folder(content, Settings()).posts if p.source != added.name)
    assert next(p.date for p in read_folder(content, Settings()).posts if p.source == added.name) > newest


def test_compare_outputs_counts_posts_whose_lists_differ(tmp_path: Path) -> None:
    def post(related: list[str], tags: list[str], score: float = 0.5) -> dict:
        return {"related": [{"slug": s, "score": score} for s in related], "cluster_latest": [],
                "cluster_popular": [{"slug": "p1"}], "suggested_tags": [{"tag": t} for t in tags]}

    warm, cold = tmp_path / "warm", tmp_path / "cold"
    for folder, posts in ((warm, {"p1": post(["p2", "p3"], ["a"]), "p2": post(["p1"], ["b"]),
                                  "p3": post(["p1"], ["a"], 0.4), "p4": post([], [])}),
                          (cold, {"p1": post(["p3", "p2"], ["a"]), "p2": post(["p1"], ["b", "c"]),
                                  "p3": post(["p1"], ["a"]), "p5": post([], [])})):
        folder.mkdir()
        (folder / "postkin.json").write_text(json.dumps({"posts": posts}), encoding="utf-8")
    result = scale.compare_outputs(warm, cold)
    assert result == {"posts": 3, "only_warm": 1, "only_cold": 1, "related_identical": round(2 / 3, 5),
                      "cluster_latest_identical": 1.0, "cluster_popular_identical": 1.0,
                      "suggested_tags_identical": round(2 / 3, 5), "all_lists_identical": round(1 / 3, 5),
                      "context_identical": 0.0,
                      "contexts_differing_in": {"related": 2, "suggested_tags": 1},
                      "first_difference": {"slug": "p1", "key": "related", "warm": {"slug": "p2", "score": 0.5},
                                           "cold": {"slug": "p3", "score": 0.5}}}


@pytest.mark.slow
def test_scale_benchmark_runs_every_kind_counts_files_and_profiles(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    rows: list[dict] = []
    assert scale.main([str(corpus), "--sizes", "30", "--runs", "1", "--profile", "warm_body_edit", "--profile-clock", "cpu", "--profile-top",
                       "10", "--blog-cache", str(tmp_path / "blogs"), "--workdir", str(tmp_path / "work")],
                      emit=rows.append) == 0
    builds = {r["kind"]: r for r in rows if "wall_s" in r}
    assert list(builds) == list(scale.KINDS)
    assert all(r["summary_agrees"] and r["wall_s"] > 0 and r["cpu_s"] > 0 and r["max_rss_mb"] > 50
               for r in builds.values())
    assert builds["cold"]["files_written"] == 31 and builds["warm_nothing"]["files_written"] == 0
    assert 1 <= builds["warm_body_edit"]["files_changed"] <= 31
    assert builds["warm_post_added"]["files_changed"] >= 2  # the new post's file and postkin.json
    compared = {r["kind"]: r["compare_cold"] for r in rows if "compare_cold" in r}
    assert list(compared) == list(scale.KINDS[1:])
    assert compared["warm_nothing"]["context_identical"] == 1.0
    # posts: the body and title edits change no post count; the added post is compared too (and the
    # profiled body edit before the title edit changes none either)
    assert [c["posts"] for c in compared.values()] == [30, 30, 30, 31]
    profile = [r["profile"] for r in rows if "profile" in r]
    assert profile[0]["clock"] == "cpu" and profile[0]["profiled_wall_s"] > 0
    assert any("pipeline.py" in p.get("function", "") for p in profile[1:11])
    summaries = [r for r in rows if "median_wall_s" in r]
    assert [s["kind"] for s in summaries] == list(scale.KINDS) and all(s["runs"] == 1 for s in summaries)


@pytest.mark.slow
def test_ab_interleaves_two_trees_and_gives_ratios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = _corpus(tmp_path / "corpus")
    assert ab.main([str(corpus), "--a", str(REPO / "plugin"), "--b", str(REPO), "--rounds", "2", "--size", "20",
                    "--kinds", "cold,warm_title_edit", "--blog-cache", str(tmp_path / "blogs")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    builds = [r for r in rows if "wall_s" in r]
    assert [(r["round"], r["kind"], r["side"]) for r in builds] == [
        (0, "cold", "a"), (0, "cold", "b"), (0, "warm_title_edit", "a"), (0, "warm_title_edit", "b"),
        (1, "cold", "b"), (1, "cold", "a"), (1, "warm_title_edit", "b"), (1, "warm_title_edit", "a")]
    # the same tree on both sides, the same edits: the same files written
    for r in range(2):
        a, b = ([x["files_changed"] for x in builds if x["round"] == r and x["side"] == s] for s in "ab")
        assert a == b
    ratios = {r["kind"]: r for r in rows if "wall_b_over_a" in r}
    assert set(ratios) == {"cold", "warm_title_edit"} and all(r["cpu_b_over_a"] > 0 for r in ratios.values())
