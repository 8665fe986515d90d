"""Small GNHK-format pages for tests (GNHK itself is not on these machines).

A page is ``eng_XX_NNN.jpg`` (an RGB camera-like photo: paper colour, uneven light, shading,
noise, slight blur) and ``eng_XX_NNN.json``: a list of words
``{"text", "polygon": {"x0".."y3"}, "line_idx", "type"}`` in shuffled order, as GNHK.
Words are rendered with a handwriting font when one is installed (else Pillow's own font),
slanted, some rotated; pages can hold the special tokens ``%math%``, ``%SC%``, ``%NA%``,
printed words (type "P"), a line with every word filtered, a line too wide for the reference,
and characters outside the charset.

Use ``make_pages(folder, count, seed)`` for ordinary pages (the first has every special case
when ``special=True``) and ``make_broken_pages(folder, seed)`` for pages the extractor must
report and skip. Deterministic for a seed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

PAGE_SIZE = (1100, 700)  # (w, h): small, so the reference binarisation stays fast in tests
HAND_FONTS = (
    "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
    "/usr/share/fonts/truetype/dancingscript/DancingScript-Regular.ttf",
    "/usr/share/fonts/truetype/comic-neue/ComicNeue-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf",
)
PRINT_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
_WORDS = (
    "the of and to in is was for on that with as it his at by from this had are but not "
    "have you which one be all were when there we an their she has been more its who if "
    "Monday London Picture ID. Passport photo meeting at 10:30 call Anna (urgent) buy milk, "
    "eggs & bread; total £12.50 - paid? yes! 2021 \"notes\" e-mail: 5% off #3 Dr. Smith's")
VOCAB = tuple(_WORDS.split(" "))
TOO_WIDE = ("this line is written very small and very long so that it is far too wide for the "
            "input width of two thousand pixels at height ninety six")


@dataclass(frozen=True)
class FakeWord:
    """A word to draw. ``text`` is its JSON text; ``drawn`` what appears on the page (a
    formula for ``%math%``, a scribble for ``%SC%``); ``angle`` in degrees."""

    text: str
    type: str = "H"
    angle: float = 0.0
    drawn: str | None = None


def _font(paths: tuple[str, ...], size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in paths:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Paper under uneven light: colour, a linear gradient, a vignette, soft shading, noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xx * math.cos(angle) + yy * math.sin(angle)) / max(w, h)
    light = 0.85 + 0.25 * (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6)
    vignette = 1 - 0.18 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
    shade = Image.fromarray((rng.random((h // 40 + 2, w // 40 + 2)) * 255).astype(np.uint8))
    shade = np.asarray(shade.resize((w, h), Image.BICUBIC), np.float32) / 255
    paper = np.array([232, 226, 212], np.float32) * rng.uniform(0.9, 1.05)
    img = paper * (light * vignette * (0.94 + 0.06 * shade))[..., None]
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255)


def _word_image(word: FakeWord, font, rng: np.random.Generator) -> Image.Image:
    """The word's ink as an L mask (255 = ink), slanted like handwriting."""
    text = word.drawn or word.text
    box = font.getbbox(text)
    w, h = box[2] - box[0] + 8, box[3] - box[1] + 8
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    if word.text == "%SC%":  # a scribble: a zigzag of strokes
        xs = np.linspace(2, w - 2, 9)
        pts = [(float(x), float(rng.uniform(2, h - 2))) for x in xs]
        draw.line(pts, fill=255, width=3)
    else:
        draw.text((4 - box[0], 4 - box[1]), text, font=font, fill=255,
                  stroke_width=int(rng.integers(0, 2)) if word.type == "H" else 0)
    if word.type == "H":
        shear = rng.uniform(-0.25, 0.1)
        mask = mask.transform(mask.size, Image.AFFINE, (1, shear, -shear * h / 2, 0, 1, 0),
                              resample=Image.BILINEAR)
    if word.text == "%NA%":
        mask = mask.filter(ImageFilter.GaussianBlur(3))
    return mask


def _place(mask: Image.Image, angle: float, x: int, y: int) -> tuple[Image.Image, tuple, list]:
    """Rotate the word (its box's top-left at (x, y)) about its centre. Returns the rotated
    mask, where to paste it, and the 4 rotated corners (top-left, top-right, bottom-right,
    bottom-left) in page coordinates."""
    w, h = mask.size
    rot = mask.rotate(angle, resample=Image.BICUBIC, expand=True)  # counter-clockwise
    cx, cy = x + w / 2, y + h / 2  # expand=True keeps the centre at the rotated image's centre
    paste = (round(cx - rot.size[0] / 2), round(cy - rot.size[1] / 2))
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    corners = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        # counter-clockwise on screen, with y pointing down
        corners.append((round(cx + dx * c + dy * s), round(cy - dx * s + dy * c)))
    return rot, paste, corners


def _paste(layer: np.ndarray, rot: Image.Image, left: int, top: int) -> None:
    """Max-composite the word's ink into the page's ink layer, clipped to the page."""
    h, w = layer.shape
    ink = np.asarray(rot, np.float32) / 255
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + ink.shape[1], w), min(top + ink.shape[0], h)
    if x1 > x0 and y1 > y0:
        part = ink[y0 - top:y1 - top, x0 - left:x1 - left]
        layer[y0:y1, x0:x1] = np.maximum(layer[y0:y1, x0:x1], part)


