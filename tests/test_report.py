"""`postkin report`: the report's data on small blogs (fake encoder), its HTML, and the page in Chromium.

The browser tests drive Debian's Chromium with Playwright for Python (pip: `playwright`, no browser
download: executable_path=/usr/bin/chromium): one pip package in the same test process, requests
intercepted and recorded by the context (route + request events), hover and click by real mouse
events, and element screenshots. Selenium + chromedriver has no request interception of its own, and
playwright-core from npm would add a Node step to a Python suite.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import TOPICS, write_post

from postkin.cli import main
from postkin.report import ReportInput, ReportPost, Snapshot, analyse
from postkin.report.analysis import fold, near_spellings
from postkin.topics import Topics

pytest.importorskip("sklearn", reason="the report extra is not installed: pip install 'postkin[report]'")
pytest.importorskip("bokeh", reason="the report extra is not installed: pip install 'postkin[report]'")
pytest.importorskip("rapidfuzz", reason="the report extra is not installed: pip install 'postkin[report]'")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
EVIL_TITLE = "<img src=x onerror=alert(1)>"
EVIL_SCRIPT_TITLE = "</script><script>alert(2)</script>"


def entities(text: str) -> str:
    """Markdown front matter titles are read as inline Markdown (tags stripped): entities give the raw text."""
    return text.replace("<", "&lt;").replace(">", "&gt;")
SECTIONS = ("topics", "dendrogram", "map", "tags", "outliers", "quality")


# ----------------------------------------------------------------------------- helpers
def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def report(content: Path, out: Path | None, *extra: str, config: str = 'encoder = "fake"\nclusters = 4\n'):
    """`postkin report` on content with the fake encoder; returns (--json data, CLI result)."""
    cfg = content.parent / "postkin.toml"
    if not cfg.exists():
        cfg.write_text(config)
    args = ["report", str(content), "--json", "--cache-dir", str(content.parent / "cache"), "--config", str(cfg)]
    result = run(*args, *(["--out", str(out)] if out else []), *extra)
    return json.loads(result.stdout), result


def unit_vectors(rng: np.random.Generator, centres: np.ndarray, per: int, noise: float) -> np.ndarray:
    x = np.repeat(centres, per, axis=0) + noise * rng.standard_normal((len(centres) * per, centres.shape[1]))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic(centres: np.ndarray, per: int = 12, noise: float = 0.15, **changes) -> ReportInput:
    """per posts around each (unit) centre; topic i = centre i; no tags."""
    rng = np.random.default_rng(0)
    k = len(centres)
    vectors = unit_vectors(rng, centres, per, noise)
    n = len(vectors)
    topic_of = np.repeat(np.arange(k), per)
    centroids = np.stack([vectors[topic_of == c].mean(0) for c in range(k)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    posts = [ReportPost(f"p{i}", f"Post {i}", f"/p{i}/", f"2024-01-{1 + i % 28:02d}", (), None, False) for i in range(n)]
    by_date = [sorted(np.flatnonzero(topic_of == c).tolist(), key=lambda i: posts[i].date, reverse=True) for c in range(k)]
    topics = Topics(topic_of, centroids.astype(np.float32), [f"topic {c}" for c in range(k)], by_date, [[] for _ in range(k)])
    values = dict(posts=posts, vectors=vectors, topics=topics, suggested_tags=[[] for _ in range(n)],
                  related=[[] for _ in range(n)])
    values.update(changes)
    return ReportInput(**values)


def tag_blog(root: Path) -> Path:
    """A blog with every tag problem the report looks for, a near-duplicate pair, an orphan and a
    post whose title and tag are markup."""
    content = root / "content"
    day = iter(range(1, 29))
    for key, (title, tags, words) in TOPICS.items():
        for n in range(4):
            extra = {"python": ["JavaScript", "promise", "webcomponents", "alpha", "beta"],
                     "postgres": ["javascript", "promises", "Node.js", "alpha", "beta"],
                     "css": ["webcompoents", "nodejs", "alpha", "beta"]}[key] if n == 0 else []
            if key == "python" and n == 1:
                extra = ["alpha", "beta"]
            write_post(content, f"2024-02-{next(day):02d}-{key}-{n}.md",
                       f"""
                       title: "{title} part {n}"
                       tags: {json.dumps(tags[: 1 + n % 2] + extra)}
                       description: "{words} {n}"
                       views: {100 * (n + 1)}
                       """, f"\nSome text about {words}.\n")
    write_post(content, "2024-03-01-lonely.md", """
        title: "Python packaging once more"
        tags: [python, lonely]
        description: "pip wheels virtualenv packaging python tooling"
        """)
    twin = 'title: "Kubernetes ingress controllers compared"\ndescription: "nginx traefik envoy ingress kubernetes"\n'
    write_post(content, "2024-03-02-ingress.md", twin + "tags: [kubernetes]")
    write_post(content, "2024-03-03-ingress-again.md", twin + "tags: [kubernetes]")
    write_post(content, "2024-03-04-sourdough.md", """
        title: "Sourdough starter hydration"
        description: "flour levain crumb bakery oven loaf"
        tags: [baking]
        """)
    write_post(content, "2024-03-05-evil.md", f"""
        title: {json.dumps(entities(EVIL_TITLE))}
        description: "css grid flexbox layout frontend browser"
        """)
    write_post(content, "2024-03-06-evil-script.md", f"""
        title: {json.dumps(entities(EVIL_SCRIPT_TITLE))}
        description: "postgresql index vacuum query planner database"
        tags: ["<b>bold</b>"]
        """)
    return content


def generated_blog(root: Path, n: int = 500, seed: int = 0) -> Path:
    """n posts on 10 subjects, words drawn at random from each subject's vocabulary; 1 in 10 untagged."""
    rng = random.Random(seed)
    content = root / "content"
    subjects = [[f"{s}word{w}" for w in range(30)] for s in "abcdefghij"]
    for i in range(n):
        s = i % 10
        words = rng.sample(subjects[s], 8)
        tags = [] if i % 10 == 3 else [f"subject-{'abcdefghij'[s]}", rng.choice(["notes", "howto", "review"])]
        write_post(content, f"{2015 + i % 10}-{1 + i % 12:02d}-{1 + i % 28:02d}-post-{i}.md",
                   f"""
                   title: "Post {i}: {' '.join(words[:3])}"
                   description: "{' '.join(words)}"
                   tags: {json.dumps(tags)}
                   views: {rng.randint(1, 5000)}
                   """, f"\n{' '.join(rng.sample(subjects[s], 20))}\n")
    return content


