"""The served process's garbage collector, tuned once the application is built.

A request that lists fifty referrals allocates tens of thousands of objects. With
CPython's default young-generation threshold (700 allocations) they survive into
the older generations, and the full collections that follow walk every object the
process holds — the ORM's mappers, the templates, the registry caches: 70–95 ms
each, measured at a region's scale (benchmarks/README.md, care pathways), which
made the inbox's 95th percentile. Freezing what exists at start-up takes those
objects out of every later collection, and a higher threshold lets a request's
objects die young. Reference cycles are still collected: only less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: The older generations' thresholds kept with a raised young one (CPython's are 10, 10).
OLDER_THRESHOLDS = (20, 20)


def tune(young_threshold: int) -> bool:
    """Freeze the start-up objects and raise the young threshold; False when asked not to."""
    if young_threshold <= 0:
        return False
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, *OLDER_THRESHOLDS)
    return True


@contextmanager
def tuned(young_threshold: int) -> Iterator[bool]:
    """``tune`` for a stretch of work (a benchmark's measures), the collector put back as it
    was afterwards, even if the work fails."""
    before = gc.get_threshold()
    done = tune(young_threshold)
    try:
        yield done
    finally:
        if done:
            gc.unfreeze()
            gc.set_threshold(*before)
