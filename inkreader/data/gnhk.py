"""GNHK pages + JSON -> binarised line crops + labels, exactly as the reference's
``preprocess_gnhk.py`` (open_model_zoo, models/intel/handwritten-english-recognition-0001).

Per page (SPEC.md "GNHK dataset and line extraction"): read grayscale, binarise the whole page
(``preprocess.binarize_page``); for each ``line_idx`` ascending drop ``%math%``, ``%SC%``,
``%NA%`` and printed (``type`` "P") words, sort the rest by ``x0`` (stable), join their texts by
one space; keep the pixels inside the words' filled polygons (anti-aliased fill: any covered
pixel counts), white elsewhere; crop the bounding rectangle of the polygon points (inclusive);
drop the line if ``int(w * (96.0 / h)) > 2000``; write ``<page>_line<idx>.jpg`` with
``cv2.imwrite`` defaults (JPEG quality 95) and ``<page>_line<idx>.jpg,<label>`` to
``<split>_img_id_gt.txt``. Pages are taken in the order of ``glob('eng*.jpg')`` (directory order)
as the reference did, so the gt file lists lines in the same order.

Where the reference would crash or write garbage, we report the page by name and skip it: a
missing or malformed JSON, an unreadable image, a kept word's polygon with a negative
coordinate or lying wholly outside the image. A polygon that only runs past the right or
bottom edge is clipped, as the reference's array slicing does.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..charset import Charset
from ..errors import DatasetError, InkreaderError
from ..preprocess import FIXED_WIDTH, HEIGHT, binarize_page, read_gray

log = logging.getLogger(__name__)

SKIPPED_TEXTS = frozenset({"%math%", "%SC%", "%NA%"})  # math, scribble, illegible
PRINTED = "P"
PAGE_GLOB = "eng*.jpg"  # the reference's glob; GNHK names pages eng_<region>_<number>.jpg
CORNERS = ("x0", "y0"), ("x1", "y1"), ("x2", "y2"), ("x3", "y3")


@dataclass(frozen=True)
class Word:
    """One annotated word of a GNHK page; ``points`` are the 4 polygon corners (x, y)."""

    text: str
    points: tuple[tuple[int, int], ...]
    line_idx: int
    type: str

    @property
    def kept(self) -> bool:
        """The reference keeps handwritten words that are not math, scribble or illegible."""
        return self.text not in SKIPPED_TEXTS and self.type != PRINTED


@dataclass(frozen=True)
class PageLine:
    """The kept words of one line, in the reference's order, and its label."""

    idx: int
    words: tuple[Word, ...]

    @property
    def label(self) -> str:
        return " ".join(w.text for w in self.words)

    def file_name(self, page_id: str) -> str:
        return f"{page_id}_line{self.idx}.jpg"


@dataclass
class Summary:
    """What ``prepare_gnhk`` did: counts, and every excluded line and skipped page by name."""

    split: str
    pages_dir: str
    pages: int = 0
    pages_done: int = 0
    skipped_pages: list[tuple[str, str]] = field(default_factory=list)  # (page, reason)
    lines_kept: int = 0
    chars: int = 0
    too_wide: list[str] = field(default_factory=list)
    all_filtered: list[str] = field(default_factory=list)
    outside_charset: Counter = field(default_factory=Counter)  # char -> occurrences

    def to_dict(self) -> dict:
        return {
            "split": self.split, "pages_dir": self.pages_dir, "pages": self.pages,
            "pages_done": self.pages_done,
            "pages_skipped": [{"page": p, "reason": r} for p, r in self.skipped_pages],
            "lines_kept": self.lines_kept, "chars": self.chars,
            "lines_excluded": {"too_wide": len(self.too_wide),
                               "all_words_filtered": len(self.all_filtered)},
            "too_wide": self.too_wide, "all_words_filtered": self.all_filtered,
            "outside_charset": dict(self.outside_charset.most_common()),
        }


