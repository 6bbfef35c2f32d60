"""Dask (distributed) against Ray for postkin's distributed runner, on one small case.

    pip install distributed ray          # both, in one venv with postkin
    python benchmarks/distributed_engines.py /work/data/18f /work/data/efcl --vectors BASE.npy

Each engine runs in its own fresh process and starts a local cluster of 2 worker processes with one
thread each (this machine has 2 cores). The same single-machine postkin functions do the work on both:

* ``start_s``: from nothing to a cluster whose 2 workers have each run a task (imports included);
* ``task_ms``: 2,000 no-op tasks submitted at once, wall time per task; ``roundtrip_ms``: 200 in a row;
* ``broadcast_s``: one 64 MB array sent once to both workers, then read by 20 tasks;
* ``embed_*``: the real post texts of the corpora (title + lede, as postkin embeds them) in partitions
  of 128, with the bundled encoder loaded once per worker (Dask: postkin.distributed.embed, the model
  kept in the worker process; Ray: an ActorPool of 2 actors, each holding one); first run (with the
  model loads) and second; ``embed_max_diff``: largest difference to one process's vectors (batches of
  256 there, 128 here: padding changes the float rounding, not the vectors);
* ``shard_*``: a faiss-flat index over the first ``--n`` vectors of BASE.npy (the sentence vectors
  benchmarks/ann.py caches), one shard per worker kept in its memory, then every row's top-10 others
  (Dask: postkin.distributed.ShardedIndex; Ray: 2 actors, the queries put once in the object store);
  ``shard_equal``: equal to one process's faiss-flat answer, ``shard_repeat_equal``: to a second run;
* ``pss_mb``: proportional set size of every process of the cluster (workers, scheduler or raylet,
  GCS...), after start and after the shard run;
* ``install_mb`` / ``packages``: the engine's distributions and the dependencies they pull in beyond
  numpy, from the installed files (importlib.metadata).

One JSON line per run (--repeat runs of each engine, alternating), with the machine's load average
(a shared machine: compare the best of each). Measured on this machine (2 cores, 24 GB; Dask 2026.8.0, Ray 2.60.0) -- see
the README section "Beyond one machine".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# benchmarks/distributed.py would shadow Dask's `distributed` if this folder stayed on sys.path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent / "plugin"))


# ----------------------------------------------------------------------------- shared
def post_texts(corpora: list[str]) -> list[str]:
    """What postkin embeds for each post of the corpora (title + lede), read as a build reads them."""
    from postkin.features import embed_text
    from postkin.pipeline import read_folder
    from postkin.settings import Settings

    settings = Settings()
    texts: list[str] = []
    for folder in corpora:
        texts += [embed_text(p, settings.embed_fields) for p in read_folder(Path(folder), settings).posts]
    return texts


def cluster_pss_mb() -> float:
    """PSS of this process's descendants (the cluster's processes), MB."""
    import psutil

    total = 0
    for proc in psutil.Process().children(recursive=True):
        try:
            total += proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return round(total / 2**20, 1)


def install_size(root: str, base: set[str]) -> tuple[float, list[str]]:
    """(MB, names) of `root`'s distribution and its required dependencies, leaving out those in `base`."""
    seen: set[str] = set()
    todo = [root]
    size = 0
    while todo:
        name = re.split(r"[<>=!~; \[(]", todo.pop(), maxsplit=1)[0].strip().lower().replace("_", "-")
        if not name or name in seen or name in base:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        size += sum((f.size or 0) for f in dist.files or [])
        todo += [r for r in (dist.requires or []) if "extra ==" not in r]
    return round(size / 2**20, 1), sorted(seen)


