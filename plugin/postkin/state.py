"""What a build leaves for the next one: numpy arrays and a JSON manifest in one folder per build.

    store = StateStore(cache_dir / "state" / site_key)
    last = store.load()                       # Generation | None: last.manifest, last.array("found")
    store.save({"fingerprint": ...}, {"found": found, "idf": last.keep("idf")})

Each save writes a new generation folder (`g-<time>-<pid>-<random>/`: one .npy file per array, then
manifest.json last) and only then points the file CURRENT at it (written aside and renamed, an atomic
step), so a build killed at any moment leaves CURRENT naming a whole generation, and two builds saving at
once each leave a whole one (the last rename wins). Arrays a build did not change are hard links to the
previous generation's files (`Generation.keep`), not copies. Arrays are opened memory-mapped: a build
reads the pages it uses.

The state only saves time: a generation that cannot be read (another version, a missing or torn file)
is ignored (load returns None and the build computes everything), and a state that cannot be written
is left as it was with one warning line.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("postkin")

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
ABANDONED_AFTER = 3600.0  # seconds: a generation folder without a manifest this old was left by a killed build


@dataclass(frozen=True)
class Kept:
    """An array carried over unchanged from the previous generation (saved as a hard link)."""

    path: Path


class Generation:
    """One saved state: its manifest (JSON data) and its arrays, opened memory-mapped on load."""

    def __init__(self, folder: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.folder = folder
        self.manifest = manifest
        self._arrays = arrays

    def array(self, name: str) -> np.ndarray:
        """The array saved under `name` (read-only, memory-mapped). KeyError when there is none."""
        return self._arrays[name]

    def has(self, name: str) -> bool:
        return name in self._arrays

    def keep(self, name: str) -> Kept:
        """Save this array again unchanged (a hard link, no copy)."""
        return Kept(self.folder / f"{name}.npy")

    def strings(self, name: str) -> list[str]:
        """A list of strings saved with `pack_strings`."""
        return unpack_strings(self._arrays[f"{name}.bytes"], self._arrays[f"{name}.ends"])


def pack_strings(values: list[str], name: str) -> dict[str, np.ndarray]:
    """Arrays holding a list of strings (UTF-8 bytes end to end, and where each ends), for save()."""
    encoded = [v.encode("utf-8") for v in values]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64) if encoded else np.zeros(0, np.int64)
    return {f"{name}.bytes": np.frombuffer(b"".join(encoded), np.uint8), f"{name}.ends": ends}


def unpack_strings(data: np.ndarray, ends: np.ndarray) -> list[str]:
    """The strings pack_strings stored."""
    raw = bytes(data)
    starts = np.r_[0, ends[:-1]].tolist() if len(ends) else []
    return [raw[a:b].decode("utf-8") for a, b in zip(starts, ends.tolist())]


class StateStore:
    """The generations of one site's state in `folder` (created on the first save)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def current(self) -> Path | None:
        """The folder of the generation in use, or None."""
        try:
            name = (self.folder / CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return self.folder / name if name.startswith("g-") and "/" not in name else None

    def load(self) -> Generation | None:
        """The generation in use, every array opened; None when there is none or it cannot be read."""
        folder = self.current()
        if folder is None:
            return None
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                      for name in manifest["arrays"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s: what the last build kept cannot be read (%s); computing every stage, and keeping "
                        "them anew", folder, exc)
            return None
        return Generation(folder, manifest, arrays)

    def save(self, manifest: dict[str, Any], arrays: dict[str, np.ndarray | Kept]) -> bool:
        """Write a new generation and make it the current one; False (and one warning) when it cannot
        be written, the previous generation then stays in use."""
        name = f"g-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        folder = self.folder / name
        try:
            folder.mkdir(parents=True)
            for key, value in arrays.items():
                target = folder / f"{key}.npy"
                if isinstance(value, Kept):
                    try:
                        os.link(value.path, target)
                    except OSError:  # no hard links here (or the file is gone): a copy
                        shutil.copyfile(value.path, target)
                else:
                    with open(target, "wb") as handle:
                        np.save(handle, np.ascontiguousarray(value), allow_pickle=False)
            text = json.dumps({**manifest, "arrays": sorted(arrays)}, ensure_ascii=False, sort_keys=True)
            (folder / MANIFEST).write_text(text, encoding="utf-8")
            pointer = self.folder / f".{CURRENT}.{name}"
            pointer.write_text(name, encoding="utf-8")
            os.replace(pointer, self.folder / CURRENT)
        except OSError as exc:
            log.warning("%s: cannot save what this build computed (%s); the next build computes it again",
                        self.folder, exc.strerror or exc)
            shutil.rmtree(folder, ignore_errors=True)
            return False
        self._tidy(name)
        return True

    def _tidy(self, keep: str) -> None:
        """Remove the generations no longer in use: whole ones other than `keep` (a build that loaded one
        has its files open already), and unfinished ones a killed build left long ago."""
        now = time.time()
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return
        for entry in entries:
            if not entry.name.startswith("g-") or entry.name == keep or not entry.is_dir():
                continue
            path = Path(entry.path)
            try:
                finished = (path / MANIFEST).exists()
                old = now - entry.stat().st_mtime > ABANDONED_AFTER
            except OSError:
                continue
            if finished and entry.name < keep or old:
                shutil.rmtree(path, ignore_errors=True)
