"""The reference metric: corpus-level, stripped labels, case- and space-sensitive."""

from __future__ import annotations

import pytest

from inkreader.metrics import ErrorRates


def test_corpus_level_not_mean_of_lines():
    r = ErrorRates()
    r.update("abc", "abd")  # 1 error / 3
    r.update("", "a")  # 1 error / 1
    assert r.cer == pytest.approx(2 / 4)  # a mean of line CERs would be (1/3 + 1) / 2
    assert r.accuracy == pytest.approx(0.5)
    assert (r.lines, r.chars) == (2, 4)


def test_labels_stripped_case_and_space_sensitive():
    r = ErrorRates()
    r.update("Hello world", "  hello  world ")
    assert r.chars == len("hello  world")
    assert r.char_errors == 2  # H/h and the missing second space
    assert r.char_errors_nocase == 1
    assert r.wer == pytest.approx(1 / 2)


def test_perfect_and_empty():
    r = ErrorRates()
    assert r.cer == 0.0
    r.update("same", "same")
    assert r.summary()["accuracy"] == 1.0 and r.per_line == [("same", "same", 0)]
