"""Inference speed and accuracy (issue 5): the reference pipeline, PyTorch eager and inkreader's
fast path on the same lines, each row in a process of its own. Run from the repository root:

    .venv/bin/python bench/inference.py                    # the 953 Hooker test lines
    .venv/bin/python bench/inference.py --limit 100        # a quick run
    .venv/bin/python bench/inference.py --int8 --variants --doc docs/inference.md

Rows (docs/inference.md says what each one is and how latency is defined):
  a  reference: OpenVINO, the fixed-width [1,1,96,2000] IR exported from the same checkpoint,
     compiled with the OMZ demo's (default) settings, one line per synchronous request:
     cv2.imread gray, INTER_AREA resize to height 96, edge pad to 2000, infer, greedy decode.
     Lines wider than 2000 px at height 96 are left out, as the reference cannot read them.
  b  PyTorch eager through the Recognizer (the same width-sorted batches as c).
  c  inkreader's fast path: ``Recognizer.load()`` with its defaults.
  cli the command a user runs: ``inkreader read --json DIR`` timed whole (start-up included),
     first with an empty export cache (cli-cold: the .pt is exported at start), then warm;
     its default decoding is the beam search with the LM and word list (docs/decoding.md).
  cli-greedy  the same with ``--greedy`` (the reference's greedy decoding).
  d  (--int8) the fast path on an INT8 IR quantised from the same checkpoint, calibrated on the
     data's train split (never the lines measured).
  v  (--variants) other fast-path configurations: backend x precision x streams.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from inference_report import Row, machine_info, render, update_doc  # noqa: E402

from inkreader.data.datasets import load_dataset  # noqa: E402
from inkreader.data.sample import LineSample  # noqa: E402
from inkreader.metrics import ErrorRates  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hooker" / "lines.tsv"
REF_WIDTH, REF_HEIGHT = 2000, 96  # the reference contract (SPEC.md)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    samples = load_dataset(args.data, args.split)[: args.limit]
    widths = [probe_width(s.path) for s in samples]
    fits = [w <= REF_WIDTH for w in widths]
    print(f"{len(samples)} lines of {args.data} split {args.split}; {len(samples) - sum(fits)} "
          f"wider than {REF_WIDTH} px at height {REF_HEIGHT} (left out of row a)", flush=True)
    with tempfile.TemporaryDirectory(prefix="inkbench-") as tmp:
        tmp = Path(tmp)
        models = build_models(args, tmp)
        ceiling = ({} if "ceiling" in args.skip.split(",")
                   else run_job({"kind": "ceiling"}, tmp)["gflops"])
        rows = []
        for row, job in plan_rows(args, models, samples, fits, tmp):
            print(f"running {row.key}: {row.name} ...", flush=True)
            result = run_repeated(job, tmp, args.repeats)
            rows.append(score(row, result, samples, fits, job["indices"]))
            print(f"  {rows[-1].lines_per_s:.1f} lines/s, CER {rows[-1].cer_all}", flush=True)
    info = machine_info()
    command = "bench/inference.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    text = render(rows, info, command, widths, samples_label(args, len(samples)), ceiling)
    print("\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in rows], indent=1))
    if args.doc:
        update_doc(Path(args.doc), text)
        print(f"updated {args.doc}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA, help="TSV/gt file (default: Hooker)")
    p.add_argument("--split", default="test", help="split measured (default test)")
    p.add_argument("--limit", type=int, help="only the first N lines (quick runs)")
    p.add_argument("--model", help=".pt checkpoint (default: the packaged model)")
    p.add_argument("--reference-ir", type=Path,
                   help="the fixed-width IR for row a (default: exported from --model)")
    p.add_argument("--batch", type=int, default=None, help="fast-path batch size (default: "
                   "the Recognizer's)")
    p.add_argument("--int8", action="store_true", help="add row d: an INT8 IR quantised here")
    p.add_argument("--calibration-lines", type=int, default=300,
                   help="train-split lines used to calibrate the INT8 model (default 300)")
    p.add_argument("--variants", action="store_true",
                   help="add rows for other backends, precisions and streams x threads")
    p.add_argument("--skip", default="",
                   help="comma-separated rows to leave out (a, b, c, cli-cold, cli, "
                   "cli-greedy, d; "
                   "'ceiling': the GEMM ceiling measurement)")
    p.add_argument("--repeats", type=int, default=1,
                   help="run each row N times (fresh processes) and keep the median run")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    p.add_argument("--doc", help="replace the generated section of this markdown file")
    args = p.parse_args(argv)
    if args.split == "test" and args.int8 and args.data != DATA:
        print("note: --int8 calibrates on the 'train' split of --data", file=sys.stderr)
    return args


def samples_label(args: argparse.Namespace, n: int) -> str:
    try:
        shown = args.data.resolve().relative_to(ROOT.parent)
    except ValueError:
        shown = args.data
    return f"{n} lines of {shown} (split {args.split})"


def probe_width(path: Path) -> int:
    """Width at height 96 from the image header: the reference's int(96 * w / h)."""
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
    return int(REF_HEIGHT * (w / h))


