"""A model's horizontal reading scale: preprocessing, checkpoints and exports carry it, and
``inkreader tune-scale`` chooses it on a val split (never the test split)."""

from __future__ import annotations

import hashlib

import pytest
import torch

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.errors import ModelError
from inkreader.model import ModelConfig, save_checkpoint
from inkreader.preprocess import FIXED_WIDTH, Reading, prepare_line, read_gray
from inkreader.runtime.recognizer import Recognizer

from ..conftest import HOOKER_TSV, SAMPLE_LINE, hooker_subset
from ..test_model import busy_model


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    path = tmp_path_factory.mktemp("scaled") / "scaled.pt"
    save_checkpoint(path, busy_model(ModelConfig(x_scale=1.25)), Charset.gnhk())
    return path


def test_prepare_line_stretches_only_at_variable_width():
    gray = read_gray(SAMPLE_LINE)  # 684 px wide at height 96
    assert prepare_line(gray).width == 684
    stretched = prepare_line(gray, reading=Reading(x_scale=1.25))
    assert stretched.width == int(96 * gray.shape[1] / gray.shape[0] * 1.25) == 855
    assert stretched.scale == pytest.approx(gray.shape[1] / 855)  # maps frames back to pixels
    fixed = prepare_line(gray, fixed_width=FIXED_WIDTH, reading=Reading(x_scale=1.25))
    assert fixed.width == 684  # the reference pipeline, exactly


def test_a_scale_outside_the_range_is_refused():
    with pytest.raises(ModelError, match="x_scale 9.0 is outside"):
        ModelConfig(x_scale=9.0)


def test_reading_at_a_scale_is_reading_the_stretched_image(scaled):
    """The checkpoint's scale does exactly what stretching the line by hand would."""
    gray = read_gray(SAMPLE_LINE)
    rec = Recognizer.load(scaled, backend="torch")
    (own,) = rec.read_arrays([gray])
    rec.reading = Reading()
    import cv2
    h96 = cv2.resize(gray, (684, 96), interpolation=cv2.INTER_AREA)
    wide = cv2.resize(gray, (855, 96), interpolation=cv2.INTER_AREA)
    (by_hand,) = rec.read_arrays([wide])
    (plain,) = rec.read_arrays([h96])
    assert own.text == by_hand.text
    assert own.text != plain.text  # the busy model reads the two widths differently


def test_tune_scale_writes_a_copy_with_the_best_scale(scaled, tmp_path, capsys):
    val = hooker_subset(tmp_path, "val", 4)
    before = hashlib.sha256(scaled.read_bytes()).hexdigest()
    out = tmp_path / "tuned.pt"
    assert main(["tune-scale", str(scaled), str(val), "--scales", "1.0", "1.2",
                 "--out", str(out)]) == 0
    assert hashlib.sha256(scaled.read_bytes()).hexdigest() == before  # input untouched
    payload = torch.load(out, weights_only=True)
    results = payload["meta"]["x_scale"]["results"]
    assert [r[0] for r in results] == [1.0, 1.2]
    best = min(results, key=lambda r: (r[1], abs(r[0] - 1)))
    assert payload["config"]["x_scale"] == best[0]
    assert "(chosen)" in capsys.readouterr().out
    original = torch.load(scaled, weights_only=True)["state_dict"]
    for k, v in payload["state_dict"].items():
        assert torch.equal(v, original[k]), k  # the weights are copied, not re-saved
    # an existing --out is never overwritten without --force
    assert main(["tune-scale", str(scaled), str(val), "--scales", "1.0",
                 "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_tune_scale_never_reads_the_test_split(scaled, tmp_path, capsys):
    out = tmp_path / "t.pt"
    assert main(["tune-scale", str(scaled), str(HOOKER_TSV), "--split", "test",
                 "--out", str(out)]) == 2
    assert "'test' split would tune the model" in capsys.readouterr().err
    assert main(["tune-scale", str(scaled), str(HOOKER_TSV), "--out", str(out)]) == 2
    assert "has a 'test' split; name the split" in capsys.readouterr().err
    assert not out.exists()
