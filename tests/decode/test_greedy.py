"""Greedy CTC decoding exactly as the reference, designated characters, and the GreedyDecoder's
confidences and frame spans."""

from __future__ import annotations

import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.decode.base import (
    LINE_CONFIDENCES,
    Designated,
    frame_runs,
    line_confidence,
    softmax,
)
from inkreader.decode.greedy import GreedyDecoder, greedy_decode
from inkreader.errors import CharsetError

CS = Charset(tuple("abc"))  # classes: 0 blank, 1 a, 2 b, 3 c


def logits_for(path: list[int], classes: int = 4, peak: float = 5.0) -> np.ndarray:
    """(T, C) logits whose argmax follows ``path``."""
    out = np.zeros((len(path), classes), np.float32)
    out[np.arange(len(path)), path] = peak
    return out


def test_greedy_collapses_repeats_and_drops_blanks():
    text, classes, frames = greedy_decode(logits_for([0, 1, 1, 0, 1, 2, 2, 0, 3]), CS)
    assert text == "aabc"  # a blank between two a's keeps both
    assert classes.tolist() == [1, 1, 2, 3] and frames.tolist() == [1, 4, 5, 8]


def test_greedy_empty_and_all_blank():
    assert greedy_decode(logits_for([0, 0, 0]), CS)[0] == ""
    assert greedy_decode(np.zeros((0, 4), np.float32), CS)[0] == ""


def _second_best(primary: int, second: int, third: int) -> np.ndarray:
    row = np.zeros(4, np.float32)
    row[[primary, second, third]] = [5.0, 4.0, 3.0]
    return row


def test_designated_replaces_by_best_allowed_in_top_k():
    logits = np.stack([_second_best(1, 3, 2)])  # a first, then c, then b
    assert greedy_decode(logits, CS, Designated(frozenset("bc"), top_k=3))[0] == "c"
    assert greedy_decode(logits, CS, Designated(frozenset("b"), top_k=3))[0] == "b"
    # the allowed class is outside the top-2: the reference keeps the original
    assert greedy_decode(logits, CS, Designated(frozenset("b"), top_k=2))[0] == "a"
    assert greedy_decode(logits, CS, Designated(frozenset("a"), top_k=1))[0] == "a"


def test_designated_file(tmp_path):
    path = tmp_path / "dc.txt"
    path.write_text("0\n1\n \n", encoding="utf-8")
    d = Designated.load(path, top_k=5)
    assert d.allowed == frozenset({"0", "1", " "}) and d.top_k == 5
    (tmp_path / "none.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(CharsetError, match="no designated"):
        Designated.load(tmp_path / "none.txt")
    with pytest.raises(CharsetError, match="top-k"):
        Designated.load(path, top_k=0)
    with pytest.raises(CharsetError, match="cannot read"):
        Designated.load(tmp_path / "missing.txt")


def test_softmax_rows_sum_to_one():
    p = softmax(np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], np.float32))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] == pytest.approx(1.0) and p[1, 0] == pytest.approx(1 / 3)


def test_frame_runs():
    path = np.array([0, 1, 1, 0, 2, 2, 2, 3])
    spans = frame_runs(path, np.array([1, 4, 7]))
    assert spans.tolist() == [[1, 3], [4, 7], [7, 8]]
    assert frame_runs(path, np.array([], dtype=int)).shape == (0, 2)


def test_decoder_matches_greedy_and_gives_spans_and_confidences():
    logits = logits_for([0, 1, 1, 0, 2, 2, 0, 0, 3])
    logits[2, 1] = 1.0  # a weaker second frame of the first 'a'
    logits[2, 0] = 0.5
    out = GreedyDecoder(CS).decode(logits)
    assert out.text == greedy_decode(logits, CS)[0] == "abc"
    assert out.spans.tolist() == [[1, 3], [4, 6], [8, 9]]
    p = softmax(logits)
    assert out.char_confidences.tolist() == pytest.approx([p[1, 1], p[4, 2], p[8, 3]])
    assert out.confidence == pytest.approx(float(np.exp(np.log(out.char_confidences).mean())))
    assert all(0 <= c <= 1 for c in [*out.char_confidences, out.confidence])


def test_decoder_with_designated_scores_the_replacement():
    logits = np.stack([np.zeros(4, np.float32), _second_best(1, 3, 2)])
    out = GreedyDecoder(CS, Designated(frozenset("c"), top_k=3)).decode(logits)
    assert out.text == "c"
    assert out.char_confidences[0] == pytest.approx(softmax(logits)[1, 3])


def test_decoder_empty_line_confidence_is_blank_posterior():
    logits = logits_for([0, 0, 0])
    out = GreedyDecoder(CS).decode(logits)
    assert out.text == "" and out.spans.shape == (0, 2)
    assert out.confidence == pytest.approx(softmax(logits)[:, 0].mean())


def test_line_confidence_kinds():
    chars = np.array([0.9, 0.4, 0.9])
    path = np.array([0.9, 0.5, 0.8, 0.9])
    blank = np.array([0.2, 0.3])
    assert line_confidence(chars, path, blank, "min") == pytest.approx(0.4)
    assert line_confidence(chars, path, blank, "mean") == pytest.approx(2.2 / 3)
    assert line_confidence(chars, path, blank, "geomean") == pytest.approx(0.324 ** (1 / 3))
    assert line_confidence(chars, path, blank, "path") == pytest.approx(0.324 ** 0.25)
    for kind in LINE_CONFIDENCES:  # an empty line: how sure the model is of the blank
        assert line_confidence(np.zeros(0), path, blank, kind) == pytest.approx(0.25)
        assert 0 <= line_confidence(chars, path, blank, kind) <= 1
    with pytest.raises(ValueError, match="unknown"):
        line_confidence(chars, path, blank, "median")


def test_greedy_decoder_confidence_kind():
    logits = logits_for([0, 1, 1, 0, 2, 2, 0, 0, 3])
    logits[2, 1] = 1.0
    out = GreedyDecoder(CS, confidence="path").decode(logits)
    p = softmax(logits)
    assert out.text == "abc"
    assert out.confidence == pytest.approx(np.exp(np.log(p.max(axis=1)).mean()))
    with pytest.raises(ValueError):
        GreedyDecoder(CS, confidence="median")
