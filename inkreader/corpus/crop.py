"""Cutting one line out of a page for a training corpus: by its polygon with a mask, turned
so that its baseline is level, at the height training reads plus a margin.

- The mask: pixels outside the polygon become the local paper colour (as ``crop_line``), so a
  tall polygon does not bring in the neighbouring lines' ascenders and descenders.
- Straightening: a baseline slanted by more than ``LEVEL_DEGREES`` (signatures at -20 to -28
  degrees, whole pages at -5 to -8, margin notes at 90) is turned level about the polygon's
  centre, in its reading direction (the baseline's first point to its last), before the cut.
- Size: lines taller than ``STORE_HEIGHT`` are scaled down to it (area interpolation); the
  network reads 96 px, and the extra third leaves room for augmentation's crops and scales.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..data.pagexml import LINE_PAD, PAPER_PERCENTILE, crop_line
from ..errors import ImageError

LEVEL_DEGREES = 2.0
STORE_HEIGHT = 128


def baseline_angle(baseline) -> float:
    """Degrees from the horizontal of the least-squares direction of ``baseline``, oriented
    from its first point to its last (image coordinates: positive = descending to the right)."""
    pts = np.asarray(baseline, dtype=np.float64).reshape(-1, 2)
    centred = pts - pts.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    direction = vt[0]
    if np.dot(direction, pts[-1] - pts[0]) < 0:
        direction = -direction
    return math.degrees(math.atan2(direction[1], direction[0]))


def _turned_crop(page: np.ndarray, polygon: np.ndarray, degrees: float, name: str) -> np.ndarray:
    """The polygon's region turned by ``degrees`` (counter-clockwise on screen), masked."""
    h, w = page.shape
    x0, y0 = np.maximum(polygon.min(axis=0) - LINE_PAD, 0)
    x1, y1 = np.minimum(polygon.max(axis=0) + LINE_PAD, (w - 1, h - 1))
    if x1 < x0 or y1 < y0:
        raise ImageError(f"{name}: line outline lies outside the {w}x{h} page")
    region = page[y0:y1 + 1, x0:x1 + 1]
    local = (polygon - (x0, y0)).astype(np.float64)
    centre = local.mean(axis=0)
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), degrees, 1.0)
    turned = local @ matrix[:, :2].T + matrix[:, 2]
    lo = np.floor(turned.min(axis=0)) - LINE_PAD
    hi = np.ceil(turned.max(axis=0)) + LINE_PAD
    matrix[:, 2] -= lo
    size = (int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1)
    paper = float(np.percentile(region, PAPER_PERCENTILE))
    out = cv2.warpAffine(region, matrix, size, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=paper)
    mask = np.zeros(out.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(turned - lo).astype(np.int32)], 255)
    return np.where(mask > 0, out, np.uint8(round(paper))).astype(np.uint8)


def cut_line(page: np.ndarray, polygon, baseline=None, name: str = "<page>") -> np.ndarray:
    """One line of an 8-bit (H, W) page: masked by ``polygon``, levelled along ``baseline``
    when it is slanted, at most ``STORE_HEIGHT`` px tall. Returns (h, w) uint8."""
    pts = np.asarray(polygon, dtype=np.int64).reshape(-1, 2)
    if len(pts) < 3:
        raise ImageError(f"{name}: a line outline needs 3 points or more, got {len(pts)}")
    degrees = baseline_angle(baseline) if baseline is not None and len(baseline) >= 2 else 0.0
    if abs(degrees) < LEVEL_DEGREES:
        line = crop_line(page, pts, name=name)
    else:
        line = _turned_crop(page, pts, degrees, name)
    h, w = line.shape
    if h > STORE_HEIGHT:
        width = max(1, round(w * STORE_HEIGHT / h))
        line = cv2.resize(line, (width, STORE_HEIGHT), interpolation=cv2.INTER_AREA)
    return line
