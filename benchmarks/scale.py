"""Whole-process `postkin build` at scale, on blogs composed from real text: one JSON line per result.

    python benchmarks/scale.py /work/data/18f --sizes 1000,5000,20000 [--runs 3] [--tree PLUGIN_DIR_OR_REV]
        [--kinds cold,warm_nothing,...] [--compare-cold | --no-compare-cold] [--profile warm_body_edit]

A blog of N posts is composed from the real posts of the corpora (folders of Markdown with YAML front
matter; several are pooled): each post takes a real source post's tags and front-matter keys, a title
from a post of the same topic (a post sharing one of the source's tags), a lede and a few headings and
paragraphs drawn from the same topic's posts, and a date spread over 20 years. Page views are drawn
from a log-normal distribution (front-matter `views`) so the popular lists are not empty. Everything is
drawn from a seeded generator, post by post: the same corpora, size and seed give the same bytes. The
blog is cached in --blog-cache (a folder named by corpora, size, seed and a hash of the corpora's files).

Each run copies the blog and runs, one after another on that copy, whole `python -m postkin.cli build`
processes (PYTHONPATH = the tree under test) of each kind:
  cold              no cache, no outputs;
  warm_nothing      nothing changed;
  warm_body_edit    a real sentence appended to one post's body;
  warm_title_edit   one post given another real title;
  warm_post_added   one new post, composed like the others (the newest).
Each build prints {"wall_s", "cpu_s" (user + system of the build process), "max_rss_mb" (its peak
resident memory), "files_written" (files in OUT new or replaced), "files_changed" (new or with other
bytes), "files_removed", the counts the build's own summary line gives and whether they agree,
"load_1min" (the machine's load average as it started: on a shared machine trust CPU seconds more)};
then one line per (size, kind) with the medians.

--compare-cold (default for sizes <= 20,000): in the first run, after each warm kind, a cold build of
the same content into a folder of its own, and the share of posts whose related / cluster_latest /
cluster_popular / suggested_tags lists (by slug or tag, in order) are identical in both, whose whole
context is identical, and per key how many contexts differ in it (scores, cluster). warm_nothing is
compared with the run's cold build.

--profile KIND: in the first run, after KIND is measured, the same kind once more (another edit of
that kind) under cProfile; prints the top --profile-top functions by cumulative and by own time
(--profile-clock cpu: by the build's CPU seconds, which other loads on a shared machine do not inflate).

benchmarks/ab.py uses the build-running code below for its interleaved A/B of two trees.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSER_VERSION = "2"  # part of the blog cache key: change it when composition changes
KINDS = ("cold", "warm_nothing", "warm_body_edit", "warm_title_edit", "warm_post_added")
LISTS = {"related": "slug", "cluster_latest": "slug", "cluster_popular": "slug", "suggested_tags": "tag"}
START = dt.datetime(2006, 1, 1, 9, 0)
SPAN = dt.timedelta(days=20 * 365)
LEDE_KEYS = ("description", "excerpt", "summary", "lede")
AUTHOR_KEYS = ("authors", "author")
_FRONT = re.compile(r"\A---\s*\n(.*?\n)---\s*\n", re.S)
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")
_SUMMARY = re.compile(r"(\d+) files written, (\d+) removed")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# -- the real text --------------------------------------------------------------------------------

@dataclass
class Source:
    """One real post: what composed posts borrow from it."""

    path: Path
    title: str
    tags: list[str]
    paragraphs: list[str]
    headings: list[str]
    keys: dict[str, Any]  # front-matter keys copied as they are (authors, categories, layout)
    lede_keys: list[str]  # the keys holding the lede in this post's front matter (none: the first paragraph)


@dataclass
class Sources:
    """The real posts of the corpora, and the posts sharing each tag (a composed post's topic)."""

    posts: list[Source]
    by_tag: dict[str, list[int]]
    fingerprint: str  # sha256 of the corpora's file names, sizes and modification times
    _topics: dict[int, list[Source]] = field(default_factory=dict)

    def topic(self, i: int) -> list[Source]:
        """Source i and every source sharing one of its tags, in corpus order."""
        if i not in self._topics:
            self._topics[i] = [self.posts[j] for j in sorted({i, *(j for t in self.posts[i].tags
                                                                   for j in self.by_tag[t])})]
        return self._topics[i]


def split_front_matter(text: str) -> tuple[dict[str, Any], str] | None:
    """(YAML front matter, body) of a post, or None without YAML front matter that parses to a mapping."""
    match = _FRONT.match(text)
    if not match:
        return None
    try:
        meta = yaml.load(match.group(1), Loader=_Loader)
    except yaml.YAMLError:
        return None
    return (meta, text[match.end():]) if isinstance(meta, dict) else None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if isinstance(v, (str, int, float)) and str(v).strip()]
    return []


