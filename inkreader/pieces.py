"""New words in the writer's own hand, put together from pieces of the words of real training
lines (``inkreader stitch --new-words RATE``; docs/training.md).

The default model reads the Hooker val words it has seen in the train split at about 16 % CER
and the words it has not seen at about 32 %: it has learnt whole words of one hand more than
their letters. Stitched lines (inkreader/stitch.py) give the train words in new orders; this
module gives it words the train split does not have, in the same hand. Every cut word carries
its character bounds (the palest column between the aligned frames of two neighbouring
characters, ``stitch.char_bounds``); a new word is spelt greedily from the longest pieces (runs
of up to MAX_PIECE characters) that some cut word has, preferring pieces that start or end a
word where the new word starts or ends (capitals, entry and exit strokes) and pieces from the
page of the line being made (same pen, paper and scale). The pieces are lined up on their
source words' core bands and paper levels and cross-faded over INNER_SEAM_PX columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .augment import paper_level
from .stitch import Word, WordBank, core_row, join

MAX_PIECE = 6  # characters: longer runs are whole syllables of a real word; enough
MIN_CHAR_PX = 4  # a piece narrower than this per character was cut from a bad alignment
INNER_SEAM_PX = 3  # cross-fade inside a word, where the cut is in a thin joining stroke
EDGE_PX = 12  # paper put before / after a word whose first / last piece is mid-word
_START, _END = 1, 2  # a piece begins / ends its source word
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_EDGE = re.compile(r"^([^A-Za-z0-9]*)(.*?)([^A-Za-z0-9]*)$")


def _ink_extent(img: np.ndarray) -> tuple[int, int]:
    """The first and one past the last column with ink (a tenth of the darkest column's)."""
    cols = (paper_level(img) - img.astype(np.float32)).clip(0).sum(axis=0)
    inked = np.flatnonzero(cols > 0.1 * cols.max()) if cols.max() > 0 else np.array([])
    return (int(inked[0]), int(inked[-1]) + 1) if inked.size else (0, img.shape[1])


class PieceIndex:
    """Where each run of 1..MAX_PIECE characters occurs in the bank's words, by page and by
    whether the run starts and / or ends its word."""

    def __init__(self, bank: WordBank):
        self.words = bank.words
        self.rows = [core_row(w.image) for w in bank.words]
        self.papers = [paper_level(w.image) for w in bank.words]
        self.depths = [max(p - float(np.percentile(w.image, 1)), 1.0)  # how dark the pen is
                       for w, p in zip(bank.words, self.papers, strict=True)]
        self.inked = [_ink_extent(w.image) for w in bank.words]
        self._where: dict[tuple[str, str | None, int], list[tuple[int, int]]] = {}
        for i, w in enumerate(bank.words):
            if len(w.bounds) != len(w.text) + 1:
                continue
            for a in range(len(w.text)):
                for b in range(a + 1, min(a + MAX_PIECE, len(w.text)) + 1):
                    if w.bounds[b] - w.bounds[a] < MIN_CHAR_PX * (b - a):
                        continue
                    edges = (_START if a == 0 else 0) | (_END if b == len(w.text) else 0)
                    for need in {0, edges & _START, edges & _END, edges}:
                        for scope in (w.page, None):
                            self._where.setdefault((w.text[a:b], scope, need), []).append((i, a))

    def _piece(self, text: str, start: int, page: str) -> tuple[int, list[tuple[int, int]]]:
        """The longest run of ``text`` from ``start`` that some word has: on ``page`` if any
        (its pen and scale), else anywhere; where the new word starts or ends, a run that
        starts or ends its word if any. -> (length, [(word, first character)]), (0, [])."""
        for scope in (page, None):
            for n in range(min(MAX_PIECE, len(text) - start), 0, -1):
                need = (_START if start == 0 else 0) | (_END if start + n == len(text) else 0)
                piece = text[start:start + n]
                found = self._where.get((piece, scope, need))
                if not found and n == 1:  # never seen there: anywhere in a word will do
                    found = self._where.get((piece, scope, 0))
                if found:
                    return n, found
        return 0, []

    def make_word(self, text: str, page: str, rng: np.random.Generator) -> Word | None:
        """``text`` spelt from pieces (longest first; pieces of ``page`` first), or None when
        some character of it is in no cut word."""
        parts, start = [], 0
        while start < len(text):
            n, found = self._piece(text, start, page)
            if not n:
                return None
            i, a = found[int(rng.integers(len(found)))]
            w, (ink0, ink1) = self.words[i], self.inked[i]
            x0, x1 = w.bounds[a], w.bounds[a + n]
            if a == 0 and start > 0:  # a word's first letters inside the new word: no gap
                x0 = max(x0, min(ink0, x1 - MIN_CHAR_PX))
            if a + n == len(w.text) and start + n < len(text):
                x1 = min(x1, max(ink1, x0 + MIN_CHAR_PX))
            paper = self.papers[i]
            ink = (paper - w.image[:, x0:x1].astype(np.float32)) * (
                np.clip(self.depths[parts[0][3]] / self.depths[i], 0.5, 2.0) if parts else 1.0)
            image = paper - ink
            pad = [EDGE_PX if start == 0 and a != 0 else 0,
                   EDGE_PX if start + n == len(text) and a + n != len(w.text) else 0]
            if any(pad):
                image = np.pad(image, ((0, 0), pad), constant_values=paper)
            parts.append((image, self.rows[i], paper, parts[0][3] if parts else i))
            start += n
        return Word(join([p[:3] for p in parts], INNER_SEAM_PX), text, page)


@dataclass
class NovelWords:
    """Replaces a word of a stitched line by a new one (a vocabulary word, drawn with the
    vocabulary's probabilities) that keeps the old word's leading and trailing punctuation and
    its capital. Words that are not letters between punctuation stay."""

    index: PieceIndex
    vocabulary: Sequence[str]
    cdf: np.ndarray  # cumulative draw probabilities of the vocabulary
    rate: float  # share of a stitched line's words replaced
    tries: int = 5

    @classmethod
    def from_words(cls, index: PieceIndex, words: Sequence[str], p: np.ndarray,
                   rate: float) -> NovelWords:
        """Keeps the plain lower-case words of ``words`` (letters, one inner apostrophe) and
        their probabilities ``p``; "i" becomes "I"."""
        keep = [k for k, w in enumerate(words) if _WORD.fullmatch(w)]
        vocab = ["I" if words[k] == "i" else words[k] for k in keep]
        cdf = np.cumsum(np.asarray(p, dtype=np.float64)[keep])
        return cls(index, vocab, cdf / cdf[-1], rate)

    def replace(self, word: Word, rng: np.random.Generator) -> Word:
        lead, core, trail = _EDGE.match(word.text).groups()
        if not core.isalpha():  # numbers, '&', abbreviations with inner stops stay as written
            return word
        for _ in range(self.tries):
            new = self.vocabulary[int(np.searchsorted(self.cdf, rng.random(), side="right"))]
            if core[:1].isupper():
                new = new.upper() if len(core) > 1 and core.isupper() else new[:1].upper() + new[1:]
            made = self.index.make_word(lead + new + trail, word.page, rng)
            if made is not None:
                return made
        return word
