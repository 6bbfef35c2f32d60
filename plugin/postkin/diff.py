"""`postkin diff`: what changed in each post's lists between two builds, and why.

A build is compared as a `Snapshot`: every post's context (the JSON the outputs hold, keyed by post key)
and, where known, each post's related candidates ranked beyond its list (`Ranked`: the fused score and
each signal of the pair: the embedding cosine `semantic`, the TF-IDF cosine `lexical`, `link` 1 when one
post links to the other). Snapshots come from

- the build record: every build that has a cache folder keeps its record there (derived kind RECORD_KIND:
  `last`, and the one before it as `previous`); `postkin diff SITE` compares the site as it is now
  (computed through the cache, nothing written) with the last build's record, `postkin diff SITE --last`
  the last build with the one before it (what the last build changed: CI runs it after `postkin build`);
- two output folders (`postkin diff OLD NEW`), in any generator's shape (postkin.json; Eleventy and
  Astro posts.json; Jekyll keys.json and posts/). Their related items explain themselves only when the
  builds had the `signals` setting; otherwise the reasons are the ones the contexts show (a new, removed,
  unpublished or excluded post; a topic that changed), and the diff ends with a note saying so.

A post is named exactly when its context changed, so the posts named are the posts whose data files a
build rewrites; each line under it is one list's change: `+` a post entered (and why), `-` one left (and
why), `~` the rest (order, titles, scores, topic, the post's own fields).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import PostkinError

if TYPE_CHECKING:
    from .cache import EmbeddingCache
    from .pipeline import Build
    from .settings import Settings

RECORD_KIND = "build-record/1"
RANKED = 10  # candidates kept per post in a record, at least related_k
LISTS = ("related", "cluster_latest", "cluster_popular", "translations")
OWN_FIELDS = ("title", "url", "date", "draft", "lang", "source", "excluded")
ITEM_FIELDS = ("title", "url", "date", "score", "popularity", "lang", "pinned", "fallback")
MOVED = 0.005  # a signal moved when it changed by at least this much


@dataclass
class Ranked:
    """A related candidate of one post: its rank (1 = first), fused score and the pair's signals."""

    rank: int
    fused: float | None
    signals: dict[str, float] = field(default_factory=dict)


@dataclass
class Snapshot:
    """One build: each post's context by key, each post's ranked related candidates (key -> candidate key
    -> Ranked; None when unknown), how many candidates were kept per post (0: the related lists only)."""

    label: str
    posts: dict[str, dict[str, Any]]
    ranked: dict[str, dict[str, Ranked]] | None = None
    depth: int = 0
    min_score: float | None = None
    site: dict[str, Any] | None = None
    explained: bool = True  # its related items carry their signals (False: an output folder built without them)


# ----------------------------------------------------------------------------- the build record
def make_record(build: Build, settings: Settings) -> dict[str, Any]:
    """A build's record: its contexts, its topics, and each post's top max(RANKED, related_k) related
    candidates (ranked as its list, controls applied) with their fused scores and per-signal values; on
    large sites (similarity.LARGE_SITE) the related lists only."""
    from .similarity import LARGE_SITE, pair_cosines

    stages = build.stages
    data: dict[str, Any] = {"version": 1, "posts": build.posts_json(), "site": build.site.to_json(), "ranked": {},
                            "depth": 0, "min_score": settings.related_min_score}
    if stages is None:
        return data
    posts, feats = stages.posts, stages.features
    related = stages.related
    depth = max(RANKED, settings.related_k)
    if len(posts) <= LARGE_SITE and settings.related_k:
        # the build's own rules (language and translation limits, controls), deeper
        related = stages.languages.related(stages.similarity.related, stages.listed, depth, stages.controls)
    data["depth"] = related.idx.shape[1]
    ok = related.idx >= 0
    rows = np.broadcast_to(np.arange(len(posts))[:, None], related.idx.shape)[ok]
    cols = related.idx[ok]
    values = {"semantic": pair_cosines(feats.vectors, rows, cols)}
    if feats.lexical.tfidf.shape[1]:  # the blog's TF-IDF Gram matrix when the similarity kept it
        gram = stages.similarity.lexical_gram
        values["lexical"] = gram[rows, cols] if gram is not None else pair_cosines(feats.lexical.tfidf, rows, cols)
    if feats.links is not None:
        values["link"] = (np.asarray(feats.links.tocsr()[rows, cols]).ravel() > 0).astype(np.float64)
    table = np.round(np.column_stack([related.fused[ok], *values.values()]).astype(np.float64), 3).tolist()
    keys = [p.slug for p in posts]
    ranked: dict[str, list[list[Any]]] = {}
    for i, j, row in zip(rows.tolist(), cols.tolist(), table):
        ranked.setdefault(keys[i], []).append([keys[j], *row])
    data["ranked"] = ranked
    data["signals"] = list(values)
    return data


