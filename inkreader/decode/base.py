"""What every CTC decoder shares: the ``Decoder`` protocol the Recognizer calls, the
``DecodedLine`` it returns, posteriors (``softmax``), the Viterbi alignment behind a search's
spans (``ctc_align``), the characters' and line's confidences, and the reference's designated
characters rule (per emitted character for greedy, per frame for a beam search). The decoders:
``greedy.py`` (the reference's best path), ``beam.py`` (character LM), ``words.py`` (word LM).

Logits arrive as (T, C) per line (numpy). Blank is class 0. Every decoder returns a
``DecodedLine``: the text (never with leading or trailing spaces), each character's frame span
and confidence, the line's confidence (docs/decoding.md, docs/confidence.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..charset import BLANK, Charset
from .defaults import LINE_CONFIDENCE

# --- the reference's designated characters -------------------------------------------------

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

        from ..errors import CharsetError
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


def designated_posteriors(probs: np.ndarray, charset: Charset,
                          designated: Designated) -> np.ndarray:
    """(T, C) posteriors -> (T, C) with each frame's non-designated characters' mass moved to
    the best designated class among that frame's top-k, and left where it is when the top-k
    holds none: the reference's replacement rule, frame by frame, for the beam search."""
    allowed = np.zeros(charset.num_classes, dtype=bool)
    for k, s in enumerate(charset.symbols, start=1):
        allowed[k] = s in designated.allowed
    banned = ~allowed
    banned[BLANK] = False  # the blank is never replaced and never a replacement
    out = probs.copy()
    top = np.argsort(-probs, axis=1, kind="stable")[:, : designated.top_k]  # (T, k)
    hit = allowed[top]  # (T, k)
    rows = np.flatnonzero(hit.any(axis=1))
    target = top[rows, hit[rows].argmax(axis=1)]
    out[rows, target] += (probs[rows][:, banned]).sum(axis=1)
    out[np.ix_(rows, np.flatnonzero(banned))] = 0.0
    return out


# --- what a decoder returns, and how it is scored ------------------------------------------

@dataclass(frozen=True)
class DecodedLine:
    """A decoded line in frame units: the text and, per character, its class, the frames
    [start, end) of its best-path run, and its confidence in [0, 1]."""

    text: str
    classes: np.ndarray  # (N,) emitted classes
    spans: np.ndarray  # (N, 2) frame runs [start, end)
    char_confidences: np.ndarray  # (N,) float
    confidence: float  # the whole line, in [0, 1]


class Decoder(Protocol):
    """What the Recognizer calls for each line (from several threads at once)."""

    def decode(self, logits: np.ndarray) -> DecodedLine:
        """(T, C) logits of one line -> DecodedLine."""
        ...


def softmax(logits: np.ndarray) -> np.ndarray:
    """(T, C) logits -> (T, C) posteriors, computed stably in float64."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-posteriors over the last axis (float32)."""
    x = logits.astype(np.float32, copy=False)
    top = x.max(axis=-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=-1, keepdims=True))


def inner(classes: np.ndarray, charset: Charset) -> slice:
    """The slice of ``classes`` without whitespace symbols at either end: read text never
    starts or ends with a space."""
    kept = np.flatnonzero(~charset.whitespace[classes])
    return slice(int(kept[0]), int(kept[-1]) + 1) if kept.size else slice(0, 0)


