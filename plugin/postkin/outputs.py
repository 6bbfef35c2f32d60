"""JSON outputs: written atomically, byte-identical for identical input, and only when changed.

Writing only changed files keeps file mtimes stable, so rsync/diff-based deploys and generators that
watch data files (Hugo, Jekyll, Eleventy) do no work for pages whose recommendations did not change.

A build writes every changed file to a temporary file first and renames them only once all are
written, postkin.json first: a failed build (full disk, read-only folder) leaves the previous
build's files whole, and postkin.json is never older than a posts/ file beside it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .corpus import check_slug
from .errors import PostkinError, os_error
from .files import NAME_MAX, fit_name, remove_stale_temps, replace_all

log = logging.getLogger("postkin")

SITE_FILE = "postkin.json"
POSTS_DIR = "posts"
OUT_ELSEWHERE = "choose another output folder"


def json_text(data: Any) -> str:
    """Canonical JSON text: sorted keys, compact (dumps without the final newline)."""
    # Compact on purpose: with `indent` the json module leaves its C encoder for pure Python.
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_text = json_text


def dumps(data: Any) -> bytes:
    """Canonical JSON: sorted keys, compact, UTF-8, newline at the end."""
    return (_text(data) + "\n").encode("utf-8")


def _site_bytes(site: dict[str, Any], bodies: dict[str, str]) -> bytes:
    """dumps({**site, "posts": contexts}) assembled from the posts' JSON already made for their files."""
    assert "posts" not in site, "'posts' is the posts' key"
    posts = ",".join(f"{_text(slug)}:{bodies[slug]}" for slug in sorted(bodies))
    members = {**{_text(key): _text(value) for key, value in site.items()}, '"posts"': f"{{{posts}}}"}
    return ("{" + ",".join(f"{key}:{members[key]}" for key in sorted(members, key=json.loads)) + "}\n").encode()


def _changed(path: Path, data: bytes, elsewhere: str = OUT_ELSEWHERE) -> bool:
    """True unless `path` already holds exactly `data`; PostkinError when it cannot be read."""
    try:
        return path.read_bytes() != data
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise os_error(path, exc, elsewhere) from None


def write_if_changed(path: Path, data: bytes, elsewhere: str = OUT_ELSEWHERE) -> bool:
    """Atomically replace `path` with `data` unless it already holds exactly those bytes.

    Raises PostkinError (one line naming the file and what to do; `elsewhere` says how to move the
    folder) when the file cannot be read or written; the old file is then left as it was.
    """
    if not _changed(path, data, elsewhere):
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_all([(path, data)])
    except OSError as exc:
        raise os_error(path, exc, elsewhere) from None
    return True


def post_file_name(slug: str) -> str:
    """`<slug>.json`, or for a slug too long for a file name, the slug cut with a hash suffix."""
    return fit_name(slug, ".json")


def post_path(out_dir: Path, slug: str, base: Path | None = None) -> Path:
    """OUT/posts/<slug>.json, refusing any slug that would land outside OUT/posts (`base`: that folder,
    already resolved, so a build of 509 posts resolves it once instead of 509 times)."""
    check_slug(slug, f"slug {slug!r}")
    base = base or (out_dir / POSTS_DIR).resolve()
    path = base / post_file_name(slug)
    if path.is_symlink():  # the only way a checked slug can point elsewhere
        path = path.resolve()
    if path.parent != base:
        raise PostkinError(f"slug {slug!r} would write outside {base}")
    return path


def _previous_slugs(site_path: Path) -> set[str]:
    """Slugs listed in the previous postkin.json (none if it is missing or not ours)."""
    try:
        old = json.loads(site_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(old["posts"]) if isinstance(old, dict) and isinstance(old.get("posts"), dict) else set()


def write_outputs(out_dir: Path, contexts: Mapping[str, dict[str, Any] | str], site: dict[str, Any]) -> tuple[int, int]:
    """Write OUT/postkin.json and OUT/posts/<slug>.json; returns (files written, files removed).
    `contexts`: each post's context as JSON data, or as its json_text (pipeline.Build.post_texts).

    Only files whose bytes change are written. All of them are first written to temporary files; a
    full disk or a read-only folder stops the build there (PostkinError, one line) and leaves the
    previous outputs as they were. Then postkin.json is renamed into place first and the per-post
    files after it, so postkin.json is never older than any posts/ file (see README, "Reading the
    outputs during a deploy"). A slug too long for a file name gets a shortened file name, listed
    in postkin.json under `post_files`, with one warning line.

    Per-post files of posts that no longer exist are removed, but only those listed in the previous
    postkin.json: files postkin did not write are never touched. Temporary files that a killed build
    left (older than files.STALE_AFTER) are removed.
    """
    out_dir = Path(out_dir)
    site_path = out_dir / SITE_FILE
    try:
        (out_dir / POSTS_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(out_dir / POSTS_DIR, exc, OUT_ELSEWHERE) from None
    for folder in (out_dir, out_dir / POSTS_DIR):
        remove_stale_temps(folder)
    base = (out_dir / POSTS_DIR).resolve()
    paths = {slug: post_path(out_dir, slug, base) for slug in contexts}
    # The previous postkin.json names the files that may be removed; reading it (hundreds of MB on a large
    # site) is needed only when posts/ holds a file that is not one of this build's.
    try:
        present = {entry.name for entry in os.scandir(out_dir / POSTS_DIR) if entry.name.endswith(".json")}
    except OSError:
        present = set()
    previous = _previous_slugs(site_path) if present - {path.name for path in paths.values()} else set()
    renamed = {slug: f"{POSTS_DIR}/{path.name}" for slug, path in paths.items() if path.name != f"{slug}.json"}
    bodies = {slug: ctx if isinstance(ctx, str) else _text(ctx) for slug, ctx in contexts.items()}
    for slug in sorted(renamed):
        log.warning("%s: slug is %d bytes, longer than a file name may be (%d): its file is %s "
                    "(postkin.json lists it under post_files)", json.loads(bodies[slug]).get("source", slug),
                    len(slug.encode("utf-8")), NAME_MAX - len(".json"), renamed[slug])
    files = [(site_path, _site_bytes({**site, "post_files": renamed}, bodies))]
    files += [(paths[slug], (bodies[slug] + "\n").encode("utf-8")) for slug in sorted(bodies)]
    changed = [(path, data) for path, data in files if _changed(path, data)]
    try:
        replace_all(changed)  # postkin.json first: it is renamed into place before any posts/ file
    except OSError as exc:
        raise os_error(exc.filename or out_dir, exc, OUT_ELSEWHERE) from None
    removed = 0
    for slug in sorted(previous - set(contexts)):
        try:
            post_path(out_dir, slug, base).unlink()
            removed += 1
        except (FileNotFoundError, PostkinError):
            pass
        except OSError as exc:
            log.warning("%s", os_error(post_path(out_dir, slug, base), exc, OUT_ELSEWHERE))
    return len(changed), removed
