"""Issue 38: a read that makes no progress ends with BackendStalled naming the backend (the
recognizer's watchdog), a slow read that does progress is left alone, and the CLI exits with
the error even while a backend thread stays stuck."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.decode.greedy import GreedyDecoder
from inkreader.errors import BackendStalled, InkreaderError
from inkreader.runtime.backends import Backend
from inkreader.runtime.loading import LoadedModel
from inkreader.runtime.recognizer import STALL_ENV, Recognizer, stall_seconds_default

from ..conftest import ROOT, SAMPLE_LINE


class Stalling(Backend):
    """A backend whose calls take ``seconds`` each, or block until ``release`` is set."""

    name = "stalling"

    def __init__(self, seconds: float | None = None):
        super().__init__("<stalling model>", [0, 1, 96, 0], Charset.gnhk().num_classes, 1)
        self.seconds, self.release = seconds, threading.Event()

    def run(self, batch: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
        if self.seconds is None:
            self.release.wait()
        else:
            time.sleep(self.seconds)
        return np.zeros((batch.shape[3] // 8, len(batch), self.num_classes), np.float32)


def _lines(n: int) -> list[np.ndarray]:
    lines = [np.full((40, 160 + 8 * i), 255, np.uint8) for i in range(n)]
    for line in lines:
        line[15:25, 10:-10] = 0  # ink: a line without any is not read (no ink, no text)
    return lines


def _recognizer(backend: Backend, stall: float) -> Recognizer:
    charset = Charset.gnhk()
    model = LoadedModel(Path("<stalling model>"), backend, charset, height=96, fixed_width=None)
    return Recognizer(model, GreedyDecoder(charset), batch_size=1, stall_seconds=stall)


def test_a_stalled_backend_ends_the_read_with_an_error_naming_it():
    backend = Stalling()
    rec = _recognizer(backend, 0.5)
    start = time.perf_counter()
    try:
        with pytest.raises(BackendStalled, match=r"the stalling backend \(<stalling model>\) "
                           r"made no progress for 0.5 s \(0 of 3 batches read\)"):
            rec.read_arrays(_lines(3))
    finally:
        backend.release.set()
    assert time.perf_counter() - start < 5
    assert isinstance(BackendStalled("x"), InkreaderError)


def test_a_slow_read_that_progresses_is_not_stopped():
    # six batches of 0.5 s one after another (one stream): 3 s, over the 2 s watchdog, but a
    # batch ends every 0.5 s
    rec = _recognizer(Stalling(seconds=0.5), 2.0)
    results = rec.read_arrays(_lines(6))
    assert len(results) == 6 and all(r.ok for r in results)
    assert rec.stats.requests == 6


def test_the_watchdog_setting(monkeypatch):
    monkeypatch.delenv(STALL_ENV, raising=False)
    assert stall_seconds_default() == 600
    monkeypatch.setenv(STALL_ENV, "0")
    assert _recognizer(Stalling(seconds=0), None).stall_seconds == 0  # 0: no watchdog
    monkeypatch.setenv(STALL_ENV, "soon")
    with pytest.raises(InkreaderError, match="INKREADER_STALL_SECONDS='soon'"):
        stall_seconds_default()


STUCK_READ = """
import sys, threading
from inkreader.runtime import backends
never = threading.Event()
backends.OpenVinoBackend.run = lambda self, batch, widths=None: never.wait()  # stuck for ever
from inkreader.cli import main
sys.exit(main(["read", sys.argv[1]]))
"""


def test_the_cli_reports_a_stalled_backend_and_exits():
    env = dict(os.environ, **{STALL_ENV: "2"})
    proc = subprocess.run([sys.executable, "-c", STUCK_READ, str(SAMPLE_LINE)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("inkreader read: error: the openvino backend (")
    assert "made no progress for 2 s (0 of 1 batches read)" in error
    assert "Traceback" not in proc.stderr
