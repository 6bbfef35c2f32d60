"""`postkin build` end to end on small blogs with the fake encoder: outputs, cache, incremental writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_post

from postkin.cli import main


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def build(content: Path, out: Path, *extra: str):
    return run("build", str(content), "--out", str(out), "--cache-dir", str(content.parent / "cache"),
               "--config", str(write_config(content.parent)), *extra)


def write_config(folder: Path, text: str = 'encoder = "fake"\ntags_min_score = 0.0\n') -> Path:
    path = folder / "postkin.toml"
    if not path.exists():
        path.write_text(text)
    return path


def load(out: Path) -> dict:
    return json.loads((out / "postkin.json").read_text(encoding="utf-8"))


def mtimes(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted(out.rglob("*.json"))}


def test_build_gives_every_post_its_context(small_blog, tmp_path, fake_encoder):
    out = tmp_path / "out"
    result = build(small_blog, out)
    assert "9 posts; embedded 9 now, 0 from cache; indexed 9 now, 0 from cache; 10 files written" in result.output
    data = load(out)
    assert data["encoder"] == {"dim": 64, "id": "fake/1"}
    posts = data["posts"]
    assert len(posts) == 9
    ctx = posts["python-0"]
    assert set(ctx) >= {"source", "slug", "url", "title", "date", "related", "cluster", "cluster_latest",
                        "cluster_popular", "suggested_tags"}
    assert ctx["source"] == "2024-01-01-python-0.md" and ctx["url"] == "/2024/01/01/python-0/"
    # The two other Python posts share the most words: they come first, the post itself never.
    assert {r["slug"] for r in ctx["related"][:2]} == {"python-1", "python-2"}
    assert all(r["slug"] != "python-0" for r in ctx["related"])
    assert set(ctx["related"][0]) == {"source", "slug", "title", "url", "date", "score"}
    scores = [r["score"] for r in ctx["related"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 5
    # python-0 carries only 'python': 'packaging' (its topic's other tag) is the top suggestion.
    assert "packaging" in [t["tag"] for t in ctx["suggested_tags"]]
    assert all(t["tag"] != "python" for t in ctx["suggested_tags"])
    assert json.loads((out / "posts" / "python-0.json").read_text(encoding="utf-8")) == ctx
    # Clusters: every post in exactly one, labels from tags, lists exclude the post itself.
    members = [m["slug"] for c in data["clusters"] for m in c["members"]]
    assert sorted(members) == sorted(posts) and all(c["label"] for c in data["clusters"])
    for slug, c in posts.items():
        assert slug not in [m["slug"] for m in c["cluster_latest"]]
        dates = [m["date"] for m in c["cluster_latest"]]
        assert dates == sorted(dates, reverse=True)
        assert c["cluster_popular"] == []  # no popularity data


def test_second_build_embeds_nothing_and_writes_nothing(small_blog, tmp_path, fake_encoder):
    out = tmp_path / "out"
    build(small_blog, out)
    before = mtimes(out)
    result = build(small_blog, out)
    assert "9 posts; nothing changed since the last build; embedded 0 now, 9 from cache; indexed 0 now, 9 from cache; 0 files written" in result.output
    assert mtimes(out) == before


def test_editing_one_post_embeds_one_and_rewrites_only_changed_files(small_blog, tmp_path, fake_encoder):
    out = tmp_path / "out"
    write_config(tmp_path, 'encoder = "fake"\nrelated_k = 1\ncluster_k = 1\ntags_k = 0\nclusters = 3\n')  # few pages name the post
    build(small_blog, out)
    before = {p: (out / p).read_bytes() for p in mtimes(out)}
    times = mtimes(out)
    post = small_blog / "2024-01-04-postgres-0.md"
    post.write_text(post.read_text(encoding="utf-8").replace("PostgreSQL tuning part 0", "PostgreSQL vacuum"),
                    encoding="utf-8")
    result = build(small_blog, out)
    assert "embedded 1 now, 8 from cache; indexed 1 now, 8 from cache" in result.output
    after = mtimes(out)
    changed = {p for p in after if (out / p).read_bytes() != before[p]}
    rewritten = {p for p in after if after[p] != times[p]}
    # Only files whose bytes changed are written. (Which ones change is the method's business: a title
    # edit moves that post's words' IDF, and the fused scores are z-scored over all posts.)
    assert rewritten == changed and "posts/postgres-0.json" in changed


def test_body_edit_reindexes_one_post_without_embedding(small_blog, tmp_path, fake_encoder):
    out = tmp_path / "out"
    build(small_blog, out)
    post = small_blog / "2024-01-04-postgres-0.md"
    before = mtimes(out)
    post.write_text(post.read_text(encoding="utf-8") + "\nA second paragraph about autovacuum.\n", encoding="utf-8")
    result = build(small_blog, out)
    # the embedded text (title, lede, headings) is unchanged, but the user sees the edit was read;
    # its new words occur in no other post (df 1: not in the TF-IDF), so no output changes and every
    # file keeps its mtime
    assert "embedded 0 now, 9 from cache; indexed 1 now, 8 from cache; 0 files written" in result.output
    assert mtimes(out) == before


def test_rename_costs_no_embedding(small_blog, tmp_path, fake_encoder):
    out = tmp_path / "out"
    build(small_blog, out)
    (small_blog / "2024-01-01-python-0.md").rename(small_blog / "2024-01-01-python-zero.md")
    result = build(small_blog, out)
    assert "embedded 0 now" in result.output
    assert not (out / "posts" / "python-0.json").exists() and (out / "posts" / "python-zero.json").exists()


def test_encoder_change_invalidates_cache(small_blog, tmp_path, fake_encoder):
    out = tmp_path / "out"
    build(small_blog, out)
    fake_encoder.version = "2"
    assert "embedded 9 now" in build(small_blog, out).output


def test_identical_input_gives_identical_bytes(small_blog, tmp_path, fake_encoder):
    build(small_blog, tmp_path / "a")
    run("build", str(small_blog), "--out", str(tmp_path / "b"), "--cache-dir", str(tmp_path / "other-cache"),
        "--config", str(small_blog.parent / "postkin.toml"))
    files_a = {p: (tmp_path / "a" / p).read_bytes() for p in mtimes(tmp_path / "a")}
    files_b = {p: (tmp_path / "b" / p).read_bytes() for p in mtimes(tmp_path / "b")}
    assert files_a == files_b


def test_broken_post_is_skipped_with_one_line_and_strict_fails(small_blog, tmp_path, fake_encoder):
    bad = small_blog / "2024-02-01-bad.md"
    bad.write_text("---\ntitle: [broken\n---\nbody", encoding="utf-8")
    result = build(small_blog, tmp_path / "out")
    warning = [line for line in result.output.splitlines() if "2024-02-01-bad.md" in line]
    assert len(warning) == 1 and "skipped: front matter is not valid YAML" in warning[0]
    assert "9 posts, 1 skipped" in result.output
    strict = run("build", str(small_blog), "--out", str(tmp_path / "o2"), "--strict",
                 "--config", str(small_blog.parent / "postkin.toml"), ok=False)
    assert strict.exit_code == 1 and "strict mode" in strict.output


@pytest.mark.parametrize("count", [0, 1, 2])
def test_tiny_blogs_build(tmp_path, fake_encoder, count):
    content = tmp_path / "content"
    content.mkdir()
    for i in range(count):
        write_post(content, f"p{i}.md", f"title: Post {i}\ntags: [t{i}]", "text")
    build(content, tmp_path / "out")
    data = load(tmp_path / "out")
    assert len(data["posts"]) == count
    if count == 2:
        assert [r["slug"] for r in data["posts"]["p0"]["related"]] == ["p1"]
        assert data["posts"]["p0"]["suggested_tags"][0]["tag"] == "t1"


def test_drafts_get_context_but_are_never_recommended(small_blog, tmp_path, fake_encoder):
    draft = small_blog / "2024-01-02-python-1.md"
    draft.write_text(draft.read_text(encoding="utf-8").replace("title:", "draft: true\ntitle:", 1), encoding="utf-8")
    build(small_blog, tmp_path / "out")
    posts = load(tmp_path / "out")["posts"]
    assert posts["python-1"]["draft"] is True and posts["python-1"]["related"]
    for ctx in posts.values():
        for key in ("related", "cluster_latest", "cluster_popular"):
            assert "python-1" not in [item["slug"] for item in ctx[key]]


def test_popularity_from_pageviews_csv_and_front_matter(small_blog, tmp_path, fake_encoder):
    (tmp_path / "views.csv").write_text("Page path,Views\n/2024/01/02/python-1/,1500\npython-2,90\n")
    write_config(tmp_path, 'encoder = "fake"\npopularity_file = "views.csv"\ncluster_k = 9\n')
    build(small_blog, tmp_path / "out")
    posts = load(tmp_path / "out")["posts"]
    popular = posts["python-0"]["cluster_popular"]
    assert [p["slug"] for p in popular][:2] == ["python-1", "python-2"]
    assert popular[0]["popularity"] == 1500.0


def test_slug_escaping_output_is_refused(tmp_path, fake_encoder):
    content = tmp_path / "content"
    write_post(content, "a.md", "title: A\nslug: '../../x'")
    write_post(content, "b.md", "title: B")
    result = build(content, tmp_path / "out")
    assert "a.md: skipped: slug '../../x' is not allowed" in result.output
    assert not (tmp_path / "x.json").exists()


def test_an_output_file_symlinked_outside_the_output_folder_is_not_written_through(tmp_path):
    from postkin.errors import PostkinError
    from postkin.outputs import post_path

    out = tmp_path / "out"
    (out / "posts").mkdir(parents=True)
    victim = tmp_path / "victim.json"
    victim.write_text("keep me")
    (out / "posts" / "b.json").symlink_to(victim)
    assert post_path(out, "a") == (out / "posts" / "a.json").resolve()
    with pytest.raises(PostkinError, match="would write outside"):
        post_path(out, "b")
    assert victim.read_text() == "keep me"


def test_unknown_config_key_is_an_error_naming_it(small_blog, tmp_path):
    write_config(tmp_path, "relatedk = 3\n")
    result = run("build", str(small_blog), "--out", str(tmp_path / "out"), ok=False)
    assert result.exit_code == 1
    assert "postkin.toml: unknown postkin setting 'relatedk' (did you mean 'related_k'?)" in result.output


def test_missing_content_folder(tmp_path):
    result = run("build", str(tmp_path / "nope"), ok=False)
    assert result.exit_code == 1 and "content folder not found" in result.output


def test_suggest_tags_for_a_new_post(small_blog, tmp_path, fake_encoder):
    write_config(tmp_path)
    new = write_post(tmp_path / "drafts", "new.md", 'title: "Packaging python wheels"\ntags: [python]',
                     "pip wheels virtualenv packaging python tooling")
    readme = tmp_path / "drafts" / "README.md"
    readme.write_text("# not a post\n")
    result = run("suggest-tags", str(new), str(readme), "--content", str(small_blog),
                 "--config", str(tmp_path / "postkin.toml"), "--cache-dir", str(tmp_path / "cache"))
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{new}: suggested tags: ") and "packaging (" in lines[0]
    assert lines[1] == f"{readme}: not a post: no front matter (--- or +++)"



def test_ward_order_puts_similar_clusters_next_to_each_other():
    import numpy as np

    from postkin.topics import ward_order

    # two tight pairs far apart, given interleaved: the order must keep each pair together
    c = np.array([[1, 0, 0], [0, 0, 1], [0.99, 0.14, 0], [0.1, 0, 0.99]], dtype=np.float32)
    order = ward_order(c / np.linalg.norm(c, axis=1, keepdims=True))
    assert sorted(order) == [0, 1, 2, 3]
    assert {frozenset(order[:2]), frozenset(order[2:])} == {frozenset({0, 2}), frozenset({1, 3})}


def test_site_file_is_the_canonical_json_of_site_and_posts():
    from postkin.outputs import _site_bytes, _text, dumps

    site = {"clusters": [{"id": 0, "label": "é"}], "encoder": {"dim": 2}, "post_count": 2}
    posts = {"b": {"x": 1}, "a": {"y": [1.5, None]}}
    assert _site_bytes(site, {k: _text(v) for k, v in posts.items()}) == dumps({**site, "posts": posts})
    assert _site_bytes({}, {}) == dumps({"posts": {}})


WATCH_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from conftest import FakeEncoder
from postkin import encoders
encoders._load_builtin()
encoders._REGISTRY["fake"] = lambda settings: FakeEncoder()
from postkin.cli import main
main(sys.argv[1:])
"""


