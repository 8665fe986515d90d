"""``inkreader evaluate DATASET``: the reference's accuracy (1 - corpus CER), CER, WER and
case-insensitive CER of a model on a gt file, a TSV or a PAGE-XML/ALTO folder. Greedy decoding
(the reference's) unless the decoding options of ``inkreader read`` ask for a beam search."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InkreaderError
from .decoding import add_decoding_arguments, apply_decoding


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="DATASET",
                   help="reference gt file (file,text), TSV with file/text[/split] columns, "
                        "or a folder of PAGE-XML or ALTO pages with their images")
    p.add_argument("--model", help=".pt checkpoint, .onnx or OpenVINO .xml (default: the "
                                    "packaged model)")
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx", "openvino"))
    p.add_argument("--fixed-width", action="store_true",
                   help="the reference contract: pad every line to 2000 px and leave out lines "
                        "wider than that at height 96, as the reference did")
    p.add_argument("--split", help="only the lines of this split (TSV with a split column)")
    p.add_argument("--holdout", type=float, metavar="F",
                   help="only the lines of the pages a training config's 'holdout = F' held "
                        "out (the lines such a run validated on)")
    p.add_argument("--report", metavar="FILE",
                   help="write every line's label, prediction and edit distance (TSV; JSON "
                        "lines if FILE ends in .json or .jsonl)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    add_decoding_arguments(p)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..evaluate import evaluate, load_lines, write_report
    from ..recognizer import Recognizer

    if args.report and Path(args.report).exists():
        raise InkreaderError(f"{args.report}: report file exists; remove it or choose another "
                             "name (never overwritten)")

    def on_error(message: str) -> None:
        tqdm.write(f"inkreader evaluate: error: {message}", file=sys.stderr)

    samples, file_errors = load_lines(args.dataset, args.split, on_error, held_out=args.holdout)
    recognizer = Recognizer.load(args.model, backend=args.backend, fixed_width=args.fixed_width,
                                 tta=args.tta)
    apply_decoding(recognizer, args)
    result = evaluate(samples, recognizer, fixed_width=args.fixed_width, on_error=on_error)
    result.dataset_errors = file_errors
    if args.report:
        write_report(result, args.report)
    s = result.summary()
    if args.json:
        print(json.dumps(s))
    else:
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
    return 1 if s["unreadable"] or file_errors else 0
