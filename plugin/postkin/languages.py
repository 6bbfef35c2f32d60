"""Languages of posts, for ranking that does not reward two posts for sharing a language.

A post's language is the one its generator declares (Hugo `x.fr.md`, Pelican `Lang:`, front-matter
`lang`), else the one a well-kept detector finds in its title, lede and first paragraphs: Google's CLD2
(pycld2: 1 ms to load, 0.04 ms a post) where its wheels exist, else py3langid (langid.py's numpy fork:
pure Python, but 0.6 s to load its model, which would have slowed every build with a new post by that
much). On 18F, efcl and site_example they agree on all but 6 of efcl's 832 posts (short mixed-language
texts). Detections are cached by the text's hash and the detector's name.

Posts of one language form a *group*; groups of fewer than MIN_GROUP posts join the largest group,
because their statistics could not be estimated (efcl's one English post among 831 Japanese ones, 18F's
one Spanish post among 507 English ones: both blogs read as one group, exactly as before).

Two uses (see similarity.py and topics.py):
- lexical signals are compared only within a group (different languages share few words, and words a
  language uses everywhere made every Japanese post of site_example list only Japanese posts);
- the embedding of each group is centred on the blog's mean (multilingual sentence encoders put each
  language at its own offset: Pires et al. 2019, Libovický et al. 2020 remove it by subtracting the
  language's mean), so topics and related posts group by meaning, not by language.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .text import text_hash

if TYPE_CHECKING:
    from .cache import EmbeddingCache
    from .corpus import Post

log = logging.getLogger("postkin")

MIN_GROUP = 5  # posts a language needs to be a group of its own
SAMPLE_CHARS = 400  # characters of title, lede and body the detector reads (as accurate as 2,000 on 18F/efcl)
DETECTOR_VERSION = "1"  # bump when the detection input changes
# Centring a small group fully would move its posts onto the blog's mean: the offset is shrunk by
# n / (n + CENTRE_PRIOR) (a group of 5 moves two thirds of the way, one of 50 nearly all of it).
CENTRE_PRIOR = 2.5


def detection_text(post: Post) -> str:
    """What the detector reads: the start of the title, lede and body."""
    return "\n".join(p for p in (post.plain_title, post.lede, post.body) if p)[:SAMPLE_CHARS]


def detector() -> tuple[str, Callable[[str], str]]:
    """(name, detect) of the language detector installed: CLD2, else py3langid. `detect(text)` gives an
    ISO 639-1 code, '' when it cannot tell."""
    try:
        import pycld2

        def cld2(text: str) -> str:
            try:
                reliable, _, found = pycld2.detect(text)
            except pycld2.error:  # invalid UTF-8 inside (a lone surrogate)
                return ""
            code = found[0][1]
            return "" if code in ("un", "xxx") else code.split("-")[0]

        return "cld2", cld2
    except ImportError:
        import py3langid

        return "py3langid", lambda text: str(py3langid.classify(text)[0])


def detector_kind() -> str:
    """The cache kind of detections: the detector's name and the input version."""
    return f"lang/{detector()[0]}/{DETECTOR_VERSION}"


def post_languages(posts: list[Post], cache: EmbeddingCache | None = None) -> tuple[list[str], dict[str, bytes]]:
    """Each post's language code (declared, else detected; '' when the text gives nothing to detect),
    and the detections made now (text hash -> code) for the caller to store once its build succeeded,
    under detector_kind()."""
    wanted = {i: text_hash(detection_text(p)) for i, p in enumerate(posts) if not p.lang}
    if not wanted:
        return [p.lang for p in posts], {}
    name, detect = detector()
    kind = f"lang/{name}/{DETECTOR_VERSION}"
    found = cache.get_derived(kind, set(wanted.values())) if cache is not None else {}
    new: dict[str, bytes] = {}
    out: list[str] = []
    for i, post in enumerate(posts):
        if post.lang:
            out.append(post.lang)
            continue
        key = wanted[i]
        code = found.get(key) or new.get(key)
        if code is None:
            text = detection_text(post)
            code = (detect(text) if text.strip() else "").encode()
            new[key] = code
        out.append(code.decode())
    return out, new


def language_groups(languages: list[str]) -> np.ndarray:
    """(n,) int group of each post: one per language with at least MIN_GROUP posts; the posts of rarer
    languages (and undetected ones) join the largest group. All zeros for a one-language blog."""
    counts = Counter(languages)
    if not counts:
        return np.zeros(0, dtype=np.int64)
    largest = min(counts, key=lambda lang: (-counts[lang], lang))
    kept = sorted(lang for lang, c in counts.items() if c >= MIN_GROUP and lang)
    if largest not in kept:
        kept = sorted([*kept, largest])
    number = {lang: n for n, lang in enumerate(kept)}
    return np.array([number.get(lang, number[largest]) for lang in languages], dtype=np.int64)


def centre_by_group(vectors: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Unit vectors with each group's mean moved (shrunk, see CENTRE_PRIOR) onto the mean of all posts:
    (n, d) float32. The vectors themselves when there is one group."""
    if len(groups) == 0 or groups.max(initial=0) == 0:
        return vectors
    return centre_with(vectors, groups, group_offsets(vectors, groups))


def group_offsets(vectors: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(number of groups, d) float64: what centring adds to the vectors of each group, (overall mean -
    group mean) * n_g / (n_g + CENTRE_PRIOR). The incremental path of large sites keeps them between
    full fits, so a new post is centred as the others were."""
    v = np.asarray(vectors, np.float64)
    overall = v.mean(axis=0)
    out = np.zeros((int(groups.max(initial=0)) + 1, v.shape[1]))
    for g in np.unique(groups):
        members = groups == g
        n = int(members.sum())
        out[g] = (overall - v[members].mean(axis=0)) * (n / (n + CENTRE_PRIOR))
    return out


def centre_with(vectors: np.ndarray, groups: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Unit vectors moved by their group's offset (group_offsets): (n, d) float32."""
    out = np.asarray(vectors, np.float64).copy()
    for g in np.unique(groups):
        out[groups == g] += offsets[g]
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out.astype(np.float32)
