"""Online handwriting drawn as offline line images: pen strokes (``x, y, pen-up`` points, as in
IAM-OnDB) -> a grayscale line, the way a person's pen, paper and camera would have made it.

A rendering is a function of (strokes, style, rng): ``render(points, rng, VARIED)`` draws a new
hand of the same writer each time the rng differs, ``render(points, None, PLAIN)`` always the
same clean line (dark ink, constant pen, white paper), the fixed validation rendering. What a
rendering varies:

- stroke space: slant (shear), rotation, aspect, scale (the ink's core height in pixels), word
  spacing, a wavy baseline, every stroke shifted a little and every point jittered smoothly;
- the pen: its width, and that width varying smoothly along each stroke;
- the page: ink tone, paper texture and tone, uneven light (``inkreader.degrade.paper``), blur,
  noise, JPEG, and a share of lines passed through the reference's GNHK page binarisation.

The strokes of a dataset are read by ``load_strokes`` from a folder holding ``strokes.npz`` (one
int16 ``[N, 3]`` array per line id) and ``lines.tsv`` (``id split form text``).
"""

from __future__ import annotations

import csv
import hashlib
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..errors import DatasetError

STROKES_FILE = "strokes.npz"
LINES_FILE = "lines.tsv"
SUPERSAMPLE = 3  # drawn this many times larger, then reduced: smooth edges, sub-pixel pens


@dataclass(frozen=True)
class PenStyle:
    """The ranges a rendering draws from (each ``(low, high)`` uniform unless it says)."""

    core_px: tuple[float, float] = (28.0, 50.0)  # 5-95 % of the ink's height, in pixels
    pen_px: tuple[float, float] = (1.3, 4.2)  # pen width
    pen_vary: float = 0.35  # the width varies along a stroke by up to this fraction
    shear: float = 0.45  # slant added, dx per dy, uniform in +-shear
    rotate: float = 2.5  # degrees, uniform in +-rotate
    aspect: tuple[float, float] = (0.8, 1.25)  # horizontal stretch of the strokes
    word_space: tuple[float, float] = (0.7, 1.4)  # gaps between words scaled by this
    stroke_jitter: float = 0.025  # each stroke shifted by N(0, this x core height)
    point_jitter: float = 0.012  # smooth per-point noise, N(0, this x core height)
    wave: float = 0.08  # baseline waviness: amplitude up to this x core height
    margin_px: tuple[int, int] = (2, 24)  # paper around the ink
    p_paper: float = 0.8  # textured paper and varied ink tone (else flat paper)
    p_camera: float = 0.7  # blur, noise, JPEG
    p_binarize: float = 0.15  # the GNHK page binarisation (its evaluation lines are binarised)
    plain: bool = False  # none of the above: the fixed rendering

    def __post_init__(self) -> None:
        for name in ("p_paper", "p_camera", "p_binarize"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a probability (0 to 1), got "
                                 f"{getattr(self, name)}")
        for name in ("core_px", "pen_px", "aspect", "word_space", "margin_px"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be a range 0 < low <= high, got {(low, high)}")


VARIED = PenStyle()
# The fixed validation rendering: core height 40 px, a 2.6 px pen, ink 25 on paper 240.
PLAIN = PenStyle(core_px=(40.0, 40.0), pen_px=(2.6, 2.6), pen_vary=0.0, shear=0.0, rotate=0.0,
                 aspect=(1.0, 1.0), word_space=(1.0, 1.0), stroke_jitter=0.0, point_jitter=0.0,
                 wave=0.0, margin_px=(10, 10), p_paper=0.0, p_camera=0.0, p_binarize=0.0,
                 plain=True)
STYLES = {"plain": PLAIN, "varied": VARIED}


def split_strokes(points: np.ndarray) -> list[np.ndarray]:
    """``[N, 3]`` points (``x, y, 1 on a stroke's last point``) -> float ``[n, 2]`` strokes."""
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 3 or not len(pts):
        raise ValueError(f"strokes must be a non-empty [N, 3] array, got shape {pts.shape}")
    ends = np.flatnonzero(pts[:, 2] != 0) + 1
    xy = pts[:, :2].astype(np.float64)
    return [s for s in np.split(xy, ends) if len(s)]


def _word_spacing(strokes: list[np.ndarray], core: float, factor: float,
                  rng: np.random.Generator) -> list[np.ndarray]:
    """Gaps between words (stretches of paper wider than half the core height that no stroke
    crosses) scaled by about ``factor``; the strokes right of a gap move with it."""
    spans = np.array([(s[:, 0].min(), s[:, 0].max()) for s in strokes])
    order = np.argsort(spans[:, 0])
    shift = np.zeros(len(strokes))
    right, delta = -np.inf, 0.0
    for i in order:
        left = spans[i, 0]
        if right > -np.inf and left - right > 0.5 * core:
            gap = left - right
            delta += gap * (factor * rng.uniform(0.85, 1.15) - 1)
        shift[i] = delta
        right = max(right, spans[i, 1])
    return [s + [shift[i], 0.0] for i, s in enumerate(strokes)]


def _smooth_noise(n: int, sigma: float, rng: np.random.Generator, corr: float = 8.0
                  ) -> np.ndarray:
    """``n`` values of smooth noise: white noise blurred by a Gaussian over about ``corr``
    points, with standard deviation ``sigma`` (the blurred noise's own, whatever ``n``)."""
    if n == 0 or sigma == 0:
        return np.zeros(n)
    half = int(3 * corr)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / corr) ** 2)
    kernel /= np.sqrt((kernel ** 2).sum())  # unit variance after the blur
    white = rng.normal(0, 1, n + 2 * half)
    return np.convolve(white, kernel, mode="valid")[:n] * sigma


