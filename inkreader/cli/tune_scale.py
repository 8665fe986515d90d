"""``inkreader tune-scale MODEL DATASET --split val --out FILE``: choose the horizontal scale a
model reads lines at (``x_scale``) on a validation split, and write a copy of the checkpoint
that carries it (docs/preprocessing.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .model_options import add_model_arguments, load_recognizer


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..train.scale import DEFAULT_SCALES

    p.add_argument("model", type=Path, metavar="MODEL", help=".pt model checkpoint")
    p.add_argument("dataset", metavar="DATASET",
                   help="validation lines: gt file, TSV or PAGE-XML/ALTO folder (never the "
                        "test split)")
    p.add_argument("--split", help="the TSV's split to use (required when it has a test split)")
    p.add_argument("--holdout", type=float, metavar="F",
                   help="only the lines of the pages a training config's 'holdout = F' held "
                        "out (the pages a run that trained on the rest never saw)")
    p.add_argument("--scales", type=float, nargs="+", default=list(DEFAULT_SCALES),
                   metavar="S", help="scales to try (default: %(default)s)")
    p.add_argument("--out", required=True, type=Path,
                   help="the checkpoint with the best scale (.pt; the input is never changed)")
    add_model_arguments(p, model=False, decoding=False)
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")


def run(args: argparse.Namespace) -> int:
    from ..errors import ModelError
    from ..evaluation.evaluate import load_lines
    from ..train.scale import check_split, tune_scale, write_scaled

    if args.model.suffix != ".pt":
        raise ModelError(f"{args.model}: tune-scale writes a .pt checkpoint; give it one "
                         "(exports take the scale from the checkpoint they are made from)")
    if args.out.exists() and not args.force:
        raise ModelError(f"{args.out}: already exists (use --force to overwrite)")
    samples, _ = load_lines(args.dataset, args.split, held_out=args.holdout)
    check_split(args.dataset, args.split, samples)
    recognizer = load_recognizer(args)
    best, results = tune_scale(samples, recognizer, tuple(args.scales))
    print(f"{len(samples)} lines of {args.dataset}" + (f" ({args.split})" if args.split else "")
          + (f", held-out {args.holdout:g} of its pages" if args.holdout else ""))
    print("| x_scale | CER % | WER % |\n|---|---|---|")
    for r in results:
        mark = " (chosen)" if r.scale == best else ""
        print(f"| {r.scale:g}{mark} | {100 * r.cer:.2f} | {100 * r.wer:.2f} |")
    meta = {"data": str(args.dataset), "split": args.split, "holdout": args.holdout,
            "lines": len(samples),
            "results": [[r.scale, round(r.cer, 5), round(r.wer, 5)] for r in results]}
    write_scaled(args.model, args.out, best, meta, force=args.force)
    print(f"x_scale {best:g} -> {args.out}")
    return 0
