"""The hand-written CTC prefix beam search that inkreader shipped before issue 39 (pure
Python, with ``inkreader.decode.lm.CharLM`` and a soft lexicon inside the search), kept ONLY so that
``bench/decoding.py --compare`` can measure it against the flashlight-text decoder that
replaced it (docs/decoding.md). Not used by inkreader itself.
"""

from __future__ import annotations

import math

import numpy as np

from inkreader.charset import BLANK, Charset
from inkreader.decode.greedy import (
    LINE_CONFIDENCE,
    LINE_CONFIDENCES,
    DecodedLine,
    Designated,
    aligned_spans,
    ctc_align,
    designated_posteriors,
    inner,
    scored_line,
    softmax,
)
from inkreader.decode.lexicon import is_word_char

# --- beam search -----------------------------------------------------------------------------

NEG = -math.inf
DEFAULT_BEAM_WIDTH = 16
# Tuned on the Hooker val split with the shipped model (bench/decoding.py --tune, docs/decoding.md).
DEFAULT_LM_WEIGHT = 0.75
DEFAULT_BONUS = 2.0
# cost of a word outside the lexicon (natural-log units, once per word); bench/decoding.py
# --tune chose it on val with the shipped lexicon and the session-8 model (docs/decoding.md)
DEFAULT_OOV_PENALTY = 5.0


def _lse(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) for Python floats (the beam's inner loop: no numpy scalars)."""
    if a < b:
        a, b = b, a
    return a if b == NEG else a + math.log1p(math.exp(b - a))


class _Hyp:
    """One prefix: log P(ends in blank), log P(ends in a character), LM log-probability and
    state, lexicon penalty, the word being written and whether it already left the lexicon."""

    __slots__ = ("pb", "pnb", "lm", "state", "pen", "word", "oov")

    def __init__(self, lm: float, state: str, pen: float, word: str, oov: bool):
        self.pb = self.pnb = NEG
        self.lm, self.state, self.pen, self.word, self.oov = lm, state, pen, word, oov


class BeamDecoder:
    """CTC prefix beam search with an optional character n-gram LM and word lexicon.

    A prefix's score is log P_ctc(prefix) + ``lm_weight`` * ln P_lm(prefix) + ``bonus`` * its
    length + the lexicon penalties; at the end the LM also scores the end of the line. Per
    frame only characters with a posterior of at least ``min_prob`` (at most ``candidates``
    of them) extend a prefix. The lexicon (case-insensitive) costs ``oov_penalty`` once per
    word, when the word stops being a prefix of a listed word or ends unlisted. Designated
    characters: the search runs on ``designated_posteriors`` (the reference's rule applied
    to every frame). Spans come from the Viterbi alignment of the text read, confidences
    from the model's own posteriors, exactly as for ``GreedyDecoder``.
    """

    def __init__(self, charset: Charset, width: int = 16, lm=None, lm_weight: float = 0.5,
                 bonus: float = 0.0, lexicon=None, oov_penalty: float = DEFAULT_OOV_PENALTY,
                 designated: Designated | None = None, confidence: str = LINE_CONFIDENCE,
                 min_prob: float = 1e-3, candidates: int = 8):
        if width < 1:
            raise ValueError(f"beam width must be at least 1, got {width}")
        if confidence not in LINE_CONFIDENCES:
            raise ValueError(f"unknown line confidence {confidence!r}")
        self.charset, self.width, self.lm, self.lm_weight = charset, width, lm, lm_weight
        self.bonus, self.lexicon, self.oov_penalty = bonus, lexicon, oov_penalty
        self.designated, self.confidence = designated, confidence
        self.min_log = math.log(min_prob)
        self.candidates = candidates

    def decode(self, logits: np.ndarray) -> DecodedLine:
        """(T, C) logits of one line -> DecodedLine."""
        probs = softmax(logits)  # (T, C)
        search = probs if self.designated is None else \
            designated_posteriors(probs, self.charset, self.designated)
        with np.errstate(divide="ignore"):
            logp = np.log(search)
        classes = np.array(self.search(logp), dtype=np.int64)
        classes = classes[inner(classes, self.charset)]  # as inkreader's decoders do
        path = ctc_align(logp, classes) if len(logp) else np.zeros(0, np.int64)
        return scored_line(self.charset.decode(classes), classes, probs, path,
                           aligned_spans(path, len(classes)), self.confidence)

    def search(self, logp: np.ndarray) -> list[int]:
        """(T, C) log posteriors -> the best prefix (classes)."""
        top = np.argsort(-logp[:, 1:], axis=1)[:, : self.candidates] + 1  # (T, k)
        keep = np.take_along_axis(logp, top, axis=1) >= self.min_log
        # A prefix is a str of chr(class): its hash is cached, unlike a tuple's.
        beams = {"": self._start()}
        beams[""].pb = 0.0
        for t in range(len(logp)):
            row = logp[t].tolist()
            cands = [(c, chr(c)) for c in top[t][keep[t]].tolist()]
            nxt: dict[str, _Hyp] = {}
            for prefix, h in beams.items():
                p = _lse(h.pb, h.pnb)
                last = ord(prefix[-1]) if prefix else -1
                e = nxt.get(prefix)
                if e is None:
                    e = nxt[prefix] = self._copy(h)
                e.pb = _lse(e.pb, p + row[BLANK])
                if prefix:
                    e.pnb = _lse(e.pnb, h.pnb + row[last])
                for c, key in cands:
                    base = (h.pb if c == last else p) + row[c]
                    longer = prefix + key
                    e = nxt.get(longer)
                    if e is None:
                        e = nxt[longer] = self._extend(h, c)
                    e.pnb = _lse(e.pnb, base)
            beams = dict(sorted(nxt.items(), key=lambda kv: -self._score(*kv))[: self.width])
        best = max(beams.items(), key=lambda kv: self._final(*kv))[0]
        return [ord(k) for k in best]

    # --- hypothesis bookkeeping ------------------------------------------------------------

    def _start(self) -> _Hyp:
        return _Hyp(0.0, self.lm.begin() if self.lm else "", 0.0, "", False)

    @staticmethod
    def _copy(h: _Hyp) -> _Hyp:
        return _Hyp(h.lm, h.state, h.pen, h.word, h.oov)

    def _extend(self, h: _Hyp, c: int) -> _Hyp:
        ch = self.charset.symbols[c - 1]
        lm, state = h.lm, h.state
        if self.lm is not None:
            lp, state = self.lm.score(state, ch)
            lm += lp
        e = _Hyp(lm, state, h.pen, h.word, h.oov)
        if self.lexicon is not None:
            if is_word_char(ch):
                e.word = h.word + ch.lower()
                if not h.oov and not self.lexicon.is_prefix(e.word):
                    e.pen, e.oov = h.pen - self.oov_penalty, True
            else:
                e.pen, e.word, e.oov = h.pen + self._word_end(h), "", False
        return e

    def _word_end(self, h: _Hyp) -> float:
        return -self.oov_penalty if h.word and not h.oov and h.word not in self.lexicon else 0.0

    def _score(self, prefix: str, h: _Hyp) -> float:
        return (_lse(h.pb, h.pnb) + self.lm_weight * h.lm + self.bonus * len(prefix) + h.pen)

    def _final(self, prefix: str, h: _Hyp) -> float:
        end = self.lm_weight * self.lm.end(h.state) if self.lm is not None else 0.0
        if self.lexicon is not None:
            end += self._word_end(h)
        return self._score(prefix, h) + end
