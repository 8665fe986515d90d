"""Issue 38: a backend's first call runs alone in the process (two threads making their first
OpenVINO call at once could deadlock); later calls still run in parallel. The stress run starts
fresh processes whose first real OpenVINO / ONNX Runtime calls come from several threads at
once, beside a busy loop, each under a timeout."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from bench.stress_first_calls import stress
from inkreader.runtime.backends import Backend

CLASSES = 95  # the GNHK charset and the blank


class Probe(Backend):
    """Records when each call starts and ends; every call takes ``seconds`` (long enough for
    the others to start meanwhile on a crowded core)."""

    def __init__(self, seconds: float = 0.5):
        super().__init__("<probe>", [0, 1, 96, 0], CLASSES, streams=4)
        self.seconds = seconds
        self.events: list[tuple[str, int]] = []
        self.inside = self.most_inside = 0
        self._events_lock = threading.Lock()

    def run(self, batch: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
        def call() -> np.ndarray:
            me = threading.get_ident()
            with self._events_lock:
                self.events.append(("start", me))
                self.inside += 1
                self.most_inside = max(self.most_inside, self.inside)
            time.sleep(self.seconds)
            with self._events_lock:
                self.events.append(("end", me))
                self.inside -= 1
            return np.zeros((batch.shape[3] // 8, len(batch), CLASSES), np.float32)

        return self._call(call)


def _together(backend: Backend, threads: int) -> None:
    """``threads`` threads released by a barrier, each calling ``backend.run`` once."""
    barrier = threading.Barrier(threads)
    batch = np.zeros((1, 1, 96, 64), np.float32)

    def call() -> None:
        barrier.wait()
        backend.run(batch)

    pool = [threading.Thread(target=call) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(10)


def test_the_first_call_runs_alone_and_later_calls_in_parallel():
    probe = Probe()
    _together(probe, 4)
    assert len(probe.events) == 8
    (first, who), (then, same) = probe.events[:2]
    assert (first, then) == ("start", "end") and who == same  # nobody started meanwhile
    assert probe.most_inside > 1  # the other three overlapped: only the first call is serial
    probe.most_inside = 0
    _together(probe, 4)
    assert probe.most_inside > 1


@pytest.mark.slow
def test_fresh_processes_read_from_threads_beside_a_busy_loop_without_hanging():
    # 2 fresh processes per backend and mode (9 with the first, uncounted one), ~20 s on one
    # core; bench/stress_first_calls.py --runs 100 is the thorough run (docs/shared-cpu.md).
    counts = stress(runs=2, backends=["openvino", "onnx"], modes=["read", "barrier"],
                    threads=3, idle=30, limit=300, busy=1, cpus=None, log=lambda _msg: None)
    assert counts == {key: {"ok": 2, "hung": 0, "slow": 0, "failed": 0} for key in
                      ("openvino/read", "openvino/barrier", "onnx/read", "onnx/barrier")}
