"""The talk's workload on postkin's distributed runner (postkin.distributed, Dask), and the embedding
throughput per worker.

    python benchmarks/distributed.py /work/data/18f /work/data/efcl --cache-dir /tmp/pk-bench

1. The data is benchmarks/ann.py's (its own functions make it, into the same cache): the unique
   sentences of the corpora embedded with the bundled encoder, then 692,821 database vectors drawn
   from them with Gaussian noise (see ann.py's docstring).
2. For each worker count (``--workers``, default 1 and 2), in a fresh process: a local Dask cluster
   of that many worker processes (each task on cores // workers threads), a ShardedIndex over the
   692,821 vectors (one shard per worker, the backend 'auto' picks for the whole n: faiss IVF), then
   every item's top-10 other items (``ShardedIndex.related``), every query going to every shard.
   recall@10 is measured on ``--sample`` items (seeded) against exact search (faiss flat, the item
   itself left out), computed once and cached.
3. ``--scaling 2,4,8``: one worker's share of a cluster of w workers, on one thread: the shard of
   n / w rows built and searched with all n items (CPU seconds), since every item goes to every shard.
4. The embedding throughput: the bundled encoder on real post text, warmed (model loaded) first:
   ``posts`` = each post's title + lede as a build embeds them, ``sentences`` = the first
   ``--sentences`` sentences of the corpora.

One JSON line per result::

    {"run": "related", "workers": 2, "threads_per_worker": 1, "build_s": ..., "search_s": ...,
     "total_s": ..., "build_cpu_s": ..., "search_cpu_s": ..., "recall@10": ...,
     "peak_mem_mb_per_worker": [...], "client_peak_mb": ..., "load_avg": ...}

(``*_cpu_s``: CPU seconds of the workers and the client together: on this shared machine the wall
time depends on what else runs, the load average says how much.)
    {"run": "embed", "workers": 2, "texts": "posts", "count": 1340, "texts_per_s_per_worker": ...}

Results: README "Beyond one machine".
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# this file is benchmarks/distributed.py: with its folder on sys.path, `import distributed` (Dask) would
# import it instead; benchmarks/ann.py is loaded by its path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent / "plugin"))
_spec = importlib.util.spec_from_file_location("ann", HERE / "ann.py")
ann = importlib.util.module_from_spec(_spec)  # benchmarks/ann.py: the workload's data
_spec.loader.exec_module(ann)


def log(msg: str) -> None:
    print(f"[distributed] {msg}", file=sys.stderr, flush=True)


def data(args: argparse.Namespace) -> Path:
    """The folder of ann.py's data for this workload (made by ann.prepare if missing)."""
    ddir, _ = ann.prepare(Namespace(cache_dir=args.cache_dir, corpus=args.corpus, embed_only=False, n=args.n,
                                    queries=args.ann_queries, seed=args.seed, noise=args.noise,
                                    query_fraction=args.query_fraction, k=10))
    return ddir


