"""Which backend should ``Recognizer.load(backend="auto")`` pick on this machine?

Reads the same Hooker test lines with every backend through the Recognizer's fast path and
prints lines/s (best of ``--repeats`` runs, after a warm-up run), for a few batch sizes and
stream counts. Run from the repository root:

    .venv/bin/python bench/backends.py --lines 200 --repeats 3
"""

from __future__ import annotations

import argparse
import csv
import platform
from pathlib import Path

from inkreader.backends import cpu_count
from inkreader.recognizer import Recognizer

HOOKER = Path("../shared/data/hooker")

CONFIGS = [  # (backend, batch size, streams, precision)
    ("torch", 16, 1, "f32"),
    ("onnx", 16, 1, "f32"),
    ("onnx", 16, 2, "f32"),
    ("onnx", 32, 2, "f32"),
    ("openvino", 16, 1, "f32"),
    ("openvino", 16, 2, "f32"),
    ("openvino", 32, 2, "f32"),
    ("openvino", 16, 2, "bf16"),
]


def test_lines(n: int) -> list[Path]:
    with open(HOOKER / "lines.tsv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["split"] == "test"]
    return [HOOKER / r["file"] for r in rows[:n]]


def _rate(rec: Recognizer, paths: list[Path]) -> tuple[float, list[str]]:
    texts = [r.text for r in rec.read_paths(paths)]
    return len(paths) / rec.stats.wall_seconds, texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    paths = test_lines(args.lines)
    print(f"{platform.processor() or platform.machine()}, {cpu_count()} cores usable, "
          f"{len(paths)} Hooker test lines, default model\n")
    print("| backend | batch | streams | precision | first pass lines/s | best lines/s | "
          "median lines/s | same text as torch |")
    print("|---|---|---|---|---|---|---|---|")
    configs = [c for c in CONFIGS if c[2] <= cpu_count()]  # a stream needs a core of its own
    recs = [Recognizer.load(backend=b, batch_size=n, streams=s, precision=p)
            for b, n, s, p in configs]
    # The first pass meets every batch shape for the first time (OpenVINO compiles kernels per
    # new shape); later passes are warm. Configurations are interleaved round by round so that
    # other load on the machine spreads over all of them.
    first = [_rate(rec, paths) for rec in recs]
    rates = [[_rate(rec, paths)[0] for rec in recs] for _ in range(args.repeats)]
    reference = first[0][1]
    for i, (backend, batch, streams, precision) in enumerate(configs):
        runs = sorted(r[i] for r in rates)
        same = sum(a == b for a, b in zip(first[i][1], reference, strict=True))
        print(f"| {backend} | {batch} | {streams} | {precision} | {first[i][0]:.1f} | "
              f"{runs[-1]:.1f} | {runs[len(runs) // 2]:.1f} | {same}/{len(paths)} |")


if __name__ == "__main__":
    main()
