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
import os
import signal
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from ..errors import InkreaderError
from ..runtime.backends import cpu_count
from .run import BatchSpec, ImageFile, Worker, read_task

log = logging.getLogger(__name__)

Outcome = tuple[list[ImageFile], list[dict] | BaseException]


class LocalEngine:
    """This machine's cores: ``workers`` processes (default: one per core), each with its own
    model; one worker reads in this process (the recognizer then uses every core)."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or cpu_count()
        if self.workers < 1:
            raise InkreaderError(f"--workers must be at least 1, got {self.workers}")

    def run(self, spec: BatchSpec, tasks: list[list[ImageFile]]) -> Iterator[Outcome]:
        if self.workers == 1:
            reader = spec.load()
            for task in tasks:
                yield task, read_task(reader, task)
            return
        threads = max(1, cpu_count() // self.workers)
        # spawn, not fork: a forked child would inherit the parent's threads' locks
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(min(self.workers, len(tasks)), mp_context=ctx,
                                   initializer=_init_local,
                                   initargs=(spec, threads, os.getpid()))
        try:
            pending = {pool.submit(_read_local, task): task for task in tasks}
            yield from _as_finished(pending)
        except BaseException:  # a stop (Ctrl-C, SIGTERM) or a failure: no task is awaited
            _stop(pool)
            raise
        pool.shutdown(wait=True)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End ``pool`` now: queued tasks cancelled, the workers killed (their tasks are read
    again by the next run; every finished task was committed)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.kill()
    for proc in processes:
        proc.join(timeout=1.0)


_reader: Worker | None = None  # a local worker process's reader


def _init_local(spec: BatchSpec, threads: int, parent: int) -> None:
    global _reader
    die_with_parent(parent)
    # Ctrl-C reaches the whole process group: the driver stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _reader = spec.load(threads)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies, even by ``kill -9`` (Linux's
    parent-death signal; elsewhere nothing). A parent already gone ends it now."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def _read_local(task: list[ImageFile]) -> list[dict]:
    assert _reader is not None, "the worker's initializer did not run"
    return read_task(_reader, task)


def _as_finished(pending: dict[Future, list[ImageFile]]) -> Iterator[Outcome]:
    """(task, records or exception) of each future as it finishes."""
    left = set(pending)
    while left:
        done, left = wait(left, return_when=FIRST_COMPLETED)
        for fut in done:
            exc = fut.exception()
            yield pending[fut], exc if exc is not None else fut.result()