# ----------------------------------------------------------------------------- the data
def test_topics_list_their_posts_nearest_latest_and_most_read(tmp_path, fake_encoder):
    content = tag_blog(tmp_path)
    data, _ = report(content, None)
    posts = data["posts"]
    assert len(data["topics"]) == 4 and data["summary"]["topics"] == 4
    assert sorted(t["id"] for t in data["topics"]) == [0, 1, 2, 3]
    assert [t["id"] for t in data["topics"]] == data["dendrogram"]["order"]
    for topic in data["topics"]:
        members = [k for k, p in posts.items() if p["topic"] == topic["id"] and not p["draft"]]
        assert topic["size"] == len(members)
        cosines = [c["cosine"] for c in topic["central"]]
        assert cosines == sorted(cosines, reverse=True) and {c["key"] for c in topic["central"]} <= set(members)
        dates = [posts[k]["date"] for k in topic["latest"]]
        assert dates == sorted(dates, reverse=True) and set(topic["latest"]) <= set(members)
        views = [posts[k]["popularity"] for k in topic["most_read"]]
        assert views == sorted(views, reverse=True) and set(topic["most_read"]) <= set(members)
        assert topic["change"] is None  # first report
    # The three subjects' posts are each in a topic of their own, named by that subject's tags.
    assert len({posts[f"{key}-0"]["topic"] for key in TOPICS}) == 3
    for key, (_, tags, _) in TOPICS.items():
        ids = {posts[f"{key}-{n}"]["topic"] for n in range(4)}
        assert len(ids) == 1
        label = next(t["label"] for t in data["topics"] if t["id"] in ids)
        assert any(tag in label.split(", ") for tag in tags), label
    most_read = next(t for t in data["topics"] if t["id"] == posts["python-0"]["topic"])["most_read"]
    assert most_read[0] == "python-3"  # views 400, the most of its topic


def test_dendrogram_is_ward_on_cosine_and_orders_the_topics():
    # Topics 0 and 2 are close, 1 is far: 0 and 2 merge first and sit side by side.
    centres = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0], [0.9, 0.43, 0, 0]])
    data = analyse(synthetic(centres / np.linalg.norm(centres, axis=1, keepdims=True), noise=0.05))
    tree = data.dendrogram
    order = tree["order"]
    assert sorted(order) == [0, 1, 2] and abs(order.index(0) - order.index(2)) == 1
    assert [t.id for t in data.topics] == order
    assert len(tree["icoord"]) == len(tree["dcoord"]) == 2  # k - 1 merges
    first = min(range(2), key=lambda m: tree["dcoord"][m][1])
    joined = {order[int((x - 5) / 10)] for x in (tree["icoord"][first][0], tree["icoord"][first][3])}
    assert joined == {0, 2}
    assert tree["dcoord"][first][1] < tree["dcoord"][1 - first][1]


def test_map_has_one_point_per_post_grouped_by_topic_and_is_deterministic():
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((4, 32))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    inp = synthetic(centres, per=25, noise=0.2)
    data = analyse(inp)
    xy = np.array([[p["x"], p["y"]] for p in data.posts.values()])
    topic = np.array([p["topic"] for p in data.posts.values()])
    assert xy.shape == (100, 2) and np.isfinite(xy).all() and data.map["points"] == 100
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    same = topic[:, None] == topic[None]
    assert d[same & ~np.eye(100, dtype=bool)].mean() < 0.5 * d[~same].mean()
    assert analyse(synthetic(centres, per=25, noise=0.2)).to_dict() == data.to_dict()


def test_tiny_blogs_get_a_report():
    one = synthetic(np.eye(1, 8), per=1)
    data = analyse(one)
    assert data.posts["p0"]["x"] == 0.0 and len(data.topics) == 1 and data.dendrogram["icoord"] == []
    three = analyse(synthetic(np.eye(3, 8), per=1))
    assert len(three.posts) == 3 and three.outliers["orphans"]  # three orthogonal posts: all orphans


def test_empty_and_all_draft_blogs_get_a_report(tmp_path, fake_encoder):
    empty = tmp_path / "empty" / "content"
    empty.mkdir(parents=True)
    data, result = report(empty, empty.parent / "r.html")
    assert data["summary"]["posts"] == 0 and "No posts." in (empty.parent / "r.html").read_text(encoding="utf-8")
    # one warning, postkin's "no posts found"; none from Bokeh (an empty map would be MISSING_RENDERERS)
    assert [line for line in result.stderr.splitlines() if "warning" in line.lower()] == [
        f"postkin: warning: {empty}: no posts found (no Markdown files, read as a generic folder of posts); "
        "check the folder or the generator setting"]
    drafts = tmp_path / "drafts" / "content"
    for i in range(5):
        write_post(drafts, f"2024-01-0{i + 1}-d{i}.md", f'title: "Draft {i} about things"\ndraft: true\ntags: [a]')
    data, _ = report(drafts, drafts.parent / "r.html")
    assert data["summary"]["drafts"] == 5 and data["topics"] == []  # drafts never make a topic
    assert {p["topic"] for p in data["posts"].values()} == {-1}


