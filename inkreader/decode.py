"""CTC decoding: greedy (best path) exactly as the reference, with designated characters.

Logits arrive as (T, C) per line (numpy). Blank is class 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .charset import BLANK, Charset


@dataclass(frozen=True)
class Designated:
    """The reference demo's designated characters: an allowed set and a top-k to search."""

    allowed: frozenset[str]
    top_k: int = 20

    @classmethod
    def load(cls, path, top_k: int = 20) -> Designated:
        """One character a line, as the reference's ``-dc`` file (a line holding a space allows
        the space; the reference's ``line.strip()`` could not express that)."""
        from pathlib import Path

        from .errors import CharsetError
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CharsetError(f"{path}: cannot read designated characters ({exc})") from None
        allowed = {line.rstrip("\r\n") for line in text.splitlines()} - {""}
        if not allowed:
            raise CharsetError(f"{path}: no designated characters in the file")
        if top_k < 1:
            raise CharsetError(f"top-k must be at least 1, got {top_k}")
        return cls(frozenset(allowed), top_k)


def best_path(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, C) -> (emitted classes, the frame index each was emitted at)."""
    path = logits.argmax(axis=1)
    keep = path != BLANK
    keep[1:] &= path[1:] != path[:-1]
    frames = np.flatnonzero(keep)
    return path[frames], frames


def apply_designated(logits: np.ndarray, classes: np.ndarray, frames: np.ndarray,
                     charset: Charset, designated: Designated) -> np.ndarray:
    """Replace each emitted class outside the allowed set by the best allowed class among its
    frame's top-k; keep it if none is there (reference ``CTCCodec.decode``)."""
    allowed = np.zeros(charset.num_classes, dtype=bool)
    for k, s in enumerate(charset.symbols, start=1):
        allowed[k] = s in designated.allowed
    out = classes.copy()
    for i, (k, t) in enumerate(zip(classes, frames, strict=True)):
        if allowed[k]:
            continue
        top = np.argsort(logits[t])[::-1][: designated.top_k]
        hits = top[allowed[top]]
        if hits.size:
            out[i] = hits[0]
    return out


def greedy_decode(logits: np.ndarray, charset: Charset,
                  designated: Designated | None = None) -> tuple[str, np.ndarray, np.ndarray]:
    """(T, C) logits -> (text, emitted classes, their frames)."""
    classes, frames = best_path(logits)
    if designated is not None:
        classes = apply_designated(logits, classes, frames, charset, designated)
    return charset.decode(classes), classes, frames


# --- decoding with confidences and positions (the one call the Recognizer makes) -------------

@dataclass(frozen=True)
class DecodedLine:
    """A decoded line in frame units: the text and, per character, its class, the frames
    [start, end) of its best-path run, and its confidence in [0, 1]."""

    text: str
    classes: np.ndarray  # (N,) emitted classes
    spans: np.ndarray  # (N, 2) frame runs [start, end)
    char_confidences: np.ndarray  # (N,) float
    confidence: float  # the whole line, in [0, 1]


def softmax(logits: np.ndarray) -> np.ndarray:
    """(T, C) logits -> (T, C) posteriors, computed stably in float64."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def frame_runs(path: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(T,) best path, (N,) emission frames -> (N, 2) [start, end) of the run each starts."""
    changes = np.append(np.flatnonzero(path[1:] != path[:-1]) + 1, path.size)
    ends = changes[np.searchsorted(changes, frames, side="right")]
    return np.stack([frames, ends], axis=1) if frames.size else np.zeros((0, 2), dtype=np.int64)


class Decoder(Protocol):
    """What the Recognizer calls for each line (from several threads at once)."""

    def decode(self, logits: np.ndarray) -> DecodedLine:
        """(T, C) logits of one line -> DecodedLine."""
        ...


class GreedyDecoder:
    """Best-path CTC decoding (exactly ``greedy_decode``'s text) plus confidences and frame spans.

    The Recognizer calls only ``decode``; a beam-search decoder can take its place by offering
    the same method. Confidences come from the CTC posteriors: a character's is the highest
    posterior of its class over its run of frames; the line's is the lowest of its characters'
    (one doubtful character makes a doubtful line), or, for an empty line, the mean posterior
    of the blank.
    """

    def __init__(self, charset: Charset, designated: Designated | None = None):
        self.charset = charset
        self.designated = designated

    def decode(self, logits: np.ndarray) -> DecodedLine:
        """(T, C) logits of one line -> DecodedLine."""
        text, classes, frames = greedy_decode(logits, self.charset, self.designated)
        probs = softmax(logits)  # (T, C)
        spans = frame_runs(logits.argmax(axis=1), frames)
        conf = np.array([probs[s:e, k].max() for k, (s, e) in zip(classes, spans, strict=True)])
        if conf.size:
            line = float(conf.min())
        else:
            line = float(probs[:, BLANK].mean()) if len(probs) else 0.0
        return DecodedLine(text, classes, spans, conf, line)