def frame_runs(path: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(T,) best path, (N,) emission frames -> (N, 2) [start, end) of the run each starts."""
    changes = np.append(np.flatnonzero(path[1:] != path[:-1]) + 1, path.size)
    ends = changes[np.searchsorted(changes, frames, side="right")]
    return np.stack([frames, ends], axis=1) if frames.size else np.zeros((0, 2), dtype=np.int64)


# --- confidences, and the alignment a search's spans come from ------------------------------

LINE_CONFIDENCES = ("min", "mean", "geomean", "path")  # the shipped one: defaults.py


def line_confidence(char_conf: np.ndarray, path_probs: np.ndarray, blank_probs: np.ndarray,
                    kind: str = LINE_CONFIDENCE) -> float:
    """A line's confidence in [0, 1] from its characters' confidences (N,) and the posteriors
    along its alignment path (T,): ``min`` the least sure character, ``mean`` / ``geomean``
    their arithmetic / geometric mean, ``path`` the geometric mean over frames of the path's
    posteriors (blank frames included, so a doubtful gap between two characters counts). An
    empty line: the mean posterior of the blank (how sure the model is that nothing is there)."""
    if kind not in LINE_CONFIDENCES:
        raise ValueError(f"unknown line confidence {kind!r} (one of {LINE_CONFIDENCES})")
    if not char_conf.size:
        return float(blank_probs.mean()) if blank_probs.size else 0.0
    if kind == "min":
        return float(char_conf.min())
    if kind == "mean":
        return float(char_conf.mean())
    if kind == "geomean":
        return float(np.exp(np.log(np.maximum(char_conf, 1e-300)).mean()))
    return float(np.exp(np.log(np.maximum(path_probs, 1e-300)).mean()))


def ctc_align(logp: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Viterbi (forced) alignment of a label sequence to (T, C) log posteriors -> (T,) the
    class of each frame on the most probable CTC path that reads ``classes`` (blank = 0).
    The label must fit: T >= N + adjacent repeats."""
    n = len(classes)
    ext = np.zeros(2 * n + 1, dtype=np.int64)  # blank, c1, blank, c2, ..., blank
    ext[1::2] = classes
    s = len(ext)
    skip = np.zeros(s, dtype=bool)  # may jump over the blank before this state
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    score = np.full(s, -np.inf)
    score[0] = logp[0, BLANK]
    if n:
        score[1] = logp[0, ext[1]]
    back = np.zeros((len(logp), s), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    stacked = np.full((3, s), -np.inf)  # from the same state, from s - 1, from s - 2
    for t in range(1, len(logp)):
        stacked[0] = score
        stacked[1, 1:] = score[:-1]
        stacked[2, 2:] = np.where(skip[2:], score[:-2], -np.inf)
        back[t] = stacked.argmax(axis=0)
        score = stacked.max(axis=0) + logp[t, ext]
    state = s - 1 if s == 1 or score[s - 1] >= score[s - 2] else s - 2
    if score[state] == -np.inf:
        raise ValueError(f"{n} characters cannot be aligned to {len(logp)} frames")
    path = np.empty(len(logp), dtype=np.int64)
    for t in range(len(logp) - 1, -1, -1):
        path[t] = ext[state]
        state -= int(back[t, state])  # a numpy int8 would overflow past state 127
    return path


def aligned_spans(path: np.ndarray, n: int) -> np.ndarray:
    """(T,) aligned path of N characters -> (N, 2) frame runs [start, end): a new character
    starts where the path enters a non-blank class from another class or from a blank."""
    starts = np.flatnonzero((path != BLANK) & np.concatenate(([True], path[1:] != path[:-1])))
    if len(starts) != n:  # a repeated class needs a blank in between: ctc_align guarantees it
        raise ValueError(f"alignment has {len(starts)} characters, expected {n}")
    return frame_runs(path, starts)


def scored_line(text: str, classes: np.ndarray, probs: np.ndarray, path: np.ndarray,
                spans: np.ndarray, kind: str) -> DecodedLine:
    """Characters' confidences (the highest posterior of their class over their run) and the
    line's (``line_confidence``), from (T, C) posteriors and the (T,) path read."""
    conf = np.array([probs[s:e, k].max() for k, (s, e) in zip(classes, spans, strict=True)])
    path_probs = probs[np.arange(len(path)), path]
    line = line_confidence(conf, path_probs, probs[:, BLANK], kind)
    return DecodedLine(text, classes, spans, conf, line)
