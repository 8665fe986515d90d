"""Augmentation: deterministic for a seed, keeps the height, changes the pixels plausibly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inkreader.degrade.augment import AugmentConfig, _cut_rows, augment_line, paper_level
from inkreader.preprocess import read_gray, resize_to_height

from ..conftest import SAMPLE_LINE


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


def test_margins_add_paper_left_and_right_only_when_asked():
    img = resize_to_height(read_gray(SAMPLE_LINE))
    bare = AugmentConfig(stretch=(1.0, 1.0), shear=0.0, rotate=0.0, vscale=(1.0, 1.0),
                         p_elastic=0.0, p_stroke=0.0, p_blur=0.0, p_contrast=0.0, p_noise=0.0,
                         p_binarize=0.0, p_margin=0.0)
    assert augment_line(img, np.random.default_rng(0), bare).shape == img.shape
    wide = replace(bare, p_margin=1.0, margin_px=40)
    widths = [augment_line(img, np.random.default_rng(s), wide).shape[1] for s in range(20)]
    assert all(img.shape[1] <= w <= img.shape[1] + 80 for w in widths)
    assert len(set(widths)) > 5  # drawn per line
    out = augment_line(img, np.random.default_rng(3), wide)
    ink = np.where((out < paper_level(out) - 60).sum(0) > 0)[0]
    assert ink[0] >= 0 and out[:, : ink[0]].min() >= paper_level(out) - 60  # paper, no ink


def test_a_probability_out_of_range_is_refused():
    with pytest.raises(ValueError, match="p_margin must be a probability"):
        AugmentConfig(p_margin=1.5)


def test_a_finer_elastic_grid_bends_the_line_more_locally():
    # a ramp image (grey = column) turns the warp's horizontal displacement into grey levels
    ramp = np.tile(np.arange(8, 248, dtype=np.uint8), (96, 1))
    only = AugmentConfig(stretch=(1.0, 1.0), shear=0.0, rotate=0.0, vscale=(1.0, 1.0),
                         p_elastic=1.0, p_stroke=0.0, p_blur=0.0, p_contrast=0.0, p_noise=0.0,
                         p_binarize=0.0, p_margin=0.0)

    def bend(cfg: AugmentConfig) -> float:
        """Mean change of the displacement from one column to the next (inner rows)."""
        out = [augment_line(ramp, np.random.default_rng(s), cfg) for s in range(8)]
        dx = [o[20:76, 20:220].astype(float) - ramp[20:76, 20:220] for o in out]
        return float(np.mean([np.abs(np.diff(d, axis=1)).mean() for d in dx]))

    coarse, fine = bend(only), bend(replace(only, elastic_cell=16, elastic_rows=5))
    assert coarse > 0 and fine > 2 * coarse
    with pytest.raises(ValueError, match="elastic_cell must be 4 or more"):
        AugmentConfig(elastic_cell=2)


def test_column_masks_paper_over_ink_strips_and_draw_nothing_when_off():
    img = resize_to_height(read_gray(SAMPLE_LINE))
    bare = AugmentConfig(stretch=(1.0, 1.0), shear=0.0, rotate=0.0, vscale=(1.0, 1.0),
                         p_elastic=0.0, p_stroke=0.0, p_blur=0.0, p_contrast=0.0, p_noise=0.0,
                         p_binarize=0.0, p_margin=0.0)
    masked = replace(bare, p_mask=1.0, mask_count=3, mask_px=24)
    bg = paper_level(img)
    inky = lambda a: int(((a < bg - 40).any(axis=0)).sum())  # noqa: E731
    for seed in range(10):
        plain = augment_line(img, np.random.default_rng(seed), bare)
        out = augment_line(img, np.random.default_rng(seed), masked)
        assert out.shape == plain.shape
        changed = np.flatnonzero((out != plain).any(axis=0))
        assert changed.size > 0 and (out[:, changed] == paper_level(plain)).all()  # paper only
        assert changed.size <= 3 * 24 and inky(out) < inky(plain)
    # off (the default), the random stream is untouched: the same draws as a config without masks
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    augment_line(img, rng_a)
    augment_line(img, rng_b, replace(AugmentConfig(), mask_count=4, mask_px=30))
    assert rng_a.random() == rng_b.random()
    with pytest.raises(ValueError, match="mask_px 4 or more"):
        AugmentConfig(mask_px=2)
    with pytest.raises(ValueError, match="p_mask must be a probability"):
        AugmentConfig(p_mask=2.0)


def test_row_cuts_magnify_what_is_left_and_draw_nothing_when_off():
    img = resize_to_height(read_gray(SAMPLE_LINE))
    bare = AugmentConfig(stretch=(1.0, 1.0), shear=0.0, rotate=0.0, vscale=(1.0, 1.0),
                         p_elastic=0.0, p_stroke=0.0, p_blur=0.0, p_contrast=0.0, p_noise=0.0,
                         p_binarize=0.0, p_margin=0.0)
    cut = replace(bare, p_cut=1.0, cut_max=0.5)
    widths = []
    for seed in range(20):
        out = augment_line(img, np.random.default_rng(seed), cut)
        assert out.shape[0] == img.shape[0]
        # what is left of 96 rows is 48..96 of them, resized to 96: up to twice as wide
        assert img.shape[1] - 2 <= out.shape[1] <= 2 * img.shape[1] + 2
        widths.append(out.shape[1])
    assert max(widths) > 1.3 * img.shape[1]  # the cuts vary and some are deep
    # on a ramp of rows: a band of the rows, in order, stretched to the full height
    rows = np.repeat(np.arange(96, dtype=np.uint8)[:, None] * 2, 50, axis=1)
    for seed in range(10):
        ramp = _cut_rows(rows, np.random.default_rng(seed), cut)[:, 0].astype(int)
        assert ramp.shape == (96,) and (np.diff(ramp) >= 0).all()
        assert ramp[-1] - ramp[0] >= 2 * 96 * 0.5 - 4  # at least half the rows are left
    # off (the default), the random stream is untouched
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    augment_line(img, rng_a)
    augment_line(img, rng_b, replace(AugmentConfig(), cut_max=0.2))
    assert rng_a.random() == rng_b.random()
    with pytest.raises(ValueError, match="cut_max must be a fraction"):
        AugmentConfig(cut_max=1.0)
    with pytest.raises(ValueError, match="p_cut must be a probability"):
        AugmentConfig(p_cut=-0.1)
