"""The ink band (``band`` models): a line is cut to the rows its ink fills before it is resized,
the same way in training and in reading (how the setting travels: test_reading.py)."""

from __future__ import annotations

import cv2
import numpy as np

from inkreader.charset import Charset
from inkreader.model import ModelConfig, save_checkpoint
from inkreader.preprocess import (
    BAND_PAD,
    FIXED_WIDTH,
    Reading,
    crop_to_band,
    ink_band,
    prepare_line,
    read_gray,
)
from inkreader.runtime.recognizer import Recognizer
from inkreader.train.config import DataSource
from inkreader.train.data import load_source

from .conftest import SAMPLE_LINE
from .test_model import busy_model

PAPER, INK = 215, 40


def writing(top: int, bottom: int, h: int = 128, w: int = 600) -> np.ndarray:
    """Grey paper with dark strokes filling rows top..bottom (inclusive)."""
    img = np.full((h, w), PAPER, np.uint8)
    for x in range(40, w - 40, 17):
        cv2.line(img, (x, top), (x + 6, bottom), INK, 2)
    return img


def test_the_band_is_the_rows_of_the_ink_with_a_margin():
    top, bottom = ink_band(writing(50, 89))
    ink_rows = 40
    pad = round(BAND_PAD * ink_rows)
    assert abs(top - (50 - pad)) <= 2 and abs(bottom - (90 + pad)) <= 2
    # light ink on a dark ground: the same rows
    assert ink_band(255 - writing(50, 89)) == (top, bottom)
    # clamped to the image, and a line without ink is kept whole
    assert ink_band(writing(2, 125)) == (0, 128)
    blank = np.full((96, 300), PAPER, np.uint8)
    assert ink_band(blank) == (0, 96) and crop_to_band(blank).shape == blank.shape


def test_a_speck_of_a_neighbouring_line_does_not_stretch_the_band():
    img = writing(50, 89)
    img[3:5, 300:303] = INK  # a descender of the line above, cut by the crop
    assert ink_band(img)[0] >= 40


def test_prepare_line_cuts_the_band_at_variable_width_only():
    gray = writing(50, 89)
    plain, cut = prepare_line(gray), prepare_line(gray, reading=Reading(band=True))
    rows = np.subtract(*ink_band(gray)[::-1])
    assert cut.width == int(96 * 600 / rows)  # the letters fill the 96 rows: a wider line
    assert cut.width > plain.width
    assert cut.source_size == gray.shape == plain.source_size
    assert cut.scale == 600 / cut.width  # frames still map to the original's columns
    # the reference pipeline, exactly
    fixed = prepare_line(gray, fixed_width=FIXED_WIDTH, reading=Reading(band=True))
    assert np.array_equal(fixed.pixels, prepare_line(gray, fixed_width=FIXED_WIDTH).pixels)


def test_reading_with_band_is_reading_the_cut_image(tmp_path):
    """A band model reads a line exactly as the same weights read the band cut by hand, and
    its character boxes land on the original image's columns."""
    gray = np.pad(read_gray(SAMPLE_LINE), ((60, 60), (0, 0)), mode="edge")  # paper around it
    for name, cfg in (("b.pt", ModelConfig(band=True)), ("p.pt", ModelConfig())):
        save_checkpoint(tmp_path / name, busy_model(cfg), Charset.gnhk())
    (own,) = Recognizer.load(tmp_path / "b.pt", backend="torch").read_arrays([gray])
    (ref,) = Recognizer.load(tmp_path / "p.pt", backend="torch").read_arrays(
        [crop_to_band(gray)])
    assert own.text == ref.text and len(own.text) > 5
    assert all(0 <= c.x0 < c.x1 <= gray.shape[1] for c in own.chars)


def test_training_with_band_cuts_its_lines(tiny_tsvs):
    _, val_tsv = tiny_tsvs
    plain = load_source(DataSource(str(val_tsv)), Charset.gnhk(), 96, 1600, False)
    cut = load_source(DataSource(str(val_tsv)), Charset.gnhk(), 96, 1600, False,
                      reading=Reading(band=True))
    assert all(b.shape[1] >= a.shape[1] for a, b in zip(plain.images, cut.images, strict=True))
    assert any(b.shape != a.shape for a, b in zip(plain.images, cut.images, strict=True))