def _geometry(strokes: list[np.ndarray], style: PenStyle, rng: np.random.Generator | None
              ) -> list[np.ndarray]:
    """The strokes moved into pixels (before the margin)."""
    ys = np.concatenate([s[:, 1] for s in strokes])
    low, high = np.percentile(ys, [5, 95])
    core = max(high - low, 1.0)
    mid = 0.5 * (low + high)
    if style.plain or rng is None:
        return [(s - [0.0, mid]) * (style.core_px[0] / core) for s in strokes]
    strokes = _word_spacing(strokes, core, rng.uniform(*style.word_space), rng)
    out = []
    for s in strokes:
        s = s + rng.normal(0, style.stroke_jitter * core, 2)
        if style.point_jitter:
            s = s + np.stack([_smooth_noise(len(s), style.point_jitter * core, rng, 20.0)
                              for _ in range(2)], axis=1)
        out.append(s - [0.0, mid])
    shear = rng.uniform(-style.shear, style.shear)
    angle = np.deg2rad(rng.uniform(-style.rotate, style.rotate))
    aspect = rng.uniform(*style.aspect)
    amp = rng.uniform(0, style.wave) * core
    wavelength = rng.uniform(3, 10) * core
    phase = rng.uniform(0, 2 * np.pi)
    cos, sin = np.cos(angle), np.sin(angle)
    scale = rng.uniform(*style.core_px) / core
    moved = []
    for s in out:
        x, y = s[:, 0] * aspect, s[:, 1]
        y = y + amp * np.sin(2 * np.pi * x / wavelength + phase)
        x = x - shear * y  # y grows downward: a positive shear leans the letters right
        moved.append(np.stack([x * cos - y * sin, x * sin + y * cos], axis=1) * scale)
    return moved


