"""A model's horizontal reading scale (``ModelConfig.x_scale``), chosen on a validation split.

The network emits one CTC frame per 8 columns. Read at the width the reference gives a line
(height 96, aspect kept), the shipped Hooker models dropped characters about three times as
often as they inserted them, and read the val split better with the line stretched by about a
tenth: more frames per character, within the 0.8-1.2 stretch of the training augmentation.
``tune_scale`` reads a split at a few scales and keeps the one with the lowest CER; the scale
then travels with the checkpoint (and its ONNX / OpenVINO exports) and applies to every
variable-width read. ``--fixed-width``, the reference pipeline, never uses it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..data.datasets import FORBIDDEN_SPLITS
from ..data.sample import LineSample
from ..errors import DatasetError, ModelError
from ..evaluation.evaluate import evaluate
from ..preprocess import X_SCALE_RANGE

log = logging.getLogger(__name__)

DEFAULT_SCALES = (0.9, 1.0, 1.05, 1.1, 1.15, 1.2)


@dataclass(frozen=True)
class ScaleResult:
    scale: float
    cer: float
    wer: float


def check_split(dataset: str | Path, split: str | None, samples: list[LineSample]) -> None:
    """Refuse the test split, named or (no ``split``) contained in the dataset's lines."""
    if split in FORBIDDEN_SPLITS:
        raise DatasetError(f"{dataset}: choosing the scale on the {split!r} split would tune "
                           "the model on the lines it is measured on; use a val split")
    if split is None and any(s.split in FORBIDDEN_SPLITS for s in samples):
        raise DatasetError(f"{dataset}: has a 'test' split; name the split to choose the "
                           "scale on (--split val)")


def tune_scale(samples: list[LineSample], recognizer,
               scales: tuple[float, ...] = DEFAULT_SCALES) -> tuple[float, list[ScaleResult]]:
    """Greedy CER of ``samples`` read by ``recognizer`` at each scale; returns the best scale
    (ties: the one nearest 1.0) and every result. The recognizer's own scale is restored."""
    if not samples:
        raise DatasetError("no lines to choose the scale on")
    low, high = X_SCALE_RANGE
    for s in scales:
        if not low <= s <= high:
            raise DatasetError(f"scale {s} is outside {low:g}-{high:g}")
    own, results = recognizer.reading, []
    try:
        for s in scales:
            recognizer.reading = replace(own, x_scale=s)
            rates = evaluate(samples, recognizer).rates
            results.append(ScaleResult(s, rates.cer, rates.wer))
            log.info("x_scale %.3g: CER %.2f %%", s, 100 * rates.cer)
    finally:
        recognizer.reading = own
    best = min(results, key=lambda r: (r.cer, abs(r.scale - 1.0)))
    return best.scale, results


def write_scaled(src: str | Path, out: str | Path, scale: float, meta: dict,
                 force: bool = False) -> None:
    """Copy checkpoint ``src`` to ``out`` with ``x_scale = scale`` and ``meta["x_scale"]``;
    the weights, their dtype and the rest of the file are kept as they are."""
    import torch

    from ..model import CHECKPOINT_FORMAT

    src, out = Path(src), Path(out)
    if out.suffix != ".pt":
        raise ModelError(f"{out}: the scaled model is a .pt checkpoint")
    if out.exists() and not force:
        raise ModelError(f"{out}: already exists (use --force to overwrite)")
    if out.exists() and out.resolve() == src.resolve():
        raise ModelError(f"{out}: is the input model; write the scaled copy to another file")
    payload = torch.load(src, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(f"{src}: not an inkreader checkpoint")
    payload["config"]["x_scale"] = float(scale)
    payload.setdefault("meta", {})["x_scale"] = meta
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    tmp.replace(out)
