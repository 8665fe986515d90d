"""Deslanting (``deslant`` models): a line's lean is measured and sheared away, the same way in
training and in reading (how the setting travels: test_reading.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.model import ModelConfig, save_checkpoint
from inkreader.preprocess import (
    FIXED_WIDTH,
    Reading,
    line_slant,
    prepare_line,
    read_gray,
    resize_to_height,
    upright,
)
from inkreader.runtime.recognizer import Recognizer
from inkreader.train.config import DataSource
from inkreader.train.data import load_source

from .conftest import SAMPLE_LINE
from .test_model import busy_model

PAPER = 220


def leaning_strokes(shear: float, h: int = 96, w: int = 700) -> np.ndarray:
    """Dark strokes on grey paper whose tops sit ``shear * stroke height`` right of their feet."""
    img = np.full((h, w), PAPER, np.uint8)
    for i, x in enumerate(range(80, w - 120, 23)):
        top = 10 if i % 3 == 0 else 35  # ascenders and x-height strokes
        foot = 80
        cv2.line(img, (x, foot), (int(round(x + shear * (foot - top))), top), 30, 3)
    return img


@pytest.mark.parametrize("shear", [0.65, 0.3, -0.3, 0.0])
def test_the_slant_of_drawn_strokes_is_found_and_sheared_away(shear):
    img = leaning_strokes(shear)
    assert line_slant(img) == pytest.approx(shear, abs=0.051)
    up = upright(img)
    assert up.shape == (96, 700 + int(np.ceil(abs(line_slant(img)) * 96)))
    assert line_slant(up) == pytest.approx(0.0, abs=0.051)
    assert (up == 30).sum() > 0.8 * (img == 30).sum()  # the ink is moved, not lost


def test_the_corners_a_shear_opens_are_paper_and_blank_lines_stay_as_they_are():
    up = upright(leaning_strokes(0.65))
    assert up[0, -3:].tolist() == [PAPER] * 3 and up[-1, :3].tolist() == [PAPER] * 3
    blank = np.full((96, 300), PAPER, np.uint8)
    assert line_slant(blank) == 0.0 and upright(blank) is blank


def test_prepare_line_deslants_at_variable_width_only_and_maps_frames_back():
    gray = read_gray(SAMPLE_LINE)
    plain = prepare_line(gray)
    slanted = prepare_line(gray, reading=Reading(deslant=True))
    resized = resize_to_height(gray)
    shear = line_slant(resized)
    assert shear != 0.0  # the GNHK sample leans
    assert slanted.width == plain.width + int(np.ceil(abs(shear) * 96))
    assert slanted.shift == (slanted.width - plain.width) / 2 and plain.shift == 0.0
    assert slanted.scale == plain.scale
    # the reference pipeline, exactly
    fixed = prepare_line(gray, fixed_width=FIXED_WIDTH, reading=Reading(deslant=True))
    assert np.array_equal(fixed.pixels, prepare_line(gray, fixed_width=FIXED_WIDTH).pixels)


def test_reading_deslanted_is_reading_the_upright_image(tmp_path):
    """A deslant model reads a line exactly as the same weights read the line sheared by hand,
    and its character boxes land on the original image's columns."""
    gray = read_gray(SAMPLE_LINE)
    for name, cfg in (("d.pt", ModelConfig(deslant=True)), ("p.pt", ModelConfig())):
        save_checkpoint(tmp_path / name, busy_model(cfg), Charset.gnhk())
    (own,) = Recognizer.load(tmp_path / "d.pt", backend="torch").read_arrays([gray])
    by_hand = upright(resize_to_height(gray))
    (ref,) = Recognizer.load(tmp_path / "p.pt", backend="torch").read_arrays([by_hand])
    assert own.text == ref.text and len(own.text) > 5
    assert all(0 <= c.x0 < c.x1 <= gray.shape[1] for c in own.chars)


def test_training_deslanted_shears_its_lines(tiny_tsvs):
    _, val_tsv = tiny_tsvs
    plain = load_source(DataSource(str(val_tsv)), Charset.gnhk(), 96, 1600, False)
    up = load_source(DataSource(str(val_tsv)), Charset.gnhk(), 96, 1600, False,
                     reading=Reading(deslant=True))
    for a, b in zip(plain.images, up.images, strict=True):
        assert b.shape[1] == a.shape[1] + int(np.ceil(abs(line_slant(a)) * 96))
    assert any(b.shape != a.shape for a, b in zip(plain.images, up.images, strict=True))
