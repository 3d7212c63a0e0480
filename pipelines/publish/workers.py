"""The officials' files of a large publication written side by side, in forked workers.

Formatting cells and building pages is pure Python; a country's exports and pages are twenty
independent scopes, so they are spread over the cores. Workers are forked (milliseconds, and
they see this process's modules and caches as they are), hold none of its locks, run none of
its signal handlers and die with it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from pipelines.ingest.isolation import start_child

# Below this many published rows in all the scopes together, one process: starting workers
# would cost more than it saves.
PARALLEL_FROM_ROWS = 50_000
MAX_WORKERS = 4


def default_workers() -> int:
    """One per core, at most MAX_WORKERS."""
    return min(MAX_WORKERS, os.cpu_count() or 1)


def map_forked(fn: Callable[..., Any], jobs: Sequence[tuple], weights: Sequence[int],
               workers: int | None = None,
               parallel_from_rows: int = PARALLEL_FROM_ROWS) -> list[Any]:
    """fn(*job) for every job, results in the jobs' order; the heaviest jobs start first.
    `weights` are the jobs' published rows; `workers` defaults to default_workers(). In this
    process when the weights add up to less than `parallel_from_rows`, or there is one
    worker, one job, or no fork. An exception in a job is raised here."""
    if sum(weights) < parallel_from_rows:
        workers = 1
    workers = workers or default_workers()
    if workers < 2 or len(jobs) < 2 or not hasattr(os, "fork"):
        return [fn(*job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(range(len(jobs)), key=lambda i: -weights[i])
    with ProcessPoolExecutor(min(workers, len(jobs)),
                             mp_context=multiprocessing.get_context("fork"),
                             initializer=start_child) as pool:
        futures = {i: pool.submit(fn, *jobs[i]) for i in order}
        return [futures[i].result() for i in range(len(jobs))]
