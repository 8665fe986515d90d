"""Render one synthetic handwriting line: font glyphs -> jittered ink (with bits of the lines
above and below) -> warped -> cropped -> on paper, photographed and sometimes binarised
(``inkreader.degrade.paper``).

Every random choice comes from the ``rng`` argument, so a (text, font, rng state) triple always
gives the same pixels.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..degrade import paper
from ..degrade.augment import AugmentConfig, augment_line

# Geometry and stroke changes come from the lead's line augmentation; ink, paper and camera
# effects are done here, on the composed image, so they are not applied twice.
GEOMETRY = AugmentConfig(rotate=1.5, p_blur=0.0, p_contrast=0.0, p_noise=0.0, p_binarize=0.0,
                         p_margin=0.0)

X_HEIGHT_PX = (18, 30)  # rendered x-height range, so strokes are a few pixels wide
OUT_HEIGHT = (64, 128)  # final line height, as real line crops (training resizes to 96)
P_BINARIZE = 0.15  # GNHK's lines come from binarised pages (the costliest step)
P_PER_CHAR = 0.35  # letter-spacing jitter needs one draw call per character (slower)


@dataclass(frozen=True)
class FontFace:
    """A usable handwriting font: its file, family name, relative x-height, missing symbols."""

    path: str
    family: str
    x_height: float  # height of "x" in pixels at size 100
    missing: frozenset[str] = frozenset()
    full_name: str = ""

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class PageContext:
    """Other writing around a line: the lines above and below, whose descenders and ascenders
    reach into a line crop, and the back of the sheet showing through."""

    above: str | None = None
    below: str | None = None
    back: str | None = None


@lru_cache(maxsize=512)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def measure_x_height(path: str) -> float:
    """Pixel height of "x" at size 100 (fonts differ a lot: scripts are small)."""
    box = load_font(path, 100).getbbox("x", anchor="ls")
    return float(max(1, box[3] - box[1]))


def _draw(text: str, font: ImageFont.FreeTypeFont, xh: float, drift: float,
          rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Text -> ((H, W) uint8 ink coverage, baseline row), with per-word baseline and spacing
    jitter, a baseline sloping ``drift`` rows per column and, for some lines, per-letter
    spacing jitter."""
    size = font.size
    words = text.split(" ")
    per_char = rng.random() < P_PER_CHAR
    space = font.getlength(" ") or size * 0.3
    boxes = [font.getbbox(w, anchor="ls") for w in words]
    up = -min(b[1] for b in boxes) + 0.3 * xh  # room above the baseline (plus jitter)
    down = max(b[3] for b in boxes) + 0.3 * xh
    width = int(sum(b[2] for b in boxes) * 1.3 + len(words) * space * 2 + 2 * size)
    slope = abs(drift) * width
    canvas = Image.new("L", (width, int(up + down + slope) + 2), 0)
    draw = ImageDraw.Draw(canvas)
    x, base = size * 0.3, up + (slope if drift < 0 else 0.0)
    for w in words:
        y = base + rng.normal(0, 0.04 * xh) + drift * x
        if per_char:
            track = rng.normal(0.02, 0.04) * size
            for ch in w:
                draw.text((x, y + rng.normal(0, 0.02 * xh)), ch, font=font, fill=255,
                          anchor="ls")
                x += font.getlength(ch) + track + rng.normal(0, 0.015) * size
        else:
            draw.text((x, y), w, font=font, fill=255, anchor="ls")
            x += font.getlength(w)
        x += space * rng.uniform(0.7, 1.8)
    return np.asarray(canvas), int(base)


def _stack(main: tuple[np.ndarray, int], above: tuple[np.ndarray, int] | None,
           below: tuple[np.ndarray, int] | None, pitch: int) -> tuple[np.ndarray, np.ndarray]:
    """Main line alone and main line with its neighbours, on canvases of one size, baselines
    ``pitch`` rows apart."""
    lines = [(0, main)] + [(o, x) for o, x in ((-pitch, above), (pitch, below)) if x is not None]
    top = min(o + 0 - b for o, (_, b) in lines)
    bottom = max(o + img.shape[0] - b for o, (img, b) in lines)
    width = max(img.shape[1] for _, (img, _) in lines)
    alone = np.zeros((bottom - top, width), np.uint8)
    together = alone.copy()
    for o, (img, b) in lines:
        y = o - b - top
        region = together[y:y + img.shape[0], :img.shape[1]]
        np.maximum(region, img, out=region)
        if o == 0:
            alone[y:y + img.shape[0], :img.shape[1]] = img
    return alone, together


