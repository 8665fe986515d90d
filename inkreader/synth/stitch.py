"""Stitched lines: real words of the training lines, cut at the model's forced alignment and put
together again in new orders (``inkreader stitch``; docs/training.md).

A recogniser trained on a few thousand lines of one hand learns their word sequences as well as
their letters (the Hooker train split reads at ~10 % CER, its val split at ~21 %). Lines made of
the same writer's words in random order keep the ink and lose the memorisable context. Words are
cut where the CTC forced alignment of the label puts the space between them (``ctc_align``), at
the palest column of that gap; only lines the model already reads well (greedy CER at most
``max_cer``) are cut, so the alignment can be trusted. A stitched line takes its words from one
page, so paper, pen and scale match, with the words' core bands lined up and their paper levels
evened, joined with a short cross-fade over the seams.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from rapidfuzz.distance import Levenshtein

from ..charset import Charset
from ..data.datasets import ctc_feasible
from ..data.sample import LineSample
from ..decode.base import aligned_spans, ctc_align
from ..decode.greedy import greedy_decode
from ..degrade.augment import paper_level
from ..errors import DatasetError
from ..preprocess import HEIGHT, read_gray, resize_to_height

SEAM_PX = 6  # cross-fade width where two words meet
MAX_SHIFT = 20  # px: a word is moved up or down at most this far to line up its core band


@dataclass(frozen=True)
class Word:
    image: np.ndarray  # (HEIGHT, w) uint8: the word with its share of the gaps around it
    text: str
    page: str


def _ink(img: np.ndarray) -> np.ndarray:
    """How much darker than the paper each pixel is (0 on paper)."""
    return (paper_level(img) - img.astype(np.float32)).clip(0)


def cut_points(text: str, spans: np.ndarray, ink_columns: np.ndarray, stride: int) -> list[int]:
    """The x of each cut between words: for every single space of ``text``, the palest column
    between the end of the character before it and the start of the one after it (their
    aligned frame runs ``spans``, ``stride`` px a frame)."""
    cuts = []
    for k, ch in enumerate(text):
        if ch != " " or k == 0 or k == len(text) - 1 or " " in (text[k - 1], text[k + 1]):
            continue
        a, b = int(spans[k - 1][1]) * stride, int(spans[k + 1][0]) * stride
        lo, hi = min(a, b), min(max(a, b), len(ink_columns) - 1) + 1
        cuts.append(lo + int(np.argmin(ink_columns[lo:hi])) if hi > lo else a)
    return cuts


def split_words(img: np.ndarray, text: str, logp: np.ndarray, charset: Charset,
                stride: int) -> list[tuple[np.ndarray, str]]:
    """A (HEIGHT, W) line, its label and the model's (T, C) log posteriors -> its words, each
    an image slice and its text. A label with double or edge spaces is not cut (-> [])."""
    if "  " in text or text != text.strip():
        return []
    classes = np.asarray(charset.encode(text), dtype=np.int64)
    spans = aligned_spans(ctc_align(logp, classes), len(classes))
    ink = _ink(img).sum(axis=0)
    cuts = cut_points(text, spans, ink, stride)
    edges = [0, *cuts, img.shape[1]]
    words = text.split(" ")
    if (np.diff(edges) < 2).any():  # the alignment put two cuts together
        return []
    return [(img[:, e0:e1], w) for e0, e1, w in zip(edges[:-1], edges[1:], words, strict=True)]


def core_row(img: np.ndarray) -> int:
    """The row at the centre of the writing's core band (the densest ink rows, where the
    x-height letters are), from the row profile of ink smoothed over a few rows."""
    ink = _ink(img).sum(axis=1)
    smooth = cv2.GaussianBlur(ink.reshape(-1, 1), (1, 0), sigmaX=0, sigmaY=4).ravel()
    return int(np.argmax(smooth)) if smooth.max() > 0 else img.shape[0] // 2


def _shift_rows(img: np.ndarray, dy: int, fill: int) -> np.ndarray:
    out = np.full_like(img, fill)
    if dy >= 0:
        out[dy:] = img[:img.shape[0] - dy]
    else:
        out[:dy] = img[-dy:]
    return out


def compose(words: Sequence[Word]) -> tuple[np.ndarray, str]:
    """Words (of one page) -> one (HEIGHT, W) line image and its text: each word moved to the
    first word's core row and paper level, neighbours cross-faded over SEAM_PX columns."""
    paper = paper_level(words[0].image)
    row = core_row(words[0].image)
    out = None
    for w in words:
        img = w.image.astype(np.float32) + (paper - paper_level(w.image))
        dy = int(np.clip(row - core_row(w.image), -MAX_SHIFT, MAX_SHIFT))
        img = _shift_rows(img, dy, paper)
        if out is None:
            out = img
            continue
        k = min(SEAM_PX, out.shape[1], img.shape[1])
        alpha = np.linspace(0, 1, k + 2, dtype=np.float32)[1:-1]
        seam = out[:, -k:] * (1 - alpha) + img[:, :k] * alpha
        out = np.concatenate([out[:, :-k], seam, img[:, k:]], axis=1)
    return out.clip(0, 255).astype(np.uint8), " ".join(w.text for w in words)


