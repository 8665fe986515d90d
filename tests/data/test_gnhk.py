"""prepare-gnhk against an independent, straightforward implementation of SPEC.md's steps
(the reference preprocess_gnhk.py's operations), on generated GNHK-format pages."""

from __future__ import annotations

import glob
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.filters.rank import entropy
from skimage.morphology import disk

from inkreader.cli import main
from inkreader.data.gnhk import PageLine, Word, page_lines, prepare_gnhk, too_wide
from inkreader.errors import DatasetError
from inkreader.preprocess import binarize_page

from ..fakegnhk import make_broken_pages, make_pages

DROPPED = {"%math%", "%SC%", "%NA%"}


# --- the independent implementation ------------------------------------------------------
def spec_binarize(img: np.ndarray) -> np.ndarray:
    ent = entropy(img, disk(5))
    u8 = ((1.0 - ent / 8.0) * 255.0).astype(np.uint8)
    _, bg_mask = cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    masked = np.where(bg_mask > 0, img, 0).astype(np.uint8)
    background = cv2.dilate(masked, np.ones((35, 35), np.uint8))
    text = np.abs(img.astype(np.int16) - background.astype(np.int16))
    v = np.minimum((255 - text).astype(np.float64) * 1.15, 255).astype(np.uint8)
    return cv2.adaptiveThreshold(v, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 2)