def record_bytes(record: dict[str, Any]) -> bytes:
    """A record as stored: JSON, deflated (zlib level 1: 18F's 2.3 MB in 0.44 MB)."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))  # built in a fixed order
    return zlib.compress(text.encode("utf-8"), 1)


def keep_record(cache: EmbeddingCache, build: Build, settings: Settings) -> None:
    """Store this build's record as the last one, the last one before it as the previous one. A build that
    changes nothing writes nothing: not after a change (previous == last afterwards), and not after the
    first build either (only the last is kept), so a build on a read-only or full cache that needs no new
    vector stays silent."""
    data = record_bytes(make_record(build, settings))
    stored = cache.get_derived(RECORD_KIND, ["last", "previous"])
    last = stored.get("last")
    if last == data and stored.get("previous") in (data, None):
        return
    items = {"last": data}
    if last is not None:
        items["previous"] = last
    cache.put_derived(RECORD_KIND, items)


def snapshot_of(record: dict[str, Any], label: str) -> Snapshot:
    """A Snapshot from a record (make_record's data, or as read back from the cache)."""
    names = record.get("signals", [])
    ranked: dict[str, dict[str, Ranked]] = {}
    for slug, rows in record.get("ranked", {}).items():
        ranked[slug] = {row[0]: Ranked(rank, row[1], dict(zip(names, row[2:]))) for rank, row in enumerate(rows, 1)}
    return Snapshot(label, record["posts"], ranked, int(record.get("depth", 0)), record.get("min_score"),
                    record.get("site"))


def stored_snapshots(cache: EmbeddingCache) -> tuple[Snapshot | None, Snapshot | None]:
    """(previous, last): the records the cache keeps (None: not there)."""
    stored = cache.get_derived(RECORD_KIND, ["previous", "last"])
    out: list[Snapshot | None] = []
    for name in ("previous", "last"):
        data = stored.get(name)
        if data is None:
            out.append(None)
            continue
        try:
            record = json.loads(zlib.decompress(data).decode("utf-8"))
        except (zlib.error, UnicodeDecodeError, ValueError):
            out.append(None)
            continue
        out.append(snapshot_of(record, f"the {name} build"))
    return out[0], out[1]


# ----------------------------------------------------------------------------- output folders
def read_output(folder: Path) -> Snapshot:
    """A Snapshot from a build's output folder (postkin.json; posts.json; keys.json with posts/). Raises
    PostkinError (one line) when the folder holds none of them or they cannot be read."""
    folder = Path(folder)

    def load(path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise PostkinError(f"{path}: cannot read postkin's output ({exc})") from None

    posts: dict[str, dict[str, Any]] = {}
    site = None
    if (folder / "postkin.json").is_file():
        data = load(folder / "postkin.json")
        posts = dict(data.get("posts", {})) if isinstance(data, dict) else {}
        site = {k: v for k, v in data.items() if k != "posts"} if isinstance(data, dict) else None
    elif (folder / "posts.json").is_file():  # Eleventy, Astro: keyed by the generator's page id
        data = load(folder / "posts.json")
        posts = {ctx.get("slug", key): ctx for key, ctx in data.items()} if isinstance(data, dict) else {}
        site = load(folder / "site.json") if (folder / "site.json").is_file() else None
    elif (folder / "keys.json").is_file() and (folder / "posts").is_dir():  # Jekyll
        for path in sorted((folder / "posts").glob("*.json")):
            ctx = load(path)
            if isinstance(ctx, dict):
                posts[str(ctx.get("slug", path.stem))] = ctx
        site = load(folder / "site.json") if (folder / "site.json").is_file() else None
    else:
        raise PostkinError(f"{folder}: no postkin outputs here (postkin.json, posts.json, or keys.json with "
                           "posts/); give the folder `postkin build --out` wrote")
    ranked: dict[str, dict[str, Ranked]] = {}
    for slug, ctx in posts.items():
        items = {}
        for rank, item in enumerate(ctx.get("related", []), 1):
            signals = dict(item.get("signals") or {})
            items[item.get("slug", "")] = Ranked(rank, signals.pop("fused", None), signals)
        ranked[slug] = items
    explained = any(item.get("signals") for ctx in posts.values() for item in ctx.get("related", []))
    return Snapshot(str(folder), posts, ranked, 0, None, site, explained)


# ----------------------------------------------------------------------------- comparing
@dataclass
class Line:
    """One change in one list of one post: `sign` '+', '-' or '~'; `post` the listed post's key (None
    for a change of the post itself); `text` the change with `{post}` where the listed post is named."""

    list: str
    sign: str
    text: str
    post: dict[str, Any] | None = None


@dataclass
class PostDiff:
    """One post whose context changed: 'changed', 'added' or 'removed', and its lines."""

    slug: str
    context: dict[str, Any]
    status: str
    lines: list[Line] = field(default_factory=list)


@dataclass
class Diff:
    """The posts whose context changed between two snapshots (by key), and the site's topic changes."""

    old: str
    new: str
    total: int
    posts: list[PostDiff]
    topics: list[str] = field(default_factory=list)
    note: str | None = None  # one line after the changes: what this diff cannot say, and how to get it

    def text(self) -> str:
        """Plain text: one line per changed post (its key and title), one indented line per change."""
        out = [self.summary()]
        for post in self.posts:
            status = {"added": " (new post)", "removed": " (removed)"}.get(post.status, "")
            out.append(f"{post.slug}  {json.dumps(post.context.get('title', ''), ensure_ascii=False)}{status}")
            for line in post.lines:
                name = "" if line.post is None else json.dumps(line.post.get("title", ""), ensure_ascii=False)
                out.append(f"  {line.list:<16}{line.sign} {line.text.replace('{post}', name)}")
        out += [f"topics: {t}" for t in self.topics]
        out += [f"note: {self.note}"] if self.note else []
        return "\n".join(out)

    def markdown(self) -> str:
        """GitHub-flavoured Markdown for a pull request or a job summary: a heading, then each post as a
        bold link with its changes as a list."""
        out = [f"### postkin: {self.summary()[len('postkin: '):]}", ""]
        for post in self.posts:
            status = {"added": " (new post)", "removed": " (removed)"}.get(post.status, "")
            out.append(f"**{_md_link(post.context)}** `{_md(post.slug)}`{status}")
            out.append("")
            for line in post.lines:
                name = "" if line.post is None else _md_link(line.post)
                text = line.text.replace("->", "→").replace("{post}", "\0")
                text = _md(text).replace("\0", name)
                out.append(f"- {_md(line.list)}: **{line.sign}** {text}")
            out.append("")
        if self.topics:
            out += ["**Topics**", ""] + [f"- {_md(t)}" for t in self.topics] + [""]
        if self.note:
            out += [f"_{_md(self.note)}_", ""]
        return "\n".join(out).rstrip() + "\n"

    def summary(self) -> str:
        """The first line: how many posts changed, of how many."""
        added = sum(p.status == "added" for p in self.posts)
        removed = sum(p.status == "removed" for p in self.posts)
        extra = f" ({added} new, {removed} removed)" if added or removed else ""
        return (f"postkin: {len(self.posts)} of {self.total} posts' lists changed{extra}, "
                f"{self.old} -> {self.new}")


def _md(text: str) -> str:
    """Text with Markdown's special characters escaped (titles are text, never markup)."""
    return re.sub(r"([\\`*_\[\]<>#|~!])", r"\\\1", text)


def _md_link(item: dict[str, Any]) -> str:
    title = _md(str(item.get("title") or item.get("slug") or ""))
    url = str(item.get("url") or "")
    return f"[{title}](<{url}>)" if url and ">" not in url and "\n" not in url else title


def compare(old: Snapshot, new: Snapshot) -> Diff:
    """Every post whose context differs between `old` and `new`, with what changed and why."""
    posts: list[PostDiff] = []
    for slug in sorted(set(old.posts) | set(new.posts)):
        before, after = old.posts.get(slug), new.posts.get(slug)
        if before == after:
            continue
        if before is None:
            posts.append(PostDiff(slug, after or {}, "added"))
            continue
        if after is None:
            posts.append(PostDiff(slug, before, "removed"))
            continue
        diff = PostDiff(slug, after, "changed", _post_lines(slug, before, after, old, new))
        if not diff.lines:  # a change no rule below names: still the post whose file changed
            keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            diff.lines.append(Line("post", "~", "changed: " + ", ".join(keys)))
        posts.append(diff)
    return Diff(old.label, new.label, len(new.posts), posts, _topic_lines(old.site, new.site),
                _unexplained(old, new, posts))


def _unexplained(old: Snapshot, new: Snapshot, posts: list[PostDiff]) -> str | None:
    """The note for a diff of output folders built without signals whose related lists changed: it
    cannot say which signal moved, and `--signals` would let it. None otherwise."""
    bare = [s.label for s in (old, new) if not s.explained]
    if not bare or not any(line.list == "related" for post in posts for line in post.lines):
        return None
    return (f"{' and '.join(bare)} {'were' if len(bare) > 1 else 'was'} built without signals, so this diff "
            "cannot say why related posts moved; build with `postkin build --signals` (setting "
            "`signals = true`) to see which signal moved")


def _post_lines(slug: str, before: dict[str, Any], after: dict[str, Any], old: Snapshot,
                new: Snapshot) -> list[Line]:
    lines = []
    own = [f"{k} {_show(before.get(k))} -> {_show(after.get(k))}" for k in OWN_FIELDS if before.get(k) != after.get(k)]
    if own:
        lines.append(Line("post", "~", "; ".join(own)))
    if before.get("cluster") != after.get("cluster"):
        lines.append(Line("topic", "~", f"{_topic(before.get('cluster'))} -> {_topic(after.get('cluster'))}"))
    for name in LISTS:
        lines += _list_lines(name, slug, before, after, old, new)
    lines += _tag_lines(before.get("suggested_tags", []), after.get("suggested_tags", []))
    return lines


def _show(value: Any) -> str:
    """A value as JSON writes it: strings quoted, true / false / null."""
    return json.dumps(value, ensure_ascii=False)


def _topic(cluster: Any) -> str:
    return "none" if not cluster else f"{cluster.get('id')} ({cluster.get('label', '')})"


def _list_lines(name: str, slug: str, before: dict[str, Any], after: dict[str, Any], old: Snapshot,
                new: Snapshot) -> list[Line]:
    was = {item.get("slug", ""): (rank, item) for rank, item in enumerate(before.get(name, []), 1)}
    now = {item.get("slug", ""): (rank, item) for rank, item in enumerate(after.get(name, []), 1)}
    lines = []
    for key, (rank, item) in now.items():
        if key not in was:
            why = _why(name, slug, key, item, before, after, old, new, entered=True)
            lines.append(Line(name, "+", f"{{post}} at #{rank}" + (f": {why}" if why else ""), item))
    for key, (rank, item) in was.items():
        if key not in now:
            why = _why(name, slug, key, item, before, after, old, new, entered=False)
            lines.append(Line(name, "-", f"{{post}} (was #{rank})" + (f": {why}" if why else ""), item))
    kept_before = [k for k in was if k in now]
    kept_after = [k for k in now if k in was]
    if kept_before != kept_after:
        moves = []
        for key in kept_after:
            if was[key][0] != now[key][0]:
                why = _moved(_pair(old, slug, key), _pair(new, slug, key)) if name == "related" else ""
                moves.append(f"{_show(now[key][1].get('title', key))} #{was[key][0]}->#{now[key][0]}"
                             + (f" ({why})" if why else ""))
        lines.append(Line(name, "~", "order: " + ", ".join(moves)))
    updated = []
    for key in kept_after:
        a, b = was[key][1], now[key][1]
        fields = [f"{f} {_show(a.get(f))} -> {_show(b.get(f))}" for f in ITEM_FIELDS if a.get(f) != b.get(f)]
        if a.get("signals") != b.get("signals"):
            fields.append("signals")
        if not fields and a != b:
            fields.append(", ".join(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))))
        if fields:
            updated.append(f"{_show(b.get('title', key))} ({'; '.join(fields)})")
    if updated:
        lines.append(Line(name, "~", "updated: " + ", ".join(updated)))
    return lines


