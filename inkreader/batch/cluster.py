"""``inkreader batch --cluster ADDRESS``: the tasks on a Dask distributed cluster (the
``batch`` extra). Every worker loads the model once, in a worker plugin (its ``setup`` runs on
each worker, and again on a worker that was restarted or joined later). Dask reschedules the
tasks of a worker that died on the others (up to its ``distributed.scheduler.allowed-failures``),
so a killed worker loses nothing; results are gathered as tasks finish and the driver commits
them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from distributed import Client, WorkerPlugin, as_completed, get_worker

from ..errors import InkreaderError
from .engines import Outcome
from .run import BatchSpec, ImageFile, Worker, read_task

log = logging.getLogger(__name__)

PLUGIN = "inkreader-batch-reader"  # the worker plugin's name (one reader per worker)
CONNECT_TIMEOUT_S = 30


class DaskEngine:
    """The Dask scheduler at ``address`` (``tcp://host:8786``); tasks are not pure (a task
    is never taken from a cache: every run reads)."""

    name = "dask"

    def __init__(self, address: str):
        self.address = address
        self._client: Client | None = None

    def connect(self) -> None:
        """Reach the scheduler now (``run_batch`` calls this before it makes the store, so
        an unreachable cluster leaves nothing behind)."""
        if self._client is not None:
            return
        try:
            self._client = Client(self.address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InkreaderError(f"cannot reach the Dask scheduler at {self.address}: "
                                 f"{exc}") from None

    def run(self, spec: BatchSpec, tasks: list[list[ImageFile]]) -> Iterator[Outcome]:
        self.connect()
        client, self._client = self._client, None
        with client:
            _register_reader(client, spec)
            futures = client.map(_read_on_worker, tasks, pure=False)
            pending = dict(zip(futures, tasks, strict=True))
            try:
                yield from _as_completed_dask(pending)
            finally:
                client.cancel(list(pending))


def _register_reader(client, spec: BatchSpec) -> None:
    """Load the model on every worker now (and on every worker that joins later); a worker
    that cannot load it is an error naming the worker."""
    if not client.scheduler_info().get("workers"):
        log.info("the cluster has no workers yet: tasks wait for one to join")
    try:
        replies = client.register_plugin(ReaderPlugin(spec), name=PLUGIN) or {}
    except Exception as exc:  # raised on a worker, sent back by Dask
        raise InkreaderError(f"the cluster's workers cannot load the model: "
                             f"{type(exc).__name__}: {exc}") from None
    bad = {w: r for w, r in replies.items() if isinstance(r, dict) and r.get("status") != "OK"}
    if bad:
        worker, reply = next(iter(bad.items()))
        raise InkreaderError(f"the worker {worker} cannot load the model: "
                             f"{reply.get('exception') or reply}")


def _as_completed_dask(pending: dict) -> Iterator[Outcome]:
    for fut in as_completed(list(pending)):
        task = pending[fut]
        try:
            yield task, fut.result()
        except Exception as exc:  # the task failed on every try (a worker kept dying)
            yield task, exc
        finally:
            fut.release()


class ReaderPlugin(WorkerPlugin):
    """A Dask worker plugin: the reader of this worker, loaded once when it starts."""

    def __init__(self, spec: BatchSpec):
        self.spec = spec
        self.reader: Worker | None = None

    def setup(self, worker) -> None:
        self.reader = self.spec.load(threads=worker.state.nthreads)

    def teardown(self, worker) -> None:
        self.reader = None


def _read_on_worker(task: list[ImageFile]) -> list[dict]:
    plugin = get_worker().plugins[PLUGIN]
    return read_task(plugin.reader, task)
