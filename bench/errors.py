"""Where a model's character errors are: by kind of edit and of character, the most frequent
confusions, and doubled letters.

Reads the line reports of ``inkreader evaluate --report FILE`` and splits the CER's edit
operations (prediction -> label, as the metric counts them) into substitutions, deletions (a
label character the model did not write) and insertions (a character it wrote that the label
does not have), each by the class of the label's character (or the written one, for
insertions): lower case, upper case, digit, punctuation, space. CTC writes a doubled letter
only with a blank frame between the two; the last table says how often a label character in a
doubled pair ("ll", "ss") is among the deletions, against all label characters.

    .venv/bin/inkreader evaluate ../shared/data/hooker/lines.tsv --split val --report R.tsv
    .venv/bin/python bench/errors.py R.tsv [--top 15]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from rapidfuzz.distance import Levenshtein

from inkreader.errors import DatasetError
from inkreader.evaluate import read_report

KINDS = {"replace": "substituted", "insert": "deleted", "delete": "inserted"}


def char_class(ch: str) -> str:
    if ch == " ":
        return "space"
    if ch.isdigit():
        return "digit"
    if ch.isupper():
        return "upper case"
    if ch.islower():
        return "lower case"
    return "punctuation"


def in_doubled_pair(text: str, i: int) -> bool:
    return (i > 0 and text[i - 1] == text[i]) or (i + 1 < len(text) and text[i + 1] == text[i])


class Tally:
    def __init__(self) -> None:
        self.chars = 0
        self.label_classes: Counter[str] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()  # (kind, class)
        self.confusions: Counter[tuple[str, str]] = Counter()  # (label char, written char)
        self.deleted: Counter[str] = Counter()
        self.inserted: Counter[str] = Counter()
        self.doubled = self.doubled_deleted = 0

    def add(self, label: str, prediction: str) -> None:
        self.chars += len(label)
        self.label_classes.update(char_class(c) for c in label)
        self.doubled += sum(in_doubled_pair(label, i) for i in range(len(label)))
        for op in Levenshtein.editops(prediction, label):
            kind = KINDS[op.tag]
            if kind == "inserted":
                ch = prediction[op.src_pos]
                self.inserted[ch] += 1
            else:
                ch = label[op.dest_pos]
                if kind == "substituted":
                    self.confusions[(ch, prediction[op.src_pos])] += 1
                else:
                    self.deleted[ch] += 1
                    self.doubled_deleted += in_doubled_pair(label, op.dest_pos)
            self.errors[(kind, char_class(ch))] += 1


def _pt(n: int, chars: int) -> str:
    return f"{100 * n / chars:.2f}" if chars else "-"


def print_report(path: str, t: Tally, top: int) -> None:
    total = sum(t.errors.values())
    print(f"## {path}\n\n{t.chars} label characters, {total} character errors "
          f"(CER {_pt(total, t.chars)} %)\n")
    print("| edit | character class | errors | CER points | % of the class's label chars |")
    print("|---|---|---|---|---|")
    for (kind, cls), n in t.errors.most_common():
        print(f"| {kind} | {cls} | {n} | {_pt(n, t.chars)} | {_pt(n, t.label_classes[cls])} |")
    pairs = ", ".join(f"{a!r}->{b!r} {n}" for (a, b), n in t.confusions.most_common(top))
    print(f"\nMost frequent substitutions (label -> written): {pairs}")
    print("Most deleted: " + ", ".join(f"{c!r} {n}" for c, n in t.deleted.most_common(top)))
    print("Most inserted: " + ", ".join(f"{c!r} {n}" for c, n in t.inserted.most_common(top)))
    deleted = sum(t.deleted.values())
    print(f"\n| label characters | count | deleted | deleted % |\n|---|---|---|---|\n"
          f"| in a doubled pair | {t.doubled} | {t.doubled_deleted} "
          f"| {_pt(t.doubled_deleted, t.doubled)} |\n"
          f"| all | {t.chars} | {deleted} | {_pt(deleted, t.chars)} |\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports", nargs="+", help="evaluate --report TSV files")
    p.add_argument("--top", type=int, default=15, help="confusions and characters listed")
    args = p.parse_args()
    for path in args.reports:
        tally = Tally()
        try:
            rows = read_report(path)
        except DatasetError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        for row in rows:
            tally.add(row["label"], row["prediction"])
        print_report(path, tally, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