def spec_extract(pages_dir: Path) -> list[tuple[str, str, np.ndarray]]:
    """(file name, label, crop) for every kept line, in the reference's order."""
    out = []
    for image in glob.glob(os.path.join(pages_dir, "eng*.jpg")):
        stem = Path(image).stem
        words = json.loads(Path(pages_dir, stem + ".json").read_text(encoding="utf-8"))
        page = spec_binarize(cv2.imread(image, cv2.IMREAD_GRAYSCALE))
        for idx in sorted({w["line_idx"] for w in words}):
            kept = [w for w in words if w["line_idx"] == idx
                    and w["text"] not in DROPPED and w["type"] != "P"]
            if not kept:
                continue
            kept.sort(key=lambda w: w["polygon"]["x0"])
            polys = [np.array([[w["polygon"][f"x{i}"], w["polygon"][f"y{i}"]] for i in range(4)])
                     for w in kept]
            mask = np.zeros(page.shape, np.uint8)
            for p in polys:
                cv2.fillPoly(mask, [p.astype(np.int32)], 255, cv2.LINE_AA)
            pts = np.concatenate(polys)
            (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
            crop = np.where(mask > 0, page, 255)[y0:y1 + 1, x0:x1 + 1].astype(np.uint8)
            h, w = crop.shape
            if int(w * (96.0 / h)) > 2000:
                continue
            out.append((f"{stem}_line{idx}.jpg", " ".join(w["text"] for w in kept), crop))
    return out


# --- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gnhk") / "pages"
    make_pages(folder, count=3, seed=7)
    return folder


@pytest.fixture(scope="module")
def prepared(pages, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "lines"
    summary = prepare_gnhk(pages, out, split="test", progress=False)
    return out, summary


# --- the comparison ----------------------------------------------------------------------
def test_lines_labels_and_pixels_match_the_spec(pages, prepared):
    out, summary = prepared
    expected = spec_extract(pages)
    gt = (out / "test_img_id_gt.txt").read_text(encoding="utf-8")
    assert gt == "".join(f"{name},{label}\n" for name, label, _ in expected)
    written = sorted(p.name for p in out.glob("*.jpg"))
    assert written == sorted(name for name, _, _ in expected)
    for name, _, crop in expected:
        ours = cv2.imread(str(out / name), cv2.IMREAD_GRAYSCALE)
        assert ours.shape == crop.shape, name
        # the same pixels before JPEG -> the same JPEG after
        spec_jpeg = cv2.imdecode(cv2.imencode(".jpg", crop)[1], cv2.IMREAD_GRAYSCALE)
        assert np.array_equal(ours, spec_jpeg), name
        assert np.abs(ours.astype(int) - crop).mean() < 8, name  # JPEG noise only
    assert summary.lines_kept == len(expected)


def test_special_cases_of_the_first_page(prepared):
    out, summary = prepared
    labels = dict(line.rstrip("\n").split(",", 1)
                  for line in (out / "test_img_id_gt.txt").open(encoding="utf-8"))
    assert labels["eng_XX_001_line0.jpg"] == "Picture ID. and Passport photo"
    assert labels["eng_XX_001_line1.jpg"] == "Anna Smith's"  # printed + %math% dropped
    assert labels["eng_XX_001_line7.jpg"] == "e-mail: 5% off"
    assert "eng_XX_001_line2.jpg" not in labels  # scribble, illegible, printed only
    assert summary.all_filtered == ["eng_XX_001_line2"]
    assert summary.too_wide == ["eng_XX_001_line5.jpg"]
    assert not (out / "eng_XX_001_line5.jpg").exists()
    assert summary.outside_charset == {"é": 1}
    saved = json.loads((out / "test_summary.json").read_text(encoding="utf-8"))
    assert saved["pages"] == 3 and saved["pages_done"] == 3 and saved["pages_skipped"] == []
    assert saved["lines_excluded"] == {"too_wide": 1, "all_words_filtered": 1}
    assert saved["lines_kept"] == len(labels)
    assert saved["chars"] == sum(len(v) for v in labels.values())


def test_binarize_page_matches_the_spec(pages):
    gray = cv2.imread(str(pages / "eng_XX_002.jpg"), cv2.IMREAD_GRAYSCALE)
    ours = binarize_page(gray)
    assert ours.dtype == np.uint8 and set(np.unique(ours)) <= {0, 255}
    assert np.array_equal(ours, spec_binarize(gray))


# --- rules in isolation ----------------------------------------------------------------------
def _word(text: str, x0: int, idx: int = 0, kind: str = "H") -> Word:
    return Word(text, ((x0, 10), (x0 + 20, 10), (x0 + 20, 30), (x0, 30)), idx, kind)


def test_page_lines_order_filter_and_ties():
    words = [_word("b", 50, 3), _word("a", 10, 3), _word("%SC%", 5, 3), _word("P1", 0, 3, "P"),
             _word("x", 7, 1), _word("y", 7, 1), _word("%NA%", 1, 2)]
    lines, emptied = page_lines(words)
    assert [(ln.idx, ln.label) for ln in lines] == [(1, "x y"), (3, "a b")]  # stable ties
    assert emptied == [2]


def test_too_wide_uses_the_reference_arithmetic():
    assert not too_wide(np.zeros((48, 1000), np.uint8))  # exactly 2000
    assert too_wide(np.zeros((48, 1001), np.uint8))
    # 7337 * (96 / 352) is 2000.99999... in float64: the reference keeps this line
    assert not too_wide(np.zeros((352, 7337), np.uint8))


def test_label_file_name():
    assert PageLine(4, (_word("hi", 0, 4),)).file_name("eng_AF_001") == "eng_AF_001_line4.jpg"


# --- bad pages, layouts, refusing to overwrite ----------------------------------------------
def test_broken_pages_are_reported_and_skipped(tmp_path, capsys):
    folder = tmp_path / "pages"
    make_pages(folder, count=1, seed=3, special=False, region="OK")
    broken = make_broken_pages(folder, seed=5)
    rc = main(["prepare-gnhk", str(folder), str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 1
    for page, reason in broken.items():
        line = next(ln for ln in err.splitlines() if f"page {page} skipped" in ln)
        assert reason in line, line
    saved = json.loads((tmp_path / "out" / "test_summary.json").read_text(encoding="utf-8"))
    assert saved["pages"] == 7 and saved["pages_done"] == 1
    assert {p["page"] for p in saved["pages_skipped"]} == set(broken)
    gt = (tmp_path / "out" / "test_img_id_gt.txt").read_text(encoding="utf-8").splitlines()
    assert gt and all(line.startswith("eng_OK_001_line") for line in gt)


def test_release_layout_split_name_and_jobs(tmp_path, pages, prepared):
    root = tmp_path / "gnhk"
    shutil.copytree(pages, root / "train_data" / "train")
    (root / "notes").mkdir()
    out = tmp_path / "out"
    summary = prepare_gnhk(root / "train_data", out, split="train", jobs=2, progress=False)
    assert summary.pages == 3 and summary.pages_dir == str(root / "train_data" / "train")
    gt = (out / "train_img_id_gt.txt").read_text(encoding="utf-8").splitlines()
    serial = (prepared[0] / "test_img_id_gt.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(gt) == sorted(serial)  # the copy may list the pages in another order
    for line in gt:
        name = line.split(",", 1)[0]
        assert (out / name).read_bytes() == (prepared[0] / name).read_bytes()
    with pytest.raises(DatasetError, match="no GNHK page images"):
        prepare_gnhk(root / "notes", tmp_path / "out2", split="train")


def test_refuses_a_non_empty_out_dir(tmp_path, pages, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me", encoding="utf-8")
    assert main(["prepare-gnhk", str(pages), str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    with pytest.raises(DatasetError, match="must not be the pages folder"):
        prepare_gnhk(pages, pages, overwrite=True)
