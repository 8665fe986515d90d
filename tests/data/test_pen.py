"""The pen renderer (``inkreader.data.pen``) on real IAM-OnDB strokes, and strokes as a dataset and
a training source."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.data import pen
from inkreader.data.datasets import load_dataset
from inkreader.errors import DatasetError
from inkreader.evaluation.evaluate import load_lines
from inkreader.train.config import ConfigError, DataSource, config_from_dict
from inkreader.train.data import load_source

IAM = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "iam-ondb"
LINE = "a01-000u-01"  # "A MOVE to stop Mr. Gaitskell"


def test_plain_rendering_is_fixed_dark_ink_on_light_paper():
    a = pen.render_line(IAM, LINE, "plain")
    b = pen.render_line(IAM, LINE, "plain", seed=5, rendering=3)  # plain ignores both
    assert np.array_equal(a, b) and a.dtype == np.uint8
    h, w = a.shape
    assert 60 <= h <= 160 and w > 4 * h  # a line: much wider than tall
    assert np.percentile(a, 50) >= 230 and a.min() <= 40  # mostly paper, some dark ink


def test_varied_renderings_are_deterministic_per_seed_line_and_rendering():
    first = pen.render_line(IAM, LINE, "varied", seed=1, rendering=0)
    again = pen.render_line(IAM, LINE, "varied", seed=1, rendering=0)
    other = pen.render_line(IAM, LINE, "varied", seed=1, rendering=1)
    reseeded = pen.render_line(IAM, LINE, "varied", seed=2, rendering=0)
    assert np.array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)
    assert first.shape != reseeded.shape or not np.array_equal(first, reseeded)


def test_style_ranges_change_what_is_drawn():
    points = pen.line_strokes(IAM, LINE)
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    thin = pen.render(points, rng(), pen.PenStyle(pen_px=(1.0, 1.0), p_paper=0, p_camera=0,
                                                  p_binarize=0))
    thick = pen.render(points, rng(), pen.PenStyle(pen_px=(5.0, 5.0), p_paper=0, p_camera=0,
                                                   p_binarize=0))
    ink = lambda img: (img < np.percentile(img, 99) - 60).mean()  # noqa: E731
    assert ink(thick) > 2 * ink(thin)
    binary = pen.render(points, rng(), pen.PenStyle(p_binarize=1.0))
    assert set(np.unique(binary)) <= {0, 255}
    with pytest.raises(ValueError, match="p_paper"):
        pen.PenStyle(p_paper=1.5)
    with pytest.raises(ValueError, match="strokes must be"):
        pen.render(np.zeros((0, 3), np.int16))


def test_a_strokes_folder_is_a_dataset_of_plain_lines():
    val = load_dataset(IAM, "val")
    assert len(val) == 904 and all(s.pen == "plain" and s.split == "val" for s in val)
    assert {s.page for s in val} and all(s.text for s in val)
    samples, errors = load_lines(IAM, "val")  # what `inkreader evaluate` reads
    assert len(samples) == 904 and not errors


def test_strokes_as_a_training_source_with_several_renderings(tmp_path):
    source = DataSource(str(IAM), split="train", pen="varied", renderings=2, limit=3, seed=4)
    loaded = load_source(source, Charset.gnhk(), 96, 1600, show_progress=False)
    assert len(loaded.ids) == 6 and loaded.ids[0] == loaded.ids[1] == LINE
    first, second = loaded.images[0], loaded.images[1]
    assert first.shape[0] == second.shape[0] == 96
    assert first.shape != second.shape or not np.array_equal(first, second)
    assert loaded.labels[0] == Charset.gnhk().encode("A MOVE to stop Mr. Gaitskell")


def test_pen_keys_are_refused_where_they_mean_nothing(tmp_path):
    with pytest.raises(ConfigError, match="pen must be one of"):
        DataSource("x", pen="felt")
    with pytest.raises(ConfigError, match="renderings must be 1 or more"):
        DataSource("x", renderings=0)
    hooker = DataSource(str(IAM.parent / "hooker" / "lines.tsv"), split="train", pen="varied",
                        limit=2)
    with pytest.raises(DatasetError, match="are for folders of pen strokes"):
        load_source(hooker, Charset.gnhk(), 96, 1600, show_progress=False)
    cfg = config_from_dict({"train": [{"path": "a"}], "val": [{"path": "b"}, {"path": "c"}]})
    assert [v.path for v in cfg.val] == ["b", "c"]


def test_a_broken_strokes_folder_is_named_in_the_error(tmp_path):
    folder = tmp_path / "strokes"
    folder.mkdir()
    shutil.copy(IAM / "lines.tsv", folder / "lines.tsv")
    (folder / "strokes.npz").write_bytes(b"not a zip archive")
    samples = load_dataset(folder, "val")
    with pytest.raises(DatasetError, match="cannot read the strokes archive"):
        pen.render_line(folder, samples[0].id)
    (folder / "lines.tsv").unlink()
    with pytest.raises(DatasetError, match="lines.tsv"):
        load_dataset(folder)
    np.savez(folder / "strokes.npz", other=np.zeros((3, 3), np.int16))
    (folder / "lines.tsv").write_text("id\tsplit\tform\ttext\nmissing\tval\tf\tabc\n")
    with pytest.raises(DatasetError, match="no strokes for line 'missing'"):
        pen.render_line(folder, "missing")


def test_a_run_trains_on_strokes_and_validates_on_two_sets(tmp_path):
    from inkreader.train.fit import fit

    cfg = config_from_dict({
        "out": str(tmp_path / "run"), "cache": "", "epochs": 1, "epoch_lines": 8,
        "batch_size": 4, "warmup_steps": 1, "workers": 0, "threads": 1,
        "train": [{"path": str(IAM), "split": "train", "pen": "varied", "renderings": 2,
                   "limit": 4},
                  {"path": str(IAM.parent / "hooker" / "lines.tsv"), "split": "train",
                   "limit": 4}],
        "val": [{"path": str(IAM), "split": "val", "augment": False, "limit": 3},
                {"path": str(IAM.parent / "hooker" / "lines.tsv"), "split": "val",
                 "augment": False, "limit": 3}]})
    best = fit(cfg)
    assert best.exists()
    import json
    record = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().split("\n")
              if "val_sets" in x][-1]
    cers = [v["cer"] for v in record["val_sets"].values()]
    assert len(cers) == 2 and record["val_cer"] == pytest.approx(sum(cers) / 2)


def test_strokes_command_writes_a_dataset_and_a_sheet_and_never_overwrites(tmp_path, capsys):
    from inkreader.cli import main

    out = tmp_path / "iam-val"
    assert main(["strokes", str(IAM), "--split", "val", "--limit", "2", "--out", str(out)]) == 0
    drawn = load_dataset(out / "lines.tsv", "val")
    plain = load_dataset(IAM, "val")[:2]
    assert [s.text for s in drawn] == [s.text for s in plain]
    import cv2
    assert np.array_equal(cv2.imread(str(drawn[0].path), cv2.IMREAD_GRAYSCALE),
                          pen.render_line(IAM, plain[0].id, "plain"))
    sheet = tmp_path / "sheet.png"
    assert main(["strokes", str(IAM), "--sheet", str(sheet), "--limit", "2",
                 "--renderings", "2"]) == 0
    assert cv2.imread(str(sheet), cv2.IMREAD_GRAYSCALE).shape[0] == 6 * (96 + 6)
    assert main(["strokes", str(IAM), "--out", str(out)]) != 0
    assert "never overwritten" in capsys.readouterr().err
