"""Corpus-level error rates, as the reference's ``label_level_recognition_accuracy``.

accuracy = 1 - sum(Levenshtein(pred, label)) / sum(len(label)), labels stripped at both ends,
case- and space-sensitive. WER is the same over whitespace tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein


def char_distance(pred: str, label: str) -> int:
    return Levenshtein.distance(pred, label)


def word_distance(pred: str, label: str) -> int:
    return Levenshtein.distance(pred.split(), label.split())


@dataclass
class ErrorRates:
    """Accumulates edit distances line by line; every rate is a ratio of corpus sums."""

    lines: int = 0
    chars: int = 0
    char_errors: int = 0
    char_errors_nocase: int = 0
    words: int = 0
    word_errors: int = 0
    per_line: list[tuple[str, str, int]] = field(default_factory=list, repr=False)

    def update(self, pred: str, label: str) -> int:
        label = label.strip()
        d = char_distance(pred, label)
        self.lines += 1
        self.chars += len(label)
        self.char_errors += d
        self.char_errors_nocase += char_distance(pred.lower(), label.lower())
        self.words += len(label.split())
        self.word_errors += word_distance(pred, label)
        self.per_line.append((label, pred, d))
        return d

    @property
    def cer(self) -> float:
        return self.char_errors / max(1, self.chars)

    @property
    def accuracy(self) -> float:
        return 1.0 - self.cer

    @property
    def cer_nocase(self) -> float:
        return self.char_errors_nocase / max(1, self.chars)

    @property
    def wer(self) -> float:
        return self.word_errors / max(1, self.words)

    def summary(self) -> dict:
        return {"lines": self.lines, "chars": self.chars, "accuracy": self.accuracy,
                "cer": self.cer, "wer": self.wer, "cer_nocase": self.cer_nocase,
                "char_errors": self.char_errors, "words": self.words,
                "word_errors": self.word_errors}
