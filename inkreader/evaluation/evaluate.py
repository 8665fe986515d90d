"""Evaluate a recognizer on a line dataset with the reference's metric.

accuracy = 1 - sum(Levenshtein(prediction, label)) / sum(len(label)) over the corpus (labels
stripped, case- and space-sensitive), CER = 1 - accuracy, WER over whitespace tokens, and the
same CER ignoring case (``metrics.ErrorRates``).

- A line whose image cannot be read (missing, corrupt, outline outside its page, ...) is an
  error naming the file AND counts as an empty prediction: its whole label is wrong, so a
  metric can never look better by losing lines.
- ``fixed_width`` runs the reference contract (every line padded to 2000 px at height 96) and
  applies the reference's exclusion: a line with ``int(w * (96.0 / h)) > 2000`` is left out of
  the metric (the reference cannot read it) and counted as excluded.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.datasets import holdout, load_dataset
from ..data.gnhk import too_wide
from ..data.pagexml import PageImages, line_image, scan_page_folder
from ..data.sample import LineSample
from ..errors import DatasetError, ImageError
from ..metrics import ErrorRates

log = logging.getLogger(__name__)

CHUNK = 128  # lines decoded and handed to the recognizer at a time (bounded memory)
REPORT_COLUMNS = ("id", "label", "prediction", "distance", "error")


@dataclass(frozen=True)
class LineRecord:
    """One evaluated line; ``label`` is stripped as the metric uses it, ``distance`` is
    Levenshtein(prediction, label)."""

    id: str
    label: str
    prediction: str
    distance: int
    error: str | None = None


@dataclass
class Evaluation:
    """Corpus error rates, every line's record, and the lines left out or unreadable."""

    rates: ErrorRates = field(default_factory=ErrorRates)
    records: list[LineRecord] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # ids, fixed-width mode only
    dataset_errors: list[str] = field(default_factory=list)  # files that yielded no lines

    @property
    def unreadable(self) -> int:
        return sum(r.error is not None for r in self.records)

    def summary(self) -> dict:
        """``lines``, ``chars``, ``accuracy``, ``cer``, ``wer`` (the reference's figures) and
        the detail behind them."""
        s = self.rates.summary()
        s.update(excluded=len(self.excluded), unreadable=self.unreadable,
                 dataset_errors=len(self.dataset_errors))
        return s


def load_lines(dataset: str | Path, split: str | None = None,
               on_error: Callable[[str], None] | None = None,
               held_out: float | None = None) -> tuple[list[LineSample], list]:
    """A gt file, TSV or PAGE-XML/ALTO folder -> (samples, errors of files that yielded no
    lines). Folder errors are reported by ``on_error`` and returned, not raised.
    ``held_out`` F keeps only the lines of the pages a training config's ``holdout = F`` holds
    out of that data (``datasets.in_holdout``), the lines such a run validated on."""
    path = Path(dataset)
    if held_out is not None and not 0 < held_out < 1:
        raise DatasetError(f"{path}: --holdout must be a fraction between 0 and 1, "
                           f"got {held_out}")
    from ..data.pen import is_strokes_dataset
    if not path.is_dir() or is_strokes_dataset(path):
        samples, errors = load_dataset(path, split), []
    else:
        if split is not None:
            raise DatasetError(f"{path}: --split {split} given but a page folder has no "
                               "splits")
        found = scan_page_folder(path)
        for err in found.errors:
            (on_error or log.error)(err)
        if not found.samples:
            raise DatasetError(f"{path}: no lines with text in PAGE-XML or ALTO files"
                               + (f" ({len(found.errors)} files with errors)"
                                  if found.errors else ""))
        samples, errors = found.samples, found.errors
    if held_out is not None:
        samples = holdout(samples, held_out, held_out=True)
        if not samples:
            raise DatasetError(f"{path}: no page falls in the held-out {held_out:g} of its "
                               "pages")
    return samples, errors