def test_tag_hygiene_finds_spellings_merges_single_uses_and_untagged_posts(tmp_path, fake_encoder):
    data, _ = report(tag_blog(tmp_path), None)
    hygiene = data["tags"]
    variants = {tuple(sorted(s["tag"] for s in v["spellings"])): v["kind"] for v in hygiene["variants"]}
    assert variants[("JavaScript", "javascript")] == "case"
    assert variants[("Node.js", "nodejs")] == "spelling"
    near = {tuple(sorted(p["tags"])): p["kind"] for p in hygiene["near_spellings"]}
    assert near[("webcompoents", "webcomponents")] == "typo"
    assert near[("promise", "promises")] == "plural"
    merges = {tuple(sorted(p["tags"])): p for p in hygiene["merge_candidates"]}
    assert merges[("alpha", "beta")]["jaccard"] == 1.0 and merges[("alpha", "beta")]["shared"] == 4
    assert merges[("databases", "postgresql")]["jaccard"] == 0.5  # on 2 of postgresql's 4 posts: the threshold
    once = {u["tag"]: u["key"] for u in hygiene["used_once"]}
    assert once["lonely"] == "lonely" and once["baking"] == "sourdough" and "python" not in once
    assert hygiene["untagged"] == ["evil"]
    assert data["posts"]["evil"]["suggested_tags"], "an untagged post gets postkin's suggestions"


def test_fold_and_near_spellings():
    assert fold("Node.js") == fold("nodejs") == fold("NODE-JS") and fold("Ｗｅｂサービス") == fold("Webサービス")
    assert fold("C++") != fold("C#") != fold("C")
    keys = ["firefox3", "firefox4", "textlint", "textlitn", "tool", "tools", "json", "jsonp", "bluesky", "blusky"]
    found = {(keys[i], keys[j]): kind for i, j, kind in near_spellings(keys, 5)}
    assert found == {("textlint", "textlitn"): "typo", ("tool", "tools"): "plural", ("bluesky", "blusky"): "typo"}


def test_outliers_orphans_and_near_duplicates(tmp_path, fake_encoder):
    data, _ = report(tag_blog(tmp_path), None)
    outliers = data["outliers"]
    pairs = {(d["a"], d["b"]): d for d in outliers["near_duplicates"]}
    twin = pairs[("ingress", "ingress-again")]
    assert twin["cosine"] >= 0.9 and twin["why"] == "title and lede"
    orphans = {o["key"]: o for o in outliers["orphans"]}
    assert "sourdough" in orphans and orphans["sourdough"]["cosine"] < 0.35
    assert not {"python-0", "postgres-1", "css-2"} & set(orphans)
    assert data["thresholds"]["orphan_cosine"] == 0.35 and data["thresholds"]["duplicate_cosine"] == 0.9
    assert outliers["related_changes"] == []  # nothing to compare with yet


def test_near_duplicate_bodies_are_found_by_their_text():
    import scipy.sparse as sp

    inp = synthetic(np.eye(2, 8), per=3, noise=0.3)
    text = np.eye(6, 10, dtype=np.float32)
    text[4] = text[1]  # posts 1 and 4 share their whole text, not their title
    inp.text_vectors = sp.csr_matrix(text)
    dup = analyse(inp).outliers["near_duplicates"]
    assert {"a": "p1", "b": "p4", "why": "text", "text_cosine": 1.0}.items() <= next(
        d for d in dup if (d["a"], d["b"]) == ("p1", "p4")).items()


def test_second_report_says_what_changed(tmp_path, fake_encoder):
    content = tag_blog(tmp_path)
    first, _ = report(content, None)
    assert not first["summary"]["has_previous"]
    assert (tmp_path / "cache" / "report-previous.json").is_file()
    # A new Python post, and a CSS post rewritten as a PostgreSQL one.
    write_post(content, "2024-03-10-python-new.md", """
        title: "Python packaging part 9"
        tags: [python]
        description: "pip wheels virtualenv packaging python tooling"
        """)
    moved = content / "2024-02-11-css-2.md"
    write_post(content, moved.name, """
        title: "PostgreSQL tuning part 7"
        tags: [postgresql]
        description: "postgresql index vacuum query planner database"
        """)
    second, _ = report(content, None)
    assert second["summary"]["has_previous"]
    topic_of = {t["id"]: t for t in second["topics"]}
    python_topic = topic_of[second["posts"]["python-new"]["topic"]]
    assert "python-new" in python_topic["change"]["new"]
    postgres_topic = topic_of[second["posts"]["css-2"]["topic"]]
    assert second["posts"]["css-2"]["topic"] == second["posts"]["postgres-0"]["topic"]
    moved_in = {m["key"]: m["from"] for m in postgres_topic["change"]["moved_in"]}
    assert "css" in moved_in["css-2"]  # named by the label of its topic in the first report
    changed = {c["key"]: c for c in second["outliers"]["related_changes"]}
    assert changed and all(c["changed"] >= 1 and c["after"] != c["before"] for c in changed.values())
    counts = [c["changed"] for c in second["outliers"]["related_changes"]]
    assert counts == sorted(counts, reverse=True)
    # A third report with nothing changed: no new posts, no moves, no related changes.
    third, _ = report(content, None)
    assert all(not t["change"]["new"] and not t["change"]["moved_in"] for t in third["topics"])
    assert third["outliers"]["related_changes"] == []


