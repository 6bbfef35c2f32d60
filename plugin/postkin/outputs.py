"""JSON outputs: written atomically, byte-identical for identical input, and only when changed.

Writing only changed files keeps file mtimes stable, so rsync/diff-based deploys and generators that
watch data files (Hugo, Jekyll, Eleventy) do no work for pages whose recommendations did not change.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .corpus import check_slug
from .errors import PostkinError

SITE_FILE = "postkin.json"
POSTS_DIR = "posts"


def _text(data: Any) -> str:
    # Compact on purpose: with `indent` the json module leaves its C encoder for pure Python.
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def dumps(data: Any) -> bytes:
    """Canonical JSON: sorted keys, compact, UTF-8, newline at the end."""
    return (_text(data) + "\n").encode("utf-8")


def _site_bytes(site: dict[str, Any], bodies: dict[str, str]) -> bytes:
    """dumps({**site, "posts": contexts}) assembled from the posts' JSON already made for their files."""
    assert all(key < "posts" for key in site), "'posts' must sort last among the site keys"
    head = _text(site)[:-1]
    posts = ",".join(f"{_text(slug)}:{bodies[slug]}" for slug in sorted(bodies))
    return f"{head}{',' if len(head) > 1 else ''}\"posts\":{{{posts}}}}}\n".encode()


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace `path` with `data` unless it already holds exactly those bytes."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise PostkinError(f"{path}: cannot read existing output ({exc.strerror})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # Write then rename: a reader or a killed build never sees half a file. No fsync: outputs are
        # rebuilt from the posts and the cache at any time, and 509 fsyncs cost 18F's cold build 0.4 s.
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def post_path(out_dir: Path, slug: str, base: Path | None = None) -> Path:
    """OUT/posts/<slug>.json, refusing any slug that would land outside OUT/posts (`base`: that folder,
    already resolved, so a build of 509 posts resolves it once instead of 509 times)."""
    check_slug(slug, f"slug {slug!r}")
    base = base or (out_dir / POSTS_DIR).resolve()
    path = base / f"{slug}.json"
    if path.is_symlink():  # the only way a checked slug can point elsewhere
        path = path.resolve()
    if path.parent != base:
        raise PostkinError(f"slug {slug!r} would write outside {base}")
    return path


def write_outputs(out_dir: Path, contexts: dict[str, dict[str, Any]], site: dict[str, Any]) -> tuple[int, int]:
    """Write OUT/postkin.json and OUT/posts/<slug>.json; returns (files written, files removed).

    Per-post files of posts that no longer exist are removed, but only those listed in the previous
    postkin.json: files postkin did not write are never touched.
    """
    out_dir = Path(out_dir)
    site_path = out_dir / SITE_FILE
    previous: set[str] = set()
    try:
        old = json.loads(site_path.read_text(encoding="utf-8"))
        if isinstance(old, dict) and isinstance(old.get("posts"), dict):
            previous = set(old["posts"])
    except (OSError, ValueError):
        pass
    base = (out_dir / POSTS_DIR).resolve()
    paths = {slug: post_path(out_dir, slug, base) for slug in contexts}
    bodies = {slug: _text(ctx) for slug, ctx in contexts.items()}
    written = sum(write_if_changed(paths[slug], (bodies[slug] + "\n").encode("utf-8")) for slug in sorted(bodies))
    written += write_if_changed(site_path, _site_bytes(site, bodies))
    removed = 0
    for slug in sorted(previous - set(contexts)):
        try:
            post_path(out_dir, slug, base).unlink()
            removed += 1
        except (FileNotFoundError, PostkinError):
            pass
    return written, removed
