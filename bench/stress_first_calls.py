"""Stress: fresh processes whose first OpenVINO / ONNX Runtime calls come from several threads.

Issue 38: two threads making their first OpenVINO ``infer`` at the same moment could deadlock
(one holds a C++ static-initialisation guard and waits for the GIL, the other holds the GIL and
waits for the guard). It happens only in a fresh process and depends on timing, so this starts
many fresh processes while busy loops keep the same CPUs loaded, and counts the runs that hang.
A run is hung when it uses under 1 % of a core for ``--idle`` seconds (a deadlock: every thread
waits, and only the GIL's 5 ms timed waits still tick; a run that is merely starved by the load
gets its share of the CPU, several % even among ten busy processes); its Python stacks are dumped
(faulthandler, on SIGUSR1) into ``--dumps``. A run still going after ``--limit`` seconds counts
as slow. Each process reads a small batch of real Hooker lines:

- ``read``: through the recognizer's threaded path (``Recognizer.read_arrays`` with several
  streams and a batch of 2, so several batches reach the backend at once);
- ``barrier``: ``backend.run`` called from several threads released together by a barrier
  (the sharpest form of the race).

    python bench/stress_first_calls.py --runs 100 --backends openvino onnx --busy 1 --pin 1

Exit status 1 if any run hung, was slow or failed. tests/runtime/test_first_calls.py runs a few of
these in CI.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import faulthandler
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOOKER_TSV = ROOT.parent / "shared" / "data" / "hooker" / "lines.tsv"
LINES = 12  # lines each process reads
BUSY_LOOP = "while True: pass"
TICKS = os.sysconf("SC_CLK_TCK")  # clock ticks per second in /proc/<pid>/stat
IDLE_SHARE = 0.01  # of one core: less than this for ``idle`` seconds is a hang


def hooker_lines(n: int) -> list[Path]:
    """The first ``n`` val lines of the Hooker TSV (real handwriting, similar in width)."""
    rows = HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]
    files = [HOOKER_TSV.parent / r.split("\t")[0] for r in rows if r.split("\t")[1] == "val"]
    return files[:n]


def worker(backend: str, mode: str, threads: int) -> int:
    """One fresh process: load the default model on ``backend``, make the first calls from
    ``threads`` threads at once, print one JSON line."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the parent's call for stacks
    from inkreader.preprocess import read_gray
    from inkreader.runtime.recognizer import Recognizer

    grays = [read_gray(p) for p in hooker_lines(LINES)]
    rec = Recognizer.load(None, backend=backend, threads=threads, streams=threads,
                          batch_size=2)
    start = time.perf_counter()
    if mode == "read":
        results = rec.read_arrays(grays)
        ok = sum(r.ok for r in results)
    else:
        from inkreader.preprocess import prepare_line, stack_lines

        lines = [prepare_line(g, rec.height) for g in grays[:2]]
        batch = stack_lines([ln.pixels for ln in lines])
        barrier = threading.Barrier(threads)
        outs: list = []

        def call() -> None:
            barrier.wait()
            outs.append(rec.backend.run(batch))

        pool = [threading.Thread(target=call) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        ok = len(outs) * len(batch)
    print(json.dumps({"ok": ok, "seconds": round(time.perf_counter() - start, 3)}))
    return 0


def _pin(cpus: list[int] | None):
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


def cpu_ticks(pid: int) -> int | None:
    """User + system clock ticks of process ``pid`` (all its threads), None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def run_one(backend: str, mode: str, threads: int, idle: float, limit: float,
            cpus: list[int] | None, dump: Path | None = None) -> str:
    """'ok', 'hung' (under ``IDLE_SHARE`` of a core for ``idle`` s; stacks written to
    ``dump``), 'slow' (still going after ``limit`` s) or 'failed: ...' for one fresh process."""
    argv = [sys.executable, __file__, "--worker", backend, "--mode", mode,
            "--threads", str(threads)]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err,
                                preexec_fn=_pin(cpus), cwd=ROOT)
        start = time.monotonic()
        samples: collections.deque = collections.deque()  # (time, CPU ticks), the last ``idle`` s
        outcome = None
        while outcome is None:
            try:
                proc.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            samples.append((now, cpu_ticks(proc.pid) or 0))
            while now - samples[0][0] > idle:
                samples.popleft()
            used = (samples[-1][1] - samples[0][1]) / TICKS  # CPU seconds in the window
            if now - start > idle + 2 and used < IDLE_SHARE * idle:
                outcome = "hung"
                proc.send_signal(signal.SIGUSR1)  # faulthandler: every thread's stack
                time.sleep(1)
            elif now - start > limit:
                outcome = "slow"
        if outcome is not None:
            proc.kill()
            proc.wait()
            if dump is not None and outcome == "hung":
                err.seek(0)
                dump.write_bytes(err.read())
            return outcome
        if proc.returncode != 0:
            err.seek(0)
            tail = (err.read().decode(errors="replace").strip().splitlines() or ["?"])[-1]
            return f"failed: exit {proc.returncode}: {tail}"
    return "ok"


@contextlib.contextmanager
def busy_loops(n: int, cpus: list[int] | None):
    """``n`` spinning Python processes on ``cpus`` for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP], preexec_fn=_pin(cpus))
             for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def stress(runs: int, backends: list[str], modes: list[str], threads: int, idle: float,
           limit: float, busy: int, cpus: list[int] | None, dumps: Path | None = None,
           log=print) -> dict[str, dict[str, int]]:
    """Counts of ok / hung / slow / failed runs per backend and mode."""
    counts: dict[str, dict[str, int]] = {}
    # one run first (not counted): the export cache then holds the default model's graph
    run_one(backends[0], "read", 1, max(idle, 120), max(limit, 600), cpus)
    with busy_loops(busy, cpus):
        for backend in backends:
            for mode in modes:
                key = f"{backend}/{mode}"
                counts[key] = {"ok": 0, "hung": 0, "slow": 0, "failed": 0}
                for i in range(runs):
                    dump = dumps / f"{backend}-{mode}-{i + 1}.txt" if dumps else None
                    outcome = run_one(backend, mode, threads, idle, limit, cpus, dump)
                    counts[key][outcome.split(":")[0]] += 1
                    if outcome != "ok":
                        log(f"{key} run {i + 1}: {outcome}")
                log(f"{key}: {counts[key]}")
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=100, help="fresh processes per backend and mode")
    p.add_argument("--backends", nargs="+", default=["openvino", "onnx"])
    p.add_argument("--modes", nargs="+", default=["read", "barrier"],
                   choices=("read", "barrier"))
    p.add_argument("--threads", type=int, default=3, help="streams / threads per process")
    p.add_argument("--idle", type=float, default=30.0,
                   help="seconds at under 1 %% of a core after which a run is hung")
    p.add_argument("--limit", type=float, default=600.0,
                   help="seconds after which a run still going is slow")
    p.add_argument("--dumps", type=Path, help="folder for the stacks of hung runs")
    p.add_argument("--busy", type=int, default=1, help="busy-loop processes beside the runs")
    p.add_argument("--pin", help="CPUs for the runs and the busy loops, e.g. 1 or 0,1")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--mode", default="read", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.mode, args.threads)
    cpus = [int(c) for c in args.pin.split(",")] if args.pin else None
    start = time.perf_counter()
    if args.dumps:
        args.dumps.mkdir(parents=True, exist_ok=True)
    counts = stress(args.runs, args.backends, args.modes, args.threads, args.idle, args.limit,
                    args.busy, cpus, args.dumps)
    print(json.dumps({"counts": counts, "seconds": round(time.perf_counter() - start, 1)}))
    return 0 if all(c["ok"] == args.runs for c in counts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
