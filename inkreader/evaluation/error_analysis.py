"""Where a model's character errors are: by kind of edit and of character, the most frequent
confusions, and doubled letters.

Reads the line reports of ``inkreader evaluate --report FILE`` and splits the CER's edit
operations (prediction -> label, as the metric counts them) into substitutions, deletions (a
label character the model did not write) and insertions (a character it wrote that the label
does not have), each by the class of the label's character (or the written one, for
insertions): lower case, upper case, digit, punctuation, space. CTC writes a doubled letter
only with a blank frame between the two; the last table says how often a label character in a
doubled pair ("ll", "ss") is among the deletions, against all label characters.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from .evaluate import read_report

# rapidfuzz's edit of the prediction into the label -> what the model did to the label
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
    """The character errors of a set of (label, prediction) pairs, counted as above."""

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


def analyse_report(path: str | Path) -> Tally:
    """The error tally of one ``evaluate --report`` file (``DatasetError`` names a file that
    is missing or not a report)."""
    tally = Tally()
    for row in read_report(path):
        tally.add(row["label"], row["prediction"])
    return tally


def _pt(n: int, chars: int) -> str:
    return f"{100 * n / chars:.2f}" if chars else "-"


def format_tally(title: str, t: Tally, top: int = 15) -> str:
    """A Markdown section: errors by kind and class, the ``top`` confusions, deleted and
    inserted characters, and doubled letters."""
    total = sum(t.errors.values())
    out = [f"## {title}\n", f"{t.chars} label characters, {total} character errors "
           f"(CER {_pt(total, t.chars)} %)\n",
           "| edit | character class | errors | CER points | % of the class's label chars |",
           "|---|---|---|---|---|"]
    out += [f"| {kind} | {cls} | {n} | {_pt(n, t.chars)} | {_pt(n, t.label_classes[cls])} |"
            for (kind, cls), n in t.errors.most_common()]
    pairs = ", ".join(f"{a!r}->{b!r} {n}" for (a, b), n in t.confusions.most_common(top))
    out.append(f"\nMost frequent substitutions (label -> written): {pairs}")
    out.append("Most deleted: " + ", ".join(f"{c!r} {n}" for c, n in t.deleted.most_common(top)))
    out.append("Most inserted: " + ", ".join(f"{c!r} {n}"
                                             for c, n in t.inserted.most_common(top)))
    deleted = sum(t.deleted.values())
    out.append(f"\n| label characters | count | deleted | deleted % |\n|---|---|---|---|\n"
               f"| in a doubled pair | {t.doubled} | {t.doubled_deleted} "
               f"| {_pt(t.doubled_deleted, t.doubled)} |\n"
               f"| all | {t.chars} | {deleted} | {_pt(deleted, t.chars)} |\n")
    return "\n".join(out)


__all__ = ["Tally", "analyse_report", "char_class", "format_tally"]
