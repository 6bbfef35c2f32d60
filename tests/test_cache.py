"""The embedding cache: keys, transactions, concurrent builds, corrupt and foreign files."""

from __future__ import annotations

import multiprocessing
import sqlite3

import numpy as np

from postkin.cache import EmbeddingCache


def test_round_trip_and_model_separation(tmp_path):
    v = np.arange(4, dtype=np.float32)
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("m1", {"h": v})
        assert np.array_equal(cache.get_many("m1", ["h", "missing"])["h"], v)
        assert cache.get_many("m2", ["h"]) == {}
    with EmbeddingCache(tmp_path) as cache:  # persisted
        assert cache.count("m1") == 1


def test_garbage_file_is_moved_aside_and_rebuilt(tmp_path, caplog):
    (tmp_path / "embeddings.sqlite3").write_bytes(b"this is not a database" * 100)
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("m", {"h": np.ones(2, np.float32)})
        assert cache.count() == 1
    aside = [p for p in tmp_path.iterdir() if ".unusable-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")  # nothing is lost
    assert "embedding cache unusable" in caplog.text


def test_foreign_sqlite_file_is_not_used(tmp_path):
    db = sqlite3.connect(tmp_path / "embeddings.sqlite3")
    db.execute("CREATE TABLE other (x)")
    db.commit()
    db.close()
    with EmbeddingCache(tmp_path) as cache:
        assert cache.count() == 0
    assert any(".unusable-" in p.name for p in tmp_path.iterdir())


def _writer(folder, model, n):
    with EmbeddingCache(folder) as cache:
        for i in range(n):
            cache.put_many(model, {f"h{i}": np.full(8, i, np.float32)})


def test_two_processes_write_at_once(tmp_path):
    EmbeddingCache(tmp_path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_path, m, 40)) for m in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with EmbeddingCache(tmp_path) as cache:
        assert cache.count("a") == 40 and cache.count("b") == 40