def _state(snapshot: Snapshot, key: str) -> str | None:
    """Why a post is listed nowhere in a snapshot ('removed', 'a draft...', the exclusion), None if it may be."""
    ctx = snapshot.posts.get(key)
    if ctx is None:
        return "removed"
    if ctx.get("draft"):
        return "a draft, hidden, scheduled or expired"
    if ctx.get("excluded"):
        return f"excluded ({ctx['excluded']})"
    return None


def _pair(snapshot: Snapshot, slug: str, key: str) -> Ranked | None:
    return (snapshot.ranked or {}).get(slug, {}).get(key)


def _moved(a: Ranked | None, b: Ranked | None) -> str:
    """The pair's fused score and the signals that moved, 'fused 2.10 -> 3.05: semantic 0.52 -> 0.60'."""
    if b is None or b.fused is None:
        return ""
    if a is None or a.fused is None:
        return f"fused {b.fused:.2f}"
    out = f"fused {a.fused:.2f} -> {b.fused:.2f}"
    delta = {name: b.signals[name] - a.signals[name] for name in b.signals if name in a.signals}
    moved = sorted((name for name, d in delta.items() if abs(d) >= MOVED), key=lambda name: -abs(delta[name]))
    if moved:
        parts = []
        for name in moved:
            if name == "link":
                parts.append("now linked" if b.signals[name] else "no longer linked")
            else:
                parts.append(f"{name} {a.signals[name]:.2f} -> {b.signals[name]:.2f}")
        return out + ": " + ", ".join(parts)
    if a.signals or b.signals:
        return out + ": its signals unchanged, the scores around them moved"
    return out


