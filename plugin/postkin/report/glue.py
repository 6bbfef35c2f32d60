"""A build's stage values -> ReportInput, and the previous report's snapshot in the cache folder.

The one place that knows the pipeline: `report_input` reads the Stages a build made (pipeline.Build.stages:
the features, topics, related posts and tag suggestions), so nothing is embedded or compared again.
`write_report` is the one call a host makes after its build.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urljoin

import numpy as np

from ..outputs import write_if_changed
from ..pipeline import Stages
from ..settings import Settings
from ..topics import Topics
from .model import ReportData, ReportInput, ReportPost, Snapshot

log = logging.getLogger("postkin")

SNAPSHOT_FILE = "report-previous.json"


def report_input(stages: Stages | None, settings: Settings, *, previous: Snapshot | None = None,
                 site_url: str = "", quality: bool = True) -> ReportInput:
    """The report's input from a build's stage values (None: a site without posts); site_url (e.g.
    https://example.com/) is joined to site-relative URLs. quality: when the blog has tags, the
    configured method's `postkin eval` scores and two anchors, from the same stage values."""
    if stages is None:
        return ReportInput([], np.zeros((0, 0), np.float32), Topics(np.zeros(0, np.int64), np.zeros((0, 0), np.float32),
                                                                    [], [], []), [], [], previous=previous)
    posts = stages.posts
    evaluation = None
    if quality and any(p.tags for p in posts):
        from ..evaluate import evaluate_build

        evaluation = evaluate_build(stages, settings).to_dict()
        for method in evaluation["methods"]:  # compute times: the report is the same for the same blog
            method.pop("seconds", None)
    return ReportInput(
        posts=[ReportPost(p.slug, p.plain_title, urljoin(site_url, p.url) if site_url else p.url,
                          p.date.isoformat() if p.date else None, tuple(p.tags), p.popularity, not listed)
               for p, listed in zip(posts, stages.listed)],
        vectors=stages.features.semantic, topics=stages.topics,
        suggested_tags=[[(s.tag, s.score) for s in row] for row in stages.suggestions],
        related=[[posts[j].slug for j in row if j >= 0] for row in stages.related.idx],
        text_vectors=stages.features.lexical.tfidf, evaluation=evaluation, previous=previous, seed=settings.seed)


def load_snapshot(cache_dir: Path | None) -> Snapshot | None:
    """The previous report's snapshot, or None (first report, or an unreadable file: one warning)."""
    if cache_dir is None:
        return None
    path = Path(cache_dir) / SNAPSHOT_FILE
    try:
        return Snapshot.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.warning("%s: previous report unreadable (%s); this report shows no changes, and replaces it",
                    path, exc)
        return None


def save_snapshot(cache_dir: Path | None, data: ReportData) -> None:
    """Write this report's snapshot for the next one, atomically."""
    if cache_dir is not None:
        text = json.dumps(data.snapshot().to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        write_if_changed(Path(cache_dir) / SNAPSHOT_FILE, (text + "\n").encode("utf-8"))


def write_report(stages: Stages | None, settings: Settings, cache_dir: Path | None, out: Path | None, *,
                 site_url: str = "", title: str = "postkin report") -> ReportData:
    """Analyse a build's stage values, write the HTML to `out` (atomically; None: no HTML) and this
    report's snapshot to the cache folder for the next report's "what changed". Raises PostkinError
    naming the `report` extra when one of its packages is missing."""
    from .analysis import analyse
    from .html import render_html

    data = analyse(report_input(stages, settings, previous=load_snapshot(cache_dir), site_url=site_url))
    if out is not None:
        write_if_changed(out, render_html(data, title).encode("utf-8"))
    save_snapshot(cache_dir, data)
    return data
