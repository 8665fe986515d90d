"""The only image path of inkreader: read, gray, resize, pad, binarise.

Training, evaluation, export checks, the CLI, the server and the benchmarks all call these
functions, so a line is seen the same way everywhere. Geometry (height 96, fixed width 2000)
comes from the model config; the defaults below are the reference's.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .errors import ImageError

HEIGHT = 96  # SPEC.md: input [B, 1, 96, 2000]
FIXED_WIDTH = 2000
STRIDE = 8  # three 2x2 max-pools: one output frame per 8 input columns
# Paper added after every line read at variable width (edge values, 16 frames): the backward
# LSTMs start on it instead of on the last stroke. Training batches pad most lines to a wider
# neighbour, so a line read alone, flush to its last column, was read worse than in a batch
# (docs/preprocessing.md has the measurement).
TAIL_MARGIN = 128
# Columns of a line's own edge after its padded width in a batch read with the lines' widths:
# the network's convolutions reach 23 columns past a frame's own 8 (3x3 convs: 1 + 2 + 4 at
# full, half and quarter resolution, 8 + 8 after the third pool), so with these a line's last
# frames see its own paper whatever the lines beside it, as when it is read alone.
CNN_CONTEXT = 24
X_SCALE_RANGE = (0.25, 4.0)  # the horizontal reading scales a model may carry (ModelConfig)
MAX_PIXELS = 100_000_000  # refuse decompression bombs before decoding
# Light ink on a dark ground (chalk, a photo negative, a dark-mode screenshot) is turned to dark
# on light before reading: when the bright tail of the line's pixels beyond their median (the
# ground) is at least this many levels long and this many times longer than the dark tail.
# Dark-ink lines have the long tail on the dark side; the most lopsided of the 6,896 Hooker
# lines and 3,000 synthetic lines had a bright tail 0.69x and 1.8x the dark one.
INVERT_MIN_CONTRAST = 64
INVERT_RATIO = 4.0
# Deslanting (``upright``, models with ``deslant``): the shears tried, dx per dy (positive: the
# writing leans right). The Hooker hand leans 0.65 (median of its lines; its letters' medians
# 0.35-0.9), synthetic fonts from -0.2 to 0.5; step 0.05 is under 3 degrees.
DESLANT_SHEARS = np.round(np.arange(-0.6, 1.2001, 0.05), 2)
# The ink band (``ink_band``, models with ``band``): a line is cut to the rows between these
# quantiles of its ink (Otsu, counted row by row), widened above and below by BAND_PAD of the
# band's height, before it is resized to height 96; the letters then fill the rows whatever
# paper the crop kept above and below them (a median Hooker line keeps 85 % of its height, its
# letters 1.17 times larger: docs/preprocessing.md, "The ink band"). A line whose ink is under
# BAND_MIN_INK of its pixels is kept whole.
# No ink, no text (``has_ink``): a line is read only if at least INK_MIN_PIXELS of its pixels
# at height 96 (after a 3x3 median filter, which removes pixel noise and specks) are darker
# than the paper around them (the brightest within INK_PAPER_PX) by INK_CONTRAST grey levels,
# and by INK_NOISE times the image's pixel noise (robust sigma of image minus filtered image).
# Of the 6,896 Hooker lines the five below it are crops of blank paper (three of them have
# under 3 such pixels); the next has 60. Blank, grey, gradient and noisy paper (Gaussian noise
# up to sigma 45) have none.
INK_CONTRAST = 40
INK_NOISE = 5.0
INK_PAPER_PX = 25
INK_MIN_PIXELS = 20
BAND_QUANTILES = (0.01, 0.99)
BAND_PAD = 0.15
BAND_MIN_INK = 0.002
_JPEG_EOI = b"\xff\xd9"


@dataclass(frozen=True)
class Line:
    """A line ready for the network: ``pixels`` (H, W) uint8, ``width`` the resized content width
    before padding, ``scale`` original pixels per resized pixel and ``shift`` the columns a
    deslant put before the text at mid-height (to map frames back)."""

    pixels: np.ndarray
    width: int
    scale: float
    source_size: tuple[int, int]  # (h, w) of the image the line came from
    inverted: bool = False  # light ink on a dark ground, turned dark on light (prepare_line)
    shift: float = 0.0


@dataclass(frozen=True)
class Reading:
    """How a model reads a variable-width line: the way it was trained, carried by its config
    (``ModelConfig.reading``) and by its exports. ``band``: cut to the ink band (``ink_band``)
    before the resize to height; ``x_scale``: stretched by it after (``inkreader tune-scale``
    chooses it); ``deslant``: sheared upright last (``upright``). The reference reads lines as
    they are (``Reading()``), and ``--fixed-width``, its pipeline, ignores all three."""

    x_scale: float = 1.0
    deslant: bool = False
    band: bool = False

    @classmethod
    def of(cls, config) -> Reading:
        """The reading of a ModelConfig, a TrainConfig or a model-config dict."""
        get = config.get if isinstance(config, dict) else lambda k, d: getattr(config, k, d)
        return cls(float(get("x_scale", 1.0)), bool(get("deslant", False)),
                   bool(get("band", False)))

    def resize(self, gray: np.ndarray, height: int = HEIGHT) -> np.ndarray:
        """Band cut (``band``) and resize to ``height`` stretched by ``x_scale``."""
        if self.band and gray.size:
            gray = crop_to_band(gray)
        return resize_to_height(gray, height, self.x_scale)


AS_IS = Reading()  # the reference's reading: lines as they are


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Bytes of any common image format -> 8-bit grayscale (H, W).

    An 8-bit gray or RGB image is decoded by OpenCV with IMREAD_GRAYSCALE, exactly as the reference
    demo's ``cv2.imread(path, cv2.IMREAD_GRAYSCALE)``. Other modes are converted first: 16-bit and
    float images are scaled to 8 bits, transparency is composited onto white (transparent pixels
    are paper, not ink), palettes are expanded.
    """
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow's warning limit (89 MP) is below MAX_PIXELS, which is checked below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            w, h = probe.size
            mode, fmt = probe.mode, probe.format
    except Image.DecompressionBombError as exc:  # over twice Pillow's limit: no size read
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "over 179 million pixels"
        raise ImageError(f"{name}: image too large ({size}; limit {MAX_PIXELS:,} pixels)") \
            from None
    except Exception:
        raise ImageError(f"{name}: not an image (unrecognised format)") from None
    if w * h > MAX_PIXELS:
        raise ImageError(f"{name}: image too large ({w}x{h} px; limit {MAX_PIXELS:,} pixels)")
    if w == 0 or h == 0:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")
    if fmt == "JPEG" and not data.rstrip(b"\x00").endswith(_JPEG_EOI):
        raise ImageError(f"{name}: truncated JPEG (no end-of-image marker)")
    has_alpha = "A" in mode or (mode == "P" and "transparency" in probe.info)
    if mode in ("L", "RGB") and not has_alpha:
        gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise ImageError(f"{name}: corrupt or truncated {fmt} image")
        return gray
    return _convert_with_pil(data, name)


