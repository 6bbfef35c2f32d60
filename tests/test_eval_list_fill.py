"""`postkin eval`'s and the report's "related lists" line describes the lists the build made: on a site
in two languages with translations, the language and translation limits apply (issue #11: list_fill
used to recompute the lists without them)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import FakeEncoder

from postkin import evaluate, pipeline
from postkin.corpus import Corpus, Post
from postkin.related import related_posts
from postkin.settings import Settings

WORDS = {"en": ["postgresql vacuum index planner", "css grid flexbox cascade", "python wheels packaging pip"],
         "fr": ["postgresql vacuum index planificateur", "css grille flexbox cascade", "python paquets wheels pip"]}


def two_language_site() -> Corpus:
    """3 English posts and their 3 French translations (one translation key per pair); the site declares
    both languages, as Hugo's languages table does."""
    posts = [Post(source=f"{lang}/p{n}.md", slug=f"p{n}-{lang}", title=f"{lang} {n}", body=body * 5,
                  tags=[body.split()[0]], lang=lang, translation_key=f"p{n}", date=dt.datetime(2024, 1, 1 + n))
             for lang, bodies in WORDS.items() for n, body in enumerate(bodies)]
    return Corpus(posts, languages=("en", "fr"))


@pytest.mark.parametrize(("languages", "k", "full"), [
    ("auto", 2, 1.0),  # same language: 2 other posts each, so lists of 2 are full...
    ("auto", 3, 0.0),  # ...and no list of 3 is (the old way: 5 candidates, every list full)
    ("all", 5, 0.0),  # any language, never a post's own translation: 4 candidates (old way: 5, all full)
])
def test_list_fill_describes_the_builds_lists(languages, k, full, tmp_path):
    corpus = two_language_site()
    settings = Settings(related_k=k, related_languages=languages)
    build = pipeline.run(corpus, settings, cache_dir=tmp_path / "cache", encoder=FakeEncoder())
    stages = build.stages
    assert stages is not None
    made = {slug: len(ctx.related) for slug, ctx in build.contexts.items()}
    assert np.mean([n == k for n in made.values()]) == full  # what the pages show

    report = evaluate.evaluate_build(stages, settings)
    assert report.related_lists is not None and report.related_lists.full_share == full
    listed = stages.related.fused[stages.related.idx >= 0].astype(np.float64)
    assert report.related_lists.fused is not None
    assert report.related_lists.fused["median"] == pytest.approx(float(np.median(listed)))
    assert (report.related_lists.last_median is None) == (full == 0.0)  # JSON null, not NaN, without a full list
    assert f"at rank {k} {'none' if full == 0.0 else ''}" in report.related_lists.line()

    # the lists list_fill used to make, without the limits, disagree with the build
    old = evaluate.list_fill(related_posts(stages.similarity.related, stages.listed, k, controls=stages.controls),
                             stages.controls)
    assert old != report.related_lists
    assert old.full_share == 1.0  # with 5 candidates for every post

    # `postkin eval` (evaluate on the Corpus) makes the build's lists too (no tag is used: related_use_tags 0)
    evaluated = evaluate.evaluate(corpus, settings, tmp_path / "cache", encoder=FakeEncoder(), baselines=False)
    assert evaluated.related_lists == report.related_lists