def load_words(json_path: Path) -> list[Word]:
    """A page's JSON (a list of word objects) -> words; anything else is a DatasetError."""
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{json_path.name}: no such annotation file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(f"{json_path.name}: malformed JSON ({exc})") from None
    if not isinstance(data, list):
        raise DatasetError(f"{json_path.name}: expected a JSON list of words, "
                           f"found {type(data).__name__}")
    return [_word(obj, json_path.name, n) for n, obj in enumerate(data)]


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _word(obj: object, name: str, n: int) -> Word:
    where = f"{name}: word {n}"
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected an object, found {type(obj).__name__}")
    missing = [k for k in ("text", "polygon", "line_idx", "type") if k not in obj]
    if missing:
        raise DatasetError(f"{where}: missing {', '.join(missing)}")
    text, poly, idx, kind = obj["text"], obj["polygon"], obj["line_idx"], obj["type"]
    if not isinstance(text, str) or "\n" in text or "\r" in text:
        raise DatasetError(f"{where}: text must be a one-line string, found {text!r}")
    if not _is_int(idx):
        raise DatasetError(f"{where}: line_idx must be an integer, found {idx!r}")
    if not isinstance(kind, str):
        raise DatasetError(f"{where}: type must be a string, found {kind!r}")
    if not isinstance(poly, dict) or not all(_is_int(poly.get(k)) for c in CORNERS for k in c):
        raise DatasetError(f"{where}: polygon must hold integers x0, y0 .. x3, y3, found {poly!r}")
    return Word(text, tuple((poly[x], poly[y]) for x, y in CORNERS), idx, kind)


def page_lines(words: list[Word]) -> tuple[list[PageLine], list[int]]:
    """Words -> (lines with at least one kept word, line_idx of lines with none), ascending."""
    lines, emptied = [], []
    for idx in sorted({w.line_idx for w in words}):
        kept = [w for w in words if w.line_idx == idx and w.kept]
        if kept:
            # sorted() is stable: words with equal x0 keep their JSON order, as the reference.
            lines.append(PageLine(idx, tuple(sorted(kept, key=lambda w: w.points[0][0]))))
        else:
            emptied.append(idx)
    return lines, emptied


def check_polygons(lines: list[PageLine], shape: tuple[int, int], name: str) -> None:
    """A kept word's polygon must start inside the image (the reference crops garbage or
    crashes otherwise); running past the right or bottom edge is clipped, as the reference."""
    h, w = shape
    for line in lines:
        for word in line.words:
            pts = np.array(word.points)
            if pts.min() < 0 or pts[:, 0].min() >= w or pts[:, 1].min() >= h:
                raise DatasetError(
                    f"{name}: polygon of word {word.text!r} (line {line.idx}) "
                    f"{word.points} is outside the {w}x{h} image")


def cut_line(binary: np.ndarray, line: PageLine) -> np.ndarray:
    """The reference's crop of one line from the binarised page: (h, w) uint8, white outside
    the words' polygons."""
    mask = np.zeros(binary.shape, np.uint8)
    for word in line.words:
        # LINE_AA as the reference: edge pixels get partial values, and any non-zero counts.
        cv2.drawContours(mask, [np.array([word.points])], -1, (255, 255, 255), -1, cv2.LINE_AA)
    x, y, w, h = cv2.boundingRect(np.array([p for word in line.words for p in word.points]))
    inside = mask[y:y + h, x:x + w] != 0
    return np.where(inside, binary[y:y + h, x:x + w], 255).astype(np.uint8)


def too_wide(crop: np.ndarray) -> bool:
    """The reference's exclusion, with its arithmetic: ``int(width * (96.0 / height)) > 2000``."""
    height, width = crop.shape
    return int(width * (float(HEIGHT) / height)) > FIXED_WIDTH


def find_pages(pages_dir: Path, split: str) -> list[Path]:
    """GNHK page images in the reference's order. ``pages_dir`` is the flat folder of
    ``eng_*.jpg`` + ``.json``, or a folder holding the release's ``<split>/`` or
    ``<split>_data/<split>/`` subfolder."""
    if not pages_dir.is_dir():
        raise DatasetError(f"{pages_dir}: not a folder")
    for folder in (pages_dir, pages_dir / split, pages_dir / f"{split}_data" / split,
                   pages_dir / f"{split}_data"):
        # glob() lists in directory order, exactly as the reference's glob('eng*.jpg').
        pages = glob.glob(os.path.join(glob.escape(str(folder)), PAGE_GLOB))
        if pages:
            return [Path(p) for p in pages]
    raise DatasetError(f"{pages_dir}: no GNHK page images ({PAGE_GLOB}) here nor in "
                       f"{split}/ or {split}_data/{split}/")


