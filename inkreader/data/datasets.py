"""Line datasets: a list of (image, text) samples from a reference gt file, a TSV, or a folder
of PAGE-XML / ALTO pages; plus the torch side (bucketed batches, collate) used by training.

Formats
- reference gt file (``test_img_id_gt.txt``): ``file,text`` a line, split at the FIRST comma;
  image paths relative to the file's folder.
- TSV with a header naming ``file`` and ``text`` columns (optional ``split``), tab-separated and
  unquoted, as ``../shared/data/hooker/lines.tsv``; paths relative to the TSV's folder.
- a folder of PAGE-XML or ALTO files with their page images: lines are cut from the polygons
  (see ``inkreader.data.pagexml``).

``holdout(samples, fraction)`` splits any of them by page into a training part and a held-out
validation part, for datasets that come without a val split (GNHK has only train and test).
"""

from __future__ import annotations

import csv
import hashlib
import logging
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .sample import LineSample

log = logging.getLogger(__name__)

# Splits nothing may be tuned on (INT8 calibration, the horizontal scale, BatchNorm statistics):
# they hold the lines the model is measured on.
FORBIDDEN_SPLITS = frozenset({"test"})


def load_gt_file(path: Path) -> list[LineSample]:
    """The reference's ``<split>_img_id_gt.txt``: ``file,text`` split at the first comma."""
    samples = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if "," not in line:
                raise DatasetError(f"{path}:{n}: expected 'file,text', found no comma")
            name, text = line.split(",", 1)
            samples.append(LineSample(path.parent / name, text, name))
    return samples


def load_tsv(path: Path) -> list[LineSample]:
    """A tab-separated table with a header naming at least ``file`` and ``text``."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, None)
        if header is None:
            raise DatasetError(f"{path}: empty TSV")
        cols = {name.strip(): i for i, name in enumerate(header)}
        if "file" not in cols or "text" not in cols:
            raise DatasetError(f"{path}: the header must name 'file' and 'text' columns, "
                               f"found {header}")
        fi, ti, si, pi = cols["file"], cols["text"], cols.get("split"), cols.get("page")
        samples = []
        for n, row in enumerate(rows, start=2):
            if not row or not any(row):
                continue
            if len(row) < len(header):
                raise DatasetError(f"{path}:{n}: {len(row)} fields, the header has {len(header)}")
            split = row[si] if si is not None else None
            page = row[pi] if pi is not None else None
            samples.append(LineSample(path.parent / row[fi], row[ti], row[fi], split, page=page))
    return samples


def in_holdout(page: str, fraction: float) -> bool:
    """Whether ``page`` is in the held-out ``fraction`` of pages: a stable hash of its name, the
    same on every machine and run, independent of the other pages and of their order."""
    digest = hashlib.sha256(page.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def holdout(samples: list[LineSample], fraction: float, held_out: bool) -> list[LineSample]:
    """The lines of the held-out pages (``held_out``) or of all the others."""
    return [s for s in samples if in_holdout(s.page_key, fraction) == held_out]


def load_dataset(spec: str | Path, split: str | None = None) -> list[LineSample]:
    """Any supported dataset -> samples, optionally only those of ``split``."""
    path = Path(spec)
    if not path.exists():
        raise DatasetError(f"{path}: no such dataset file or folder")
    from .pen import is_strokes_dataset
    if is_strokes_dataset(path):
        samples = load_strokes_dataset(path)
    elif path.is_dir():
        from .pagexml import load_page_folder
        samples = load_page_folder(path)
    elif path.suffix.lower() in (".tsv", ".tab"):
        samples = load_tsv(path)
    else:
        samples = load_gt_file(path)
    if split is not None:
        if all(s.split is None for s in samples):
            raise DatasetError(f"{path}: --split {split} given but the dataset has no split column")
        samples = [s for s in samples if s.split == split]
        if not samples:
            raise DatasetError(f"{path}: no lines in split {split!r}")
    if not samples:
        raise DatasetError(f"{path}: the dataset has no lines")
    return samples


def load_strokes_dataset(path: Path) -> list[LineSample]:
    """A folder of pen strokes (``inkreader.data.pen``): every line drawn with the plain pen."""
    from .pen import STROKES_FILE, load_stroke_lines, strokes_folder
    archive = strokes_folder(path) / STROKES_FILE
    return [LineSample(archive, ln.text, ln.id, ln.split, page=ln.form, pen="plain")
            for ln in load_stroke_lines(path)]


def ctc_feasible(n_frames: int, label: list[int]) -> bool:
    """CTC needs one frame per label symbol plus one blank between each adjacent repeat."""
    repeats = sum(1 for a, b in zip(label, label[1:], strict=False) if a == b)
    return n_frames >= len(label) + repeats


def width_buckets(widths: np.ndarray, batch_size: int, rng: np.random.Generator,
                  pool: int = 50) -> list[np.ndarray]:
    """Shuffle, then sort by width within pools of ``pool`` batches, cut into batches, and
    shuffle the batches: little padding, still random order."""
    order = rng.permutation(len(widths))
    batches = []
    step = batch_size * pool
    for start in range(0, len(order), step):
        chunk = order[start:start + step]
        chunk = chunk[np.argsort(widths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches
