"""Related posts and topics across languages: the fused score does not reward two posts for sharing a
language; a post in a blog's minority language gets neighbours from the majority language when they are
closer in meaning; topics group by meaning, not by language."""

from __future__ import annotations

import numpy as np

from postkin import features, pipeline
from postkin.corpus import Corpus, Post
from postkin.languages import MIN_GROUP, centre_by_group, language_groups, post_languages
from postkin.settings import Settings

TOPICS = {"db": "vacuum index planner replication", "css": "grid flexbox cascade selector"}
# Words each language uses in every post, as real languages do (particles, articles, verb endings)
FUNCTION = {"en": "the and with this that from", "xx": "nole dasu kore sore mata kara"}


def mixed_blog(seed: int = 0) -> tuple[list[Post], np.ndarray]:
    """12 English and 8 'xx' posts on two topics; xx spells its topic words its own way, so the only
    words two languages share are none. Embeddings: topic direction + a language offset + noise."""
    rng = np.random.default_rng(seed)
    dim = 32
    topic_dir = {t: rng.standard_normal(dim) for t in TOPICS}
    lang_dir = {lang: 0.9 * rng.standard_normal(dim) for lang in FUNCTION}
    posts, vectors = [], []
    for lang, count in (("en", 12), ("xx", 8)):
        for n in range(count):
            topic = list(TOPICS)[n % 2]
            words = TOPICS[topic].split() if lang == "en" else [w[::-1] + "q" for w in TOPICS[topic].split()]
            body = " ".join(rng.choice(words + FUNCTION[lang].split() * 2, size=40))
            posts.append(Post(source=f"{lang}-{n}.md", slug=f"{lang}-{n}", title=f"{lang} {topic} {n}",
                              body=body, tags=[topic], lang=lang))
            vectors.append(topic_dir[topic] + lang_dir[lang] + 0.6 * rng.standard_normal(dim))
    v = np.array(vectors, np.float32)
    return posts, v / np.linalg.norm(v, axis=1, keepdims=True)


def related(posts, vectors, **settings) -> dict[str, list[str]]:
    s = Settings(related_k=4, **settings)
    build = pipeline.compute(Corpus(posts), features.from_vectors(posts, vectors, s), s)
    return {slug: [r.slug for r in ctx.related] for slug, ctx in build.contexts.items()}


def test_a_minority_language_post_gets_majority_language_neighbours_on_its_topic():
    posts, vectors = mixed_blog()
    lists = related(posts, vectors)
    topic = {p.slug: p.tags[0] for p in posts}
    for slug, found in lists.items():
        assert sum(topic[s] == topic[slug] for s in found) >= 3, (slug, found)  # on topic
    xx = [s for s in lists if s.startswith("xx")]
    cross = sum(s.startswith("en") for slug in xx for s in lists[slug])
    assert cross >= len(xx), "xx posts list English posts on their topic"  # before: 0 (only xx posts)


def test_same_language_setting_and_a_one_language_blog_are_unchanged():
    posts, vectors = mixed_blog()
    same = related(posts, vectors, related_languages="same")
    assert all(s[:2] == slug[:2] for slug, found in same.items() for s in found)
    english = [p for p in posts if p.lang == "en"]
    v = vectors[[i for i, p in enumerate(posts) if p.lang == "en"]]
    feats = features.from_vectors(english, v, Settings())
    assert feats.groups is None and feats.semantic is feats.vectors  # one language: nothing moves


def test_groups_need_enough_posts_and_centring_removes_the_language_offset():
    assert language_groups(["ja"] * 9 + ["en"]).tolist() == [0] * 10  # efcl's one English post
    assert language_groups(["en"] * 6 + ["ja"] * MIN_GROUP).tolist() == [0] * 6 + [1] * MIN_GROUP
    posts, vectors = mixed_blog()
    groups = language_groups([p.lang for p in posts])
    centred = centre_by_group(vectors, groups)
    for v in (vectors, centred):  # distance between the languages' means, before and after
        gap = np.linalg.norm(v[groups == 0].mean(0) - v[groups == 1].mean(0))
        if v is vectors:
            before = gap
    assert gap < 0.35 * before


def test_topics_group_by_meaning_not_by_language():
    posts, vectors = mixed_blog(seed=3)
    s = Settings(clusters=2)
    build = pipeline.compute(Corpus(posts), features.from_vectors(posts, vectors, s), s)
    by_topic: dict[str, set[int]] = {}
    for p in posts:
        by_topic.setdefault(p.tags[0], set()).add(build.contexts[p.slug].cluster.id)
    assert all(len(ids) == 1 for ids in by_topic.values()) and len({min(i) for i in by_topic.values()}) == 2


def test_undeclared_languages_are_detected():
    posts = [Post(source="a.md", slug="a", title="Tuning autovacuum on busy tables",
                  body="When rows are updated often, dead tuples pile up and queries slow down."),
             Post(source="b.md", slug="b", title="autovacuum の調整", body="更新の多いテーブルが肥大化し、クエリが遅くなりました。"),
             Post(source="c.md", slug="c", title="Declared", body="whatever", lang="fr")]
    assert post_languages(posts)[0] == ["en", "ja", "fr"]
