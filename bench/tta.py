"""Which test-time augmentation ``--tta`` uses: greedy CER of a model on a Hooker split, each
line read as it is and as shifted copies (rows up or down, columns right), then of the mean
of several copies' frame-wise posteriors (mean of the probabilities, or of their logs).

    .venv/bin/python bench/tta.py --split val [--model FILE]

The copies keep the line's width, so their frames line up and can be averaged. Choose on val,
never on test. PyTorch, one thread, fp32; results in docs/decoding.md.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import torch

from inkreader.decode import GreedyDecoder
from inkreader.metrics import ErrorRates
from inkreader.model import load_checkpoint
from inkreader.paths import resolve_model_path
from inkreader.preprocess import Reading, prepare_line, read_gray, shift_rows, stack_lines

HOOKER = Path("../shared/data/hooker/lines.tsv")


def shift_columns(pixels: np.ndarray, dx: int) -> np.ndarray:
    """(H, W) moved right by ``dx`` columns, the first column repeated, the width kept."""
    return np.concatenate([np.repeat(pixels[:, :1], dx, 1), pixels[:, :-dx]], 1)


def rows(dy: int):
    return lambda a: shift_rows(a[None, None], dy)[0, 0]


COPIES = {"id": lambda a: a, "right2": lambda a: shift_columns(a, 2),
          "right4": lambda a: shift_columns(a, 4),
          **{f"{'up' if dy < 0 else 'down'}{abs(dy)}": rows(dy)
             for dy in (-2, 2, -3, 3, -4, 4, -6, 6)}}
MEANS = (("id", "right4"), ("id", "right2", "right4"), ("id", "up3", "down3"),
         ("id", "up3", "down3", "right4"), ("id", "up3", "down3", "up6", "down6"),
         ("id", "up2", "down2"), ("id", "up2", "down2", "up4", "down4"), tuple(COPIES))


def read_split(data: Path, split: str, reading: Reading) -> tuple[list[dict], list]:
    """The TSV rows of ``split`` and their lines prepared as the model reads (``reading``)."""
    with open(data, encoding="utf-8", newline="") as f:
        samples = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                   if r["split"] == split]
    lines = [prepare_line(read_gray(data.parent / r["file"]), reading=reading) for r in samples]
    return samples, lines


def log_posteriors(model, lines, copies: dict) -> dict[str, list[np.ndarray]]:
    """For each named copy function, every line's (frames, classes) log-posteriors, read in
    width-sorted batches of 16."""
    order = np.argsort([ln.pixels.shape[1] for ln in lines])
    logp = {k: [None] * len(lines) for k in copies}
    with torch.inference_mode():
        for i in range(0, len(order), 16):
            idx = order[i:i + 16]
            for name, copy in copies.items():
                x = torch.from_numpy(stack_lines([copy(lines[j].pixels) for j in idx]))
                out = model(x).log_softmax(-1).numpy()
                for col, j in enumerate(idx):
                    logp[name][j] = out[: lines[j].pixels.shape[1] // 8, col]
    return logp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HOOKER)
    ap.add_argument("--split", default="val")
    ap.add_argument("--model", help="default: the packaged model")
    args = ap.parse_args()
    if args.split == "test":
        raise SystemExit("choose the augmentation on val, not on test")
    torch.set_num_threads(1)
    model, charset, _ = load_checkpoint(resolve_model_path(args.model))
    samples, lines = read_split(args.data, args.split, model.config.reading)
    logp = log_posteriors(model, lines, COPIES)
    greedy = GreedyDecoder(charset)

    def cer(per_line) -> float:
        rates = ErrorRates()
        for x, r in zip(per_line, samples, strict=True):
            rates.update(greedy.decode(x).text, r["text"])
        return 100 * rates.cer

    print(f"{len(samples)} {args.split} lines, model {args.model or 'default'}")
    print("| copies | mean of probabilities | mean of log-probabilities |\n|---|---|---|")
    for name in COPIES:
        print(f"| {name} | {cer(logp[name]):.2f} | |", flush=True)
    for keys in MEANS:
        probs = [np.log(np.mean([np.exp(logp[k][j]) for k in keys], 0) + 1e-12)
                 for j in range(len(lines))]
        logs = [np.mean([logp[k][j] for k in keys], 0) for j in range(len(lines))]
        print(f"| {' + '.join(keys)} | {cer(probs):.2f} | {cer(logs):.2f} |", flush=True)


if __name__ == "__main__":
    main()
