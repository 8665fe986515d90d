"""Pictures of what was read: the line image with each character's x-span, and the text under it.

    img = draw_line(gray, result)          # (H + band, W, 3) uint8 RGB
    save_drawing(result, "out.png")        # reads result.name again; never overwrites

Each character's span is a tinted column over the line (two alternating colours, so
neighbours stay apart; red when its confidence is under ``LOW``), its character is written
under the span's centre, and the whole text with the line confidence goes under that.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import InkreaderError
from ..preprocess import read_gray
from ..results import LineResult

LOW = 0.5  # a character under this confidence is drawn in red
COLOURS = ((40, 120, 255), (0, 170, 90))  # alternate span colours
RED = (220, 30, 30)
TINT = 0.35  # how strongly a span tints the image
MIN_HEIGHT = 96  # smaller images are scaled up to this height, so the text stays legible


def draw_line(gray: np.ndarray, result: LineResult) -> np.ndarray:
    """(H, W) uint8 line image + its result -> (H' + band, W', 3) uint8 RGB picture."""
    zoom = max(1.0, MIN_HEIGHT / gray.shape[0])
    img = Image.fromarray(gray).convert("RGB")
    if zoom > 1:
        img = img.resize((round(gray.shape[1] * zoom), round(gray.shape[0] * zoom)))
    w, h = img.size
    rgb = np.asarray(img, dtype=np.float32).copy()
    for i, c in enumerate(result.chars):
        x0, x1 = round(c.x0 * zoom), max(round(c.x1 * zoom), round(c.x0 * zoom) + 1)
        colour = np.array(RED if c.confidence < LOW else COLOURS[i % 2], np.float32)
        rgb[:, x0:x1] = (1 - TINT) * rgb[:, x0:x1] + TINT * colour
    size = max(12, min(28, h // 4))
    font = ImageFont.load_default(size=size)
    band = 2 * size + 3 * size // 2
    canvas = Image.new("RGB", (w, h + band), "white")
    canvas.paste(Image.fromarray(rgb.astype(np.uint8)), (0, 0))
    pen = ImageDraw.Draw(canvas)
    for i, c in enumerate(result.chars):
        x0, x1 = c.x0 * zoom, max(c.x1 * zoom, c.x0 * zoom + 1)
        colour = RED if c.confidence < LOW else COLOURS[i % 2]
        pen.line([(x0, h), (x0, h + size // 2)], fill=colour)  # where the span starts
        pen.text(((x0 + x1) / 2, h + size // 2), c.char, fill=colour, font=font, anchor="mt")
    conf = "" if result.confidence is None else f"   [{result.confidence:.2f}]"
    pen.text((4, h + size + size), result.text + conf, fill="black", font=font)
    return np.asarray(canvas)


def draw_outputs(out: str | Path, names: Sequence[str]) -> list[Path]:
    """Where each of ``names`` is drawn: one name -> ``out`` itself (unless it is a folder or
    holds ``{stem}``); several -> ``out`` with ``{stem}`` replaced, or ``out/<stem>.png`` (a
    folder, made when missing). Two inputs with one stem get ``-2``, ``-3``, ... appended."""
    out = str(out)
    folder = Path(out).is_dir() or out.endswith(("/", "\\"))
    if len(names) == 1 and "{stem}" not in out and not folder:
        return [Path(out)]
    if "{stem}" not in out and not folder and Path(out).suffix:
        raise InkreaderError(f"--draw {out} names one file but there are {len(names)} images: "
                             "give a folder, or a name holding {stem}")
    paths, seen = [], {}
    for name in names:
        stem = Path(name).stem
        seen[stem] = seen.get(stem, 0) + 1
        if seen[stem] > 1:
            stem = f"{stem}-{seen[stem]}"
        paths.append(Path(out.replace("{stem}", stem)) if "{stem}" in out
                     else Path(out) / f"{stem}.png")
    return paths


def save_drawing(result: LineResult, path: str | Path) -> Path:
    """Draw ``result`` over its image file (``result.name``) into a new PNG at ``path``. An
    existing file is never overwritten: that is an error naming it."""
    path = Path(path)
    if path.exists():
        raise InkreaderError(f"{path}: already exists, not overwritten (choose another --draw)")
    picture = Image.fromarray(draw_line(read_gray(result.name), result))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "xb") as f:  # "x": fail rather than overwrite a file made meanwhile
            picture.save(f, format="PNG")
    except FileExistsError:
        raise InkreaderError(f"{path}: already exists, not overwritten") from None
    except OSError as exc:
        raise InkreaderError(f"{path}: cannot write the drawing ({exc.strerror or exc})") from None
    return path
