"""CTC beam search (flashlight-text + KenLM): exact on small cases, the known case where it beats
the best path, the LM and word list settling ambiguous characters, designated characters, the
Viterbi alignment behind its spans, and the read command's decoding options."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.decode.base import (
    Designated,
    aligned_spans,
    ctc_align,
    designated_posteriors,
    softmax,
)
from inkreader.decode.beam import BeamDecoder
from inkreader.decode.greedy import GreedyDecoder, greedy_decode
from inkreader.decode.lexicon import Lexicon
from inkreader.lmbuild.estimate import build_lm

from ..conftest import SAMPLE_LINE

CS = Charset(tuple("abc"))  # 0 blank, 1 a, 2 b, 3 c


def log_probs(rows: list[list[float]]) -> np.ndarray:
    """Posterior rows -> logits whose softmax gives them back."""
    return np.log(np.asarray(rows, np.float64))


def ctc_prob(probs: np.ndarray, label: tuple[int, ...]) -> float:
    """P(label | probs) by summing every path (brute force, tiny T only)."""
    total = 0.0
    for path in itertools.product(range(probs.shape[1]), repeat=len(probs)):
        collapsed = [k for i, k in enumerate(path) if k and (i == 0 or k != path[i - 1])]
        if tuple(collapsed) == label:
            total += float(np.prod(probs[np.arange(len(probs)), path]))
    return total


def test_beam_beats_the_best_path():
    # Best path: blank, blank (0.36) reads ""; but "a" has 0.16 + 0.24 + 0.24 = 0.64.
    logits = log_probs([[0.6, 0.4, 1e-9, 1e-9]] * 2)
    assert greedy_decode(logits, CS)[0] == ""
    assert BeamDecoder(CS, width=4).decode(logits).text == "a"


@pytest.mark.parametrize("seed", range(5))
def test_a_wide_beam_finds_the_most_probable_label(seed):
    rng = np.random.default_rng(seed)
    probs = softmax(rng.normal(0, 1.5, (4, 3)))  # classes: blank, a, b
    labels = {()} | {tuple(x) for n in range(1, 5) for x in itertools.product((1, 2), repeat=n)}
    best = max(labels, key=lambda lab: ctc_prob(probs, lab))
    out = BeamDecoder(Charset(tuple("ab")), width=64).decode(np.log(probs))
    assert tuple(out.classes.tolist()) == best


def test_peaky_logits_read_as_greedy_with_spans_and_confidences():
    path = [0, 1, 1, 0, 1, 2, 2, 0, 3, 0]
    logits = np.full((len(path), 4), -4.0)
    logits[np.arange(len(path)), path] = 4.0
    out = BeamDecoder(CS, width=8).decode(logits)
    greedy = GreedyDecoder(CS).decode(logits)
    assert out.text == greedy.text == "aabc"
    assert out.spans.tolist() == greedy.spans.tolist() == [[1, 3], [4, 5], [5, 7], [8, 9]]
    np.testing.assert_allclose(out.char_confidences, greedy.char_confidences)
    assert 0 <= out.confidence <= 1


def _ambiguous_the() -> tuple[Charset, np.ndarray]:
    """'th' then a last character the model reads as 'c' (0.5) rather than 'e' (0.4)."""
    cs = Charset(tuple(" acehtx"))
    k = {s: i for i, s in enumerate(cs.symbols, start=1)}
    rows = []
    for ch in "th":
        rows += [{ch: 0.97}, {"": 0.97}]
    rows += [{"c": 0.5, "e": 0.4}, {"": 0.97}]
    probs = np.full((len(rows), cs.num_classes), 1e-4)
    for t, row in enumerate(rows):
        for s, p in row.items():
            probs[t, k[s] if s else 0] = p
    probs /= probs.sum(axis=1, keepdims=True)
    return cs, np.log(probs)


def test_the_lm_settles_an_ambiguous_character(tmp_path):
    cs, logits = _ambiguous_the()
    arpa = tmp_path / "the.arpa"  # built by our builder, read by KenLM
    build_lm(["the cat", "the hat", "then the", "a the"] * 5, 4, cs.symbols).save(arpa)
    assert greedy_decode(logits, cs)[0] == "thc"
    assert BeamDecoder(cs, width=8).decode(logits).text == "thc"  # no LM: the model's reading
    out = BeamDecoder(cs, width=8, lm=arpa, lm_weight=1.0).decode(logits)
    assert out.text == "the"
    assert out.spans.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert out.char_confidences[2] == pytest.approx(math.exp(logits[4, cs.index["e"]]))


def test_the_lexicon_settles_an_ambiguous_character():
    cs, logits = _ambiguous_the()
    out = BeamDecoder(cs, width=8, lexicon=Lexicon(["The", "cat"]), lexicon_penalty=3.0)
    assert out.decode(logits).text == "the"
    # A word outside the list only costs a penalty: a sure reading still wins.
    assert BeamDecoder(cs, width=8, lexicon=Lexicon(["cat"]), lexicon_penalty=0.1) \
        .decode(logits).text == "thc"


def _second_best(primary: int, second: int, third: int) -> np.ndarray:
    row = np.zeros(4, np.float32)
    row[[primary, second, third]] = [5.0, 4.0, 3.0]
    return row


@pytest.mark.parametrize(("allowed", "top_k", "expected"),
                         [("bc", 3, "c"), ("b", 3, "b"), ("b", 2, "a"), ("a", 1, "a")])
def test_designated_characters_in_the_beam_follow_the_reference(allowed, top_k, expected):
    logits = np.stack([np.zeros(4, np.float32), _second_best(1, 3, 2), np.zeros(4, np.float32)])
    logits[[0, 2], 0] = 6.0  # blank around the character
    d = Designated(frozenset(allowed), top_k)
    assert greedy_decode(logits, CS, d)[0] == expected
    out = BeamDecoder(CS, width=8, designated=d).decode(logits)
    assert out.text == expected
    k = CS.index[expected]
    assert out.char_confidences[0] == pytest.approx(softmax(logits)[1, k])  # model's own


def test_designated_posteriors_move_the_mass_and_stay_distributions():
    probs = softmax(np.stack([_second_best(1, 3, 2), _second_best(0, 1, 2)]))
    moved = designated_posteriors(probs, CS, Designated(frozenset("c"), 3))
    np.testing.assert_allclose(moved.sum(axis=1), 1.0)
    assert moved[0, 1] == moved[0, 2] == 0 and moved[0, 3] == pytest.approx(
        probs[0, 1:].sum())
    np.testing.assert_allclose(moved[1], probs[1])  # no 'c' in its top-3: left alone


def test_ctc_align_and_spans():
    path = np.array([0, 1, 1, 0, 1, 2, 0, 3])
    logits = np.full((len(path), 4), -3.0)
    logits[np.arange(len(path)), path] = 3.0
    aligned = ctc_align(logits, np.array([1, 1, 2, 3]))
    assert aligned.tolist() == path.tolist()
    assert aligned_spans(aligned, 4).tolist() == [[1, 3], [4, 5], [5, 6], [7, 8]]
    # a repeated character needs a blank between: 'aa' cannot fit two frames
    with pytest.raises(ValueError, match="cannot be aligned"):
        ctc_align(logits[:2], np.array([1, 1]))
    assert ctc_align(logits, np.array([], dtype=int)).tolist() == [0] * len(path)


def test_ctc_align_long_label():
    # a label of 100 characters has 201 CTC states: the backtrace must not overflow (it did
    # with NumPy 2's int8 arithmetic once a state passed 127)
    classes = np.array([1, 2, 3, 2] * 25)
    path = np.zeros(2 * len(classes) + 1, dtype=int)
    path[1::2] = classes
    logits = np.full((len(path), 4), -3.0)
    logits[np.arange(len(path)), path] = 3.0
    aligned = ctc_align(logits, classes)
    assert aligned.tolist() == path.tolist()
    assert len(aligned_spans(aligned, len(classes))) == len(classes)


def test_empty_input_and_bad_options():
    out = BeamDecoder(CS).decode(np.zeros((0, 4), np.float32))
    assert out.text == "" and out.spans.shape == (0, 2) and out.confidence == 0.0
    with pytest.raises(ValueError, match="width"):
        BeamDecoder(CS, width=0)
    with pytest.raises(ValueError, match="confidence"):
        BeamDecoder(CS, confidence="median")


def test_read_with_beam_lm_and_review(tmp_path, capsys):
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("picture\npassport\n", encoding="utf-8")
    args = ["read", str(SAMPLE_LINE), "--json", "--beam-width", "4", "--lm", "default",
            "--lexicon", str(lexicon), "--min-confidence", "1.0"]
    assert main(args) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["review"] is True and 0 <= row["confidence"] <= 1
    assert row["text"] == "".join(c["char"] for c in row["chars"])
    assert main(["read", str(SAMPLE_LINE), "--min-confidence", "0"]) == 0
    assert "[review]" not in capsys.readouterr().out
    assert main(["read", str(SAMPLE_LINE), "--lm", str(tmp_path / "none.arpa")]) == 2
    assert "language model file not found" in capsys.readouterr().err
    assert main(["read", str(SAMPLE_LINE), "--min-confidence", "2"]) == 2
