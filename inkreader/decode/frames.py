"""Frame pruning before a CTC beam search: most frames are near-certain blank.

A frame whose blank posterior is at least ``sure`` is a *sure blank*. In a run of sure blanks
only the first frame is kept, and the search lets every hypothesis read nothing but the blank
there (``search_steps``: flashlight is given that frame's blank column alone, so it tries no
character and asks the LM nothing). Every hypothesis then takes the blank on every frame of
the run, at the same cost for all of them, so one frame of it ranks the hypotheses exactly as
the whole run would; what the search loses is only the paths that read a character (of
posterior at most 1 - ``sure``) inside a sure-blank run. CTC's collapse is unchanged: a
repeated character keeps the blank frame between its two runs, and no character frame is
dropped. On the shipped model's val lines at the default ``sure`` = 0.99 the search reads 49 %
of the frames in full and 15 % as blank only, and skips the rest (at 0.999: 65 % and 10 %;
docs/decoding.md, "Frame pruning").
"""

from __future__ import annotations

import math

import numpy as np

from ..charset import BLANK


def kept_frames(logp: np.ndarray, sure: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, C) log posteriors -> (indices of the frames to keep, ascending; whether each kept
    frame is a sure blank). Every frame is kept but a sure blank after a sure blank."""
    if not 0.5 < sure <= 1.0:
        raise ValueError(f"a sure blank's posterior must be in (0.5, 1], got {sure}")
    blank = logp[:, BLANK] >= math.log(sure)  # (T,)
    drop = np.zeros(len(logp), dtype=bool)
    drop[1:] = blank[1:] & blank[:-1]
    kept = np.flatnonzero(~drop)
    return kept, blank[kept]


def expand_path(path: np.ndarray, kept: np.ndarray, frames: int) -> np.ndarray:
    """A class per kept frame (the alignment of the kept frames) -> a class per frame of the
    line: each dropped frame takes its kept predecessor's class (a blank, unless the alignment
    put a character on a sure blank). The expanded path reads the same label: a frame that
    repeats its predecessor's class is merged by the collapse."""
    if frames == 0:
        return np.zeros(0, np.int64)
    # each frame's owner: the last kept frame at or before it (frame 0 is always kept)
    owner = np.searchsorted(kept, np.arange(frames), side="right") - 1
    return np.asarray(path)[owner]


def search_steps(logp: np.ndarray, blank_only: np.ndarray | None) -> list[np.ndarray]:
    """(T, C) float32 log posteriors -> the contiguous (t, N) blocks to give flashlight's
    ``decode_step`` in turn: runs of ordinary frames with every class, and each blank-only
    frame as its blank column alone (N = 1: class 0 is the blank, so the search can read
    nothing else there)."""
    if blank_only is None or not blank_only.any():
        return [np.ascontiguousarray(logp, dtype=np.float32)]
    edges = np.flatnonzero(np.diff(blank_only.astype(np.int8))) + 1
    steps = []
    for start, end in zip(np.r_[0, edges], np.r_[edges, len(logp)], strict=True):
        block = logp[start:end, :1] if blank_only[start] else logp[start:end]
        steps.append(np.ascontiguousarray(block, dtype=np.float32))
    return steps


def ctc_align_states(logp: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The Viterbi (forced) alignment of ``base.ctc_align`` -- (T, C) log posteriors and a
    label -> (T,) the class of each frame on the most probable CTC path reading the label, ties
    broken alike (staying in a state before entering it, then the nearer state) -- computed
    state by state instead of frame by frame: a line has fewer states (2N + 1, about 56 on the
    val sets) than kept frames (about 88), and each state takes a handful of NumPy calls over
    all frames. Within a state the score is the frame posteriors' running sum plus the running
    maximum of (entering score - that sum), so one ``maximum.accumulate`` replaces the frame
    loop. The label must fit: T >= N + adjacent repeats."""
    n, frames = len(classes), len(logp)
    ext = np.zeros(2 * n + 1, dtype=np.int64)  # blank, c1, blank, c2, ..., blank
    ext[1::2] = classes
    states = len(ext)
    skip = np.zeros(states, dtype=bool)  # may jump over the blank before this state
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    csum = np.cumsum(logp[:, ext].T.astype(np.float64), axis=1)  # (S, T) running sums
    score = np.empty((states, frames))  # Viterbi score of each state at each frame
    enter = np.full((states, frames), -np.inf)  # best score entering the state at frame t
    best = np.empty((states, frames))  # running maximum of ``enter``
    for s in range(states):
        if s:
            into = score[s - 1] if not skip[s] else np.maximum(score[s - 1], score[s - 2])
            np.subtract(into[:-1], csum[s, :-1], out=enter[s, 1:])
        if s < 2:
            enter[s, 0] = 0.0  # the path may start in the first blank or the first character
        np.maximum.accumulate(enter[s], out=best[s])
        np.add(best[s], csum[s], out=score[s])
    state = states - 1 if states == 1 or score[-1, -1] >= score[-2, -1] else states - 2
    if score[state, -1] == -np.inf:
        raise ValueError(f"{n} characters cannot be aligned to {frames} frames")
    path = np.empty(frames, dtype=np.int64)
    t = frames - 1
    while True:
        # the state was entered at the first frame where its running maximum reached its
        # value at t (staying is preferred on a tie, as in the frame-by-frame recursion)
        start = int((enter[state, : t + 1] == best[state, t]).argmax())
        path[start: t + 1] = ext[state]
        if start == 0:
            return path
        t = start - 1
        state -= 1 if not skip[state] or score[state - 1, t] >= score[state - 2, t] else 2