def test_report_names_topics_by_the_builds_stable_ids(tmp_path, fake_encoder):
    """The report's topic ids are the build JSON's cluster.id (Topics.ids), also after a refit that
    reorders the topics' rows, and a second report says what changed by those ids."""
    content = tag_blog(tmp_path)
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\nclusters = 4\n')

    def build_and_report() -> tuple[dict, dict]:
        run("build", str(content), "--out", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"),
            "--config", str(tmp_path / "postkin.toml"))
        site = json.loads((tmp_path / "data" / "postkin.json").read_text(encoding="utf-8"))
        data, _ = report(content, None)
        built = {p.stem: json.loads(p.read_text(encoding="utf-8"))["cluster"]
                 for p in (tmp_path / "data" / "posts").glob("*.json")}
        assert {k: p["topic"] for k, p in data["posts"].items()} == {k: c["id"] for k, c in built.items()}
        assert {t["id"]: t["label"] for t in data["topics"]} == {c["id"]: c["label"] for c in site["clusters"]}
        assert sorted(data["dendrogram"]["order"]) == sorted(c["id"] for c in site["clusters"])
        return site, data

    _, first = build_and_report()
    for i in range(5):  # a new subject: more than 10 % of the posts, so the topics are fitted again
        write_post(content, f"2024-04-{i + 1:02d}-bread-{i}.md",
                   f'title: "Baking note {i}"\ntags: [baking]\ndescription: "flour levain crumb bakery oven loaf {i}"\n')
    site, second = build_and_report()
    rows = [c["id"] for c in site["clusters"]]  # postkin.json lists topics by row (dendrogram order)
    assert rows != sorted(rows)  # the refit moved rows: a row number is not the topic's id any more
    before = {k: p["topic"] for k, p in first["posts"].items()}
    labels_before = {t["id"]: t["label"] for t in first["topics"]}
    for topic in second["topics"]:
        change = topic["change"]
        assert change["previous_id"] == (topic["id"] if topic["id"] in labels_before else None)
        assert change["previous_label"] == labels_before.get(topic["id"])
        members = [k for k, p in second["posts"].items() if p["topic"] == topic["id"] and not p["draft"]]
        assert sorted(change["new"]) == sorted(k for k in members if k not in before)
        assert {m["key"]: (m["from_id"], m["from"]) for m in change["moved_in"]} == \
            {k: (before[k], labels_before[before[k]]) for k in members if k in before and before[k] != topic["id"]}
    bread = {second["posts"][f"bread-{i}"]["topic"] for i in range(5)}
    assert len(bread) == 1 and {f"bread-{i}" for i in range(5)} <= set(
        next(t for t in second["topics"] if t["id"] in bread)["change"]["new"])


def test_unreadable_previous_report_is_replaced_with_one_warning(tmp_path, fake_encoder):
    content = tag_blog(tmp_path)
    (tmp_path / "cache").mkdir()
    snapshot = tmp_path / "cache" / "report-previous.json"
    snapshot.write_text("{not json")
    data, result = report(content, None)
    assert result.stderr.count("previous report unreadable") == 1 and str(snapshot) in result.stderr
    assert not data["summary"]["has_previous"]
    assert Snapshot.from_dict(json.loads(snapshot.read_text())).topic_of.keys() == data["posts"].keys()


def test_snapshot_round_trip_and_validation():
    snap = Snapshot({0: "a", 1: "b"}, {"x": 0, "y": 1}, {"x": ["y"], "y": []})
    assert Snapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap
    for bad in ({"version": 99}, {"version": 1, "topics": [{"id": "?"}], "posts": {}}, []):
        with pytest.raises(ValueError):
            Snapshot.from_dict(bad)


def test_report_input_is_checked():
    inp = synthetic(np.eye(2, 8), per=2)
    with pytest.raises(ValueError, match="related"):
        ReportInput(**{**inp.__dict__, "related": []})
    with pytest.raises(ValueError, match="topics.assignment"):
        ReportInput(**{**inp.__dict__, "topics": dataclasses.replace(inp.topics, assignment=np.array([0, 1, 2, 0]))})
    with pytest.raises(ValueError, match="topics.labels"):
        ReportInput(**{**inp.__dict__, "topics": dataclasses.replace(inp.topics, labels=["just one"])})


@pytest.mark.parametrize("use_tags", [0.0, 0.5])
def test_quality_section_comes_from_postkin_eval(tmp_path, fake_encoder, use_tags):
    """With related_use_tags the build's related posts see the tags; the report scores them hidden, as eval."""
    content = tag_blog(tmp_path)
    data, _ = report(content, None, config=f'encoder = "fake"\nclusters = 4\nrelated_use_tags = {use_tags}\n')
    quality = data["quality"]
    ours = "postkin (hybrid, tags 0.5)" if use_tags else "postkin (hybrid)"
    assert [m["method"] for m in quality["methods"]] == [ours, "random (3 seeds)", "most frequent tags"]
    # the build's own stage values give exactly the scores `postkin eval` computes with every tag hidden
    evaluated = json.loads(run("eval", str(content), "--json", "--cache-dir", str(tmp_path / "cache"),
                               "--config", str(tmp_path / "postkin.toml")).stdout)
    rows = {m["method"]: {k: v for k, v in m.items() if k != "seconds"} for m in evaluated["methods"]}
    assert quality["methods"] == [rows[m["method"]] for m in quality["methods"]]
    assert {k: quality[k] for k in ("posts", "tagged", "test_posts")} == {k: evaluated[k] for k in ("posts", "tagged", "test_posts")}
    assert quality["methods"][0]["related"] > quality["methods"][1]["related"]  # better than random
    untagged = tmp_path / "untagged"
    for i in range(6):
        write_post(untagged / "content", f"2024-01-0{i + 1}-p{i}.md", f'title: "Post {i} about things"')
    data, _ = report(untagged / "content", untagged / "r.html")
    assert data["quality"] is None
    assert "No post has tags" in (untagged / "r.html").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- the HTML and the CLI