def _convert_with_pil(data: bytes, name: str) -> np.ndarray:
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from None
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if im.mode == "F" and a.max() <= 1.0:
            top = 1.0  # a float image in 0..1
        elif im.mode.startswith("I;16") or a.max() > 255:
            top = 65535.0
        else:
            top = 255.0
        return np.clip(np.round(a * (255.0 / top)), 0, 255).astype(np.uint8)
    if im.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("LA", "PA", "RGBA", "La", "RGBa"):
        im = im.convert("RGBA")
        rgba = np.asarray(im, dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return cv2.cvtColor(np.round(rgb).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    if im.mode == "L":
        return np.asarray(im, dtype=np.uint8).copy()
    return cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2GRAY)


def read_gray(path: str | Path) -> np.ndarray:
    """Read an image file as 8-bit grayscale; every failure is an ImageError naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode_image(data, str(path))


def resized_width(h: int, w: int, height: int = HEIGHT, x_scale: float = 1.0) -> int:
    """The reference's width after resizing to ``height``: ``int(height * w / h)`` (truncated),
    times ``x_scale`` (a model's calibrated horizontal scale; 1.0 is the reference)."""
    return max(1, int(height * (w / h) * x_scale))


def resize_to_height(gray: np.ndarray, height: int = HEIGHT, x_scale: float = 1.0) -> np.ndarray:
    """INTER_AREA resize to ``height`` keeping the aspect ratio (times ``x_scale``), as the
    reference demo."""
    h, w = gray.shape
    tw = resized_width(h, w, height, x_scale)
    if (h, w) == (height, tw):
        return gray
    return cv2.resize(gray, (tw, height), interpolation=cv2.INTER_AREA)


def line_slant(gray: np.ndarray) -> float:
    """The shear (dx per dy, positive when the writing leans right) that makes a dark-on-light
    line's strokes most upright: of ``DESLANT_SHEARS``, the one whose sheared ink (Otsu) piles
    into the fewest, fullest columns (largest sum of squared column counts; Vinciarelli and
    Luettin's criterion without its run test). 0.0 for a line with no clear ink."""
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ys, xs = np.nonzero(ink)
    if not 0.001 * gray.size < len(ys) < 0.5 * gray.size:
        return 0.0
    h = gray.shape[0]
    cols = xs[None, :] + np.rint(np.outer(DESLANT_SHEARS, ys - h / 2)).astype(np.int64)
    cols -= cols.min(axis=1, keepdims=True)
    scores = [np.square(np.bincount(c).astype(np.int64)).sum() for c in cols]
    return float(DESLANT_SHEARS[int(np.argmax(scores))])


def upright(gray: np.ndarray, shear: float | None = None) -> np.ndarray:
    """A dark-on-light line sheared so that its strokes stand upright (``line_slant`` unless
    ``shear`` is given), widened by the shear, the new corners filled with its paper grey."""
    shear = line_slant(gray) if shear is None else shear
    if shear == 0.0:
        return gray
    h, w = gray.shape
    grow = int(np.ceil(abs(shear) * h))
    m = np.float32([[1, shear, -shear * h / 2 + grow / 2], [0, 1, 0]])
    paper = int(np.percentile(gray, 90))
    return cv2.warpAffine(gray, m, (w + grow, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=paper)


def ink_band(gray: np.ndarray) -> tuple[int, int]:
    """Rows ``(top, bottom)`` (bottom exclusive) of a line's ink band (``BAND_QUANTILES``,
    ``BAND_PAD``): the ink is the dark Otsu class, or the light one for light ink on a dark
    ground (``light_on_dark``). All rows for a line with almost no ink."""
    h = gray.shape[0]
    _, dark = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    rows = dark.sum(axis=1, dtype=np.float64)
    if light_on_dark(gray):
        rows = gray.shape[1] - rows
    if rows.sum() < BAND_MIN_INK * gray.size:
        return 0, h
    mass = np.cumsum(rows) / rows.sum()
    top = int(np.searchsorted(mass, BAND_QUANTILES[0]))
    bottom = int(np.searchsorted(mass, BAND_QUANTILES[1])) + 1
    pad = round(BAND_PAD * (bottom - top))
    return max(0, top - pad), min(h, bottom + pad)


def crop_to_band(gray: np.ndarray) -> np.ndarray:
    """The rows of ``gray`` in its ink band (``ink_band``)."""
    top, bottom = ink_band(gray)
    return gray[top:bottom]


def light_on_dark(gray: np.ndarray) -> bool:
    """Whether a line's ink is lighter than its ground (see ``INVERT_RATIO``)."""
    lo, mid, hi = np.percentile(gray, (2, 50, 98))
    return bool(hi - mid >= INVERT_MIN_CONTRAST and hi - mid > INVERT_RATIO * (mid - lo))


def has_ink(gray: np.ndarray, height: int = HEIGHT) -> bool:
    """Whether a line image has any writing on it (see ``INK_CONTRAST``): a blank or
    near-blank image is not read (no ink, no text). The paper is the brightest pixel nearby,
    so light ink on a dark ground counts too (the ground beside the strokes is the "ink")."""
    if gray.size == 0:
        return False
    if gray.shape[0] != height:
        gray = resize_to_height(gray, height)
    gray = np.ascontiguousarray(gray)
    smooth = cv2.medianBlur(gray, 3)
    paper = cv2.dilate(smooth, np.ones((INK_PAPER_PX, INK_PAPER_PX), np.uint8))
    # the pixel noise: 1.4826 x the median absolute difference, from its histogram (fast)
    counts = np.cumsum(np.bincount(cv2.absdiff(gray, smooth).ravel(), minlength=256))
    noise = 1.4826 * float(np.searchsorted(counts, gray.size / 2))
    depth = max(INK_CONTRAST, INK_NOISE * noise)
    return int((smooth.astype(np.int16) < paper.astype(np.int16) - depth).sum()) >= INK_MIN_PIXELS


def pad_width(width: int, fixed_width: int | None, margin: int | None = None) -> int:
    """Network input width: the fixed width, or ``width`` plus ``margin`` (default
    ``TAIL_MARGIN``) rounded up to a multiple of 8."""
    if fixed_width is not None:
        return fixed_width
    margin = TAIL_MARGIN if margin is None else margin
    return max(STRIDE, -(-(width + margin) // STRIDE) * STRIDE)


def prepare_line(gray: np.ndarray, height: int = HEIGHT, fixed_width: int | None = None,
                 name: str = "<image>", reading: Reading = AS_IS) -> Line:
    """Grayscale line -> network input: resize to ``height``, edge-pad on the right.

    ``fixed_width`` set: the reference contract (pad to exactly that width; wider is an error).
    ``fixed_width`` None: inkreader's variable width, read as the model reads (``reading``: cut
    to its ink band, resized, stretched, all as ``Reading.resize``), ``TAIL_MARGIN`` more,
    rounded up to a multiple of 8; a line of light ink on a dark ground (``light_on_dark``) is
    inverted, and with ``reading.deslant`` then sheared upright (``upright``).
    """
    if gray.ndim != 2:
        raise ImageError(f"{name}: expected a grayscale image, got shape {gray.shape}")
    if fixed_width is not None:
        reading = AS_IS  # the reference pipeline, exactly
    resized = reading.resize(gray, height)  # the band cut keeps the columns: `scale` holds
    w = resized.shape[1]
    if fixed_width is not None and w > fixed_width:
        raise ImageError(
            f"{name}: {w} px wide after resizing to height {height}, wider than the fixed input "
            f"width {fixed_width} (the reference cannot read it); read it without --fixed-width")
    inverted = fixed_width is None and light_on_dark(resized)
    if inverted:
        resized = 255 - resized
    scale, shift = gray.shape[1] / w, 0.0
    if reading.deslant:
        resized = upright(resized)
        shift, w = (resized.shape[1] - w) / 2, resized.shape[1]
    target = pad_width(w, fixed_width)
    pixels = np.pad(resized, ((0, 0), (0, target - w)), mode="edge") if target > w else resized
    return Line(pixels=pixels, width=w, scale=scale, source_size=gray.shape,
                inverted=inverted, shift=shift)


def stack_lines(lines: list[np.ndarray], width: int | None = None) -> np.ndarray:
    """(H, W_i) uint8 lines -> (B, 1, H, W) float32 batch, each edge-padded to the widest."""
    width = width or max(a.shape[1] for a in lines)
    batch = np.empty((len(lines), 1, lines[0].shape[0], width), dtype=np.float32)
    for i, a in enumerate(lines):
        batch[i, 0, :, : a.shape[1]] = a
        if a.shape[1] < width:
            batch[i, 0, :, a.shape[1]:] = a[:, -1:]
    return batch


def shift_rows(batch: np.ndarray, dy: int) -> np.ndarray:
    """(B, 1, H, W) lines moved down by ``dy`` rows (up when negative), the edge row repeated
    into the rows left empty."""
    if dy == 0:
        return batch
    h = batch.shape[2]
    rows = np.clip(np.arange(h) - dy, 0, h - 1)
    return np.ascontiguousarray(batch[:, :, rows])


# --- GNHK page binarisation (reference preprocess_gnhk.py, see SPEC.md) -----------------------
# Every call and dtype below is the one of the reference's ``binarize()`` (open_model_zoo,
# models/intel/handwritten-english-recognition-0001/preprocess_gnhk.py), so a page comes out
# pixel-identical: OpenCV's Otsu (scikit-image's gave the same masks on every image tried, but
# the reference's call is the contract), the uint8 truncations, and the x1.15 done in float64
# then clamped by THRESH_TRUNC.
ENTROPY_RADIUS = 5
MAX_ENTROPY = 8.0  # bits: the entropy of 8-bit pixels is at most 8
BACKGROUND_KERNEL = 35
CONTRAST_GAIN = 1.15
ADAPTIVE_BLOCK = 31
ADAPTIVE_C = 2


def binarize_page(gray: np.ndarray) -> np.ndarray:
    """The reference's whole-page binarisation of an 8-bit (H, W) page: black text (0) on
    white (255), (H, W) uint8.

    Low-entropy (paper) pixels estimate the background by a 35x35 grey dilation; the text is
    the difference from it, contrast x1.15, then a Gaussian adaptive threshold 31 / 2.
    """
    from skimage.filters.rank import entropy
    from skimage.morphology import disk

    negative = 1 - (entropy(gray, disk(ENTROPY_RADIUS)) / MAX_ENTROPY)
    u8 = (negative * 255).astype(np.uint8)
    _, mask = cv2.threshold(u8, 0, 255, cv2.THRESH_OTSU)  # 255: background (low entropy)
    masked = cv2.bitwise_and(gray, gray, mask=mask)
    kernel = np.ones((BACKGROUND_KERNEL, BACKGROUND_KERNEL), np.uint8)
    background = cv2.dilate(masked, kernel, iterations=1)
    text = cv2.absdiff(gray, background)
    contrast = (255 - text) * CONTRAST_GAIN  # uint8 - then float64, as the reference
    _, clamped = cv2.threshold(contrast, 255, 255, cv2.THRESH_TRUNC)
    return cv2.adaptiveThreshold(clamped.astype(np.uint8), 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
                                 cv2.THRESH_BINARY, ADAPTIVE_BLOCK, ADAPTIVE_C)


def quiet_opencv() -> None:
    """Errors only from OpenCV's own logging: our messages already name a bad file, and its
    warnings (e.g. "Premature end of JPEG file") would repeat them without the name."""
    if hasattr(cv2, "setLogLevel"):  # OpenCV 4
        cv2.setLogLevel(2)
        return
    try:  # OpenCV 5 moved it
        from cv2.utils import logging as cv_logging

        cv_logging.setLogLevel(cv_logging.LOG_LEVEL_ERROR)
    except (ImportError, AttributeError):
        pass