@dataclass
class PageResult:
    """One page's outcome: its kept lines as (file name, label, crop), its excluded lines, or
    the error (naming the file) that made us skip it."""

    page: str
    lines: list[tuple[str, str, np.ndarray]] = field(default_factory=list)
    too_wide: list[str] = field(default_factory=list)
    all_filtered: list[str] = field(default_factory=list)
    error: str | None = None


def extract_page(image: Path) -> PageResult:
    """One GNHK page -> its lines, exactly as the reference; never raises for bad input."""
    result = PageResult(image.name)
    try:
        lines, emptied = page_lines(load_words(image.with_suffix(".json")))
        gray = read_gray(image)
        check_polygons(lines, gray.shape, image.name)
        binary = binarize_page(gray)
        for line in lines:
            crop = cut_line(binary, line)
            name = line.file_name(image.stem)
            if too_wide(crop):
                result.too_wide.append(name)
            else:
                result.lines.append((name, line.label, crop))
    except InkreaderError as exc:
        return PageResult(image.name, error=str(exc))
    except cv2.error as exc:  # e.g. a page too large for OpenCV's buffers
        return PageResult(image.name, error=f"{image.name}: OpenCV failed ({exc.msg})")
    result.all_filtered = [f"{image.stem}_line{idx}" for idx in emptied]
    return result


def gt_name(split: str) -> str:
    return f"{split}_img_id_gt.txt"


def check_out_dir(out_dir: Path, pages_dir: Path, overwrite: bool) -> None:
    """Refuse to mix our files into a folder that already holds files, unless told to."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetError(f"{out_dir}: exists and is not a folder")
    if out_dir.resolve() == pages_dir.resolve():
        raise DatasetError(f"{out_dir}: the output folder must not be the pages folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise DatasetError(f"{out_dir}: folder is not empty; choose an empty or new folder, "
                           "or pass --overwrite to replace the files of the same names")


def _log_skip(page: str, reason: str) -> None:
    log.error("%s: page skipped: %s", page, reason)


def prepare_gnhk(pages_dir: str | Path, out_dir: str | Path, split: str = "test",
                 overwrite: bool = False, jobs: int = 1, progress: bool | None = None,
                 on_skip: Callable[[str, str], None] | None = None) -> Summary:
    """Cut every GNHK page of ``pages_dir`` into line images in ``out_dir`` as the reference
    did; write ``<split>_img_id_gt.txt`` and ``<split>_summary.json``.

    A bad page is recorded in the summary, reported by ``on_skip(page, reason)`` (default: a
    logged error) and skipped; the other pages are processed. ``jobs`` > 1 binarises pages in
    that many processes (same output, same order). ``progress`` None: a bar on a terminal.
    """
    from tqdm import tqdm

    pages_dir, out_dir = Path(pages_dir), Path(out_dir)
    images = find_pages(pages_dir, split)
    check_out_dir(out_dir, pages_dir, overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    charset = Charset.gnhk()
    summary = Summary(split=split, pages_dir=str(images[0].parent), pages=len(images))
    gt_lines = []
    with ProcessPoolExecutor(jobs) if jobs > 1 else nullcontext() as pool:
        results = pool.map(extract_page, images) if pool else map(extract_page, images)
        for result in tqdm(results, total=len(images), desc="pages", unit="page",
                           disable=None if progress is None else not progress):
            if result.error is not None:
                summary.skipped_pages.append((result.page, result.error))
                (on_skip or _log_skip)(result.page, result.error)
                continue
            for name, label, crop in result.lines:
                if not cv2.imwrite(str(out_dir / name), crop):
                    raise DatasetError(f"{out_dir / name}: cannot write the line image")
                gt_lines.append(f"{name},{label}\n")
                summary.chars += len(label)
                summary.outside_charset.update(c for c in label if c not in charset.index)
            summary.lines_kept += len(result.lines)
            summary.too_wide += result.too_wide
            summary.all_filtered += result.all_filtered
            summary.pages_done += 1
    # Written once at the end (the reference appends line by line): a run that dies midway
    # leaves no gt file that looks complete.
    with open(out_dir / gt_name(split), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(gt_lines)
    (out_dir / f"{split}_summary.json").write_text(
        json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary
