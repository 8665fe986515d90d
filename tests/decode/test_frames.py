"""Frame pruning before the beam search (decode/frames.py): on the shipped model's real logits
the pruned frames read as the whole line does (CTC's collapse of the best path, doubled letters
included), the search on them finds the same text, and the spans map back to the line."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from inkreader.charset import BLANK, Charset
from inkreader.decode.base import ctc_align, log_softmax
from inkreader.decode.beam import BeamDecoder
from inkreader.decode.defaults import DEFAULT_SURE_BLANK
from inkreader.decode.frames import ctc_align_states, expand_path, kept_frames, search_steps
from inkreader.decode.greedy import best_path
from inkreader.decode.options import GREEDY, DecodingOptions
from inkreader.errors import InkreaderError

from ..conftest import HOOKER_TSV

SURE = 0.999  # a threshold that keeps the search's reading on these lines
LINES = 10


class _Keep:
    """A Recognizer decoder that keeps each line's logits."""

    def __init__(self):
        self.logits = []

    def decode(self, logits):
        from inkreader.decode.greedy import GreedyDecoder

        self.logits.append(np.array(logits))
        return GreedyDecoder(Charset.gnhk()).decode(logits)


@pytest.fixture(scope="module")
def doubled_lines() -> list[tuple[str, np.ndarray]]:
    """(label, (T, C) log posteriors of the shipped model) of the first short Hooker val lines
    whose label holds a doubled letter."""
    from inkreader.runtime.recognizer import Recognizer

    with open(HOOKER_TSV, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["split"] == "val" and re.search(r"([a-z])\1", r["text"])
                and len(r["text"]) <= 30][:LINES]
    rec = Recognizer.load(backend="torch", decoding=GREEDY)
    rec.decoder = keep = _Keep()
    for r in rows:  # one line a call: the logits arrive in order
        rec.read_paths([HOOKER_TSV.parent / r["file"]])
    return [(r["text"], log_softmax(x)) for r, x in zip(rows, keep.logits, strict=True)]


def test_pruning_keeps_the_collapse_on_real_logits(doubled_lines):
    dropped = doubled = 0
    for _, logp in doubled_lines:
        kept, blank_only = kept_frames(logp, SURE)
        full, _ = best_path(logp)
        pruned, _ = best_path(logp[kept])
        assert pruned.tolist() == full.tolist()
        # a blank-only frame is one the best path reads as blank
        assert (logp[kept][blank_only].argmax(axis=1) == BLANK).all()
        dropped += len(logp) - len(kept)
        doubled += int((full[1:] == full[:-1]).sum())
    assert dropped > 0.1 * sum(len(x) for _, x in doubled_lines)  # it prunes something
    assert doubled >= 3  # the network read doubled letters on these lines: they survived


def test_pruned_search_reads_the_full_search_text(doubled_lines):
    cs = Charset.gnhk()
    full = BeamDecoder(cs, width=16, lm=None, sure=None)
    pruned = BeamDecoder(cs, width=16, lm=None, sure=SURE)
    same = 0
    for _, logp in doubled_lines:
        a, b = full.decode(logp), pruned.decode(logp)
        same += a.text == b.text
        assert b.spans.shape == (len(b.text), 2) and (b.spans[:, 1] <= len(logp)).all()
    assert same >= len(doubled_lines) - 1


def test_a_repeated_character_keeps_one_blank_between():
    # a, a, then five sure blanks, then a: "aa" needs the blank between its two runs
    rows = [[0.001, 0.999]] * 2 + [[0.9999, 0.0001]] * 5 + [[0.001, 0.999]]
    logp = np.log(np.asarray(rows))
    kept, blank_only = kept_frames(logp, SURE)
    assert kept.tolist() == [0, 1, 2, 7] and blank_only.tolist() == [False, False, True, False]
    assert best_path(logp[kept])[0].tolist() == [1, 1]
    path = expand_path(ctc_align(logp[kept], np.array([1, 1])), kept, len(logp))
    assert path.tolist() == [1, 1, 0, 0, 0, 0, 0, 1]


def test_search_steps_give_the_blank_alone_on_sure_frames():
    logp = np.log(np.full((5, 3), 1 / 3, np.float32))
    steps = search_steps(logp, np.array([False, True, False, False, True]))
    assert [s.shape for s in steps] == [(1, 3), (1, 1), (2, 3), (1, 1)]
    assert all(s.flags.c_contiguous and s.dtype == np.float32 for s in steps)
    assert [s.shape for s in search_steps(logp, None)] == [(5, 3)]


def test_the_option_is_checked_and_reaches_the_decoder():
    plain = DecodingOptions(lm=None, lexicon=None)  # no LM to load
    assert plain.decoder(Charset.gnhk()).sure == DEFAULT_SURE_BLANK == DecodingOptions().sure_blank
    assert plain.with_(sure_blank=None).decoder(Charset.gnhk()).sure is None
    for bad in (0.5, 1.5):
        with pytest.raises(InkreaderError, match="sure-blank"):
            DecodingOptions(sure_blank=bad)
        with pytest.raises(ValueError, match="sure blank"):
            kept_frames(np.zeros((2, 3)), bad)


def test_the_state_by_state_alignment_is_the_frame_by_frame_one(doubled_lines):
    # on real lines, for the label read by greedy decoding, by a beam and the true label: the
    # same path as greedy.ctc_align (the beam's alignment), doubled letters included
    cs = Charset.gnhk()
    beam = BeamDecoder(cs, width=16, lm=None, sure=SURE)
    checked = 0
    for label, logp in doubled_lines:
        kept, blank_only = kept_frames(logp, SURE)
        x = logp[kept]
        labels = [best_path(x)[0], beam.search(x, blank_only), cs.encode(label)]
        for classes in labels:
            classes = np.asarray(classes, np.int64)
            try:
                want = ctc_align(x, classes)
            except ValueError:  # a label too long for the kept frames: both refuse it
                with pytest.raises(ValueError, match="cannot be aligned"):
                    ctc_align_states(x, classes)
                continue
            assert ctc_align_states(x, classes).tolist() == want.tolist()
            checked += 1
    assert checked >= 2 * len(doubled_lines)


def test_the_state_by_state_alignment_on_small_cases():
    path = np.array([0, 1, 1, 0, 1, 2, 0, 3])
    logits = np.full((len(path), 4), -3.0)
    logits[np.arange(len(path)), path] = 3.0
    assert ctc_align_states(logits, np.array([1, 1, 2, 3])).tolist() == path.tolist()
    with pytest.raises(ValueError, match="cannot be aligned"):  # 'aa' cannot fit two frames
        ctc_align_states(logits[:2], np.array([1, 1]))
    assert ctc_align_states(logits, np.array([], dtype=int)).tolist() == [0] * len(path)
    assert ctc_align_states(logits[:1], np.array([2])).tolist() == [2]
    # ties (flat posteriors) are broken as the frame-by-frame recursion breaks them
    flat = np.zeros((6, 4))
    for classes in ([1], [1, 1], [2, 3, 2]):
        assert ctc_align_states(flat, np.array(classes)).tolist() == \
            ctc_align(flat, np.array(classes)).tolist()