def _why(name: str, slug: str, key: str, item: dict[str, Any], before: dict[str, Any], after: dict[str, Any],
         old: Snapshot, new: Snapshot, entered: bool) -> str:
    """Why post `key` entered (or left) list `name` of post `slug`, '' when the snapshots cannot say."""
    if entered and item.get("pinned"):
        return "pinned"
    if entered and item.get("fallback"):
        return "fallback: newest of the topic"
    state = _state(old if entered else new, key)
    if state == "removed":
        return "new post" if entered else "post removed"
    if state is not None:
        return f"{'was' if entered else 'now'} {state}"
    if name in ("cluster_latest", "cluster_popular"):
        return _why_topic(key, before, after, old, new)
    if name != "related":
        return ""
    moved = _moved(_pair(old, slug, key), _pair(new, slug, key))
    other = old if entered else new  # where the post was before it entered, or went when it left
    place = _pair(other, slug, key)
    if place is not None:
        text = f"rose from #{place.rank}" if entered else f"fell to #{place.rank}"
    elif other.depth and other.ranked is not None:
        cut = f" or under related_min_score {new.min_score}" if new.min_score is not None and not entered else ""
        text = f"{'was' if entered else 'fell'} below #{other.depth}{cut}"
    else:
        return moved
    return text + (f" ({moved})" if moved else "")