# --- models and rows -------------------------------------------------------------------------

def build_models(args: argparse.Namespace, tmp: Path) -> dict[str, str]:
    """The reference IR (fixed width) and, with --int8, the INT8 IR, both from --model."""
    from inkreader.paths import resolve_model_path

    checkpoint = resolve_model_path(args.model)
    models = {"checkpoint": str(checkpoint), "reference": str(args.reference_ir or "")}
    needs_torch = not args.reference_ir or args.int8
    if not needs_torch:
        return models
    from inkreader.export.convert import export_openvino
    from inkreader.model import load_checkpoint

    net, charset, _ = load_checkpoint(checkpoint)
    if not args.reference_ir:
        models["reference"] = str(export_openvino(net, tmp / "reference.xml", True, charset))
    if args.int8:
        from inkreader.export.quantize import calibration_lines, quantize_openvino

        calib = calibration_lines(args.data, "train", args.calibration_lines)
        t0 = time.perf_counter()
        quantize_openvino(net, charset, tmp / "int8.xml", calib, fixed_width=False)
        models["int8"] = str(tmp / "int8.xml")
        print(f"INT8 model calibrated on {len(calib)} train lines in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    return models


def plan_rows(args, models, samples: list[LineSample], fits: list[bool], tmp: Path):
    """(Row, job) pairs in the order they run."""
    everything = list(range(len(samples)))
    paths = [str(s.path) for s in samples]
    skip = set(filter(None, args.skip.split(",")))
    rec = {"model": models["checkpoint"]}
    if args.batch:
        rec["batch_size"] = args.batch
    plan = [
        ("a", "reference: OpenVINO, fixed 2000 px, 1 line/request (OMZ demo settings)",
         {"kind": "reference", "ir": models["reference"]}, [i for i in everything if fits[i]]),
        ("b", "PyTorch eager, width-sorted batches", {"kind": "recognizer",
                                                      "load": {**rec, "backend": "torch"}},
         everything),
        ("c", "inkreader fast path (Recognizer defaults)", {"kind": "recognizer", "load": rec},
         everything),
        ("cli-cold", "`inkreader read --json DIR`, whole command, first start",
         {"kind": "cli", "load": rec, "cache": str(tmp / "cold-cache"), "cache_state": "empty"},
         everything),
        ("cli", "`inkreader read --json DIR`, whole command", {"kind": "cli", "load": rec,
         "cache": str(tmp / "cold-cache"), "cache_state": "warm"}, everything),
        ("cli-greedy", "`inkreader read --json --greedy DIR`, whole command",
         {"kind": "cli", "load": rec, "cache": str(tmp / "cold-cache"), "cache_state": "warm",
          "args": ["--greedy"]}, everything),
    ]
    if args.int8:
        plan.append(("d", "fast path on the INT8 IR", {"kind": "recognizer",
                     "load": {**rec, "model": models["int8"]}}, everything))
    if args.variants:
        plan += [(f"v{i}", f"variant: {desc}", {"kind": "recognizer", "load": {**rec, **kw}},
                  everything) for i, (desc, kw) in enumerate(variants(), start=1)]
    for key, name, job, indices in plan:
        if key in skip:
            continue
        job.update(indices=indices, paths=[paths[i] for i in indices], folder=str(tmp / key))
        yield Row(key=key, name=name), job


def variants() -> list[tuple[str, dict]]:
    """Fast-path configurations other than the default, to re-check the default's choice."""
    from inkreader.runtime.backends import cpu_count

    n = cpu_count()  # the default (row c) is OpenVINO, its own precision, n streams x 1 thread
    one_each = f"{n} stream{'s' if n > 1 else ''} x 1 thread"
    out = [(f"ONNX Runtime f32, {one_each}", {"backend": "onnx", "streams": n}),
           (f"OpenVINO f32, {one_each}", {"backend": "openvino", "precision": "f32", "streams": n})]
    if n > 1:
        out += [(f"ONNX Runtime f32, 1 stream x {n} threads", {"backend": "onnx", "streams": 1}),
                (f"OpenVINO default precision, 1 stream x {n} threads",
                 {"backend": "openvino", "precision": "auto", "streams": 1})]
    return out


# --- running and scoring ---------------------------------------------------------------------

def run_repeated(job: dict, tmp: Path, repeats: int) -> dict:
    """Run a job ``repeats`` times, each in a fresh process; the median run by lines/s."""
    runs = sorted((run_job(job, tmp) for _ in range(max(1, repeats))),
                  key=lambda r: len(r["texts"]) / r["read_s"])
    return runs[len(runs) // 2]


def run_job(job: dict, tmp: Path) -> dict:
    if job["kind"] == "cli":
        from inference_workers import run_cli

        return run_cli(job)
    spec, out = tmp / "job.json", tmp / "result.json"
    spec.write_text(json.dumps(job))
    out.unlink(missing_ok=True)
    worker = ROOT / "bench" / "inference_workers.py"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "INKREADER_CACHE": str(tmp / "cache")}
    proc = subprocess.run([sys.executable, str(worker), str(spec), str(out)], cwd=ROOT, env=env)
    if proc.returncode != 0 or not out.is_file():
        raise SystemExit(f"row {job['kind']} failed (exit {proc.returncode})")
    return json.loads(out.read_text())


def score(row: Row, result: dict, samples: list[LineSample], fits: list[bool],
          indices: list[int]) -> Row:
    """Fill ``row`` from a worker's result: speed, memory and CER (all lines it read, and the
    lines row a reads)."""
    import numpy as np

    texts = dict(zip(indices, result["texts"], strict=True))
    every, common = ErrorRates(), ErrorRates()
    for i, text in texts.items():
        every.update(text or "", samples[i].text)
        if fits[i]:
            common.update(text or "", samples[i].text)
    lat = np.asarray(result["latencies_ms"], dtype=float)
    row.lines = len(indices)
    row.errors = sum(t is None for t in result["texts"])
    row.lines_per_s = len(indices) / result["read_s"]
    row.median_ms = float(np.median(lat)) if lat.size else float("nan")
    row.p95_ms = float(np.percentile(lat, 95)) if lat.size else float("nan")
    row.read_s, row.cpu_s, row.load_s = result["read_s"], result["cpu_s"], result["load_s"]
    row.peak_rss_mb = result["peak_rss_mb"]
    row.config = result.get("config", "")
    row.columns = result.get("columns", 0)
    row.cer_all = round(100 * every.cer, 2)
    row.cer_common = round(100 * common.cer, 2)
    return row


if __name__ == "__main__":
    raise SystemExit(main())