def test_html_is_self_contained_and_escapes_titles_and_tags(tmp_path, fake_encoder):
    out = tmp_path / "report.html"
    data, result = report(tag_blog(tmp_path), out)
    html = out.read_text(encoding="utf-8")
    assert f"{out} (" in result.stderr and "MB)" in result.stderr
    assert EVIL_TITLE not in html and "<b>bold</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the untagged list shows the title as text
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert(2)</script>" not in html  # Bokeh's JSON keeps '</script>' from closing the script
    # no script, style sheet or image loaded from a file or a server (the browser tests record requests)
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link[^>]*\shref=", html)
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert len(html.encode()) < 5_000_000


def test_json_only_writes_no_html_and_default_out_is_report_html(tmp_path, fake_encoder, monkeypatch):
    content = tag_blog(tmp_path)
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\nclusters = 4\n')
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    base = ["report", str(content), "--cache-dir", str(tmp_path / "cache"), "--config", str(tmp_path / "postkin.toml")]
    result = run(*base, "--json")
    assert json.loads(result.stdout)["summary"]["posts"] == 18
    assert not list(cwd.iterdir())
    result = run(*base)
    assert (cwd / "report.html").is_file() and not result.stdout


def test_same_blog_gives_the_same_json(tmp_path, fake_encoder):
    content = tag_blog(tmp_path)
    cfg = tmp_path / "postkin.toml"
    cfg.write_text('encoder = "fake"\nclusters = 4\n')
    outputs = [run("report", str(content), "--json", "--cache-dir", str(tmp_path / name), "--config", str(cfg)).stdout
               for name in ("cache-a", "cache-b")]
    assert outputs[0] == outputs[1] and '"seconds"' not in outputs[0]


