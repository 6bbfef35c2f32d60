"""Builds that cost what changed (issue #21): what a build leaves for the next one, "nothing changed",
`--full`, and the incremental path of large sites giving what a full computation gives."""

from __future__ import annotations

import numpy as np

from postkin import tags as tags_module
from postkin.corpus import Post
from postkin.languages import centre_by_group
from postkin.settings import Settings
from postkin.topics import find_topics


def test_adding_a_post_to_a_two_language_blog_keeps_its_topics():
    # Centring by language moves every vector when one post is added: the topics must still see one
    # new post, not 61 changed ones (that refit them and rewrote every output file of such a blog).
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16))
    raw = np.vstack([c + 0.3 * rng.standard_normal((20, 16)) for c in centres] + [centres[:1]]).astype(np.float32)
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    groups = np.arange(61) % 2
    posts = [Post(source=f"{i}.md", slug=f"p{i}", title=f"p{i}", tags=[f"t{i // 20}"]) for i in range(61)]
    settings = Settings(clusters=3)
    first = find_topics(posts[:60], centre_by_group(raw[:60], groups[:60]), np.ones(60, bool),
                        tags_module.vocabulary(posts[:60]), settings, own=raw[:60])
    centred = centre_by_group(raw, groups)
    assert not np.allclose(centred[:60], centre_by_group(raw[:60], groups[:60]))  # every vector moved
    after = find_topics(posts, centred, np.ones(61, bool), tags_module.vocabulary(posts), settings,
                        previous=first.state, own=raw)
    assert not after.refitted and after.ids == first.ids and after.labels == first.labels
    # hashing the centred vectors (as before) counts every post as changed and refits
    before = find_topics(posts[:60], centre_by_group(raw[:60], groups[:60]), np.ones(60, bool),
                         tags_module.vocabulary(posts[:60]), settings)
    again = find_topics(posts, centred, np.ones(61, bool), tags_module.vocabulary(posts), settings,
                        previous=before.state)
    assert again.refitted
