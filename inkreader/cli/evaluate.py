"""``inkreader evaluate DATASET...``: the reference's accuracy (1 - corpus CER), CER, WER and
case-insensitive CER of a model on a gt file, a TSV, a PAGE-XML/ALTO folder or a folder of pen
strokes; given several, each set's figures and the mean of their CERs. Decoded as
``inkreader read`` decodes (beam search + LM + word list by default, ``--greedy`` for the
reference's; greedy on the reference contract, ``--fixed-width``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InkreaderError
from .decoding import add_decoding_arguments
from .model_options import add_model_arguments, load_recognizer


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("datasets", metavar="DATASET", nargs="+",
                   help="reference gt file (file,text), TSV with file/text[/split] columns, "
                        "a folder of PAGE-XML or ALTO pages with their images, or a folder "
                        "of pen strokes (strokes.npz + lines.tsv, drawn with the plain pen); "
                        "several: each is read and scored, then their mean CER (each set "
                        "counts the same)")
    add_model_arguments(p, decoding=False,
                        fixed_width_help="the reference contract: pad every line to 2000 px "
                        "and leave out lines wider than that at height 96, as the reference did")
    p.add_argument("--split", help="only the lines of this split (every dataset given must "
                                   "have a split column)")
    p.add_argument("--holdout", type=float, metavar="F",
                   help="only the lines of the pages a training config's 'holdout = F' held "
                        "out (the lines such a run validated on)")
    p.add_argument("--report", metavar="FILE",
                   help="write every line's label, prediction and edit distance (TSV; JSON "
                        "lines if FILE ends in .json or .jsonl); one dataset only")
    p.add_argument("--json", action="store_true",
                   help="print the figures as one JSON object (several datasets: "
                        "{\"sets\": {DATASET: figures}, \"mean_cer\": ...})")
    add_decoding_arguments(p)


def run(args: argparse.Namespace) -> int:
    if args.report and len(args.datasets) > 1:
        raise InkreaderError("--report takes one dataset; evaluate each set on its own to "
                             "write its report")
    if args.report and Path(args.report).exists():
        raise InkreaderError(f"{args.report}: report file exists; remove it or choose another "
                             "name (never overwritten)")
    recognizer = load_recognizer(args)
    status, figures = 0, {}
    for dataset in args.datasets:
        if len(args.datasets) > 1 and not args.json:
            print(f"== {dataset}" + (f" (split {args.split})" if args.split else ""))
        summary, failed = _evaluate_one(args, dataset, recognizer)
        figures[dataset] = summary
        status = status or failed
    if len(args.datasets) > 1:
        mean = sum(s["cer"] for s in figures.values()) / len(figures)
        if args.json:
            print(json.dumps({"sets": figures, "mean_cer": mean}))
        else:
            print(f"== mean CER of {len(figures)} sets {mean:.4f}  ("
                  + ", ".join(f"{d} {s['cer']:.4f}" for d, s in figures.items()) + ")")
    elif args.json:
        print(json.dumps(figures[args.datasets[0]]))
    return status


def _evaluate_one(args: argparse.Namespace, dataset: str, recognizer) -> tuple[dict, int]:
    """Read and score one dataset; print its figures unless ``--json``; returns them and the
    exit status (1 if a line or file could not be read)."""
    from tqdm import tqdm

    from ..evaluation.evaluate import evaluate, load_lines, write_report

    def on_error(message: str) -> None:
        tqdm.write(f"inkreader evaluate: error: {message}", file=sys.stderr)

    samples, file_errors = load_lines(dataset, args.split, on_error, held_out=args.holdout)
    result = evaluate(samples, recognizer, fixed_width=args.fixed_width, on_error=on_error)
    result.dataset_errors = file_errors
    if args.report:
        write_report(result, args.report)
    s = result.summary()
    if not args.json:
        print(f"accuracy {s['accuracy']:.4f}  CER {s['cer']:.4f}  WER {s['wer']:.4f}  "
              f"CER (ignoring case) {s['cer_nocase']:.4f}")
        print(f"lines {s['lines']}  chars {s['chars']}  char errors {s['char_errors']}  "
              f"words {s['words']}  word errors {s['word_errors']}")
        if args.fixed_width:
            print(f"excluded {s['excluded']} lines wider than 2000 px at height 96 "
                  "(the reference's rule)")
        if s["unreadable"]:
            print(f"unreadable {s['unreadable']} lines (scored as empty predictions)")
        if file_errors:
            print(f"{len(file_errors)} dataset files with errors (their lines are not scored)")
        if args.report:
            print(f"report: {args.report}")
    return s, 1 if s["unreadable"] or file_errors else 0
