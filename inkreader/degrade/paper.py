"""Put rendered ink on paper and photograph it: paper textures, uneven light, ink tone, writing
showing through from the back, camera blur/noise/JPEG, line-polygon crops and the GNHK page
binarisation. All randomness comes from the ``rng`` argument."""

from __future__ import annotations

import cv2
import numpy as np

from ..preprocess import binarize_page

P_RULED = 0.2
P_POLYGON = 0.25  # line crops cut along a polygon, the outside filled flat (as Hooker's crops)


def paper(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 paper brightness: level, gradient, uneven light, fibres, stains, rules."""
    level = rng.uniform(160, 250)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(ang) * xs / w + np.sin(ang) * ys / h) * rng.uniform(0, 40)
    out = level + grad - grad.mean()
    if rng.random() < 0.5:  # a light blob or a shadow: uneven illumination
        cx, cy = rng.uniform(0, w), rng.uniform(-h, 2 * h)
        r = rng.uniform(0.3, 1.5) * w
        out += rng.uniform(-45, 25) * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * r * r))
    if rng.random() < 0.3:
        for _ in range(int(rng.integers(1, 3))):  # stains
            stain = np.zeros((h, w), np.float32)
            cv2.ellipse(stain, (int(rng.uniform(0, w)), int(rng.uniform(0, h))),
                        (int(rng.uniform(5, h)), int(rng.uniform(5, h))), rng.uniform(0, 180),
                        0, 360, 1.0, -1)
            out -= cv2.GaussianBlur(stain, (0, 0), rng.uniform(2, 8)) * rng.uniform(5, 30)
    if rng.random() < 0.4:
        fib = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(3, 4 + w // 40))):  # paper fibres
            x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
            a, ln = rng.uniform(0, np.pi), rng.uniform(3, 25)
            cv2.line(fib, (int(x0), int(y0)), (int(x0 + ln * np.cos(a)), int(y0 + ln * np.sin(a))),
                     1.0, 1)
        out -= fib * rng.uniform(5, 25)
    if rng.random() < 0.3:  # grain
        grain = cv2.resize(rng.normal(0, 1, (max(2, h // 3), max(2, w // 3))).astype(np.float32),
                           (w, h), interpolation=cv2.INTER_LINEAR)
        out += grain * rng.uniform(1, 6)
    if rng.random() < P_RULED:
        y = int(h * rng.uniform(0.7, 0.95))
        cv2.line(out, (0, y), (w, y + int(rng.integers(-2, 3))),
                 float(level - rng.uniform(20, 80)), int(rng.integers(1, 3)))
    return out


def compose(ink: np.ndarray, rng: np.random.Generator, ghost: np.ndarray | None = None
            ) -> np.ndarray:
    """Ink coverage (H, W) uint8 (255 = ink) on a paper -> (H, W) float32 image. ``ghost``:
    ink of the back of the sheet, showing through faintly."""
    h, w = ink.shape
    page = paper(h, w, rng)
    alpha = ink.astype(np.float32) / 255.0
    if rng.random() < 0.5:  # pen pressure varies along the line
        pressure = cv2.resize(rng.uniform(0.6, 1.0, (1, max(2, w // 60))).astype(np.float32),
                              (w, h), interpolation=cv2.INTER_LINEAR)
        alpha *= pressure
    if ghost is not None:
        back = cv2.GaussianBlur(ghost.astype(np.float32) / 255.0, (0, 0), rng.uniform(0.8, 2.5))
        page -= back * rng.uniform(10, 40)
    paper_level = float(np.median(page))
    # dark pens, and faded or grey ink as in old letters, always visible against the paper
    ink_level = rng.uniform(0, 80) if rng.random() < 0.6 else rng.uniform(80, 130)
    ink_level = min(ink_level, paper_level - 70)
    return page * (1 - alpha) + np.minimum(page, ink_level) * alpha


def polygon_crop(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fill the image above and below wavy boundaries flat, as a line cut along its polygon."""
    h, w = img.shape
    fill = float(np.median(img) + rng.uniform(-5, 15))
    k = int(rng.integers(2, 6))
    xs = np.linspace(0, w - 1, k)
    top = np.interp(np.arange(w), xs, rng.uniform(0, 0.15, k) * h)
    bottom = np.interp(np.arange(w), xs, rng.uniform(0.85, 1.0, k) * h)
    rows = np.arange(h)[:, None]
    out = img.astype(np.float32)
    out[(rows < top[None, :]) | (rows > bottom[None, :])] = fill
    return out


def camera(img: np.ndarray, rng: np.random.Generator, max_noise: float = 8.0) -> np.ndarray:
    """Focus blur, sensor noise (sigma up to ``max_noise`` grey levels) and JPEG -> uint8."""
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.3))
    if rng.random() < 0.6:
        img = img + rng.normal(0, rng.uniform(0.5, max_noise), img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        q = int(rng.integers(30, 90))
        out = cv2.imdecode(cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])[1],
                           cv2.IMREAD_GRAYSCALE)
    return out


def binarize(img: np.ndarray) -> np.ndarray:
    """The GNHK page binarisation, on the line with a paper margin (its filters need context)."""
    m = 20
    padded = cv2.copyMakeBorder(img, m, m, m, m, cv2.BORDER_REFLECT)
    return binarize_page(padded)[m:-m, m:-m]