def _why_topic(key: str, before: dict[str, Any], after: dict[str, Any], old: Snapshot, new: Snapshot) -> str:
    if before.get("cluster") != after.get("cluster"):
        return "this post's topic changed"
    was_topic = (old.posts.get(key) or {}).get("cluster")
    now_topic = (new.posts.get(key) or {}).get("cluster")
    if was_topic != now_topic:
        return "its topic changed"
    a, b = old.posts.get(key) or {}, new.posts.get(key) or {}
    changed = [f for f in ("date", "title") if a.get(f) != b.get(f)]
    return "its " + " and ".join(changed) + " changed" if changed else "other posts of the topic moved"


def _tag_lines(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[Line]:
    was = {t.get("tag"): t for t in before}
    now = {t.get("tag"): t for t in after}
    lines = [Line("suggested_tags", "+", f"{tag} ({t.get('score')})") for tag, t in now.items() if tag not in was]
    lines += [Line("suggested_tags", "-", f"{tag} (was {t.get('score')})") for tag, t in was.items() if tag not in now]
    changed = [f"{tag} {was[tag].get('score')} -> {t.get('score')}" for tag, t in now.items()
               if tag in was and was[tag] != t]
    if list(was) != list(now) and [t for t in was if t in now] != [t for t in now if t in was]:
        changed.append("order")
    if changed:
        lines.append(Line("suggested_tags", "~", ", ".join(changed)))
    return lines


def _topic_lines(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """Topics of the site that appeared, went, were renamed or changed members (by topic id)."""
    if not old or not new:
        return []
    was = {c.get("id"): c for c in old.get("clusters", [])}
    now = {c.get("id"): c for c in new.get("clusters", [])}
    out = []
    for cid in sorted(set(was) | set(now), key=lambda c: (c is None, c)):
        a, b = was.get(cid), now.get(cid)
        if a is None and b is not None:
            out.append(f"+ {cid} ({b.get('label')}), {b.get('size')} posts")
        elif b is None and a is not None:
            out.append(f"- {cid} ({a.get('label')})")
        elif a is not None and b is not None and a != b:
            parts = []
            if a.get("label") != b.get("label"):
                parts.append(f"label {a.get('label')!r} -> {b.get('label')!r}")
            members_a = {m.get("slug") for m in a.get("members", [])}
            members_b = {m.get("slug") for m in b.get("members", [])}
            if members_b - members_a:
                parts.append(f"{len(members_b - members_a)} joined")
            if members_a - members_b:
                parts.append(f"{len(members_a - members_b)} left")
            out.append(f"~ {cid} ({b.get('label')}): " + (", ".join(parts) or "members' details"))
    return out


def changed_keys(diff: Diff) -> Iterable[str]:
    """The keys of the posts a diff names (for tests and tools)."""
    return (p.slug for p in diff.posts)
