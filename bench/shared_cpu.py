"""Training and reading beside another busy process (issue 38; docs/shared-cpu.md).

Times the smoke training config (``inkreader train --config configs/hooker-quick.toml --epochs
1``: 8 steps of 8 lines) and ``inkreader evaluate`` on a slice of the Hooker test lines, each
quiet and beside a busy loop, before and after inkreader's OMP_WAIT_POLICY=PASSIVE default:

- before: torch is imported ahead of inkreader, so its OpenMP runtime (libgomp) starts with the
  policy unset, its default (a waiting thread spins 300,000 rounds before it sleeps);
- after: inkreader is imported first, as ``inkreader`` itself does, and sets PASSIVE (a waiting
  thread sleeps at once). The code is the same; only the order of the two imports differs.

Everything, the busy loop included, runs on ``--cpus`` (default: this process's CPUs).

    python bench/shared_cpu.py --cpus 1 --runs 3
    python bench/shared_cpu.py --print-commands     # the command lines, to time them elsewhere

Figures: the whole process's wall seconds (median of ``--runs``, start-up and validation
included), and for training the steps/s inside the run (steps 2-8, from its metrics.jsonl with
``log_every = 1``); evaluate's lines/s is the slice's lines over the whole process's seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOOKER_TSV = ROOT.parent / "shared" / "data" / "hooker" / "lines.tsv"
CONFIG = ROOT / "configs" / "hooker-quick.toml"
STARTS = {  # the same inkreader.cli main; only the import order differs (see the docstring)
    "before": "import torch, sys; from inkreader.cli import main; sys.exit(main())",
    "after": "import inkreader, torch, sys; from inkreader.cli import main; sys.exit(main())",
}
BUSY_LOOP = "while True: pass"


def prepare(work: Path, lines: int) -> tuple[Path, Path]:
    """The smoke config with a metrics record every step, and a TSV of the first ``lines``
    test lines (absolute paths), in ``work``."""
    config = work / "hooker-quick.toml"
    text = CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace("workers = 0", "workers = 0\nlog_every = 1"),
                      encoding="utf-8")
    rows = HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]
    picked = [r.split("\t") for r in rows if r.split("\t")[1] == "test"][:lines]
    tsv = work / f"test-{lines}.tsv"
    tsv.write_text("file\ttext\n" + "".join(f"{HOOKER_TSV.parent / f}\t{t}\n"
                                             for f, _s, _p, t in picked), encoding="utf-8")
    return config, tsv


def command(variant: str, workload: str, config: Path, tsv: Path, out: Path) -> list[str]:
    """argv of one run: ``workload`` is "train-<threads>t" or "evaluate"."""
    start = [sys.executable, "-c", STARTS[variant]]
    if workload == "evaluate":
        return [*start, "evaluate", str(tsv)]
    threads = workload.removeprefix("train-").removesuffix("t")
    return [*start, "train", "--config", str(config), "--epochs", "1", "--out", str(out),
            "--threads", threads]


def _pin(cpus: list[int] | None):
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


def timed(argv: list[str], cpus: list[int] | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run in ``ROOT``; a failed run is an error."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                preexec_fn=_pin(cpus))
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n"
                             f"{err.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def steps_per_s(run: Path) -> float:
    """Steps 2..last of a training run per second, from its per-step metrics records."""
    records = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [(r["step"], r["minutes"]) for r in records if "loss" in r]
    (s0, m0), (s1, m1) = steps[0], steps[-1]
    return (s1 - s0) / ((m1 - m0) * 60)


@contextlib.contextmanager
def busy(on: bool, cpus: list[int] | None):
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP], preexec_fn=_pin(cpus))] \
        if on else []
    try:
        time.sleep(0.5 if on else 0)
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def measure(workloads: list[str], runs: int, cpus: list[int] | None, lines: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config, tsv = prepare(work, lines)
        for workload in workloads:
            for load in ("quiet", "busy loop"):
                with busy(load != "quiet", cpus):
                    for variant in STARTS:
                        walls, rates, cpus_used = [], [], []
                        for k in range(runs + 1):  # the first run warms caches, not counted
                            out = work / f"run-{workload}-{variant}-{load[0]}-{k}"
                            argv = command(variant, workload, config, tsv, out)
                            wall, cpu = timed(argv, cpus)
                            if k == 0:
                                continue
                            walls.append(wall)
                            cpus_used.append(cpu)
                            rates.append(steps_per_s(out) if workload != "evaluate"
                                         else lines / wall)
                        row = {"workload": workload, "load": load, "variant": variant,
                               "wall_s": statistics.median(walls),
                               "rate": statistics.median(rates),
                               "unit": "lines/s" if workload == "evaluate" else "steps/s",
                               "cpu_s": statistics.median(cpus_used)}
                        rows.append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def table(rows: list[dict]) -> str:
    out = ["| workload | load | before: s / run | before: rate | after: s / run | after: rate |",
           "|---|---|---|---|---|---|"]
    keyed = {(r["workload"], r["load"], r["variant"]): r for r in rows}
    for (workload, load, variant), r in keyed.items():
        if variant != "before":
            continue
        a = keyed[(workload, load, "after")]
        out.append(f"| {workload} | {load} | {r['wall_s']:.1f} | {r['rate']:.2f} {r['unit']} "
                   f"| {a['wall_s']:.1f} | {a['rate']:.2f} {a['unit']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpus", help="CPUs for every run and the busy loop, e.g. 1 (default: all "
                   "of this process's)")
    p.add_argument("--runs", type=int, default=3, help="timed runs per case (after one more)")
    p.add_argument("--lines", type=int, default=300, help="test lines evaluate reads")
    p.add_argument("--workloads", nargs="+", default=["train-1t", "train-2t", "evaluate"],
                   help="train-<N>t (N torch threads) and/or evaluate")
    p.add_argument("--print-commands", action="store_true",
                   help="print each case's command line (in a kept folder) and stop")
    args = p.parse_args(argv)
    cpus = [int(c) for c in args.cpus.split(",")] if args.cpus else None
    if args.print_commands:
        work = Path(tempfile.mkdtemp(prefix="shared_cpu."))
        config, tsv = prepare(work, args.lines)
        for workload in args.workloads:
            for variant in STARTS:
                argv_ = command(variant, workload, config, tsv, work / "run")
                print(f"{workload} {variant}: " + " ".join(
                    f"'{a}'" if " " in a else a for a in argv_))
        return 0
    print(table(measure(args.workloads, args.runs, cpus, args.lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
