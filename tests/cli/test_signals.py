"""Clean stops (issue 47): real signals to real ``inkreader`` processes. Ctrl-C (SIGINT) or
SIGTERM ends a command within seconds with one line and exit 128 + the signal, never a C++
abort; ``batch`` keeps every committed shard, and its worker processes die with it, even when
it is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import HOOKER_TSV, ROOT

# a stop must end the process within this (the aim is 2 s; the suite runs beside other work)
STOP_SECONDS = 6.0


def _lines(n: int) -> list[str]:
    rows = [r.split("\t") for r in HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]]
    return [str(HOOKER_TSV.parent / r[0]) for r in rows[:n]]


def _start(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.Popen([sys.executable, "-m", "inkreader.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _stopped(proc: subprocess.Popen, signum: int) -> tuple[int, str, float]:
    """Send ``signum``; (exit status, stderr, seconds it took to end)."""
    start = time.monotonic()
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, err, time.monotonic() - start


def _wait_for(check, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the command never got going"
        time.sleep(0.1)


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_read_stops_at_once_with_one_line(tmp_path, signum):
    log = tmp_path / "log"
    with open(log, "w") as err:  # -v: the model's "on openvino" line says the reading began
        proc = subprocess.Popen(
            [sys.executable, "-m", "inkreader.cli", "-v", "read", "--greedy", *_lines(600)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
            stderr=err, text=True)
        _wait_for(lambda: " on openvino " in log.read_text() or proc.poll() is not None)
        time.sleep(1.0)  # inside the batches, where a stop used to abort in C++
        assert proc.poll() is None
        start = time.monotonic()
        proc.send_signal(signum)
        proc.wait(timeout=60)
        took = time.monotonic() - start
    text = log.read_text()
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, text[-2000:]
    assert took < STOP_SECONDS
    assert text.count("inkreader read: interrupted") == 1
    assert text.rstrip().endswith(f"inkreader read: interrupted ({name})")
    assert "terminate called" not in text and "Traceback" not in text


def _batch(tmp_path: Path, n: int) -> tuple[subprocess.Popen, Path]:
    sources = tmp_path / "lines.lst"
    sources.write_text("\n".join(_lines(n)) + "\n", encoding="utf-8")
    store = tmp_path / "store"
    proc = _start(["batch", str(sources), "--out", str(store), "--kind", "line", "--greedy",
                   "--workers", "2", "--task-size", "4", "--no-progress"])
    # the first shard committed: both workers have their model and are reading
    _wait_for(lambda: any(store.glob("part-*.jsonl")) or proc.poll() is not None)
    assert proc.poll() is None
    return proc, store


def test_batch_stops_at_once_and_keeps_what_it_committed(tmp_path):
    proc, store = _batch(tmp_path, 400)
    workers = _children(proc.pid)
    status, err, took = _stopped(proc, signal.SIGTERM)
    assert status == 128 + signal.SIGTERM, err[-2000:]
    assert took < STOP_SECONDS
    assert err.strip().splitlines()[-1] == "inkreader batch: interrupted (SIGTERM)"
    assert "Traceback" not in err
    shards = sorted(store.glob("part-*.jsonl"))
    assert shards and all(len(s.read_text().splitlines()) == 4 for s in shards)
    _wait_for(lambda: not any(_alive(w) for w in workers), 10)


def test_batch_workers_die_with_a_killed_driver(tmp_path):
    proc, _ = _batch(tmp_path, 400)
    workers = [w for w in _children(proc.pid) if _alive(w)]
    assert workers  # the two readers (and multiprocessing's resource tracker)
    proc.kill()  # SIGKILL: the driver runs no clean-up at all
    proc.wait(timeout=10)
    _wait_for(lambda: not any(_alive(w) for w in workers), 10)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_stops_with_one_line(signum):
    import socket
    import urllib.request

    with socket.socket() as s:  # a free port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _start(["serve", "--port", str(port), "--greedy"])

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                return True
        except OSError:
            return False

    _wait_for(up)
    status, err, took = _stopped(proc, signum)
    assert status == 128 + signum, err[-2000:]
    assert took < STOP_SECONDS
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1] == f"inkreader serve: interrupted ({name})"
    assert "Traceback" not in err