def evaluate(samples: list[LineSample], recognizer, fixed_width: bool = False,
             progress: bool | None = None,
             on_error: Callable[[str], None] | None = None) -> Evaluation:
    """Read every sample with ``recognizer`` (a ``recognizer.Recognizer``) and score it.
    Unreadable lines are reported by ``on_error`` (default: logged) and scored as empty
    predictions. ``progress`` None: a bar on stderr when it is a terminal."""
    from tqdm import tqdm

    report = on_error or log.error
    result = Evaluation()
    pages = PageImages()
    with tqdm(total=len(samples), unit="line", desc="evaluate",
              disable=None if progress is None else not progress) as bar:
        for start in range(0, len(samples), CHUNK):
            chunk = samples[start:start + CHUNK]
            _evaluate_chunk(chunk, recognizer, fixed_width, pages, result, report)
            bar.update(len(chunk))
    return result


def _evaluate_chunk(chunk: list[LineSample], recognizer, fixed_width: bool, pages: PageImages,
                    result: Evaluation, report: Callable[[str], None]) -> None:
    images: list[np.ndarray | None] = []
    errors: list[str | None] = []
    for sample in chunk:
        try:
            gray = line_image(sample, pages)
        except ImageError as exc:
            images.append(None)
            errors.append(str(exc))
            continue
        if fixed_width and too_wide(gray):
            images.append(None)
            errors.append(None)  # excluded, not an error
            result.excluded.append(sample.id)
            continue
        images.append(gray)
        errors.append(None)
    todo = [i for i, im in enumerate(images) if im is not None]
    read = recognizer.read_arrays([images[i] for i in todo],
                                  [_name(chunk[i]) for i in todo]) if todo else []
    predictions: dict[int, str] = {}
    for i, line in zip(todo, read, strict=True):
        if line.error is not None:
            errors[i] = line.error
        else:
            predictions[i] = line.text
    for i, sample in enumerate(chunk):
        if images[i] is None and errors[i] is None:
            continue  # excluded
        if errors[i] is not None:
            report(errors[i])
        pred = predictions.get(i, "")  # an unreadable line: an empty prediction
        d = result.rates.update(pred, sample.text)
        result.records.append(LineRecord(sample.id, sample.text.strip(), pred, d, errors[i]))


def _name(sample: LineSample) -> str:
    return str(sample.path) if sample.polygon is None else f"{sample.path} line {sample.id}"


def write_report(evaluation: Evaluation, path: str | Path) -> None:
    """Every evaluated line: id, label (stripped, as scored), prediction, distance, error
    (empty / null when the line was read). ``.json``/``.jsonl``: one JSON object a line;
    otherwise a TSV with a header, fields unquoted (a tab or line break inside a field is
    replaced by a space: use JSON for such labels). Lines excluded by the fixed-width rule
    are not in the report; they are counted in the summary."""
    path = Path(path)
    rows = [(r.id, r.label, r.prediction, r.distance, r.error) for r in evaluation.records]
    with open(path, "w", encoding="utf-8", newline="") as f:
        if path.suffix.lower() in (".json", ".jsonl"):
            for row in rows:
                f.write(json.dumps(dict(zip(REPORT_COLUMNS, row, strict=True)),
                                   ensure_ascii=False) + "\n")
            return
        f.write("\t".join(REPORT_COLUMNS) + "\n")
        for row in rows:
            f.write("\t".join(_one_line("" if v is None else str(v)) for v in row) + "\n")


def read_report(path: str | Path) -> list[dict]:
    """The rows of a ``write_report`` file (TSV or JSON lines) as dicts of ``REPORT_COLUMNS``,
    ``distance`` an int; ``DatasetError`` names the file when it is missing or not a report."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            if path.suffix.lower() in (".json", ".jsonl"):
                rows = [json.loads(line) for line in f if line.strip()]
            else:
                rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except OSError as e:
        raise DatasetError(f"{path}: {e.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error):
        rows = []
    if not rows or not all(isinstance(r, dict) and set(REPORT_COLUMNS) <= r.keys()
                           for r in rows):
        raise DatasetError(f"{path}: not an `inkreader evaluate --report` file")
    for r in rows:
        r["distance"] = int(r["distance"])
    return rows


def _one_line(value: str) -> str:
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")