def _blocks(body: str) -> tuple[list[str], list[str]]:
    """(paragraphs of at least 40 characters, ATX headings) of a Markdown body, code blocks left out."""
    paragraphs: list[str] = []
    headings: list[str] = []
    for block in re.split(r"\n\s*\n", _FENCE.sub("", body)):
        block = block.strip()
        if block.startswith("#"):
            headings.extend(h.lstrip("#").strip() for h in block.splitlines() if h.startswith("#") and h.strip("# "))
        elif len(block) >= 40 and not block.startswith(("---", "***", "<", "{%", "    ")):
            paragraphs.append(block)
    return paragraphs, headings


def post_files(folder: Path) -> list[Path]:
    """Markdown files under `folder`, sorted, leaving out hidden folders (caches)."""
    return sorted(p for p in folder.rglob("*") if p.suffix in (".md", ".markdown") and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def load_sources(corpora: list[Path]) -> Sources:
    """The real posts of the corpora that have a title, tags and paragraphs. Raises SystemExit when none."""
    posts: list[Source] = []
    digest = hashlib.sha256()
    for corpus in corpora:
        for path in post_files(corpus):
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            parsed = split_front_matter(path.read_text(encoding="utf-8", errors="replace"))
            if parsed is None:
                continue
            meta, body = parsed
            title = str(meta.get("title") or "").strip()
            tags = _strings(meta.get("tags")) or _strings(meta.get("categories"))
            paragraphs, headings = _blocks(body)
            if not title or not tags or not paragraphs:
                continue
            keys = {k: meta[k] for k in (*AUTHOR_KEYS, "categories", "layout") if k in meta}
            lede_keys = [k for k in LEDE_KEYS if isinstance(meta.get(k), str)]
            posts.append(Source(path, title, tags, paragraphs, headings, keys, lede_keys))
    if not posts:
        raise SystemExit(f"no post with YAML front matter, a title, tags and paragraphs in {corpora}")
    by_tag: dict[str, list[int]] = {}
    for i, post in enumerate(posts):
        for tag in post.tags:
            by_tag.setdefault(tag, []).append(i)
    return Sources(posts, by_tag, digest.hexdigest())


# -- composing posts ------------------------------------------------------------------------------

def _yaml_value(value: Any) -> str:
    """A YAML flow value: JSON is YAML, and json.dumps is 100x faster than yaml.dump."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _sentence(text: str, limit: int = 320) -> str:
    """The first sentences of `text`, up to about `limit` characters, on one line."""
    out = ""
    for sentence in _SENTENCE.split(" ".join(text.split())):
        if out and len(out) + len(sentence) > limit:
            break
        out = f"{out} {sentence}".strip()
    return out[: limit * 2]


def post_date(index: int, size: int) -> dt.datetime:
    """Post `index` of a blog of `size` posts: spread evenly over 20 years; index >= size is newer."""
    return START + SPAN * (index / size)


def compose_post(sources: Sources, index: int, size: int, seed: int) -> tuple[str, str]:
    """(file name, Markdown text) of post `index` of a blog of `size` posts; the same for the same args."""
    rng = random.Random(f"{seed}:{index}")
    source_i = rng.randrange(len(sources.posts))
    source = sources.posts[source_i]
    near = sources.topic(source_i)

    def paragraph() -> str:  # from the source itself or a post of its topic
        return rng.choice((source if rng.random() < 0.4 else rng.choice(near)).paragraphs)

    title = rng.choice(near).title if rng.random() < 0.5 else source.title
    # two sentences of two paragraphs: one paragraph alone repeated a title and lede in 7% of 20,000 posts
    lede = f"{_sentence(paragraph(), 160)} {_sentence(paragraph(), 160)}"
    tags = list(source.tags)
    if rng.random() < 0.3:
        extra = rng.choice(rng.choice(near).tags)
        tags += [extra] if extra not in tags else []
    date = post_date(index, size)
    meta: dict[str, Any] = {"title": title, "date": date.strftime("%Y-%m-%dT%H:%M:%S"), "tags": tags}
    meta.update(source.keys)
    meta.update(dict.fromkeys(source.lede_keys, lede))
    meta["views"] = int(math.exp(rng.gauss(5.0, 1.5)))
    parts = [] if source.lede_keys else [lede]
    count = max(2, min(24, len(source.paragraphs) + rng.randint(-2, 2)))
    headings = [h for s in near for h in s.headings]
    sections = rng.randint(1, 4) if headings else 1
    for s in range(sections):
        if s or not parts:
            if headings:
                parts.append("## " + rng.choice(headings))
        parts += [paragraph() for _ in range(max(1, count // sections))]
    front = "".join(f"{key}: {_yaml_value(value)}\n" for key, value in meta.items())
    slug = re.sub(r"[^\w]+", "-", title.lower()).strip("-")[:60].strip("-") or "post"
    return f"{date:%Y-%m-%d}-{slug}-{index}.md", f"---\n{front}---\n\n" + "\n\n".join(parts) + "\n"


def compose_blog(corpora: list[Path], sources: Sources, size: int, seed: int, cache_root: Path) -> tuple[Path, bool]:
    """(folder of the composed blog of `size` posts, whether it came from the cache). Written to a
    temporary folder and renamed into place, so a folder in the cache is always whole."""
    key = hashlib.sha256(f"{COMPOSER_VERSION}\0{sources.fingerprint}\0{size}\0{seed}".encode()).hexdigest()[:12]
    names = "+".join(c.resolve().name for c in corpora)
    folder = cache_root / f"{names}-{size}-seed{seed}-{key}"
    if folder.is_dir():
        return folder, True
    cache_root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=cache_root))
    for index in range(size):
        name, text = compose_post(sources, index, size, seed)
        (partial / name).write_text(text, encoding="utf-8")
    partial.chmod(0o755)
    try:
        partial.rename(folder)
    except OSError:  # another run composed it meanwhile
        shutil.rmtree(partial, ignore_errors=True)
    return folder, False


# -- the edits each build kind makes ----------------------------------------------------------------

@dataclass
class Blog:
    """A writable copy of a blog and what the next edits draw from (targets and text, seeded)."""

    content: Path
    sources: Sources
    size: int  # posts composed into it (the index of the next added post)
    seed: int
    rng: random.Random
    added: int = 0

    def _target(self) -> tuple[Path, str, re.Match[str]]:
        """(path, text, front matter match) of a post, drawn at random, whose front matter parses and
        has a title line."""
        files = post_files(self.content)
        for _ in range(1000):
            path = self.rng.choice(files)
            text = path.read_text(encoding="utf-8")
            front = _FRONT.match(text)
            if front and split_front_matter(text) and re.search(r"(?m)^title:", front.group(1)):
                return path, text, front
        raise SystemExit(f"{self.content}: no post with YAML front matter and a title: line to edit")

    def edit_body(self) -> Path:
        """Append a real sentence (from another post) to one post's body."""
        path, text, _ = self._target()
        source = self.rng.choice(self.sources.posts)
        path.write_text(text.rstrip("\n") + "\n\n" + _sentence(self.rng.choice(source.paragraphs), 200) + "\n",
                        encoding="utf-8")
        return path

    def edit_title(self) -> Path:
        """Give one post another real title."""
        path, text, front = self._target()
        meta, _ = split_front_matter(text) or ({}, "")
        titles = [s.title for s in self.sources.posts if s.title != str(meta.get("title"))]
        new = re.sub(r"(?m)^title:.*$", lambda _: f"title: {_yaml_value(self.rng.choice(titles))}",
                     front.group(0), count=1)
        path.write_text(new + text[front.end():], encoding="utf-8")
        return path

    def add_post(self) -> Path:
        """Add the next composed post (newer than every other)."""
        name, text = compose_post(self.sources, self.size + self.added, self.size, self.seed)
        self.added += 1
        path = self.content / name
        path.write_text(text, encoding="utf-8")
        return path


def copy_blog(blog: Path, target: Path) -> None:
    """Copy a blog to `target`, writable (the eval corpora are read-only files)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(blog, target, copy_function=shutil.copyfile)
    for folder in (target, *(p for p in target.rglob("*") if p.is_dir())):
        folder.chmod(0o755)


# -- running builds ---------------------------------------------------------------------------------

@dataclass
class Measured:
    """One whole build process."""

    wall_s: float
    cpu_s: float
    max_rss_mb: float
    files_written: int
    files_changed: int
    files_removed: int
    summary_written: int | None
    summary_removed: int | None
    summary: str
    load_1min: float  # the machine's load average when the build started: wall seconds mean little when high

    def to_json(self) -> dict[str, Any]:
        agrees = (self.summary_written, self.summary_removed) == (self.files_written, self.files_removed)
        return {"wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 3), "max_rss_mb": self.max_rss_mb,
                "files_written": self.files_written, "files_changed": self.files_changed,
                "files_removed": self.files_removed, "summary_written": self.summary_written,
                "summary_removed": self.summary_removed, "summary_agrees": agrees, "summary": self.summary,
                "load_1min": self.load_1min}


Snapshot = dict[str, tuple[int, int, bytes]]


def snapshot(out: Path) -> Snapshot:
    """relative path -> (inode, mtime ns, blake2b of the bytes) of every file under `out`."""
    if not out.is_dir():
        return {}
    files: Snapshot = {}
    for path in out.rglob("*"):
        if path.is_file():
            stat = path.stat()
            files[str(path.relative_to(out))] = (stat.st_ino, stat.st_mtime_ns,
                                                 hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
    return files


def build_env(root: Path) -> dict[str, str]:
    """The builds' environment: BLAS/OpenMP threads = the cores this process may use, and a model cache
    of the benchmark's own (inflated once by a first, untimed build)."""
    threads = str(len(os.sched_getaffinity(0)))
    return {**os.environ, "POSTKIN_MODEL_CACHE": str(root / "model-cache"), "OMP_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}


def run_process(args: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float, float]:
    """(exit code, wall s, CPU s user + system, peak RSS MB) of one process and its children; stdout
    and stderr go to `log`. os.wait4 gives this child's own resource use (getrusage(RUSAGE_CHILDREN)
    would give the largest RSS of every child so far)."""
    with open(log, "wb") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, round(usage.ru_maxrss / 1024, 1)


# `python -c` this with: stats file, clock (wall or cpu), then postkin's arguments.
_PROFILE_DRIVER = """
import cProfile, runpy, sys, time
stats, clock = sys.argv[1:3]
sys.argv = ["postkin", *sys.argv[3:]]
profiler = cProfile.Profile(time.process_time if clock == "cpu" else time.perf_counter)
try:
    profiler.runcall(runpy.run_module, "postkin.cli", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
finally:
    profiler.dump_stats(stats)
"""


@dataclass
class Workspace:
    """One tree's build of one blog copy: content, outputs, cache, and the outputs' last snapshot."""

    plugin: Path
    root: Path
    env: dict[str, str]
    before: Snapshot = field(default_factory=dict)

    @property
    def content(self) -> Path:
        return self.root / "content"

    def build_args(self, out: Path, cache: Path) -> list[str]:
        return [sys.executable, "-m", "postkin.cli", "build", str(self.content), "--out", str(out),
                "--cache-dir", str(cache)]

    def env_for(self) -> dict[str, str]:
        return {**self.env, "PYTHONPATH": str(self.plugin)}

    def build(self, out_name: str = "out", cache_name: str = "cache") -> Measured:
        """One whole build of the content into root/out_name with root/cache_name. Raises SystemExit
        when the build fails."""
        out, cache = self.root / out_name, self.root / cache_name
        log = self.root / f"{out_name}.log"
        load = os.getloadavg()[0]
        code, wall, cpu, rss = run_process(self.build_args(out, cache), self.env_for(), log)
        text = log.read_text(encoding="utf-8", errors="replace")
        if code:
            raise SystemExit(f"build failed ({self.plugin}, exit {code}): {text[-2000:]}")
        summary = next((x for x in reversed(text.splitlines()) if _SUMMARY.search(x)), "")
        counts = _SUMMARY.search(summary)
        after = snapshot(out)
        before = self.before if out_name == "out" else {}
        written = sum(1 for k, v in after.items() if before.get(k, (None, None))[:2] != v[:2])
        changed = sum(1 for k, v in after.items() if k not in before or before[k][2] != v[2])
        removed = sum(1 for k in before if k not in after)
        if out_name == "out":
            self.before = after
        return Measured(wall, cpu, rss, written, changed, removed,
                        int(counts.group(1)) if counts else None, int(counts.group(2)) if counts else None, summary,
                        round(load, 2))

    def profile(self, top: int, clock: str = "wall") -> list[dict[str, Any]]:
        """One build under cProfile timing by `clock` (wall, or cpu: the process's own CPU seconds, which
        other loads on a shared machine do not inflate): its wall and CPU seconds, then the `top`
        functions by cumulative time and the `top` by own time (frames that only wrap the build left out)."""
        stats_file = self.root / "profile.pstats"
        args = self.build_args(self.root / "out", self.root / "cache")
        args[1:3] = ["-c", _PROFILE_DRIVER, str(stats_file), clock]
        code, wall, cpu, _ = run_process(args, self.env_for(), self.root / "profile.log")
        if code or not stats_file.is_file():
            raise SystemExit(f"profiled build failed: {(self.root / 'profile.log').read_text()[-2000:]}")
        self.before = snapshot(self.root / "out")
        rows = [("/".join(Path(file).parts[-2:]) + f":{line}({name})", nc, tt, ct)
                for (file, line, name), (_, nc, tt, ct, _) in pstats.Stats(str(stats_file)).stats.items()  # type: ignore[attr-defined]
                if not (file.startswith("<") or file == "~" and "exec" in name or "/click/" in file
                        or file.endswith("cli.py") and name in ("<module>", "main"))]
        lines: list[dict[str, Any]] = [{"clock": clock, "profiled_wall_s": round(wall, 3),
                                        "profiled_cpu_s": round(cpu, 3)}]
        for by, column in (("cumulative", 3), ("own", 2)):
            ranked = sorted(rows, key=lambda row: row[column], reverse=True)[:top]
            lines += [{"by": by, "rank": n, "function": f, "cum_s": round(ct, 3), "own_s": round(tt, 3), "calls": nc}
                      for n, (f, nc, tt, ct) in enumerate(ranked, 1)]
        return lines


def apply_kind(kind: str, blog: Blog, work: Workspace) -> None:
    """Make the change a build kind measures: cold removes the cache and the outputs."""
    if kind == "cold":
        for name in ("out", "cache"):
            shutil.rmtree(work.root / name, ignore_errors=True)
        work.before = {}
    elif kind == "warm_body_edit":
        blog.edit_body()
    elif kind == "warm_title_edit":
        blog.edit_title()
    elif kind == "warm_post_added":
        blog.add_post()
    elif kind != "warm_nothing":
        raise ValueError(f"unknown build kind {kind!r}; known: {', '.join(KINDS)}")


def warm_up(plugin: Path, sources: Sources, root: Path, env: dict[str, str]) -> None:
    """One untimed build of a small composed blog: inflates the bundled model into the model cache."""
    work = Workspace(plugin, root / "warm-up", env)
    work.content.mkdir(parents=True, exist_ok=True)
    for index in range(20):
        name, text = compose_post(sources, index, 20, 0)
        (work.content / name).write_text(text, encoding="utf-8")
    work.build()
    shutil.rmtree(work.root, ignore_errors=True)


def plugin_dir(spec: str, scratch: Path) -> Path:
    """The folder holding the `postkin` package of `spec`: a plugin/ folder, a checkout holding plugin/,
    or a git revision of this repository (checked out into a worktree under `scratch`)."""
    path = Path(spec)
    if (path / "postkin").is_dir():
        return path.resolve()
    if (path / "plugin" / "postkin").is_dir():
        return (path / "plugin").resolve()
    target = scratch / ("rev-" + re.sub(r"[^\w.-]", "_", spec))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(target), spec],
                   check=True, capture_output=True)
    return target / "plugin"


