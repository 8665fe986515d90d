"""CTC decoding: greedy (best path) exactly as the reference, with designated characters.

Logits arrive as (T, C) per line (numpy). Blank is class 0.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    for i, (k, t) in enumerate(zip(classes, frames)):
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
