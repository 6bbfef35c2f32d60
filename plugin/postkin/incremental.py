"""Builds that cost what changed (issue #21): what a build keeps for the next one, and how the next one
uses it.

Every build saves, in the cache folder's `state/<site>/` (state.py: one generation of files per build,
switched atomically), a fingerprint of all its inputs, each post's digests and its context as JSON
text. The next build reads the site and then:

- **nothing changed** (the same posts byte for byte, settings, encoder, postkin's own code, page views
  and reader logs, the same posts listed today): it stops there and returns the stored results
  (`Build.unchanged`); `postkin build` then leaves the outputs as they are when they are still the ones
  it wrote (`outputs_intact`), and a host gets its contexts from the stored JSON;
- **a large site** (more than INCREMENTAL_MIN posts) in a supported configuration (`largebuild.why_full`)
  whose posts changed by at most REFIT_DRIFT since its last full fit: largebuild.update recomputes what
  the changed posts touch and keeps the rest;
- **otherwise** (a blog, a drift past the bound, other settings, `--full`): every stage as before, and a
  large site's full fit saved for the edits to come.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import operator
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .context import PostContext, SiteContext
from .corpus import Post
from .state import Generation, Kept, StateStore, pack_strings

if TYPE_CHECKING:
    from .cache import EmbeddingCache
    from .corpus import Corpus
    from .encoders import Encoder
    from .features import Progress
    from .pipeline import Build, StageFunctions
    from .settings import Settings

log = logging.getLogger("postkin")

STATE_VERSION = "1"  # bump when what a generation holds changes
STATE_DIR = "state"

# The fields of a Post each digest covers: what the features read (the embedded and indexed text, the
# language), the tags, and everything else (what pages show, visibility, links).
TEXT_FIELDS = ("title", "lede", "headings", "body", "lang")
TAG_FIELDS = ("tags",)
META_FIELDS = tuple(f.name for f in dataclasses.fields(Post) if f.name not in TEXT_FIELDS + TAG_FIELDS)

_CODE_VERSION: str | None = None


def code_version() -> str:
    """A hash of postkin's own source files: another version computes everything afresh."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        digest = hashlib.sha256()
        here = Path(__file__).parent
        for path in sorted(here.rglob("*.py")):
            digest.update(str(path.relative_to(here)).encode() + b"\0" + path.read_bytes())
        _CODE_VERSION = digest.hexdigest()[:16]
    return _CODE_VERSION


@dataclasses.dataclass
class Digests:
    """Per post, 16-byte digests of its text fields, its tags and the rest (rows: (n, 16) uint8)."""

    text: np.ndarray
    tags: np.ndarray
    meta: np.ndarray

    @classmethod
    def of(cls, posts: list[Post]) -> Digests:
        groups = [operator.attrgetter(*fields) for fields in (TEXT_FIELDS, TAG_FIELDS, META_FIELDS)]
        out = np.empty((3, len(posts), 16), np.uint8)
        view = out.reshape(3, -1)
        blake2b = hashlib.blake2b
        for i, post in enumerate(posts):
            for g, fields in enumerate(groups):
                text = repr(fields(post)).encode("utf-8", "surrogatepass")
                view[g, 16 * i:16 * i + 16] = np.frombuffer(blake2b(text, digest_size=16).digest(), np.uint8)
        return cls(out[0], out[1], out[2])


# Settings that change where or how fast a build works, or what else it writes, not the contexts it makes.
NOT_RESULTS = frozenset({"batch_size", "threads", "cache_dir", "strict", "report", "json_output", "incremental"})


def settings_key(settings: Settings) -> str:
    """A hash of every setting that changes a build's results (a changed one computes everything afresh)."""
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name not in NOT_RESULTS}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