@dataclass
class WordBank:
    words: list[Word]
    word_counts: np.ndarray  # words per line of the lines that were cut: stitched line lengths
    lines_used: int
    lines_skipped: int

    def pages(self) -> dict[str, list[int]]:
        by_page: dict[str, list[int]] = {}
        for i, w in enumerate(self.words):
            by_page.setdefault(w.page, []).append(i)
        return by_page


def build_bank(samples: Sequence[LineSample], log_posteriors: Callable[[np.ndarray], np.ndarray],
               charset: Charset, stride: int, max_cer: float,
               progress: Callable[[int], None] | None = None) -> WordBank:
    """Cut every line that the model reads with a greedy CER of at most ``max_cer`` (lines
    with characters outside the charset are skipped, as training skips them).
    ``log_posteriors`` maps a (HEIGHT, W) line to its (T, C) log posteriors."""
    words, counts, skipped = [], [], 0
    for s in samples:
        img = resize_to_height(read_gray(s.path), HEIGHT)
        logp = log_posteriors(img)
        text = greedy_decode(logp, charset)[0]
        cut = []
        if (s.text and not charset.unknown(s.text)
                and ctc_feasible(len(logp), charset.encode(s.text))
                and Levenshtein.distance(text, s.text) <= max_cer * len(s.text)):
            cut = split_words(img, s.text, logp, charset, stride)
        if cut:
            words += [Word(image, t, s.page_key) for image, t in cut]
            counts.append(len(cut))
        else:
            skipped += 1
        if progress:
            progress(1)
    if not words:
        raise DatasetError(f"no line was read well enough to cut (greedy CER <= {max_cer:.0%} "
                           f"of {len(samples)} lines); raise --max-cer or use a better model")
    return WordBank(words, np.asarray(counts), len(counts), skipped)


def stitched_line(bank: WordBank, page_words: Sequence[int],
                  rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One new line from one page's words: a length drawn from the cut lines' word counts,
    that many of the page's words (indices into the bank) in random order, without repeats."""
    n = min(int(rng.choice(bank.word_counts)), len(page_words))
    picked = rng.choice(len(page_words), size=n, replace=False)
    return compose([bank.words[page_words[i]] for i in picked])


def write_lines(bank: WordBank, out_dir: Path, count: int, seed: int, meta: dict,
                progress: Callable[[int], None] | None = None) -> None:
    """Line i of a seed is always the same (its own generator). Writes lines/*.jpg, then
    lines.tsv (file, text, page; through a .partial file, so it exists only when complete) and
    stitch.json (how the set was made)."""
    (out_dir / "lines").mkdir(parents=True, exist_ok=True)
    pages = bank.pages()
    names = sorted(pages)
    weights = np.array([len(pages[p]) for p in names], dtype=np.float64)
    weights /= weights.sum()
    rows = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        page = names[rng.choice(len(names), p=weights)]
        img, text = stitched_line(bank, pages[page], rng)
        name = f"lines/{i:07d}.jpg"
        if not cv2.imwrite(str(out_dir / name), img, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise DatasetError(f"{out_dir / name}: could not write the image")
        rows.append(f"{name}\t{text}\t{page}\n")
        if progress:
            progress(1)
    partial = out_dir / "lines.tsv.partial"
    partial.write_text("file\ttext\tpage\n" + "".join(rows), encoding="utf-8")
    partial.replace(out_dir / "lines.tsv")
    (out_dir / "stitch.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