def render_page(lines: list[tuple[int, int, list[FakeWord]]], seed: int,
                size: tuple[int, int] = PAGE_SIZE) -> tuple[Image.Image, list[dict]]:
    """Draw lines of words; ``lines`` holds (line_idx, font size, words). Returns the RGB page
    and its GNHK word list (shuffled, as annotation order is not reading order)."""
    rng = np.random.default_rng(seed)
    w, h = size
    page = _background(rng, w, h)
    ink_layer = np.zeros((h, w), np.float32)
    words_json = []
    y = 30
    for line_idx, font_size, words in lines:
        hand, printed = _font(HAND_FONTS, font_size), _font(PRINT_FONTS, font_size - 6)
        x = int(rng.integers(20, 50))
        for word in words:
            mask = _word_image(word, printed if word.type == "P" else hand, rng)
            rot, (left, top), corners = _place(mask, word.angle, x,
                                               y + int(rng.integers(-3, 4)))
            _paste(ink_layer, rot, left, top)
            words_json.append({"text": word.text, "polygon": _polygon(corners),
                               "line_idx": line_idx, "type": word.type})
            x += mask.size[0] + int(font_size * rng.uniform(0.25, 0.6))
        y += int(font_size * 1.9)
    ink_rgb = np.array([35, 40, 95], np.float32) * rng.uniform(0.7, 1.2)
    page = page * (1 - ink_layer[..., None]) + ink_rgb * ink_layer[..., None]
    img = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(0.7))
    order = rng.permutation(len(words_json))
    return img, [words_json[i] for i in order]


def _polygon(corners: list[tuple[int, int]]) -> dict:
    return {f"{axis}{i}": v for i, (x, y) in enumerate(corners) for axis, v in (("x", x), ("y", y))}


def special_lines() -> list[tuple[int, int, list[FakeWord]]]:
    """A page with every case the extractor must handle (see the module docstring)."""
    hw = FakeWord
    return [
        (0, 34, [hw("Picture"), hw("ID."), hw("and"), hw("Passport", angle=4), hw("photo")]),
        (1, 32, [hw("Name:", type="P"), hw("Anna"), hw("%math%", drawn="x+y=4"), hw("Smith's")]),
        (2, 32, [hw("%SC%", drawn="scribble"), hw("%NA%", drawn="illeg"), hw("Total", "P")]),
        (4, 30, [hw("total"), hw("£12.50"), hw("paid?", angle=-6), hw("café"), hw("yes!")]),
        (5, 12, [hw(w) for w in TOO_WIDE.split(" ")]),
        (6, 34, [hw("meeting"), hw("at"), hw("10:30", angle=8), hw("(urgent)")]),
        (7, 30, [hw("%math%", drawn="a/b"), hw("e-mail:"), hw("5%"), hw("off")]),
    ]


def random_lines(rng: np.random.Generator, n_lines: int = 6) -> list:
    lines = []
    for idx in range(n_lines):
        n = int(rng.integers(2, 6))
        words = [FakeWord(str(rng.choice(VOCAB)), angle=float(rng.choice([0, 0, 0, -5, 5])))
                 for _ in range(n)]
        lines.append((idx, int(rng.integers(28, 38)), words))
    return lines


def write_page(folder: Path, name: str, lines: list, seed: int,
               size: tuple[int, int] = PAGE_SIZE) -> Path:
    img, words = render_page(lines, seed, size)
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"{name}.jpg"
    img.save(path, quality=90)
    path.with_suffix(".json").write_text(json.dumps(words), encoding="utf-8")
    return path


def make_pages(folder: str | Path, count: int = 3, seed: int = 0, special: bool = True,
               region: str = "XX") -> list[Path]:
    """``count`` pages ``eng_<region>_NNN`` in ``folder``; with ``special`` the first one
    holds every special case, the others random lines of ``VOCAB``."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        lines = special_lines() if special and i == 0 else random_lines(rng)
        paths.append(write_page(folder, f"eng_{region}_{i + 1:03d}", lines, seed * 1000 + i))
    return paths


def make_broken_pages(folder: str | Path, seed: int = 0) -> dict[str, str]:
    """Pages the extractor must report and skip: page image name -> a word of the reason."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = random_lines(rng, 3)
    broken = {}

    p = write_page(folder, "eng_BR_001", lines, seed)
    p.with_suffix(".json").unlink()
    broken[p.name] = "no such annotation file"

    p = write_page(folder, "eng_BR_002", lines, seed + 1)
    text = p.with_suffix(".json").read_text(encoding="utf-8")
    p.with_suffix(".json").write_text(text[: len(text) // 2], encoding="utf-8")
    broken[p.name] = "malformed JSON"

    p = write_page(folder, "eng_BR_003", lines, seed + 2)
    words = json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))
    first_h = next(w for w in words if w["type"] == "H")
    first_h["polygon"] = {k: v + (5000 if k.startswith("x") else 0)
                          for k, v in first_h["polygon"].items()}
    p.with_suffix(".json").write_text(json.dumps(words), encoding="utf-8")
    broken[p.name] = "outside"

    p = write_page(folder, "eng_BR_004", lines, seed + 3)
    p.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    broken[p.name] = "eng_BR_004.jpg"

    p = write_page(folder, "eng_BR_005", lines, seed + 4)
    words = json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))
    del words[0]["polygon"]
    p.with_suffix(".json").write_text(json.dumps(words), encoding="utf-8")
    broken[p.name] = "missing polygon"

    p = write_page(folder, "eng_BR_006", lines, seed + 5)
    words = json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))
    first_h = next(w for w in words if w["type"] == "H")
    first_h["polygon"]["y0"] = -7
    p.with_suffix(".json").write_text(json.dumps(words), encoding="utf-8")
    broken[p.name] = "outside"
    return broken