def reader_logs_stamp(settings: Settings) -> str:
    """Each reader log's path, size and modification time (setting reader_logs)."""
    if not settings.reader_logs:
        return ""
    from .readers import log_files

    parts = []
    for path in log_files(settings.reader_logs):
        try:
            stat = path.stat()
        except OSError:
            continue
        parts.append(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    return "\n".join(parts)


CACHE_ID_KIND = "cache-id"


def cache_identity(cache: EmbeddingCache | None) -> str:
    """A random id the cache keeps from its first build: a cache moved aside and started afresh has
    another one, so the state kept beside the old one is not used with it (its vectors are computed
    again); a cache copied or restored elsewhere (a CI cache) keeps its id, and so its state. '' when the
    cache cannot keep one (read-only and without an id yet)."""
    if cache is None:
        return ""
    found = cache.get_derived(CACHE_ID_KIND, ["id"]).get("id")
    if found is None:
        if cache.mode != "rw":
            return ""
        found = uuid.uuid4().hex.encode()
        cache.put_derived(CACHE_ID_KIND, {"id": found})
    return bytes(found).decode("ascii", "replace")


def fingerprint(corpus: Corpus, settings: Settings, encoder_id: str, listed: np.ndarray, digests: Digests,
                cache: EmbeddingCache | None = None) -> str:
    """A hash of every input of a build (and of the cache it reads): equal fingerprints give equal results."""
    digest = hashlib.sha256()
    site = (STATE_VERSION, code_version(), settings_key(settings), encoder_id, corpus.dialect, corpus.languages,
            corpus.build_future, corpus.build_expired, corpus.base_path, reader_logs_stamp(settings),
            cache_identity(cache))
    digest.update(repr(site).encode())
    digest.update("\0".join(p.slug for p in corpus.posts).encode())
    for part in (np.asarray(listed, bool), digests.text, digests.tags, digests.meta):
        digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def store_for(cache_dir: Path | None, corpus: Corpus) -> StateStore | None:
    """The kept state of a site in the cache folder (one cache may serve several sites): a folder named by
    Corpus.site_key, the site relative to the cache, so a moved project or a restored CI cache keeps it."""
    if cache_dir is None:
        return None
    key = hashlib.sha256(corpus.site_key(Path(cache_dir)).encode()).hexdigest()[:16]
    return StateStore(Path(cache_dir) / STATE_DIR / key)


class StoredContexts(Mapping[str, PostContext]):
    """Contexts read back from their JSON text when asked for (a build that changed nothing makes none)."""

    def __init__(self, texts: dict[str, str]) -> None:
        self._texts = texts
        self._made: dict[str, PostContext] = {}

    def __getitem__(self, slug: str) -> PostContext:
        if slug not in self._made:
            self._made[slug] = PostContext.from_json(json.loads(self._texts[slug]))
        return self._made[slug]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


def build(corpus: Corpus, settings: Settings, cache: EmbeddingCache | None, cache_dir: Path | None, *,
          encoder: Encoder | None = None, progress: Progress | None = None, full: bool = False,
          stages: bool = False, record: bool = True, functions: StageFunctions | None = None) -> Build:
    """One build of a corpus whose posts have their URLs (pipeline.run's body): see the module docstring.
    `functions`: other Topics and TagSuggestions functions (postkin.distributed's, on a cluster): such a
    build computes every stage with them, and saves what a later build on one machine may reuse. `record`:
    keep the build's record for `postkin diff` (diff.keep_record) in the cache; a build that keeps none
    (`postkin diff` looking at the site now) keeps no state either: the next build is not told that
    nothing changed since it."""
    from . import largebuild
    from .encoders import get_encoder
    from .pipeline import StageFunctions, full_build, recommendable

    elsewhere = functions is not None and functions != StageFunctions()
    full = full or elsewhere

    posts = corpus.posts
    encoder = encoder or get_encoder(settings)
    listed = recommendable(corpus)
    digests = Digests.of(posts)
    key = fingerprint(corpus, settings, encoder.cache_id, listed, digests, cache)
    store = store_for(cache_dir, corpus) if cache is not None else None
    last = store.load() if store is not None and not full else None
    if last is not None and last.manifest.get("version") != STATE_VERSION:
        log.info("%s: kept by another version of postkin; computing every stage, and keeping them anew",
                 last.folder.parent)
        last = None
    if last is not None and not stages and last.manifest.get("fingerprint") == key:
        corpus.store_parsed(cache)
        log.debug("nothing changed since the last build (%s)", last.folder.name)
        stored = _stored_build(last, posts)
        stored.fingerprint = key
        return stored
    reason = "the report needs every stage" if stages else "stages run elsewhere" if elsewhere else \
        largebuild.why_full(len(posts), settings)
    result: Build | None = None
    arrays: dict[str, np.ndarray | Kept] = {}
    if reason is None and last is not None and last.manifest.get("code") != code_version():
        reason = "another version of postkin kept the last full fit"
    if reason is None and last is not None:
        updated = largebuild.update(last, corpus, settings, cache, encoder=encoder, progress=progress,
                                    digests=digests, listed=listed, settings_key=settings_key(settings),
                                    cache_dir=cache_dir)
        if isinstance(updated, str):
            reason = updated
        else:
            result, arrays = updated
            if cache is not None and record:  # what `postkin diff` compares (the contexts: no stage values)
                from .diff import keep_record

                keep_record(cache, result, settings)
    if result is None:
        log.debug("computing every stage%s", f" ({reason})" if reason else "")
        result = full_build(corpus, settings, cache, encoder=encoder, progress=progress,
                            fresh_topics=full and not elsewhere, record=record,
                            functions=functions or StageFunctions(), cache_dir=cache_dir)
        if largebuild.why_full(len(posts), settings) is None and result.stages is not None:
            arrays = largebuild.capture(result.stages, settings, digests)
    if store is not None and cache is not None and cache.mode == "rw" and record:
        _save(store, result, key, digests, listed, settings, arrays, large=bool(arrays))
    result.fingerprint = key
    return result


def _stored_build(last: Generation, posts: list[Post]) -> Build:
    """The results the last build stored, for a build whose inputs did not change."""
    from .pipeline import Build, Stats

    slugs = last.strings("slugs")
    texts = dict(zip(slugs, last.strings("texts")))
    site = SiteContext.from_json(json.loads(last.strings("site")[0]))
    recommend = bytes(last.array("recommend")) if last.has("recommend") else None
    n = len(posts)
    return Build(StoredContexts(texts), site, Stats(posts=n, cached=n, indexed_cached=n), recommend, None, posts,
                 texts, unchanged=True)


def _save(store: StateStore, result: Build, key: str, digests: Digests, listed: np.ndarray, settings: Settings,
          extra: dict[str, np.ndarray | Kept], large: bool) -> None:
    """Keep what the next build needs (see the module docstring)."""
    posts = result.posts
    texts = result.post_texts()
    arrays: dict[str, np.ndarray | Kept] = {
        **pack_strings([p.slug for p in posts], "slugs"),
        **pack_strings([texts[p.slug] for p in posts], "texts"),
        **pack_strings([json.dumps(result.site.to_json(), ensure_ascii=False, sort_keys=True)], "site"),
        "text_digest": digests.text, "tags_digest": digests.tags, "meta_digest": digests.meta,
        "listed": np.asarray(listed, bool),
    }
    if result.recommend is not None:
        arrays["recommend"] = np.frombuffer(result.recommend, np.uint8)
    arrays.update(extra)
    store.save({"version": STATE_VERSION, "code": code_version(), "fingerprint": key,
                "settings": settings_key(settings),
                "posts": len(posts), "large": large}, arrays)


# -- the outputs `postkin build` wrote ---------------------------------------------------------------

OUTPUTS_FILE = "outputs-{}.json"


def _outputs_record(store: StateStore, out: Path) -> Path:
    return store.folder / OUTPUTS_FILE.format(hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:16])