def truth(ddir: Path, sample_size: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(sampled rows, their exact top-k other rows), cached beside the data."""
    path = ddir / f"related-truth-{sample_size}-{k}-{seed}.npz"
    if path.exists():
        saved = np.load(path)
        return saved["rows"], saved["truth"]
    db = np.load(ddir / "db.npy")
    rows = np.sort(np.random.default_rng(seed).choice(len(db), size=sample_size, replace=False))
    t0 = time.perf_counter()
    found, _ = ann.exact_topk(db, db[rows], k + 1)
    keep = np.argsort(found == rows[:, None], axis=1, kind="stable")[:, :k]
    exact = np.take_along_axis(found, keep, axis=1)
    log(f"exact top-{k} of {sample_size} sampled items in {time.perf_counter() - t0:.1f} s")
    np.savez(path, rows=rows, truth=exact)
    return rows, exact


def run_related(ddir: Path, workers: int, k: int, sample: int, seed: int) -> dict:
    from postkin import distributed as pd

    db = np.load(ddir / "db.npy")
    rows, exact = truth(ddir, sample, k, seed)
    client = pd.connect(workers=workers)
    threads = sorted(set(client.run(pd.worker_threads).values()))

    def cpu() -> float:  # CPU seconds of the workers and of this client process
        return sum(client.run(ann._cpu_s).values()) + ann._cpu_s()

    c0, t0 = cpu(), time.perf_counter()
    index = pd.ShardedIndex(client, db)
    build_s, c1 = time.perf_counter() - t0, cpu()
    t0 = time.perf_counter()
    idx, _ = index.related(k)
    search_s, c2 = time.perf_counter() - t0, cpu()
    peaks = sorted(round(v) for v in index.peak_memory_mb().values())
    out = {
        "run": "related", "workers": workers, "threads_per_worker": threads, "n": len(db), "k": k,
        "backend": index.backend, "shards": len(index.bounds), "params": index.shard_info[0]["params"],
        "build_s": round(build_s, 1), "search_s": round(search_s, 1), "total_s": round(build_s + search_s, 1),
        "build_cpu_s": round(c1 - c0, 1), "search_cpu_s": round(c2 - c1, 1),
        f"recall@{k}": round(ann.recall_at(idx[rows], exact), 4), "recall_sample": sample,
        "peak_mem_mb_per_worker": peaks, "client_peak_mb": round(ann._status_kb("VmHWM") / 1024),
        "load_avg": round(os.getloadavg()[0], 1),
    }
    index.close()
    pd.close(client)
    return out


def run_shard(ddir: Path, of_workers: int, k: int) -> dict:
    """What one worker of a cluster of `of_workers` does, here on one thread: build the shard of
    n / of_workers rows and search all n items in it (CPU seconds: how per-worker work scales)."""
    from postkin import neighbours

    db = np.load(ddir / "db.npy")
    rows = len(db) // of_workers
    c0 = ann._cpu_s()
    index = neighbours.build_index(db[:rows], "faiss-ivf", threads=1)
    c1 = ann._cpu_s()
    index.search(db, k + 1)
    c2 = ann._cpu_s()
    return {"run": "shard", "of_workers": of_workers, "shard_rows": rows, "queries": len(db),
            "params": index.params, "build_cpu_s": round(c1 - c0, 1), "search_cpu_s": round(c2 - c1, 1),
            "peak_mem_mb": round(ann._status_kb("VmHWM") / 1024), "load_avg": round(os.getloadavg()[0], 1)}


def run_nprobe(ddir: Path, shards: int, probes: list[int], k: int, sample: int, seed: int) -> list[dict]:
    """Recall@k of the merged answer and search CPU seconds per 1,000 queries, for each nprobe of the
    `shards` faiss-ivf shards (built here one after another, one thread)."""
    from postkin import neighbours
    from postkin.distributed.index import merge_top_k, shard_bounds

    db = np.load(ddir / "db.npy")
    rows, exact = truth(ddir, sample, k, seed)
    timed = db[:20_000]
    built = []
    for lo, hi in shard_bounds(len(db), shards):
        built.append((lo, neighbours.build_index(db[lo:hi], "faiss-ivf", threads=1)))
    default = built[0][1].params["nprobe"]
    out = []
    for nprobe in probes:
        parts, cpu = [], 0.0
        for lo, index in built:
            index.set_search_params(nprobe=nprobe)
            idx, scores = index.search(db[rows], k + 1)
            parts.append((np.where(idx >= 0, idx + lo, -1), scores))
            c0 = ann._cpu_s()
            index.search(timed, k + 1)
            cpu += ann._cpu_s() - c0
        found, _ = merge_top_k(parts, k + 1)
        keep = np.argsort(found == rows[:, None], axis=1, kind="stable")[:, :k]
        out.append({"run": "nprobe", "shards": shards, "nprobe": nprobe, "default_nprobe": default,
                    f"recall@{k}": round(ann.recall_at(np.take_along_axis(found, keep, axis=1), exact), 4),
                    "search_cpu_s_per_1000": round(cpu / len(timed) * 1000, 3), "load_avg": round(os.getloadavg()[0], 1)})
    return out


def run_embed(corpora: list[str], sentences: list[str], workers: int) -> list[dict]:
    from postkin import distributed as pd
    from postkin.distributed.cluster import worker_encoder
    from postkin.features import embed_text
    from postkin.pipeline import read_folder
    from postkin.settings import Settings

    settings = Settings()
    posts = [embed_text(p, settings.embed_fields) for c in corpora for p in read_folder(Path(c), settings).posts]
    client = pd.connect(workers=workers)
    client.run(lambda: worker_encoder(settings).encode(["the model loads before the clock starts"]))
    out = []
    for name, texts in (("posts", posts), ("sentences", sentences)):
        distinct = len(set(texts))
        partition = max(64, -(-distinct // (4 * workers)))  # 4 tasks per worker
        t0 = time.perf_counter()
        _, embedded, _ = pd.embed(client, texts, settings, partition=partition)
        seconds = time.perf_counter() - t0
        out.append({"run": "embed", "workers": workers, "threads_per_worker": sorted(set(client.run(pd.worker_threads).values())),
                    "texts": name, "count": embedded, "seconds": round(seconds, 2),
                    "texts_per_s": round(embedded / seconds, 1),
                    "texts_per_s_per_worker": round(embedded / seconds / workers, 1),
                    "load_avg": round(os.getloadavg()[0], 1)})
    pd.close(client)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="+", help="folders of Markdown posts (e.g. /work/data/18f /work/data/efcl)")
    ap.add_argument("--cache-dir", default=".bench-cache", help="ann.py's cache (shared with it)")
    ap.add_argument("--workers", default="1,2", help="comma list of local worker counts")
    ap.add_argument("--n", type=int, default=ann.TALK_N, help="items (talk: 692,821)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--sample", type=int, default=2000, help="items whose recall is measured against exact search")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=0.02, help="as benchmarks/ann.py (its default)")
    ap.add_argument("--query-fraction", type=float, default=0.1, help="as benchmarks/ann.py (its default)")
    ap.add_argument("--ann-queries", type=int, default=ann.TALK_QUERIES,
                    help="ann.py's query set (made with the data, unused here; keeps its cache shared)")
    ap.add_argument("--sentences", type=int, default=20_000, help="corpus sentences in the embedding run")
    ap.add_argument("--skip", default="", help="comma list of runs to leave out: related, embed")
    ap.add_argument("--scaling", default="", help="comma list of worker counts w: one worker's share of a "
                    "w-worker cluster (a shard of n / w rows, all n queries) on one thread, CPU seconds")
    ap.add_argument("--nprobe", default="", help="comma list of nprobe values: recall of the merged answer of "
                    "--nprobe-shards faiss-ivf shards and search CPU seconds per 1,000 queries, for each")
    ap.add_argument("--nprobe-shards", type=int, default=2)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    skip = set(args.skip.split(","))
    if args.child:
        kind, workers = args.child.split(":")
        if kind == "related":
            print(json.dumps(run_related(Path(args.data), int(workers), args.k, args.sample, args.seed)), flush=True)
        elif kind == "shard":
            print(json.dumps(run_shard(Path(args.data), int(workers), args.k)), flush=True)
        elif kind == "nprobe":
            probes = [int(p) for p in args.nprobe.split(",")]
            for line in run_nprobe(Path(args.data), int(workers), probes, args.k, args.sample, args.seed):
                print(json.dumps(line), flush=True)
        else:
            sentences = ann.corpus_sentences(args.corpus)[:args.sentences]
            for line in run_embed(args.corpus, sentences, int(workers)):
                print(json.dumps(line), flush=True)
        return 0
    ddir = data(args) if "related" not in skip or args.scaling or args.nprobe else Path(".")
    if "related" not in skip:
        truth(ddir, args.sample, args.k, args.seed)
    runs = [(kind, int(w)) for w in args.workers.split(",") if w for kind in ("related", "embed") if kind not in skip]
    runs += [("shard", int(w)) for w in args.scaling.split(",") if w]
    runs += [("nprobe", args.nprobe_shards)] if args.nprobe else []
    for kind, workers in runs:
        log(f"{kind} with {workers} worker(s)")
        proc = subprocess.run([sys.executable, __file__, *args.corpus, "--child", f"{kind}:{workers}",
                               "--data", str(ddir), "--k", str(args.k), "--sample", str(args.sample),
                               "--seed", str(args.seed), "--sentences", str(args.sentences), "--nprobe", args.nprobe],
                              stdout=subprocess.PIPE, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        for line in lines:
            print(line, flush=True)
        if proc.returncode != 0:
            print(json.dumps({"run": kind, "workers": workers, "error": f"exit {proc.returncode}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
