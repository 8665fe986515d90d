"""Data augmentation for line images (height already 96): geometry, ink, paper, camera.

All randomness comes from the ``rng`` argument, so a (seed, epoch, sample) triple always gives
the same image: training resumes exactly, whichever worker draws the sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    stretch: tuple[float, float] = (0.8, 1.2)  # horizontal scale
    shear: float = 0.35  # slant, dx per dy (about +-19 degrees)
    rotate: float = 2.0  # degrees
    vscale: tuple[float, float] = (0.8, 1.05)
    p_elastic: float = 0.4
    elastic_px: float = 2.5
    # the warp's control grid: one point per ``elastic_cell`` columns (48: about two letters
    # at height 96, bending words; 24: about one, reshaping letters) and ``elastic_rows`` rows
    elastic_cell: int = 48
    elastic_rows: int = 3
    p_stroke: float = 0.35
    p_blur: float = 0.25
    p_contrast: float = 0.6
    p_noise: float = 0.3
    p_binarize: float = 0.12  # GNHK's evaluation lines are binarised pages
    # paper added left and right (0..margin_px each, at height 96): crops cut by other tools
    # or by hand start further from the ink than the Hooker crops the model learns from
    p_margin: float = 0.5
    margin_px: int = 80
    # strips of paper over the ink (random erasing, SpecAugment's time masks for images): 1 to
    # mask_count strips of 4..mask_px columns; the label keeps the hidden letters, so the
    # recurrent layers learn to read a letter from its neighbours when its strokes are unclear
    p_mask: float = 0.0
    mask_count: int = 2
    mask_px: int = 20
    # a tight crop (row cuts): up to cut_max of the line's rows cut away above and below, the
    # rest resized back to the full height (and as much wider), as a line segmenter's tight
    # polygon cuts through the ascenders and descenders and the reader then magnifies the rest
    p_cut: float = 0.0
    cut_max: float = 0.4

    def __post_init__(self) -> None:
        for name in ("p_elastic", "p_stroke", "p_blur", "p_contrast", "p_noise", "p_binarize",
                     "p_margin", "p_mask", "p_cut"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a probability (0 to 1), got "
                                 f"{getattr(self, name)}")
        if self.elastic_cell < 4 or self.elastic_rows < 2:
            raise ValueError(f"elastic_cell must be 4 or more and elastic_rows 2 or more, got "
                             f"{self.elastic_cell} and {self.elastic_rows}")
        if self.margin_px < 0:
            raise ValueError(f"margin_px must be 0 or more, got {self.margin_px}")
        if self.mask_count < 1 or self.mask_px < 4:
            raise ValueError(f"mask_count must be 1 or more and mask_px 4 or more, got "
                             f"{self.mask_count} and {self.mask_px}")
        if not 0 < self.cut_max < 1:
            raise ValueError(f"cut_max must be a fraction of the rows (between 0 and 1, "
                             f"exclusive), got {self.cut_max}")


DEFAULT = AugmentConfig()


def paper_level(img: np.ndarray) -> int:
    """The background grey: a high percentile, since ink is the dark minority."""
    return int(np.percentile(img, 90))


def _affine(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig, bg: int) -> np.ndarray:
    h, w = img.shape
    sx = rng.uniform(*cfg.stretch)
    sy = rng.uniform(*cfg.vscale)
    shear = rng.uniform(-cfg.shear, cfg.shear)
    angle = np.deg2rad(rng.uniform(-cfg.rotate, cfg.rotate))
    c, s = np.cos(angle), np.sin(angle)
    # scale, then slant around the vertical centre, then rotate about the centre
    m = np.array([[c, -s], [s, c]]) @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
    out_w = max(8, int(round(w * sx + abs(shear) * h + abs(s) * h)))
    src_c = np.array([w / 2, h / 2])
    dst_c = np.array([out_w / 2, h / 2 + rng.uniform(-0.06, 0.06) * h])
    t = dst_c - m @ src_c
    mat = np.hstack([m, t[:, None]]).astype(np.float32)
    return cv2.warpAffine(img, mat, (out_w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=bg)


def _elastic(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
             bg: int) -> np.ndarray:
    h, w = img.shape
    gw, gh, px = max(2, w // cfg.elastic_cell), cfg.elastic_rows, cfg.elastic_px
    dx = cv2.resize(rng.normal(0, px, (gh, gw)).astype(np.float32), (w, h), cv2.INTER_CUBIC)
    dy = cv2.resize(rng.normal(0, px, (gh, gw)).astype(np.float32), (w, h), cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=bg)


def _mask_columns(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
                  bg: int) -> np.ndarray:
    """Paper over 1..mask_count vertical strips of the ink's columns."""
    ink = np.flatnonzero((img < bg - 40).any(axis=0))
    if ink.size < 2 * cfg.mask_px:
        return img
    out = img.copy()
    for _ in range(int(rng.integers(1, cfg.mask_count + 1))):
        width = int(rng.integers(4, cfg.mask_px + 1))
        x = int(rng.integers(ink[0], ink[-1] - width + 1))
        out[:, x: x + width] = bg
    return out


