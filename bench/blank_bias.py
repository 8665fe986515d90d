"""Greedy CER of a model on a Hooker split with the blank's log-probability lowered by b before
the argmax, for several b: a blank bias. The shipped model drops about three characters for
each one it invents; if blank won frames that belonged to letters, a bias of b would trade
those deletions for fewer errors, and it would fold into the classifier's bias for the blank
class, so the model would still decode greedily as the reference does. Measured in session 11
(docs/decoding.md): it does not pay; the letters come back mostly wrong.

    .venv/bin/python bench/blank_bias.py --split val [--model FILE] [--biases 0 0.5 1]

Choose on val, never on test. PyTorch, one thread, fp32.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from rapidfuzz.distance import Levenshtein
from tta import HOOKER, log_posteriors, read_split  # bench/tta.py, beside this script

from inkreader.decode import GreedyDecoder
from inkreader.metrics import ErrorRates
from inkreader.model import load_checkpoint
from inkreader.paths import resolve_model_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HOOKER)
    ap.add_argument("--split", default="val")
    ap.add_argument("--model", help="default: the packaged model")
    ap.add_argument("--biases", type=float, nargs="+",
                    default=[0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0])
    args = ap.parse_args()
    if args.split == "test":
        raise SystemExit("choose the bias on val, not on test")
    torch.set_num_threads(1)
    model, charset, _ = load_checkpoint(resolve_model_path(args.model))
    samples, lines = read_split(args.data, args.split, model.config.reading)
    logp = log_posteriors(model, lines, {"id": lambda a: a})["id"]
    greedy = GreedyDecoder(charset)
    print(f"{len(samples)} {args.split} lines, model {args.model or 'default'}")
    print("| blank bias | CER % | WER % | dropped | invented | substituted |")
    print("|---|---|---|---|---|---|")
    for b in args.biases:
        # editops turn the prediction into the label: "insert" restores a character the model
        # dropped, "delete" removes one it invented
        rates, ops = ErrorRates(), {"delete": 0, "insert": 0, "replace": 0}
        for lp, r in zip(logp, samples, strict=True):
            biased = lp.copy()
            biased[:, 0] -= b
            text = greedy.decode(biased).text
            rates.update(text, r["text"])
            for op in Levenshtein.editops(text, r["text"]):
                ops[op.tag] += 1
        print(f"| {b:g} | {100 * rates.cer:.2f} | {100 * rates.wer:.2f} | {ops['insert']} | "
              f"{ops['delete']} | {ops['replace']} |", flush=True)


if __name__ == "__main__":
    main()