@contextlib.contextmanager
def trees(specs: list[str], scratch: Path) -> Iterator[list[Path]]:
    """The plugin folders of `specs`; git worktrees made for revisions are removed afterwards."""
    made = []
    try:
        dirs = []
        for spec in specs:
            dirs.append(plugin_dir(spec, scratch))
            if dirs[-1].parent.parent == scratch:
                made.append(dirs[-1].parent)
        yield dirs
    finally:
        for tree in made:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)


# -- comparing with a cold build --------------------------------------------------------------------

def compare_outputs(warm: Path, cold: Path) -> dict[str, Any]:
    """Share of posts (in both postkin.json files) whose lists are identical, per list and all four,
    and whose whole context is identical; posts only in one of them; for the posts whose contexts
    differ, how many differ in each key (a list with the same items but other scores counts there) and
    the first difference."""
    a = json.loads((warm / "postkin.json").read_text(encoding="utf-8"))["posts"]
    b = json.loads((cold / "postkin.json").read_text(encoding="utf-8"))["posts"]
    common = sorted(set(a) & set(b))
    same = {name: 0 for name in LISTS}
    all_lists = whole = 0
    differing: dict[str, int] = {}
    example: dict[str, Any] = {}
    for slug in common:
        equal = True
        for name, key in LISTS.items():
            x = [item.get(key) for item in a[slug].get(name) or []]
            y = [item.get(key) for item in b[slug].get(name) or []]
            same[name] += x == y
            equal &= x == y
        all_lists += equal
        whole += a[slug] == b[slug]
        for key in sorted(set(a[slug]) | set(b[slug])):
            x, y = a[slug].get(key), b[slug].get(key)
            if x != y:
                differing[key] = differing.get(key, 0) + 1
                if not example:  # the first item that differs, for a list
                    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
                        x, y = next((i, j) for i, j in zip(x, y) if i != j)
                    example = {"slug": slug, "key": key, "warm": x, "cold": y}
    n = max(len(common), 1)
    return {"posts": len(common), "only_warm": len(set(a) - set(b)), "only_cold": len(set(b) - set(a)),
            **{f"{name}_identical": round(same[name] / n, 5) for name in LISTS},
            "all_lists_identical": round(all_lists / n, 5), "context_identical": round(whole / n, 5),
            "contexts_differing_in": differing, "first_difference": example}