def _cut_rows(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Cut up to ``cut_max`` of the rows (shared at random between the top and the bottom) and
    resize what is left back to the full height, keeping its aspect."""
    h, w = img.shape
    cut = rng.uniform(0, cfg.cut_max) * h
    top = int(round(cut * rng.uniform()))
    keep = max(8, h - int(round(cut)))
    top = min(top, h - keep)
    rest = img[top: top + keep]
    width = max(8, int(round(w * h / keep)))
    return cv2.resize(rest, (width, h), interpolation=cv2.INTER_LINEAR)


def augment_line(img: np.ndarray, rng: np.random.Generator,
                 cfg: AugmentConfig = DEFAULT) -> np.ndarray:
    """(96, W) uint8 -> (96, W') uint8, a plausible other rendering of the same line."""
    bg = paper_level(img)
    if cfg.p_cut and rng.random() < cfg.p_cut:  # no draw when off: runs without it replay
        img = _cut_rows(img, rng, cfg)
    if cfg.p_margin and rng.random() < cfg.p_margin:
        left, right = (int(v) for v in rng.integers(0, cfg.margin_px + 1, 2))
        img = cv2.copyMakeBorder(img, 0, 0, left, right, cv2.BORDER_CONSTANT, value=bg)
    out = _affine(img, rng, cfg, bg)
    if rng.random() < cfg.p_elastic:
        out = _elastic(out, rng, cfg, bg)
    if cfg.p_mask and rng.random() < cfg.p_mask:  # no draw when off: runs without it replay
        out = _mask_columns(out, rng, cfg, bg)
    if rng.random() < cfg.p_stroke:
        k = np.ones((2, 2) if rng.random() < 0.7 else (3, 3), np.uint8)
        # ink is dark: erosion of the image thickens strokes, dilation thins them
        out = cv2.erode(out, k) if rng.random() < 0.5 else cv2.dilate(out, k)
    if rng.random() < cfg.p_blur:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.2))
    f = out.astype(np.float32)
    if rng.random() < cfg.p_contrast:
        gain = rng.uniform(0.6, 1.3)
        f = (f - bg) * gain + bg + rng.uniform(-30, 30)
    if rng.random() < cfg.p_binarize:
        # as GNHK's pages: threshold the clean line, no sensor noise on a binary image
        out = np.clip(f, 0, 255).astype(np.uint8)
        return cv2.adaptiveThreshold(out, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY,
                                     31, 2 + int(rng.integers(0, 8)))
    if rng.random() < cfg.p_noise:
        f += rng.normal(0, rng.uniform(2, 10), f.shape).astype(np.float32)
    return np.clip(f, 0, 255).astype(np.uint8)
