"""Where ``inkreader batch`` runs its tasks: local processes here, a Dask cluster in
``batch.cluster`` (an optional extra).

Both load the model once per worker and yield each task's records as it finishes (any order);
the driver commits them. A task whose worker died is re-run elsewhere by Dask (its scheduler
reschedules the tasks of a lost worker, up to its ``allowed-failures``); locally, a dead worker
process breaks the pool and its tasks are left to the next run. Either way no finished result
is lost: only committed shards count, and the next run reads what is missing.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from ..errors import InkreaderError
from ..runtime.backends import cpu_count
from .run import Image, Reader, ReadSpec, read_task

log = logging.getLogger(__name__)

Outcome = tuple[list[Image], list[dict] | BaseException]


class LocalEngine:
    """This machine's cores: ``workers`` processes (default: one per core), each with its own
    model; one worker reads in this process (the recognizer then uses every core)."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or cpu_count()
        if self.workers < 1:
            raise InkreaderError(f"--workers must be at least 1, got {self.workers}")

    def run(self, spec: ReadSpec, tasks: list[list[Image]]) -> Iterator[Outcome]:
        if self.workers == 1:
            reader = spec.load()
            for task in tasks:
                yield task, read_task(reader, task)
            return
        threads = max(1, cpu_count() // self.workers)
        # spawn, not fork: a forked child would inherit the parent's threads' locks
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(self.workers, len(tasks)), mp_context=ctx,
                                 initializer=_init_local, initargs=(spec, threads)) as pool:
            pending = {pool.submit(_read_local, task): task for task in tasks}
            try:
                yield from _as_finished(pending)
            finally:
                for fut in pending:
                    fut.cancel()


_reader: Reader | None = None  # a local worker process's reader


def _init_local(spec: ReadSpec, threads: int) -> None:
    global _reader
    _reader = spec.load(threads)


def _read_local(task: list[Image]) -> list[dict]:
    assert _reader is not None, "the worker's initializer did not run"
    return read_task(_reader, task)


def _as_finished(pending: dict[Future, list[Image]]) -> Iterator[Outcome]:
    """(task, records or exception) of each future as it finishes."""
    left = set(pending)
    while left:
        done, left = wait(left, return_when=FIRST_COMPLETED)
        for fut in done:
            exc = fut.exception()
            yield pending[fut], exc if exc is not None else fut.result()
