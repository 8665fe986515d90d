"""Greedy CER on the Hooker val split against the paper around a line.

Two measurements, val split only (the margin is a choice, made on val):

* ``--tail``: the paper inference adds after every line (``TAIL_MARGIN``, inkreader/
  preprocess.py). The backward LSTMs start at a line's right end; training pads most lines of a
  batch to a wider neighbour, so a line read flush to its last column (alone, or the widest of
  its batch) starts on something the network rarely trained on. Each margin is read line by line
  (batch 1: ``inkreader read`` of one image, the server) and in the Recognizer's batches
  (``evaluate``), with the mean input width (the cost).
* ``--left``: crops with more paper before the ink than the Hooker crops (about 13 px at height
  96): each line gets that many px of its paper level on its left (and on its right), read in
  batches. A model that only ever saw tight crops reads these worse.

    .venv/bin/python bench/margins.py [--model M] [--tail 0 64 128 256] [--left 0 32 96]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import cv2
import numpy as np

import inkreader.preprocess as preprocess
from inkreader.augment import paper_level
from inkreader.datasets import load_dataset
from inkreader.metrics import ErrorRates
from inkreader.preprocess import read_gray
from inkreader.recognizer import LineResult, Recognizer

HOOKER = Path("../shared/data/hooker/lines.tsv")


def cer(results: list[LineResult], labels: list[str]) -> float:
    rates = ErrorRates()
    for result, label in zip(results, labels, strict=True):
        rates.update(result.text, label)
    return rates.cer


def with_paper(gray: np.ndarray, px: int) -> np.ndarray:
    """``px`` (at height 96) of the line's paper level on both sides."""
    k = int(round(px * gray.shape[0] / preprocess.HEIGHT))
    return cv2.copyMakeBorder(gray, 0, 0, k, k, cv2.BORDER_CONSTANT, value=paper_level(gray))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="checkpoint (default: the packaged model)")
    ap.add_argument("--tail", type=int, nargs="*", default=[0, 64, 128, 256])
    ap.add_argument("--left", type=int, nargs="*", default=[0, 32, 96])
    ap.add_argument("--lines", type=int, help="only the first N val lines (a smoke run)")
    args = ap.parse_args()
    samples = load_dataset(HOOKER, "val")[: args.lines]
    paths, labels = [str(s.path) for s in samples], [s.text for s in samples]
    grays = [read_gray(p) for p in paths]
    widths = [preprocess.resized_width(*g.shape) for g in grays]
    print(f"{len(samples)} Hooker val lines, model {args.model or 'default'}, "
          f"{platform.processor() or platform.machine()}\n")
    if args.tail:
        alone = Recognizer.load(args.model, batch_size=1)
        batched = Recognizer.load(args.model)
        chosen = preprocess.TAIL_MARGIN
        print("| tail margin (px at height 96) | CER, line by line | CER, batched "
              "| mean input width |")
        print("|---|---|---|---|")
        for margin in args.tail:
            preprocess.TAIL_MARGIN = margin
            one = cer(alone.read_paths(paths), labels)
            many = cer(batched.read_paths(paths), labels)
            width = sum(preprocess.pad_width(w, None) for w in widths) / len(widths)
            print(f"| {margin} | {100 * one:.2f} % | {100 * many:.2f} % | {width:.0f} px |",
                  flush=True)
        preprocess.TAIL_MARGIN = chosen
        print()
    if args.left:
        rec = Recognizer.load(args.model)
        print(f"| paper added on each side (px at height 96) | CER, batched "
              f"(tail margin {preprocess.TAIL_MARGIN}) |")
        print("|---|---|")
        for px in args.left:
            results = rec.read_arrays([with_paper(g, px) for g in grays], paths)
            print(f"| {px} | {100 * cer(results, labels):.2f} % |", flush=True)


if __name__ == "__main__":
    main()