def _draw(strokes: list[np.ndarray], pen: float, vary: float, margin: int,
          rng: np.random.Generator | None) -> np.ndarray:
    """Ink coverage (H, W) uint8, 255 = ink, of the strokes (in pixels) drawn with a round pen
    of width ``pen`` varying along each stroke by up to ``vary``, ``margin`` pixels around."""
    ss = SUPERSAMPLE
    allpts = np.concatenate(strokes)
    origin = allpts.min(axis=0) - margin - pen
    size = np.ceil((allpts.max(axis=0) - origin + margin + pen) * ss).astype(int) + 1
    canvas = np.zeros((int(size[1]), int(size[0])), np.uint8)
    for s in strokes:
        p = np.round((s - origin) * ss).astype(np.int32)
        widths = np.full(len(p), pen)
        if vary and rng is not None and len(p) > 1:
            widths = pen * (1 + np.clip(_smooth_noise(len(p), vary / 2, rng, 6.0), -vary, vary))
        thick = np.maximum(1, np.round(widths * ss)).astype(int)
        if len(p) == 1:
            cv2.circle(canvas, (int(p[0, 0]), int(p[0, 1])), max(1, int(thick[0]) // 2), 255,
                       -1)
            continue
        if not vary:
            cv2.polylines(canvas, [p.reshape(-1, 1, 2)], False, 255, int(thick[0]),
                          cv2.LINE_8)
            continue
        for i in range(len(p) - 1):
            cv2.line(canvas, (int(p[i, 0]), int(p[i, 1])), (int(p[i + 1, 0]), int(p[i + 1, 1])),
                     255, int(thick[i]), cv2.LINE_8)
    h, w = canvas.shape
    return cv2.resize(canvas, (max(1, w // ss), max(1, h // ss)), interpolation=cv2.INTER_AREA)


def render(points: np.ndarray, rng: np.random.Generator | None = None,
           style: PenStyle = PLAIN) -> np.ndarray:
    """Pen strokes ``[N, 3]`` -> grayscale (H, W) uint8 line image, dark ink on light paper.
    ``PLAIN`` (or no ``rng``) is the fixed rendering; otherwise every choice comes from ``rng``."""
    from ..degrade.paper import binarize, camera, compose

    strokes = split_strokes(points)
    varied = not style.plain and rng is not None
    moved = _geometry(strokes, style, rng if varied else None)
    if not varied:
        ink = _draw(moved, style.pen_px[0], 0.0, style.margin_px[0], None)
        return (240 - ink.astype(np.float32) * (215 / 255)).round().astype(np.uint8)
    pen = rng.uniform(*style.pen_px)
    margin = int(rng.integers(style.margin_px[0], style.margin_px[1] + 1))
    ink = _draw(moved, pen, style.pen_vary, margin, rng)
    if rng.random() < style.p_paper:
        img = compose(ink, rng)
    else:
        paper, tone = rng.uniform(200, 255), rng.uniform(0, 90)
        img = paper - ink.astype(np.float32) / 255 * (paper - tone)
    if rng.random() < style.p_camera:
        out = camera(img.astype(np.float32), rng)
    else:
        out = np.clip(img, 0, 255).round().astype(np.uint8)
    if rng.random() < style.p_binarize:
        out = binarize(out)
    return out


def rendering_rng(seed: int, line_id: str, rendering: int) -> np.random.Generator:
    """The generator of rendering ``rendering`` of line ``line_id`` under ``seed``: the same
    on every machine and in every process."""
    digest = hashlib.sha256(f"{seed}\0{line_id}\0{rendering}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


# -- datasets of strokes ---------------------------------------------------------------------------

def is_strokes_dataset(path: str | Path) -> bool:
    """A folder holding ``strokes.npz`` and ``lines.tsv`` (or that ``strokes.npz`` itself)."""
    p = Path(path)
    folder = p.parent if p.name == STROKES_FILE else p
    return folder.is_dir() and (folder / STROKES_FILE).is_file()


def strokes_folder(path: str | Path) -> Path:
    p = Path(path)
    return p.parent if p.name == STROKES_FILE else p


@dataclass(frozen=True)
class StrokeLine:
    id: str
    split: str
    form: str
    text: str


def load_stroke_lines(path: str | Path) -> list[StrokeLine]:
    """The ``lines.tsv`` of a strokes folder: ``id split form text``, tab-separated, unquoted."""
    folder = strokes_folder(path)
    table = folder / LINES_FILE
    if not table.is_file():
        raise DatasetError(f"{table}: a strokes folder needs its {LINES_FILE} (id, split, form, "
                           "text)")
    with open(table, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, None)
        need = ("id", "split", "form", "text")
        if header is None or any(c not in header for c in need):
            raise DatasetError(f"{table}: the header must name the columns {', '.join(need)}, "
                               f"found {header}")
        col = {c: header.index(c) for c in need}
        lines = []
        for n, row in enumerate(rows, start=2):
            if len(row) != len(header):
                raise DatasetError(f"{table}:{n}: {len(row)} columns, the header has "
                                   f"{len(header)}")
            lines.append(StrokeLine(*(row[col[c]] for c in need)))
    return lines


@lru_cache(maxsize=4)
def _strokes_archive(path: str, mtime_ns: int, pid: int) -> np.lib.npyio.NpzFile:
    """The archive, open (one a process: a forked worker must not share its parent's file
    offset), each line read when it is asked for."""
    try:
        return np.load(path)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read the strokes archive ({exc})") from None


def line_strokes(folder: str | Path, line_id: str) -> np.ndarray:
    """The ``[N, 3]`` points of one line of a strokes folder (the archive is read once)."""
    path = strokes_folder(folder) / STROKES_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise DatasetError(f"{path}: strokes archive not found") from None
    archive = _strokes_archive(str(path), mtime, os.getpid())
    if line_id not in archive.files:
        raise DatasetError(f"{path}: no strokes for line {line_id!r}")
    try:
        return archive[line_id]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: cannot read the strokes of line {line_id!r} ({exc})"
                           ) from None


def render_line(folder: str | Path, line_id: str, pen: str = "plain", seed: int = 0,
                rendering: int = 0) -> np.ndarray:
    """Line ``line_id`` of a strokes folder drawn with the style ``pen`` ("plain" or "varied"),
    rendering number ``rendering`` under ``seed``."""
    style = STYLES.get(pen)
    if style is None:
        raise DatasetError(f"unknown pen style {pen!r} (known: {', '.join(STYLES)})")
    rng = None if style.plain else rendering_rng(seed, line_id, rendering)
    try:
        return render(line_strokes(folder, line_id), rng, style)
    except ValueError as exc:
        raise DatasetError(f"{strokes_folder(folder)}: line {line_id}: {exc}") from None


# Single-stroke (Hershey) fonts of the ``hershey-fonts`` package drawn by the same pen: the
# handwriting-like ones (cursive, script simplex and complex) and two plain hands.
HERSHEY_FONTS = ("cursive", "scripts", "scriptc", "futural", "timesi")


@lru_cache(maxsize=8)
def _hershey(font: str):
    try:
        from HersheyFonts import HersheyFonts
    except ImportError:
        from ..extras import MissingExtra
        raise MissingExtra("synth", "single-stroke fonts") from None
    face = HersheyFonts()
    face.load_default_font(font)
    face.normalize_rendering(100)
    return face


def hershey_missing(font: str, symbols: str) -> frozenset[str]:
    """The symbols a Hershey font has no strokes for (a space needs none)."""
    face = _hershey(font)
    return frozenset(c for c in symbols if c != " " and not any(face.strokes_for_text(c)))


def hershey_points(text: str, font: str) -> np.ndarray:
    """``text`` written in the Hershey font ``font`` as ``[N, 3]`` pen points (``x, y`` with y
    growing downward, 1 where the pen lifts), as ``render`` takes them."""
    if font not in HERSHEY_FONTS:
        raise ValueError(f"unknown single-stroke font {font!r} (known: "
                         f"{', '.join(HERSHEY_FONTS)})")
    strokes = [np.asarray(s, np.float64) for s in _hershey(font).strokes_for_text(text)]
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        raise ValueError(f"{text!r} has no strokes in font {font}")
    points = []
    for s in strokes:
        up = np.zeros((len(s), 1))
        up[-1] = 1
        points.append(np.hstack([s[:, :1] * 10, -s[:, 1:2] * 10, up]))
    return np.vstack(points).round().astype(np.int32)


def sample_sheet(folder: str | Path, ids: list[str], renderings: int, seed: int = 0,
                 height: int = 96) -> np.ndarray:
    """One row a drawing, each at ``height``: every line plain, then ``renderings`` varied
    renderings of it, on a grey ground (the sheet in docs/)."""
    rows = []
    for line_id in ids:
        rows.append(render_line(folder, line_id, "plain"))
        rows += [render_line(folder, line_id, "varied", seed, k) for k in range(renderings)]
    rows = [cv2.resize(r, (max(1, round(r.shape[1] * height / r.shape[0])), height),
                       interpolation=cv2.INTER_AREA) for r in rows]
    width = max(r.shape[1] for r in rows)
    return np.vstack([np.pad(r, ((3, 3), (0, width - r.shape[1])), constant_values=128)
                      for r in rows])


__all__ = ["HERSHEY_FONTS", "PLAIN", "STYLES", "VARIED", "PenStyle", "StrokeLine",
           "hershey_missing", "hershey_points", "is_strokes_dataset", "line_strokes",
           "load_stroke_lines", "render", "render_line", "rendering_rng", "sample_sheet",
           "split_strokes"]