def test_missing_extra_is_one_line_naming_it(tmp_path, fake_encoder, monkeypatch):
    monkeypatch.setitem(sys.modules, "bokeh", None)  # import bokeh now raises ImportError
    content = tag_blog(tmp_path)
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\n')
    result = run("report", str(content), "--out", str(tmp_path / "r.html"), "--cache-dir", str(tmp_path / "cache"),
                 "--config", str(tmp_path / "postkin.toml"), ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: postkin report needs bokeh, which is not installed: pip install 'postkin[report]'"
    assert not (tmp_path / "r.html").exists()


def test_site_url_makes_links_absolute_and_unsafe_urls_are_dropped(tmp_path, fake_encoder):
    content = tag_blog(tmp_path)
    data, _ = report(content, None, "--site-url", "https://blog.example/")
    assert data["posts"]["python-0"]["url"] == "https://blog.example/2024/02/01/python-0/"
    from postkin.report.analysis import safe_url

    assert safe_url("javascript:alert(1)") == "" and safe_url("/a/b/") == "/a/b/"


# ----------------------------------------------------------------------------- after a build: the `report` setting
@pytest.fixture
def stage_calls(monkeypatch) -> dict[str, int]:
    """Counts the build's embedding / TF-IDF stage (features.extract) and its similarity stage
    (similarity.compute), wherever they are called from (pipeline, eval, report)."""
    from postkin import features, similarity

    calls = {"features": 0, "similarity": 0}

    def counting(key, real):
        def counted(*args, **kwargs):
            calls[key] += 1
            return real(*args, **kwargs)
        return counted

    monkeypatch.setattr(features, "extract", counting("features", features.extract))
    monkeypatch.setattr(similarity, "compute", counting("similarity", similarity.compute))
    return calls


def report_links(html: str) -> list[str]:
    """The post links of the report's Topics section."""
    topics = html[html.index('<section id="topics">'):html.index('<section id="dendrogram">')]
    return re.findall(r'<a href="([^"]+)">', topics)


def test_build_writes_the_report_from_its_own_stage_values(tmp_path, fake_encoder, stage_calls):
    content = tag_blog(tmp_path)
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\nclusters = 4\nreport = "public/report.html"\n')
    result = run("build", str(content), "--out", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"),
                 "--config", str(tmp_path / "postkin.toml"))
    report_path = tmp_path / "public" / "report.html"  # relative to the settings file
    assert f"report {report_path};" in result.stderr
    # one embedding pass (each post's text once), one similarity computation, for the outputs and the report
    assert stage_calls == {"features": 1, "similarity": 1}
    assert len(fake_encoder.texts) == len(set(fake_encoder.texts)) == 17  # 18 posts, two with one title and lede
    html = report_path.read_text(encoding="utf-8")
    site = json.loads((tmp_path / "data" / "postkin.json").read_text(encoding="utf-8"))
    shown = re.findall(r'<h3>(.*?) <span class="size">(\d+) posts</span></h3>', html)
    assert sorted((label, int(size)) for label, size in shown) == \
        sorted((entities(c["label"]), c["size"]) for c in site["clusters"])  # the build's topics
    assert set(report_links(html)) <= {p["url"] for p in site["posts"].values()}
    assert '<table class="eval">' in html and "postkin (hybrid)" in html
    assert (tmp_path / "cache" / "report-previous.json").is_file()


def test_report_setting_without_the_extra_stops_before_the_build(tmp_path, fake_encoder, monkeypatch):
    monkeypatch.setitem(sys.modules, "bokeh", None)
    content = tag_blog(tmp_path)
    (tmp_path / "postkin.toml").write_text('encoder = "fake"\nreport = "report.html"\n')
    result = run("build", str(content), "--out", str(tmp_path / "data"), "--config", str(tmp_path / "postkin.toml"),
                 ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"Error: {tmp_path / 'postkin.toml'}: setting 'report' needs bokeh, which is not "
                                     "installed: pip install 'postkin[report]', or remove the setting")
    assert fake_encoder.calls == 0 and not (tmp_path / "data").exists()
    # the pre-commit hook and eval read the same settings file and need no extra
    hook = run("suggest-tags", str(content / "2024-03-04-sourdough.md"), "--content", str(content),
               "--config", str(tmp_path / "postkin.toml"), "--cache-dir", str(tmp_path / "cache"))
    assert "sourdough" in hook.stdout and "report" not in hook.stderr


def test_pelican_build_writes_the_report(tmp_path, fake_encoder, stage_calls):
    pytest.importorskip("pelican")
    from test_pelican_plugin import build, make_site

    site = make_site(tmp_path / "site", {"encoder": "fake", "report": "output/postkin-report.html"})
    build(site)
    out = site / "output"
    html = (out / "postkin-report.html").read_text(encoding="utf-8")
    assert stage_calls == {"features": 1, "similarity": 1}
    assert "<title>postkin report: Throwaway</title>" in html
    links = report_links(html)
    assert links and all((out / link).is_file() for link in links)  # relative to the report, as Pelican's URLs
    assert "python-draft" in html  # drafts are on the map, in no topic list
    build(site, SITEURL="https://blog.example")
    links = report_links((out / "postkin-report.html").read_text(encoding="utf-8"))
    assert links and all(link.startswith("https://blog.example/posts/") for link in links if "draft" not in link)


def test_pelican_report_setting_without_the_extra_stops_before_reading(tmp_path, fake_encoder, monkeypatch):
    pytest.importorskip("pelican")
    from pelican import Pelican
    from pelican.settings import read_settings
    from test_pelican_plugin import make_site

    from postkin.errors import SettingsError

    monkeypatch.setitem(sys.modules, "sklearn", None)
    site = make_site(tmp_path / "site", {"encoder": "fake", "report": "report.html", "strict": True})
    with pytest.raises(SettingsError, match=r"^pelicanconf.py POSTKIN: setting 'report' needs scikit-learn, which is "
                                            r"not installed: pip install 'postkin\[report\]', or remove the setting$"):
        Pelican(read_settings(str(site / "pelicanconf.py"), override={"OUTPUT_PATH": str(site / "output")}))
    assert fake_encoder.calls == 0  # strict: stopped before reading; otherwise one error line (test_pelican_plugin)


@pytest.mark.slow
def test_same_blog_gives_the_same_report_bytes_and_no_rewrite(tmp_path):
    """Whole `postkin build` processes with the bundled encoder: the third report is the second's bytes,
    and the file is left alone (same inode and mtime)."""
    import os
    import subprocess

    content = tag_blog(tmp_path)
    (tmp_path / "postkin.toml").write_text('clusters = 4\nreport = "report.html"\n')
    report_path = tmp_path / "report.html"
    seen = []
    for _ in range(3):
        subprocess.run([sys.executable, "-m", "postkin.cli", "build", str(content), "--out", str(tmp_path / "data"),
                        "--config", str(tmp_path / "postkin.toml")], check=True, capture_output=True)
        stat = report_path.stat()
        seen.append((report_path.read_bytes(), stat.st_ino, stat.st_mtime_ns))
    assert b"This is the first report" in seen[0][0] and b"Changes are against the previous report" in seen[1][0]
    assert seen[2] == seen[1]
    assert os.path.getsize(report_path) < 5_000_000


# ----------------------------------------------------------------------------- in Chromium
def _screenshot_ok(path: Path, colours: list[str] = (), alpha: float = 1.0) -> None:
    """Not blank, and every colour given is drawn (blended over white with alpha) on 12+ pixels."""
    from PIL import Image

    image = np.asarray(Image.open(path).convert("RGB"), np.int16)
    height, width, _ = image.shape
    assert width >= 600 and height >= 80, f"{path.name}: {width} x {height}"
    pixels = image.reshape(-1, 3)
    _, counts = np.unique(pixels, axis=0, return_counts=True)
    assert len(counts) >= 30 and counts.max() < 0.995 * len(pixels), f"{path.name}: nearly blank"
    for colour in colours:
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        seen = rgb * alpha + 255 * (1 - alpha)
        drawn = int((np.abs(pixels - seen).max(axis=1) <= 12).sum())
        assert drawn >= 12, f"{path.name}: colour {colour} on {drawn} pixels"


MAP_POINTS = """() => {
  const fig = Bokeh.documents[0].get_model_by_name('map');
  const renderers = fig.renderers.filter(r => r.name && r.name.startsWith('map-points-'));
  return renderers.flatMap(r => Array.from(r.data_source.data.key));
}"""
POINT_ON_SCREEN = """(key) => {
  const fig = Bokeh.documents[0].get_model_by_name('map');
  const view = Bokeh.index.find_one(fig);
  const rect = view.canvas_view.el.getBoundingClientRect();
  for (const r of fig.renderers.filter(r => r.name && r.name.startsWith('map-points-'))) {
    const d = r.data_source.data, i = Array.from(d.key).indexOf(key);
    if (i >= 0) return {x: rect.left + view.frame.x_scale.compute(d.x[i]),
                        y: rect.top + view.frame.y_scale.compute(d.y[i])};
  }
  return null;
}"""
FRAME_CENTRE = """() => {
  const fig = Bokeh.documents[0].get_model_by_name('map');
  const view = Bokeh.index.find_one(fig);
  const rect = view.canvas_view.el.getBoundingClientRect(), f = view.frame.bbox;
  return {x: rect.left + f.x + f.width / 2, y: rect.top + f.y + f.height / 2,
          px_per_unit: f.width / (fig.x_range.end - fig.x_range.start)};
}"""
DENDROGRAM = """() => {
  const fig = Bokeh.documents[0].get_model_by_name('dendrogram');
  const links = Bokeh.documents[0].get_model_by_name('dendrogram-links');
  const overrides = fig.left[0].major_label_overrides;
  const labels = overrides instanceof Map ? Array.from(overrides.entries()) : Object.entries(overrides);
  return {links: links.data_source.get_length(),
          labels: labels.sort((a, b) => Number(a[0]) - Number(b[0])).map(e => String(e[1]))};
}"""


def browse(html: Path, shots: Path, data: dict, hover: list[str]) -> dict:
    """Open the report from disk in headless Chromium with every request but the file's own blocked and
    recorded; screenshot each section; hover the `hover` posts and click the first. Returns what it saw."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium)")
    own = html.resolve().as_uri()
    seen: dict = {"requests": [], "everywhere": [], "errors": [], "dialogs": [], "tooltips": {}, "sections": {}}
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", lambda route: route.continue_() if route.request.url == own else route.abort())
            context.on("request", lambda r: seen["everywhere"].append(r.url))  # popups too
            page = context.new_page()
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
            page.goto(own)
            page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                                   "Bokeh.documents[0].get_model_by_name('map') !== null")
            page.wait_for_timeout(300)
            seen["points"] = page.evaluate(MAP_POINTS)
            seen["dendrogram"] = page.evaluate(DENDROGRAM)
            seen["topic_titles"] = page.locator("#topics article.topic h3").all_inner_texts()
            for section in SECTIONS:
                locator = page.locator(f"#{section}")
                seen["sections"][section] = locator.inner_text()
                locator.screenshot(path=str(shots / f"{section}.png"))
            seen["rows"] = {name: page.locator(f"table.{name} tr").count() for name in
                            ("variants", "near-spellings", "merge", "used-once", "untagged", "orphans", "duplicates",
                             "related-changes", "eval")}
            page.locator("#map").scroll_into_view_if_needed()
            for key in hover:
                at = page.evaluate(POINT_ON_SCREEN, key)
                page.mouse.move(at["x"] - 30, at["y"] - 30)
                page.mouse.move(at["x"], at["y"], steps=4)
                page.locator(".bk-tooltip-content").first.wait_for(state="visible", timeout=5000)
                # every post under the pointer: overlapping points share one tooltip
                seen["tooltips"][key] = "\n".join(page.locator(".bk-tooltip-content").all_inner_texts())
            if hover:
                at = page.evaluate(POINT_ON_SCREEN, hover[0])
                mark = len(seen["everywhere"])
                with context.expect_page() as popup:
                    page.mouse.click(at["x"], at["y"])
                popup.value.wait_for_load_state()
                seen["opened"] = seen["everywhere"][mark:]  # what the new tab asked for (blocked)
                popup.value.close()
                ranges = "() => { const f = Bokeh.documents[0].get_model_by_name('map'); return [f.x_range.start, f.x_range.end]; }"
                before = page.evaluate(ranges)
                page.mouse.move(at["x"], at["y"])
                page.mouse.wheel(0, -400)
                page.wait_for_timeout(300)
                seen["zoom"] = (before, page.evaluate(ranges))
                # pan: drag from the middle of the plot 200 px to the left, by real mouse events
                centre = page.evaluate(FRAME_CENTRE)
                page.mouse.move(centre["x"], centre["y"])
                page.mouse.down()
                page.mouse.move(centre["x"] - 100, centre["y"], steps=5)
                page.mouse.move(centre["x"] - 200, centre["y"], steps=5)
                page.mouse.up()
                page.wait_for_timeout(300)
                seen["pan"] = (seen["zoom"][1], page.evaluate(ranges), centre["px_per_unit"])
        finally:
            browser.close()
    from postkin.report.html import MAP_ALPHA, palette

    colours = palette(len(data["topics"]))
    for section in SECTIONS:
        _screenshot_ok(shots / f"{section}.png", *{"map": (colours, MAP_ALPHA), "dendrogram": (colours,),
                                                    "topics": (colours,)}.get(section, ()))
    return seen


def check_page(seen: dict, data: dict) -> None:
    """What every report must show: the checks of the issue, by content."""
    assert seen["errors"] == [], seen["errors"]
    assert seen["dialogs"] == []
    assert set(seen["requests"]) == {seen["requests"][0]} and seen["requests"][0].startswith("file:"), seen["requests"]
    assert sorted(seen["points"]) == sorted(data["posts"])  # one point per post
    topics = data["topics"]
    assert [t.split(" ")[0] for t in seen["topic_titles"]] == [t["label"].split(" ")[0] for t in topics]
    assert all(f"{t['size']} posts" in title for t, title in zip(topics, seen["topic_titles"]))
    assert seen["dendrogram"]["links"] == len(topics) - 1
    assert seen["dendrogram"]["labels"] == [f"{t['label']} ({t['size']})" for t in topics]
    rows = seen["rows"]
    tags, outliers = data["tags"], data["outliers"]
    for name, items in (("variants", tags["variants"]), ("near-spellings", tags["near_spellings"]),
                        ("merge", tags["merge_candidates"]), ("used-once", tags["used_once"]),
                        ("untagged", tags["untagged"]), ("orphans", outliers["orphans"]),
                        ("duplicates", outliers["near_duplicates"][:200]),
                        ("related-changes", outliers["related_changes"])):
        assert rows[name] == (len(items) + 1 if items else 0), (name, rows[name], len(items))
    if data["quality"]:
        assert rows["eval"] == len(data["quality"]["methods"]) + 1
        assert "postkin (" in seen["sections"]["quality"]
    for key, tip in seen["tooltips"].items():
        assert data["posts"][key]["title"] in tip, (key, tip)
    if "zoom" in seen:
        (a0, a1), (b0, b1) = seen["zoom"]
        assert b1 - b0 < a1 - a0  # the wheel zoomed in
    if "pan" in seen:
        (a0, a1), (b0, b1), px_per_unit = seen["pan"]
        assert b1 - b0 == pytest.approx(a1 - a0, rel=1e-6)  # a pan keeps the zoom
        assert (b0 - a0) * px_per_unit == pytest.approx(200, abs=20)  # dragged 200 px left: the view moved right


@pytest.mark.slow
def test_report_of_site_example_in_chromium(tmp_path):
    """site_example read by Pelican's own readers, embedded by the bundled model (the real encoder)."""
    pytest.importorskip("pelican")
    from pelican.contents import Article
    from pelican.readers import Readers
    from pelican.settings import read_settings

    from postkin.hosts.pelican import posts_from_articles, resolve_settings
    from postkin.pipeline import run as run_pipeline
    from postkin.popularity import apply_popularity
    from postkin.report.glue import write_report

    site = Path(__file__).resolve().parent.parent / "site_example"
    conf = read_settings(str(site / "pelicanconf.py"))
    settings, _ = resolve_settings(conf)
    readers = Readers(conf)
    root = Path(conf["PATH"])
    articles = [readers.read_file(base_path=str(root), path=str(p.relative_to(root)), content_class=Article, context={})
                for p in sorted(root.rglob("*.md")) if "pages" not in p.relative_to(root).parts]
    posts, _ = posts_from_articles([a for a in articles if a.status == "published"],
                                   [a for a in articles if a.status != "published"], settings)
    out = tmp_path / "report.html"
    apply_popularity(posts, settings)  # pageviews.json, as the Pelican host does
    build = run_pipeline(posts, settings, cache_dir=tmp_path / "cache")
    data = write_report(build.stages, settings, tmp_path / "cache", out, title="Field Notes").to_dict()
    assert len(data["posts"]) == len(posts) >= 40 and data["summary"]["drafts"] >= 1
    assert any(t["most_read"] for t in data["topics"])  # pageviews.json
    first = data["topics"][0]["central"][0]["key"]
    seen = browse(out, tmp_path / "shots", data, hover=[first, data["topics"][-1]["latest"][0]])
    check_page(seen, data)
    assert seen["opened"] == [(out.parent / data["posts"][first]["url"]).as_uri()]  # the click opens the post
    assert data["posts"][first]["title"] in seen["sections"]["topics"]


@pytest.mark.slow
def test_report_of_a_500_post_blog_in_chromium(tmp_path, fake_encoder):
    content = generated_blog(tmp_path)
    out = tmp_path / "report.html"
    data, _ = report(content, out, config='encoder = "fake"\n')
    assert len(data["posts"]) == 500 and data["summary"]["topics"] == 10
    assert len(data["tags"]["untagged"]) == 50
    keys = sorted(data["posts"])
    seen = browse(out, tmp_path / "shots", data, hover=[keys[0], keys[250], keys[-1]])
    check_page(seen, data)
    assert out.stat().st_size < 5_000_000


@pytest.mark.slow
def test_markup_in_titles_stays_text_in_chromium(tmp_path, fake_encoder):
    out = tmp_path / "report.html"
    data, _ = report(tag_blog(tmp_path), out)
    seen = browse(out, tmp_path / "shots", data, hover=["evil", "evil-script"])
    check_page(seen, data)
    assert seen["tooltips"]["evil"].count(EVIL_TITLE) == 1
    assert EVIL_SCRIPT_TITLE in seen["tooltips"]["evil-script"]
    assert EVIL_TITLE in seen["sections"]["tags"] and "<b>bold</b>" in seen["sections"]["tags"]


@pytest.mark.slow
def test_browser_checks_catch_requests_and_console_errors(tmp_path, fake_encoder):
    """The checks above can fail: a report that loads a remote image and logs an error is caught."""
    out = tmp_path / "report.html"
    data, _ = report(tag_blog(tmp_path), out)
    html = out.read_text(encoding="utf-8")
    out.write_text(html.replace("</main>", '<img src="https://cdn.example.invalid/x.png">'
                                           '<script>console.error("boom")</script></main>'), encoding="utf-8")
    seen = browse(out, tmp_path / "shots", data, hover=[])
    assert "https://cdn.example.invalid/x.png" in seen["requests"]
    assert "boom" in seen["errors"]
    with pytest.raises(AssertionError):
        check_page(seen, data)