def single_answers(texts: list[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from postkin.encoders import get_encoder
    from postkin.neighbours import build_index
    from postkin.settings import Settings

    encoder = get_encoder(Settings(threads=1))
    embedded = np.concatenate([encoder.encode(texts[b:b + 256]) for b in range(0, len(texts), 256)])
    found, _ = build_index(vectors, "faiss-flat", threads=1).search(vectors, 11)
    return embedded, found


def related_of(found: np.ndarray) -> np.ndarray:
    n = len(found)
    keep = np.argsort(found == np.arange(n)[:, None], axis=1, kind="stable")[:, :10]
    return np.take_along_axis(found, keep, axis=1)


def noop(x: int) -> int:
    return x


def read_sum(a: np.ndarray) -> float:
    return float(a[::4096].sum())


# ----------------------------------------------------------------------------- Dask
def run_dask(texts: list[str], vectors: np.ndarray) -> dict:
    t0 = time.perf_counter()
    from postkin import distributed as pd

    client = pd.connect(workers=2)
    client.run(noop, 0)
    out: dict = {"engine": "dask", "version": __import__("distributed").__version__,
                 "start_s": round(time.perf_counter() - t0, 2), "pss_start_mb": cluster_pss_mb()}
    t0 = time.perf_counter()
    client.gather(client.map(noop, range(2000), pure=False))
    out["task_ms"] = round((time.perf_counter() - t0) / 2000 * 1e3, 3)
    t0 = time.perf_counter()
    for i in range(200):
        client.submit(noop, i, pure=False).result()
    out["roundtrip_ms"] = round((time.perf_counter() - t0) / 200 * 1e3, 3)
    big = np.ones(16 * 2**20, np.float32)
    t0 = time.perf_counter()
    shared = client.scatter(big, broadcast=True, hash=False)
    client.gather([client.submit(read_sum, shared, pure=False) for _ in range(20)])
    out["broadcast_s"] = round(time.perf_counter() - t0, 3)
    del shared
    from postkin.settings import Settings

    for run in ("first", "second"):
        t0 = time.perf_counter()
        embedded, _, _ = pd.embed(client, texts, Settings(), partition=128)
        out[f"embed_{run}_s"] = round(time.perf_counter() - t0, 2)
    out["_embedded"] = embedded
    answers = []
    for run in ("first", "second"):
        t0 = time.perf_counter()
        with pd.ShardedIndex(client, vectors, backend="faiss-flat") as index:
            answers.append(index.related(10)[0])
            out[f"shard_{run}_s"] = round(time.perf_counter() - t0, 2)
            out["pss_after_mb"] = cluster_pss_mb()
    out["_shards"] = answers
    pd.close(client)
    return out


# ----------------------------------------------------------------------------- Ray
def run_ray(texts: list[str], vectors: np.ndarray) -> dict:
    t0 = time.perf_counter()
    import ray
    from ray.util import ActorPool

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    remote_noop = ray.remote(num_cpus=1)(noop)
    ray.get([remote_noop.remote(i) for i in range(2)])
    out: dict = {"engine": "ray", "version": ray.__version__, "start_s": round(time.perf_counter() - t0, 2),
                 "pss_start_mb": cluster_pss_mb()}
    t0 = time.perf_counter()
    ray.get([remote_noop.remote(i) for i in range(2000)])
    out["task_ms"] = round((time.perf_counter() - t0) / 2000 * 1e3, 3)
    t0 = time.perf_counter()
    for i in range(200):
        ray.get(remote_noop.remote(i))
    out["roundtrip_ms"] = round((time.perf_counter() - t0) / 200 * 1e3, 3)
    big = np.ones(16 * 2**20, np.float32)
    remote_sum = ray.remote(num_cpus=1)(read_sum)
    t0 = time.perf_counter()
    ref = ray.put(big)
    ray.get([remote_sum.remote(ref) for _ in range(20)])
    out["broadcast_s"] = round(time.perf_counter() - t0, 3)
    del ref

    @ray.remote(num_cpus=1)
    class Embedder:
        def __init__(self) -> None:
            from postkin.encoders import get_encoder
            from postkin.settings import Settings

            self.encoder = get_encoder(Settings(threads=1))

        def encode(self, part: list[str]) -> np.ndarray:
            return np.concatenate([self.encoder.encode(part[b:b + 256]) for b in range(0, len(part), 256)])

    parts = [texts[s:s + 128] for s in range(0, len(texts), 128)]
    pool = None
    for run in ("first", "second"):
        t0 = time.perf_counter()
        if pool is None:
            pool = ActorPool([Embedder.remote() for _ in range(2)])
        embedded = np.concatenate(list(pool.map(lambda actor, part: actor.encode.remote(part), parts)))
        out[f"embed_{run}_s"] = round(time.perf_counter() - t0, 2)
    out["_embedded"] = embedded
    del pool

    @ray.remote(num_cpus=1)
    class Shard:
        def __init__(self, rows: np.ndarray, offset: int) -> None:
            from postkin.neighbours import build_index

            self.index, self.offset = build_index(rows, "faiss-flat", threads=1), offset

        def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            idx, scores = self.index.search(queries, k)
            return np.where(idx >= 0, idx + self.offset, -1), scores

    from postkin.distributed.index import merge_top_k, shard_bounds

    answers = []
    for run in ("first", "second"):
        t0 = time.perf_counter()
        shards = [Shard.remote(vectors[lo:hi], lo) for lo, hi in shard_bounds(len(vectors), 2)]
        queries = ray.put(vectors)
        found, _ = merge_top_k(ray.get([s.search.remote(queries, 11) for s in shards]), 11)
        answers.append(related_of(found))
        out[f"shard_{run}_s"] = round(time.perf_counter() - t0, 2)
        out["pss_after_mb"] = cluster_pss_mb()
        del shards, queries
    out["_shards"] = answers
    ray.shutdown()
    return out


# ----------------------------------------------------------------------------- driver
def child(engine: str, corpora: list[str], vectors_path: str, n: int) -> None:
    texts = post_texts(corpora)
    vectors = np.ascontiguousarray(np.load(vectors_path, mmap_mode="r")[:n], dtype=np.float32)
    out = (run_dask if engine == "dask" else run_ray)(texts, vectors)
    embedded, found = single_answers(texts, vectors)
    base = {"numpy", "packaging", "pyyaml", "click", "typing-extensions", "filelock"}
    size, names = install_size("distributed" if engine == "dask" else "ray", base)
    out.update(texts=len(texts), vectors=int(n), install_mb=size, packages=len(names),
               load_avg=round(os.getloadavg()[0], 1),
               embed_max_diff=float(np.abs(out.pop("_embedded") - embedded).max()))
    first, second = out.pop("_shards")
    out.update(shard_equal=bool(np.array_equal(first, related_of(found))),
               shard_repeat_equal=bool(np.array_equal(first, second)))
    print(json.dumps(out), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="+", help="folders of Markdown posts (their texts are embedded)")
    ap.add_argument("--vectors", required=True, help="an .npy of unit vectors (benchmarks/ann.py's base-*.npy)")
    ap.add_argument("--n", type=int, default=20_000, help="vectors in the sharded index")
    ap.add_argument("--engines", default="dask,ray")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each engine, alternating (the machine is shared)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.corpus, args.vectors, args.n)
        return 0
    env = {**os.environ, "RAY_DEDUP_LOGS": "0"}
    for engine in args.engines.split(",") * args.repeat:
        proc = subprocess.run([sys.executable, __file__, *args.corpus, "--vectors", args.vectors, "--n",
                               str(args.n), "--child", engine], stdout=subprocess.PIPE, text=True, env=env)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        print(lines[-1] if lines and proc.returncode == 0 else json.dumps({"engine": engine,
                                                                          "error": f"exit {proc.returncode}"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
