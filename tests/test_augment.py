"""Augmentation: deterministic for a seed, keeps the height, changes the pixels plausibly."""

from __future__ import annotations

import numpy as np

from inkreader.augment import augment_line, paper_level
from inkreader.preprocess import read_gray, resize_to_height

from .conftest import SAMPLE_LINE


def test_seeded_keeps_height_and_paper():
    img = resize_to_height(read_gray(SAMPLE_LINE))
    outs = [augment_line(img, np.random.default_rng(s)) for s in (1, 1, 2)]
    assert np.array_equal(outs[0], outs[1])
    assert not (outs[0].shape == outs[2].shape and np.array_equal(outs[0], outs[2]))
    for out in outs:
        assert out.dtype == np.uint8 and out.shape[0] == 96
        assert 0.6 * img.shape[1] < out.shape[1] < 1.6 * img.shape[1]
        # still mostly paper, with ink clearly darker than it
        paper = paper_level(out)
        assert paper > 150 and (out < paper - 60).mean() > 0.005