def _trim(alone: np.ndarray, together: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut both canvases to the main line's ink plus room for the crop margins and the warp:
    the blank canvas and the far parts of the neighbours only cost warping time."""
    rows = np.flatnonzero(alone.max(axis=1) > 0)
    cols = np.flatnonzero(alone.max(axis=0) > 0)
    if rows.size == 0:
        return alone, together
    m = int(0.7 * (rows[-1] - rows[0] + 1)) + 4  # > the largest crop margin (0.45 h)
    y0, y1 = max(0, rows[0] - m), rows[-1] + 1 + m
    x0, x1 = max(0, cols[0] - m), cols[-1] + 1 + m
    return alone[y0:y1, x0:x1], together[y0:y1, x0:x1]


def _warp(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slant, stretch, rotation, elastic warp and stroke width, via ``augment_line`` (which
    works on dark ink on light paper)."""
    pad = int(0.03 * ink.shape[1]) + 4  # room for the rotation, so no ascender is clipped
    page = 255 - np.pad(ink, ((pad, pad), (0, 0)))
    return 255 - augment_line(page, rng, GEOMETRY)


def _ink_box(ink: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the ink plus random margins (may reach outside the image)."""
    rows = np.flatnonzero(ink.max(axis=1) > 60)
    cols = np.flatnonzero(ink.max(axis=0) > 60)
    if rows.size == 0:
        return 0, min(8, ink.shape[0]), 0, min(8, ink.shape[1])
    h = rows[-1] - rows[0] + 1
    top, bottom = (int(h * m) + 1 for m in rng.uniform(0.05, 0.45, 2))
    left, right = (int(h * m) + 1 for m in rng.uniform(0.05, 0.4, 2))
    return rows[0] - top, rows[-1] + 1 + bottom, cols[0] - left, cols[-1] + 1 + right


def _crop(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    y0, y1, x0, x1 = box
    h, w = img.shape
    padded = np.pad(img, ((max(0, -y0), max(0, y1 - h)), (max(0, -x0), max(0, x1 - w))))
    return padded[y0 + max(0, -y0):y1 + max(0, -y0), x0 + max(0, -x0):x1 + max(0, -x0)]


def render_ink(text: str, face: FontFace, rng: np.random.Generator,
               context: PageContext = PageContext()) -> tuple[np.ndarray, np.ndarray | None]:
    """Text -> (ink coverage (H, W) uint8 cropped to the line with margins, the back of the
    sheet's ink of the same shape or None)."""
    xh = rng.uniform(*X_HEIGHT_PX)
    font = load_font(face.path, int(np.clip(round(100 * xh / face.x_height), 8, 200)))
    drift = float(np.clip(rng.normal(0, 0.01), -0.025, 0.025))  # the baseline slopes a little
    main = _draw(text, font, xh, drift, rng)
    # neighbour lines slope about as much (a writer keeps lines roughly parallel)
    above = (_draw(context.above, font, xh, drift + rng.normal(0, 0.002), rng)
             if context.above else None)
    below = (_draw(context.below, font, xh, drift + rng.normal(0, 0.002), rng)
             if context.below else None)
    rows = np.flatnonzero(main[0].max(axis=1) > 60)
    extent = rows[-1] - rows[0] + 1 if rows.size else xh
    # baselines 3-4 x-heights apart as on a written page, more for tall scripts
    pitch = int(max(xh * rng.uniform(3.0, 4.2), extent * rng.uniform(0.8, 1.0)))
    alone, together = _trim(*_stack(main, above, below, pitch))
    twin = copy.deepcopy(rng)  # the same warp for the line alone and with its neighbours
    warped = _warp(alone, rng)
    box = _ink_box(warped, rng)  # the crop follows the line itself, not its neighbours
    if above is not None or below is not None:
        warped = _warp(together, twin)
    ink = _crop(warped, box)
    back = None
    if context.back:  # mirrored writing of the other side, at some offset
        b = _draw(context.back, font, xh, -drift, rng)[0][:, ::-1]
        x0 = int(rng.integers(0, max(1, b.shape[1] - ink.shape[1])))
        b = _crop(b, (0, b.shape[0], x0, x0 + ink.shape[1]))
        back = cv2.resize(b, ink.shape[::-1], interpolation=cv2.INTER_AREA)
    return ink, back


def render_line(text: str, face: FontFace, rng: np.random.Generator,
                context: PageContext = PageContext()) -> np.ndarray:
    """Text and font -> (H, W) uint8 grayscale line image, H in ``OUT_HEIGHT``."""
    ink, back = render_ink(text, face, rng, context)
    out_h = int(rng.integers(OUT_HEIGHT[0], OUT_HEIGHT[1] + 1))
    out_w = max(8, int(round(ink.shape[1] * out_h / ink.shape[0])))
    ink = cv2.resize(ink, (out_w, out_h), interpolation=cv2.INTER_AREA)
    if back is not None:
        back = cv2.resize(back, (out_w, out_h), interpolation=cv2.INTER_AREA)
    img = paper.compose(ink, rng, back)
    if rng.random() < paper.P_POLYGON:
        img = paper.polygon_crop(img, rng)
    if rng.random() < P_BINARIZE:
        # a page photo's noise is small at the scale of its strokes; at line scale the
        # adaptive threshold would turn our stronger noise into speckles
        return paper.binarize(paper.camera(img, rng, max_noise=2.0))
    return paper.camera(img, rng)
