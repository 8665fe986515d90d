"""Whole pages: find the lines (``segment``), put them in reading order, read them all at once.

    rec = Recognizer.load()
    for page in read_page_files(rec, ["letter.jpg"]):
        print(page.name, page.error or page.text)

Every line of every page given in one call is cut out with ``pagexml.crop_line`` (the outside
of its outline becomes paper) and read in ONE ``Recognizer.read_arrays`` call, so the
recognizer's batching by width works across lines and pages. A page that cannot be read is a
``PageResult`` with ``error`` naming the file; the other pages are still read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..data.pagexml import LINE_PAD, crop_line
from ..errors import ImageError
from ..preprocess import has_ink, read_gray
from ..results import CharResult, PageLine, PageResult
from ..runtime.recognizer import Recognizer
from .segment import DetectedLine, find_lines

log = logging.getLogger(__name__)

COLUMN_GAP = 0.5  # a column / margin gap is at least this many line pitches wide

# --- reading order --------------------------------------------------------------------------

def reading_order(lines: Sequence[DetectedLine]) -> list[list[int]]:
    """Indices of ``lines`` grouped in blocks, blocks and lines in reading order.

    A recursive XY-cut on the lines' core boxes: a vertical gap of at least ``COLUMN_GAP``
    pitches that no line crosses splits columns (and margin notes) apart, read left to right;
    otherwise the widest horizontal gap splits top from bottom. Core boxes (the centre band,
    not the ink) are used because ascenders and descenders of neighbouring lines overlap.
    """
    if not lines:
        return []
    boxes = np.array([ln.core for ln in lines], np.float64)
    gap = COLUMN_GAP * float(np.median([ln.pitch for ln in lines]))
    return _xy_cut(list(range(len(lines))), boxes, gap)


def _xy_cut(idx: list[int], boxes: np.ndarray, gap: float) -> list[list[int]]:
    if len(idx) <= 1:
        return [idx]
    columns = _split(idx, boxes, axis=0, min_gap=gap, widest_only=False)
    if len(columns) > 1:
        return [block for part in columns for block in _xy_cut(part, boxes, gap)]
    rows = _split(idx, boxes, axis=1, min_gap=0.0, widest_only=True)
    if len(rows) > 1:
        top, bottom = (_xy_cut(part, boxes, gap) for part in rows)
        if len(top) == 1 and len(bottom) == 1:  # one column above and below: one block
            return [top[0] + bottom[0]]
        return top + bottom
    # Cores that overlap both ways (a crowded cluster): top to bottom by centre.
    return [sorted(idx, key=lambda i: (boxes[i, 1] + boxes[i, 3], boxes[i, 0]))]


def _split(idx: list[int], boxes: np.ndarray, axis: int, min_gap: float,
           widest_only: bool) -> list[list[int]]:
    """Split ``idx`` at gaps (wider than ``min_gap``) of the boxes' projection on ``axis``
    (0: x, 1: y); ``widest_only`` cuts at the widest gap alone."""
    lo, hi = boxes[idx, axis], boxes[idx, axis + 2]
    order = np.argsort(lo, kind="stable")
    reach = np.maximum.accumulate(hi[order])
    gaps = lo[order][1:] - reach[:-1]  # gap before the k+1-th box in sorted order
    cuts = np.flatnonzero(gaps > min_gap)
    if len(cuts) == 0:
        return [idx]
    if widest_only:
        cuts = [cuts[np.argmax(gaps[cuts])]]
    parts, start = [], 0
    for c in list(cuts) + [len(idx) - 1]:
        parts.append([idx[j] for j in order[start:c + 1]])
        start = c + 1
    return [p for p in parts if p]


def detect_lines(gray: np.ndarray) -> list[PageLine]:
    """The lines of an (H, W) uint8 page, in reading order, ids ``l1``, ``l2``, ... (no text
    yet)."""
    found = find_lines(gray)
    out = []
    for b, block in enumerate(reading_order(found)):
        for i in block:
            ln = found[i]
            out.append(PageLine(f"l{len(out) + 1}", ln.polygon, ln.baseline, block=b))
    return out


# --- reading --------------------------------------------------------------------------------

def read_page_files(rec: Recognizer, paths: Sequence[str | Path]) -> list[PageResult]:
    """Read page image files; results in input order, a bad file as a result with ``error``."""
    return read_pages(rec, [(str(p), (lambda p=p: read_gray(p))) for p in paths])


def read_page_arrays(rec: Recognizer, images: Sequence[np.ndarray],
                     names: Sequence[str]) -> list[PageResult]:
    """Read (H, W) uint8 page arrays; results in input order."""
    return read_pages(rec, [(n, (lambda a=a: a)) for a, n in zip(images, names, strict=True)])


def read_pages(rec: Recognizer, pages: Sequence[tuple[str, Callable[[], np.ndarray]]],
               lines: Sequence[list[PageLine]] | None = None) -> list[PageResult]:
    """Load, segment (unless ``lines`` gives each page's lines, e.g. ground-truth outlines)
    and read pages; all their lines go through one recognizer call."""
    start = time.perf_counter()
    results, grays = [], []
    for k, (name, load) in enumerate(pages):
        page = PageResult(name)
        gray = None
        try:
            gray = load()
            page.size = (int(gray.shape[0]), int(gray.shape[1]))
            page.lines = list(lines[k]) if lines is not None else detect_lines(gray)
        except ImageError as exc:
            page.error = str(exc)
        results.append(page)
        grays.append(gray)
    read_lines(rec, results, grays, drop_blank=lines is None)
    share = (time.perf_counter() - start) / max(1, len(results))
    for page in results:
        page.seconds = share
    return results


def read_lines(rec: Recognizer, pages: list[PageResult], grays: list[np.ndarray | None],
               drop_blank: bool = False) -> None:
    """Cut every line of ``pages`` from its page and read them all in one recognizer call;
    fills each line's text, confidence, chars (page columns) or error in place. With
    ``drop_blank`` (detected lines) a line with no ink (``has_ink``) is dropped from its page;
    a given line with no ink reads as empty text."""
    crops, names, slots = [], [], []
    for page, gray in zip(pages, grays, strict=True):
        if gray is None:
            continue
        blank = set()
        for ln in page.lines:
            name = f"{page.name} line {ln.id}"
            try:
                crop = crop_line(gray, ln.polygon, name=name)
            except ImageError as exc:
                ln.error = str(exc)
                continue
            if drop_blank and not has_ink(crop):  # paper found as a line: not a line at all
                blank.add(id(ln))
                continue
            crops.append(crop)
            names.append(name)
            slots.append(ln)
        page.lines = [ln for ln in page.lines if id(ln) not in blank]
    if not crops:
        return
    for ln, res in zip(slots, rec.read_arrays(crops, names), strict=True):
        if not res.ok:
            ln.error = res.error
            continue
        # crop_line's box starts LINE_PAD px left of the outline (clamped at the page edge).
        left = max(min(x for x, _ in ln.polygon) - LINE_PAD, 0)
        ln.text, ln.confidence = res.text, res.confidence
        ln.chars = [CharResult(c.char, c.confidence, c.x0 + left, c.x1 + left)
                    for c in res.chars]
