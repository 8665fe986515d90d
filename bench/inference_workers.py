"""The measured side of bench/inference.py: one row per process, so that peak memory (RSS) and
imports of one row never mix with another's.

    python bench/inference_workers.py JOB.json RESULT.json

A result holds, for the lines of the job in order, ``texts`` (None: the line could not be
read), ``latencies_ms`` (one per line read: see ``per_line_latencies``), ``read_s`` (wall time
of reading all the lines, model loading excluded), ``cpu_s`` (CPU time of the process over the
same span, all threads), ``load_s`` (loading and compiling the model), ``peak_rss_mb`` and
``config``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(job_path: str, result_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    run = {"reference": run_reference, "recognizer": run_recognizer,
           "ceiling": run_ceiling}[job["kind"]]
    result = run(job)
    result["peak_rss_mb"] = peak_rss_mb(os.getpid())
    Path(result_path).write_text(json.dumps(result))


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM). Not getrusage's ru_maxrss, which a child
    inherits from the parent it was forked from (the bench's own peak would show in every row)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    kb = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return int(kb) / 1024


def run_reference(job: dict) -> dict:
    """The OMZ handwritten_text_recognition_demo, line after line: read the IR, compile it with
    the demo's (default) settings, then per line imread gray, INTER_AREA resize to the input
    height, edge pad to the input width, one synchronous request, greedy CTC decode."""
    import cv2
    import openvino as ov

    from inkreader.charset import Charset

    t0 = time.perf_counter()
    core = ov.Core()
    model = core.read_model(job["ir"])
    compiled = core.compile_model(model, "CPU")  # the demo passes no configuration
    request = compiled.create_infer_request()
    _, _, height, width = model.input(0).get_shape()
    key = ["inkreader.charset"]  # the demo's -cl: the charset exported with the model
    symbols = (json.loads(str(model.get_rt_info(key).astype(str))) if model.has_rt_info(key)
               else Charset.gnhk().symbols)
    load_s = time.perf_counter() - t0
    texts, latencies = [], []
    c0, w0 = time.process_time(), time.perf_counter()
    for path in job["paths"]:
        t = time.perf_counter()
        src = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if src is None:
            texts.append(None)
            continue
        tw = int(height * (src.shape[1] / src.shape[0]))
        rsz = cv2.resize(src, (tw, height), interpolation=cv2.INTER_AREA).astype(np.float32)
        img = np.pad(rsz[None], ((0, 0), (0, height - rsz.shape[0]), (0, width - tw)),
                     mode="edge")
        request.infer({0: img[None]})
        logits = request.get_output_tensor(0).data[:, 0, :]  # (T, C)
        best = logits.argmax(axis=1)
        keep = (best != 0) & np.append(True, best[1:] != best[:-1])
        texts.append("".join(symbols[k - 1] for k in best[keep]))
        latencies.append(1000 * (time.perf_counter() - t))
    read_s, cpu_s = time.perf_counter() - w0, time.process_time() - c0
    get = compiled.get_property
    config = (f"openvino {get('INFERENCE_PRECISION_HINT').to_string()}, "
              f"{get('PERFORMANCE_HINT')} hint, {plural(int(get('NUM_STREAMS')), 'stream')} x "
              f"{plural(int(get('INFERENCE_NUM_THREADS')), 'thread')}, batch 1")
    return {"texts": texts, "latencies_ms": latencies, "read_s": read_s, "cpu_s": cpu_s,
            "load_s": load_s, "config": config,
            "columns": width * sum(t is not None for t in texts)}


def run_ceiling(job: dict, n: int = 1024, depth: int = 8, rounds: int = 10) -> dict:
    """What these cores really sustain: a chain of ``depth`` (n x n) @ (n x n) matmuls in
    OpenVINO (oneDNN's AVX-512 GEMM), one request per core in flight, in f32 and in bf16;
    the best of ``rounds`` rounds, GFLOP/s over all the cores used."""
    import openvino as ov
    import openvino.opset13 as ops

    from inkreader.runtime.backends import cpu_count

    cores = cpu_count()
    x = ops.parameter([n, n], np.float32)
    w = ops.constant(np.random.default_rng(0).standard_normal((n, n)).astype(np.float32) / n)
    y = x
    for _ in range(depth):
        y = ops.matmul(y, w, False, False)
    model = ov.Model([y], [x])
    data = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    out = {}
    for precision in ("f32", "bf16"):
        compiled = ov.Core().compile_model(model, "CPU", {
            "INFERENCE_PRECISION_HINT": precision, "NUM_STREAMS": cores,
            "INFERENCE_NUM_THREADS": cores})
        requests = [compiled.create_infer_request() for _ in range(cores)]
        best = float("inf")
        for _ in range(rounds + 2):  # the first two warm up
            start = time.perf_counter()
            for r in requests:
                r.start_async({0: data})
            for r in requests:
                r.wait()
            best = min(best, time.perf_counter() - start)
        out[precision] = cores * depth * 2 * n**3 / best / 1e9
    return {"gflops": out, "cores": cores, "texts": [], "latencies_ms": [], "read_s": 1.0,
            "cpu_s": 0.0, "load_s": 0.0}


def run_recognizer(job: dict) -> dict:
    """``Recognizer.load(**job['load']).read_paths(paths)``: the library's fast path."""
    from inkreader.runtime.recognizer import Recognizer

    t0 = time.perf_counter()
    rec = Recognizer.load(**job["load"])
    load_s = time.perf_counter() - t0
    c0 = time.process_time()
    results = rec.read_paths(job["paths"])
    cpu_s = time.process_time() - c0
    stats = rec.stats
    return {"texts": [r.text if r.ok else None for r in results],
            "latencies_ms": per_line_latencies(stats.batches),
            "read_s": stats.wall_seconds, "cpu_s": cpu_s, "load_s": load_s,
            "config": describe(rec), "columns": sum(n * w for n, w, _ in stats.batches)}


def per_line_latencies(batches: list[tuple[int, int, float]]) -> list[float]:
    """A batched line's latency is its whole request's: from the start of preparing the batch
    (reading and resizing its images) to the end of decoding its lines, the time the line
    would wait if its batch were submitted alone; each line of the batch gets that value."""
    return [1000 * seconds for n, _, seconds in batches for _ in range(n)]


def describe(rec) -> str:
    from inkreader.runtime.backends import cpu_count

    be = rec.backend
    if be.name == "torch":
        import torch

        streams, threads = 1, torch.get_num_threads()
    else:
        streams, threads = be.streams, max(1, cpu_count() // be.streams)
    return f"{be.name} {be.precision}, {plural(streams, 'stream')} x " \
           f"{plural(threads, 'thread')}, batch {rec.batch_size}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def run_cli(job: dict) -> dict:
    """``inkreader read --json FOLDER`` as a user runs it, timed whole (interpreter start-up,
    imports and model loading included); CPU time from the child's rusage, peak RSS (VmHWM)
    polled while it runs. ``job['cache']`` is its export cache folder (empty: a cold start)."""
    folder = Path(job["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, path in enumerate(job["paths"]):  # numbered links: input order = sorted order
        link = folder / f"{i:06d}_{Path(path).name}"
        if not link.exists():
            link.symlink_to(Path(path).resolve())
        names.append(str(link))
    exe = Path(sys.executable).parent / "inkreader"
    argv = [str(exe)] if exe.is_file() else [sys.executable, "-m", "inkreader.cli"]
    model = job["load"].get("model")
    argv += ["read", "--json", str(folder)] + (["--model", model] if model else [])
    if "batch_size" in job["load"]:
        argv += ["--batch-size", str(job["load"]["batch_size"])]
    argv += job.get("args", [])  # decoding options (row cli-greedy: --greedy)
    out_path = folder.parent / "cli_stdout.jsonl"
    if job["cache_state"] == "empty":
        shutil.rmtree(job["cache"], ignore_errors=True)
    env = {**os.environ, "INKREADER_CACHE": job["cache"]}
    with open(out_path, "w") as out, open(os.devnull, "w") as err:
        t0 = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT, env=env)
        peak = 0.0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, peak_rss_mb(child.pid) or 0.0)  # VmHWM only grows
            time.sleep(0.02)
        wall = time.perf_counter() - t0
    rows = {r["image"]: r for r in map(json.loads, out_path.read_text().splitlines())}
    texts = [rows[n]["text"] if n in rows else None for n in names]
    return {"texts": texts, "latencies_ms": [], "read_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime, "load_s": float("nan"),
            "peak_rss_mb": peak, "exit": os.waitstatus_to_exitcode(status),
            "config": " ".join(["inkreader read --json DIR", *job.get("args", [])])
            + f" ({job['cache_state']} export cache)"}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(*sys.argv[1:3])
