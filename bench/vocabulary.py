"""CER of the words a model has seen in training and of those it has not.

Reads the line reports of ``inkreader evaluate --report FILE`` (label and prediction of every
line), charges each character edit of the line (the CER's) to the label word it touches, and
counts the words under "seen" (the word, without the punctuation around it, is in the training
text) or "new". Errors on spaces are left out, so the all-words CER is not the line CER. A model
that reads new words much worse than seen ones has learnt the training split's words more than
its letters (docs/lessons.md, "What the diagnostics said").

    .venv/bin/inkreader evaluate ../shared/data/hooker/lines.tsv --split val --report R.tsv
    .venv/bin/python bench/vocabulary.py R.tsv [R2.tsv ...] [--train TSV]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from inkreader.data.datasets import load_dataset
from inkreader.errors import DatasetError
from inkreader.evaluation.evaluate import read_report

PUNCTUATION = "\"'.,;:!?()[]-"
HOOKER = Path(__file__).resolve().parents[1].parent / "shared/data/hooker/lines.tsv"


def bare(word: str) -> str:
    """A word without the punctuation before and after it ("plants," and "plants" are one)."""
    return word.strip(PUNCTUATION)


def word_errors(label: str, prediction: str, seen: set[str]) -> dict[str, list[int]]:
    """{"seen"|"new": [character errors, label characters, words]} of one line. The line's
    character edit operations (the CER's) are charged to the label word of the character they
    touch (an insertion: the word it is inserted into or after); those on a space to none."""
    out = {"seen": [0, 0, 0], "new": [0, 0, 0]}
    owner, kinds = [], []  # the word index of each label character (-1: a space)
    for k, w in enumerate(label.split(" ")):
        owner += [k] * len(w) + [-1]
        kinds.append("seen" if bare(w) in seen else "new")
        if w:
            out[kinds[-1]][1] += len(w)
            out[kinds[-1]][2] += 1
    owner = owner[:-1]
    for op in Levenshtein.editops(label, prediction):
        pos = op.src_pos
        if op.tag == "insert" and (pos == len(owner) or owner[pos] == -1):
            pos -= 1  # appended to the word before
        if 0 <= pos < len(owner) and owner[pos] >= 0:
            out[kinds[owner[pos]]][0] += 1
    return out


def _pct(errors: float, chars: int) -> str:
    return f"{100 * errors / chars:.2f} %" if chars else "-"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports", nargs="+", help="evaluate --report TSV files")
    p.add_argument("--train", default=str(HOOKER), help="TSV whose train split the model saw")
    args = p.parse_args()
    seen = {bare(w) for s in load_dataset(args.train, "train") for w in s.text.split()}
    print("| report | seen words: CER (words) | new words: CER (words) | all words |")
    print("|---|---|---|---|")
    for path in args.reports:
        total = {"seen": [0.0, 0, 0], "new": [0.0, 0, 0]}
        try:
            rows = read_report(path)
        except DatasetError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        for row in rows:
            for kind, (e, n, w) in word_errors(row["label"], row["prediction"], seen).items():
                total[kind][0] += e
                total[kind][1] += n
                total[kind][2] += w
        (se, sn, sw), (ne, nn, nw) = total["seen"], total["new"]
        print(f"| {path} | {_pct(se, sn)} ({sw}) | {_pct(ne, nn)} ({nw}) "
              f"| {_pct(se + ne, sn + nn)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
