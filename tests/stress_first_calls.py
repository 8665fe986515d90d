"""Stress: fresh processes whose first OpenVINO / ONNX Runtime calls come from several threads.

Issue 38: two threads making their first OpenVINO ``infer`` at the same moment could deadlock
(one holds a C++ static-initialisation guard and waits for the GIL, the other holds the GIL and
waits for the guard). It happens only in a fresh process and depends on timing, so this starts
many fresh processes, each under a timeout, while busy loops keep the same CPUs loaded, and
counts the runs that hang. Each process reads a small batch of real Hooker lines:

- ``read``: through the recognizer's threaded path (``Recognizer.read_arrays`` with several
  streams and a batch of 2, so several batches reach the backend at once);
- ``barrier``: ``backend.run`` called from several threads released together by a barrier
  (the sharpest form of the race).

    python tests/stress_first_calls.py --runs 100 --backends openvino onnx --busy 1 --pin 1

Exit status 1 if any run hung or failed. tests/test_first_calls.py runs a few of these in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOOKER_TSV = ROOT.parent / "shared" / "data" / "hooker" / "lines.tsv"
LINES = 12  # lines each process reads
BUSY_LOOP = "while True: pass"


def hooker_lines(n: int) -> list[Path]:
    """The first ``n`` val lines of the Hooker TSV (real handwriting, similar in width)."""
    rows = HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]
    files = [HOOKER_TSV.parent / r.split("\t")[0] for r in rows if r.split("\t")[1] == "val"]
    return files[:n]


def worker(backend: str, mode: str, threads: int) -> int:
    """One fresh process: load the default model on ``backend``, make the first calls from
    ``threads`` threads at once, print one JSON line."""
    from inkreader.preprocess import read_gray
    from inkreader.recognizer import Recognizer

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


def run_one(backend: str, mode: str, threads: int, timeout: float,
            cpus: list[int] | None) -> str:
    """'ok', 'hung' (killed at ``timeout``) or 'failed: ...' for one fresh process."""
    argv = [sys.executable, __file__, "--worker", backend, "--mode", mode,
            "--threads", str(threads)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=_pin(cpus), cwd=ROOT)
    except subprocess.TimeoutExpired:
        return "hung"
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
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


def stress(runs: int, backends: list[str], modes: list[str], threads: int, timeout: float,
           busy: int, cpus: list[int] | None, log=print) -> dict[str, dict[str, int]]:
    """Counts of ok / hung / failed runs per backend and mode."""
    counts: dict[str, dict[str, int]] = {}
    # one run first (not counted): the export cache then holds the default model's graph
    run_one(backends[0], "read", 1, max(timeout, 120), cpus)
    with busy_loops(busy, cpus):
        for backend in backends:
            for mode in modes:
                key = f"{backend}/{mode}"
                counts[key] = {"ok": 0, "hung": 0, "failed": 0}
                for i in range(runs):
                    outcome = run_one(backend, mode, threads, timeout, cpus)
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
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before a run is hung")
    p.add_argument("--busy", type=int, default=1, help="busy-loop processes beside the runs")
    p.add_argument("--pin", help="CPUs for the runs and the busy loops, e.g. 1 or 0,1")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--mode", default="read", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.mode, args.threads)
    cpus = [int(c) for c in args.pin.split(",")] if args.pin else None
    start = time.perf_counter()
    counts = stress(args.runs, args.backends, args.modes, args.threads, args.timeout,
                    args.busy, cpus)
    print(json.dumps({"counts": counts, "seconds": round(time.perf_counter() - start, 1)}))
    return 0 if all(c["hung"] == c["failed"] == 0 for c in counts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
