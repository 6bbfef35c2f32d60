"""What a build is doing, for `--verbose`: each stage's wall time and counts, one DEBUG line per stage
on the "postkin" logger (the CLI shows them with -v; Pelican with -D, MkDocs with -v).

    with stage("similarity", stats.stages) as notes:
        sims = similarity.compute(...)
        notes.append(f"{n} posts")
    # -> "similarity: 508 posts; 0.31 s"

A stage that raises logs nothing: the error says what happened.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, MutableMapping

log = logging.getLogger("postkin")


@contextlib.contextmanager
def stage(name: str, times: MutableMapping[str, float] | None = None) -> Iterator[list[str]]:
    """Time the block as stage `name`: its seconds are added to `times[name]` and one DEBUG line is
    logged, "name: note; note; 1.23 s", the notes being what the block appended to the yielded list."""
    notes: list[str] = []
    started = time.perf_counter()
    yield notes
    seconds = time.perf_counter() - started
    if times is not None:
        times[name] = times.get(name, 0.0) + seconds
    log.debug("%s: %s%.2f s", name, "".join(f"{note}; " for note in notes), seconds)
