"""Greedy (best path) CTC decoding, exactly as the reference: the most probable class of each
frame, repeats merged, blanks dropped, then the reference's designated characters. The decoder
the reference contract reads with (``--greedy``); ``beam.py`` and ``words.py`` search instead.
"""

from __future__ import annotations

import numpy as np

from ..charset import BLANK, Charset
from .base import (
    LINE_CONFIDENCES,
    DecodedLine,
    Designated,
    apply_designated,
    frame_runs,
    inner,
    scored_line,
    softmax,
)
from .defaults import LINE_CONFIDENCE


def best_path(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, C) -> (emitted classes, the frame index each was emitted at)."""
    path = logits.argmax(axis=1)
    keep = path != BLANK
    keep[1:] &= path[1:] != path[:-1]
    frames = np.flatnonzero(keep)
    return path[frames], frames


def greedy_decode(logits: np.ndarray, charset: Charset,
                  designated: Designated | None = None) -> tuple[str, np.ndarray, np.ndarray]:
    """(T, C) logits -> (text, emitted classes, their frames)."""
    classes, frames = best_path(logits)
    if designated is not None:
        classes = apply_designated(logits, classes, frames, charset, designated)
    return charset.decode(classes), classes, frames


class GreedyDecoder:
    """Best-path CTC decoding (``greedy_decode``'s text, less spaces at either end) plus
    confidences and frame spans.

    The Recognizer calls only ``decode``; ``beam.BeamDecoder`` takes its place by offering the same
    method. Confidences come from the CTC posteriors: a character's is the highest posterior of
    its class over its run of frames; the line's is ``line_confidence`` of kind ``confidence``
    (default ``LINE_CONFIDENCE``, the geometric mean of the characters' confidences),
    or, for an empty line, the mean posterior of the blank.
    """

    def __init__(self, charset: Charset, designated: Designated | None = None,
                 confidence: str = LINE_CONFIDENCE):
        if confidence not in LINE_CONFIDENCES:
            raise ValueError(f"unknown line confidence {confidence!r}")
        self.charset = charset
        self.designated = designated
        self.confidence = confidence

    def decode(self, logits: np.ndarray) -> DecodedLine:
        """(T, C) logits of one line -> DecodedLine."""
        _, classes, frames = greedy_decode(logits, self.charset, self.designated)
        keep = inner(classes, self.charset)
        classes, frames = classes[keep], frames[keep]
        text = self.charset.decode(classes)
        probs = softmax(logits)  # (T, C)
        path = logits.argmax(axis=1)
        return scored_line(text, classes, probs, path, frame_runs(path, frames),
                           self.confidence)