def test_watch_rebuilds_what_changed_until_stopped(small_blog, tmp_path):
    """`postkin build --watch` keeps the data current while the author writes (live previews)."""
    import subprocess
    import sys
    import threading
    import time
    from queue import Empty, Queue

    config = write_config(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", WATCH_SCRIPT.format(tests=str(Path(__file__).parent)), "build", str(small_blog),
         "--out", str(out), "--config", str(config), "--cache-dir", str(tmp_path / "cache"), "--watch"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    queue: Queue[str] = Queue()
    threading.Thread(target=lambda: [queue.put(line) for line in proc.stdout], daemon=True).start()

    def wait_for(text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                lines.append(queue.get(timeout=0.5))
            except Empty:
                continue
            if text in lines[-1]:
                return
        raise AssertionError(f"never saw {text!r}: {''.join(lines)}")

    try:
        wait_for("watching")
        assert "embedded 9 now" in "".join(lines)
        before = (out / "postkin.json").read_bytes()
        post = small_blog / "2024-01-04-postgres-0.md"
        post.write_text(post.read_text(encoding="utf-8").replace("PostgreSQL tuning part 0", "Vacuum in depth"),
                        encoding="utf-8")
        wait_for("embedded 1 now, 8 from cache")
        assert (out / "postkin.json").read_bytes() != before
        assert "Vacuum in depth" in (out / "posts" / "postgres-0.json").read_text(encoding="utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
