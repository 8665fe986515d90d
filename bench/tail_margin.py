"""Greedy CER on the Hooker val split against the paper margin added after each line.

The backward LSTMs start at a line's right end. Training pads most lines of a batch to a wider
neighbour, so a line read flush to its last column (alone, or the widest of its batch) is read
with a start the network rarely trained on. This measures the effect of ``TAIL_MARGIN``
(inkreader/preprocess.py): every line read line by line (batch 1, what ``inkreader read`` of one
image and the server do) and in the Recognizer's batches (what ``evaluate`` does), and the mean
input width, the cost. Val split only: the margin is a choice, made on val. Run from the
repository root:

    .venv/bin/python bench/tail_margin.py [--margins 0 64 128 256] [--lines N]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import inkreader.preprocess as preprocess
from inkreader.datasets import load_dataset
from inkreader.metrics import ErrorRates
from inkreader.preprocess import read_gray
from inkreader.recognizer import Recognizer

HOOKER = Path("../shared/data/hooker/lines.tsv")


def cer(rec: Recognizer, paths: list[str], labels: list[str]) -> float:
    rates = ErrorRates()
    for result, label in zip(rec.read_paths(paths), labels, strict=True):
        rates.update(result.text, label)
    return rates.cer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="checkpoint (default: the packaged model)")
    ap.add_argument("--margins", type=int, nargs="+", default=[0, 64, 128, 256])
    ap.add_argument("--lines", type=int, help="only the first N val lines (a smoke run)")
    args = ap.parse_args()
    samples = load_dataset(HOOKER, "val")[: args.lines]
    paths, labels = [str(s.path) for s in samples], [s.text for s in samples]
    widths = [preprocess.resized_width(*read_gray(p).shape) for p in paths]
    alone = Recognizer.load(args.model, batch_size=1)
    batched = Recognizer.load(args.model)
    print(f"{len(samples)} Hooker val lines, model {args.model or 'default'}, "
          f"{platform.processor() or platform.machine()}\n")
    print("| tail margin (px at height 96) | CER, line by line | CER, batched "
          "| mean input width |")
    print("|---|---|---|---|")
    for margin in args.margins:
        preprocess.TAIL_MARGIN = margin
        one = cer(alone, paths, labels)
        many = cer(batched, paths, labels)
        width = sum(preprocess.pad_width(w, None) for w in widths) / len(widths)
        print(f"| {margin} | {100 * one:.2f} % | {100 * many:.2f} % | {width:.0f} px |",
              flush=True)


if __name__ == "__main__":
    main()