# -- the benchmark ----------------------------------------------------------------------------------

def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians (and the range of wall seconds and files written) of one kind's runs."""
    def med(key: str) -> Any:
        return round(statistics.median(r[key] for r in rows), 3)

    return {"runs": len(rows), "median_wall_s": med("wall_s"), "min_wall_s": min(r["wall_s"] for r in rows),
            "max_wall_s": max(r["wall_s"] for r in rows), "median_cpu_s": med("cpu_s"),
            "median_max_rss_mb": med("max_rss_mb"), "max_rss_mb": max(r["max_rss_mb"] for r in rows),
            "median_files_written": med("files_written"), "files_written_range": [
                min(r["files_written"] for r in rows), max(r["files_written"] for r in rows)],
            "median_files_changed": med("files_changed"), "summary_agrees": all(r["summary_agrees"] for r in rows),
            "max_load_1min": max(r["load_1min"] for r in rows)}


def main(argv: list[str] | None = None, emit: Callable[[dict[str, Any]], None] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", type=Path, nargs="+", help="folders of real posts (Markdown, YAML front matter)")
    parser.add_argument("--sizes", default="1000,5000,20000", help="comma-separated numbers of posts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tree", default=str(REPO / "plugin"),
                        help="plugin folder, checkout or git revision under test (default: this checkout's)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="build kinds, in order (cold always runs first)")
    parser.add_argument("--compare-cold", action=argparse.BooleanOptionalAction, default=None,
                        help="compare each warm build with a cold one (default: for sizes <= 20,000)")
    parser.add_argument("--profile", choices=KINDS[1:], help="profile one more build of this kind (first run)")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--profile-clock", choices=("wall", "cpu"), default="wall",
                        help="time functions by wall seconds or by the build's own CPU seconds")
    parser.add_argument("--blog-cache", type=Path, default=REPO / ".bench-cache" / "scale",
                        help="folder of composed blogs (default: .bench-cache/scale)")
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder, removed afterwards")
    args = parser.parse_args(argv)
    out = emit or (lambda row: print(json.dumps(row, ensure_ascii=False), flush=True))
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    kinds = ["cold"] + [k for k in args.kinds.split(",") if k and k != "cold"]
    if set(kinds) - set(KINDS):
        parser.error(f"unknown build kind(s) {', '.join(sorted(set(kinds) - set(KINDS)))}; known: {', '.join(KINDS)}")
    corpus = "+".join(str(c) for c in args.corpora)
    started = time.perf_counter()
    sources = load_sources(args.corpora)
    out({"bench": "scale", "corpus": corpus, "source_posts": len(sources.posts), "tags": len(sources.by_tag),
         "load_s": round(time.perf_counter() - started, 3)})
    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="postkin-scale-"))
    scratch.mkdir(parents=True, exist_ok=True)
    env = build_env(scratch)
    try:
        with trees([args.tree], scratch) as (plugin,):
            warm_up(plugin, sources, scratch, env)
            for size in sizes:
                started = time.perf_counter()
                folder, cached = compose_blog(args.corpora, sources, size, args.seed, args.blog_cache)
                out({"bench": "scale", "corpus": corpus, "size": size, "blog": str(folder), "cached": cached,
                     "compose_s": round(time.perf_counter() - started, 3)})
                compare = args.compare_cold if args.compare_cold is not None else size <= 20_000
                rows: dict[str, list[dict[str, Any]]] = {}
                for run in range(args.runs):
                    work = Workspace(plugin, scratch / f"n{size}-run{run}", env)
                    started = time.perf_counter()
                    copy_blog(folder, work.content)
                    blog = Blog(work.content, sources, size, args.seed, random.Random(f"{args.seed}:run{run}"))
                    base = {"bench": "scale", "tree": str(plugin), "corpus": corpus, "size": size, "run": run}
                    out({**base, "copy_s": round(time.perf_counter() - started, 3)})
                    reference_current = False  # cold-out holds a cold build of the content as it is now
                    for kind in kinds:
                        apply_kind(kind, blog, work)
                        reference_current &= kind == "warm_nothing"
                        row = {**base, "kind": kind, **work.build().to_json()}
                        rows.setdefault(kind, []).append(row)
                        out(row)
                        if compare and run == 0:
                            if kind == "cold":
                                shutil.copytree(work.root / "out", work.root / "cold-out")
                            elif not reference_current:
                                shutil.rmtree(work.root / "cold-out", ignore_errors=True)
                                shutil.rmtree(work.root / "cold-cache", ignore_errors=True)
                                reference = work.build("cold-out", "cold-cache")
                                base["cold_wall_s"] = round(reference.wall_s, 3)
                            reference_current = True
                            if kind != "cold":
                                out({**base, "kind": kind,
                                     "compare_cold": compare_outputs(work.root / "out", work.root / "cold-out")})
                            base.pop("cold_wall_s", None)
                        if kind == args.profile and run == 0:
                            apply_kind(kind, blog, work)
                            reference_current &= kind == "warm_nothing"
                            for line in work.profile(args.profile_top, args.profile_clock):
                                out({**base, "kind": kind, "profile": line})
                    shutil.rmtree(work.root, ignore_errors=True)
                for kind, kind_rows in rows.items():
                    out({"bench": "scale", "tree": str(plugin), "corpus": corpus, "size": size, "kind": kind,
                         **summarise(kind_rows)})
    finally:
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
