"""Dataset formats: the reference gt file, TSV with split, bucketing, epoch plans."""

from __future__ import annotations

import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.data.datasets import holdout, load_dataset, load_gt_file, load_tsv, width_buckets
from inkreader.errors import DatasetError
from inkreader.train.config import DataSource
from inkreader.train.data import BatchDataset, epoch_plan, load_source

from ..conftest import HOOKER_TSV, SHARED, hooker_subset


def test_gt_file_splits_at_the_first_comma(tmp_path):
    gt = tmp_path / "test_img_id_gt.txt"
    gt.write_text("a_line0.jpg,Hello, world\nb_line1.jpg,1,2,3\n\n", encoding="utf-8")
    samples = load_gt_file(gt)
    assert [(s.id, s.text) for s in samples] == [("a_line0.jpg", "Hello, world"),
                                                 ("b_line1.jpg", "1,2,3")]
    assert samples[0].path == tmp_path / "a_line0.jpg"


def test_gt_file_without_comma_is_an_error_naming_the_line(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_text("ok.jpg,text\nbroken line\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"gt.txt:2: expected 'file,text'"):
        load_gt_file(gt)


def test_hooker_tsv_splits():
    assert len(load_dataset(HOOKER_TSV, "train")) == 4966
    assert len(load_dataset(HOOKER_TSV, "val")) == 977
    test = load_dataset(HOOKER_TSV, "test")
    assert len(test) == 953 and all(s.split == "test" for s in test)
    assert test[0].path.exists()


def test_tsv_errors(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("name\tlabel\nx.jpg\thi\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="must name 'file' and 'text'"):
        load_tsv(bad)
    nosplit = tmp_path / "nosplit.tsv"
    nosplit.write_text("file\ttext\nx.jpg\thi\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="no split column"):
        load_dataset(nosplit, "test")
    with pytest.raises(DatasetError, match="no such dataset"):
        load_dataset(tmp_path / "missing.tsv")


def test_width_buckets_cover_every_index_once_and_group_similar_widths():
    rng = np.random.default_rng(0)
    widths = rng.integers(50, 2000, size=1000)
    batches = width_buckets(widths, 8, np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    spread = np.mean([np.ptp(widths[b]) for b in batches])
    assert spread < 0.2 * np.ptp(widths)  # far less padding than random batches


def test_epoch_plan_follows_weights_and_is_deterministic(tmp_path):
    charset = Charset.gnhk()
    a = load_source(DataSource(str(hooker_subset(tmp_path, "train", 20)), weight=3.0), charset,
                    96, 1600, show_progress=False)
    b = load_source(DataSource(str(hooker_subset(tmp_path, "val", 10)), weight=1.0), charset,
                    96, 1600, show_progress=False)
    plan = epoch_plan([a, b], 40, 4, seed=5, epoch=2)
    rows = np.concatenate(plan)
    assert len(rows) == 40 and (rows[:, 0] == 0).sum() == 30 and (rows[:, 0] == 1).sum() == 10
    again = epoch_plan([a, b], 40, 4, seed=5, epoch=2)
    assert all(np.array_equal(x, y) for x, y in zip(plan, again, strict=True))
    other = epoch_plan([a, b], 40, 4, seed=5, epoch=3)
    assert not all(np.array_equal(x, y) for x, y in zip(plan, other, strict=True))
    ds = BatchDataset([a, b], plan, seed=5, epoch=2)
    first, second = ds[0], ds[0]
    assert first["x"].shape[:3] == (4, 1, 96) and first["x"].shape[3] % 8 == 0
    assert np.array_equal(first["x"].numpy(), second["x"].numpy())  # augmentation is seeded
    assert int(first["target_lengths"].sum()) == len(first["targets"])


def test_page_folder_holdout_does_not_depend_on_how_the_folder_is_named(tmp_path,
                                                                         monkeypatch):
    """A PAGE-XML line's page is its image's file name: the same pages are held out whether
    the folder is given relative or absolute (a config and an evaluate command may differ)."""
    import shutil

    folder = tmp_path / "pages"
    folder.mkdir()
    for page in sorted((SHARED / "data" / "hooker" / "test_pages").glob("*.xml"))[:8]:
        for f in (page, page.with_suffix(".jpg")):
            shutil.copy(f, folder)
    monkeypatch.chdir(tmp_path)
    absolute = {s.id for s in holdout(load_dataset(folder), 0.5, held_out=True)}
    relative = {s.id for s in holdout(load_dataset("pages"), 0.5, held_out=True)}
    assert absolute == relative and 0 < len(absolute) < len(load_dataset("pages"))
    assert {s.page_key for s in load_dataset("pages")} == {f"{p.stem}.jpg" for p in
                                                          folder.glob("*.xml")}