def _listing(out: Path) -> dict[str, list[int]]:
    """relative path -> [size, modification time ns] of every file under `out` (symbolic links not
    followed)."""
    found: dict[str, list[int]] = {}
    folders = [("", str(out))]
    while folders:
        prefix, folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append((f"{prefix}{entry.name}/", entry.path))
                    continue
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[prefix + entry.name] = [stat.st_size, stat.st_mtime_ns]
    return found


def remember_outputs(cache_dir: Path | None, corpus: Corpus, out: Path, fingerprint_of: str) -> None:
    """Note which files the output folder holds after a build (sizes and times), and for which inputs."""
    store = store_for(cache_dir, corpus)
    if store is None or not store.folder.is_dir():
        return
    record = _outputs_record(store, out)
    data = json.dumps({"fingerprint": fingerprint_of, "files": _listing(out)}, sort_keys=True)
    try:
        partial = record.with_name(record.name + f".{os.getpid()}")
        partial.write_text(data, encoding="utf-8")
        os.replace(partial, record)
    except OSError:
        pass  # the next build then compares the files' bytes, as it always could


def outputs_intact(cache_dir: Path | None, corpus: Corpus, out: Path, fingerprint_of: str) -> bool:
    """True when `out` holds exactly the files a build of these inputs left there (same names, sizes and
    modification times): nothing needs writing."""
    store = store_for(cache_dir, corpus)
    if store is None:
        return False
    try:
        record = json.loads(_outputs_record(store, out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record.get("fingerprint") == fingerprint_of and record.get("files") == _listing(out)


