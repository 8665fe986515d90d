"""inkreader batch: images/s of one process against an engine's local cluster of 2 workers, on
the Hooker test pages and test lines, and the engine's overhead per image (docs/batch.md).

    taskset -c 1 .venv/bin/python bench/batch.py --pages 20 --engines local,dask,ray

Every row is one ``run_batch`` into a fresh store (the library path of ``inkreader batch``):
``local`` reads in this process (workers 1, the recognizer on the cores it may use); ``dask``
on a ``distributed.LocalCluster`` of 2 worker processes of 1 thread each (the ``batch`` extra);
``ray`` on Ray Data with an actor pool of 2 actors, each loading the model once (measured as
the alternative; not a dependency of inkreader: ``pip install 'ray[data]'`` to run it).

Columns: ``start`` starting the engine (cluster, processes); ``run`` the run's wall time,
the workers' model loading included; ``img/s`` = images / run; ``steady img/s`` between the
first and the last commit (model loading and the first task's latency left out); and
``cpu ms/img`` the CPU time (user + system) of every process of the row, the engine's
processes included (counted once they exit), per image; the engine's overhead per image is
that less ``local``'s on the same set (``overhead cpu``: starting the engine, a model per
worker, scheduling, moving tasks and records), and in wall time, from the steady rates
(``overhead wall``: 1000 / steady img/s less ``local``'s). CPU time is what a busy machine
does not distort; wall time is. Pin it (taskset) to the cores it may use: on one core, 2
workers cannot be faster.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from inkreader.batch.engines import LocalEngine
from inkreader.batch.run import BatchSpec, ImageFile, read_task, run_batch
from inkreader.runtime.backends import cpu_count

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "hooker"

WORKERS = 2


def test_sets(pages: int, lines: int) -> dict[str, list[Path]]:
    page_files = sorted((SHARED / "test_pages").glob("*.jpg"))[:pages]
    rows = (SHARED / "lines.tsv").read_text(encoding="utf-8").splitlines()[1:]
    line_files = [SHARED / r.split("\t")[0] for r in rows if r.split("\t")[1] == "test"]
    return {"pages": page_files, "lines": line_files[:lines]}


class RayEngine:
    """Ray Data: the tasks as a dataset, ``map_batches`` over an actor pool of ``workers``
    actors that each load the model once (the shape the issue asked to measure)."""

    name = "ray"

    def __init__(self, workers: int):
        self.workers = workers

    def run(self, spec: BatchSpec, tasks: list[list[ImageFile]]):
        import ray.data

        items = [{"task": json.dumps([asdict(im) for im in t])} for t in tasks]
        by_first = {t[0].path: t for t in tasks}
        ds = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            RayReader, fn_constructor_kwargs={"spec": spec}, batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=1)
        for row in ds.iter_rows():
            records = json.loads(row["records"])
            yield by_first[records[0]["image"]], records


class RayReader:
    def __init__(self, spec: BatchSpec):
        self.reader = spec.load(threads=1)

    def __call__(self, batch: dict) -> dict:
        out = []
        for task in batch["task"]:
            images = [ImageFile(**d) for d in json.loads(task)]
            out.append(json.dumps(read_task(self.reader, images)))
        return {"records": out}


def start(engine: str):
    """(engine, stop) for ``engine``, started now."""
    if engine == "local":
        return LocalEngine(1), lambda: None
    if engine == "dask":
        from distributed import LocalCluster

        from inkreader.batch.cluster import DaskEngine

        cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        return DaskEngine(cluster.scheduler_address), cluster.close
    if engine == "ray":
        import ray

        ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")
        import ray.data

        ray.data.DataContext.get_current().enable_progress_bars = False
        return RayEngine(WORKERS), ray.shutdown
    raise SystemExit(f"unknown engine {engine!r} (local, dask, ray)")


def cpu_seconds() -> float:
    """User + system seconds of this process and of its children reaped so far (a child's
    count includes its own reaped children: the cluster's worker processes once it stops)."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def measure(engine_name: str, files: list[Path], task_size: int) -> dict:
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    engine, stop = start(engine_name)
    start_s = time.perf_counter() - t0
    commits: list[tuple[float, int]] = []
    store = Path(tempfile.mkdtemp(prefix="bench-batch-")) / "store"
    try:
        t1 = time.perf_counter()
        summary = run_batch(files, store, BatchSpec(), engine, task_size=task_size,
                            on_commit=lambda recs, s: recs and commits.append(
                                (time.perf_counter(), len(recs))))
        run_s = time.perf_counter() - t1
    finally:
        stop()
        shutil.rmtree(store.parent, ignore_errors=True)
    cpu_s = cpu_seconds() - cpu0
    steady = (sum(n for _, n in commits[1:]) / (commits[-1][0] - commits[0][0])
              if len(commits) > 2 else float("nan"))
    return {"engine": engine_name, "images": summary.read, "errors": summary.errors,
            "lost": summary.lost, "start_s": start_s, "run_s": run_s,
            "rate": summary.read / run_s, "steady": steady, "cpu_s": cpu_s}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pages", type=int, default=50, help="Hooker test pages (default all 50)")
    p.add_argument("--lines", type=int, default=953, help="Hooker test lines (default all)")
    p.add_argument("--engines", default="local,dask,ray")
    p.add_argument("--page-task", type=int, default=2, help="pages a task (default 2)")
    p.add_argument("--line-task", type=int, default=32, help="lines a task (default 32)")
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args(argv)
    print(f"# {cpu_count()} core(s) usable; {WORKERS} workers for dask and ray", flush=True)
    rows = []
    for set_name, files in test_sets(args.pages, args.lines).items():
        if not files:
            continue
        size = args.page_task if set_name == "pages" else args.line_task
        base = None
        for engine in args.engines.split(","):
            row = {"set": set_name, **measure(engine, files, size)}
            base = row if engine == "local" else base
            n = row["images"]
            row["cpu_ms"] = 1000 * row["cpu_s"] / n
            row["overhead_cpu_ms"] = row["cpu_ms"] - base["cpu_ms"] if base else float("nan")
            row["overhead_wall_ms"] = (1000 / row["steady"] - 1000 / base["steady"]
                                       if base else float("nan"))
            rows.append(row)
            print(f"{set_name:5s} {engine:5s} {n:4d} img  start {row['start_s']:5.1f} s  run "
                  f"{row['run_s']:6.1f} s  {row['rate']:6.2f} img/s  steady {row['steady']:6.2f}"
                  f" img/s  cpu {row['cpu_ms']:7.1f} ms/img  overhead cpu "
                  f"{row['overhead_cpu_ms']:+7.1f} wall {row['overhead_wall_ms']:+7.1f} ms/img"
                  f"  errors {row['errors']} lost {row['lost']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
