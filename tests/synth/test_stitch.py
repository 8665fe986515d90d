"""Stitched lines: cuts fall in the gaps the alignment names, words line up, and the command
makes a deterministic set from real Hooker train lines that training can read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkreader.cli import main
from inkreader.data.datasets import load_dataset
from inkreader.preprocess import HEIGHT
from inkreader.synth.stitch import SEAM_PX, Word, compose, core_row, cut_points

from ..conftest import HOOKER_TSV


def test_cut_points_take_the_palest_column_between_the_aligned_words():
    # "ab cd": a, b, space, c, d aligned to frames 0, 2, 4, 6, 8 (one frame each, stride 8)
    spans = np.array([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]])
    ink = np.full(80, 50.0)
    ink[37] = 0.0  # the gap between b (ends at x 24) and c (starts at x 48)
    ink[60] = -1.0  # paler, but inside c: not a candidate
    assert cut_points("ab cd", spans, ink, stride=8) == [37]
    # double and edge spaces are not word boundaries
    assert cut_points(" ab", spans[:3], ink, 8) == []


def _band(width: int, top: int, paper: int = 230) -> np.ndarray:
    img = np.full((HEIGHT, width), paper, np.uint8)
    img[top:top + 10, 4:width - 4] = 20
    return img


def test_compose_lines_up_core_bands_and_paper():
    a, b = _band(60, 40), _band(50, 55, paper=200)
    assert core_row(a) != core_row(b)
    img, text = compose([Word(a, "on", "p"), Word(b, "it", "p")])
    assert text == "on it"
    assert img.shape == (HEIGHT, 60 + 50 - SEAM_PX) and img.dtype == np.uint8
    right = img[:, 60:]
    assert core_row(right) == core_row(a)  # the second word moved up to the first's band
    assert abs(int(np.percentile(right, 90)) - 230) <= 1  # and onto its paper level


def _one_page_tsv(tmp: Path, n: int) -> tuple[Path, str]:
    rows = [r.split("\t") for r in HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]]
    page = next(p for _f, s, p, _t in rows if s == "train" and p.startswith("JDH_2_16_1"))
    picked = [(f, t) for f, s, p, t in rows if s == "train" and p == page][:n]
    out = tmp / "page.tsv"
    out.write_text("file\ttext\tpage\n" + "".join(f"{HOOKER_TSV.parent / f}\t{t}\t{page}\n"
                                                 for f, t in picked), encoding="utf-8")
    return out, page


def test_stitch_command_makes_a_deterministic_readable_set(tmp_path, capsys):
    src, page = _one_page_tsv(tmp_path, 8)
    source_words = {w for s in load_dataset(src) for w in s.text.split(" ")}
    args = ["stitch", "--count", "6", "--from", str(src), "--seed", "4", "--max-cer", "0.5"]
    assert main([*args[:1], str(tmp_path / "a"), *args[1:]]) == 0
    assert main([*args[:1], str(tmp_path / "b"), *args[1:]]) == 0
    made = load_dataset(tmp_path / "a" / "lines.tsv")
    assert len(made) == 6
    assert (tmp_path / "a" / "lines.tsv").read_text() == (tmp_path / "b" / "lines.tsv").read_text()
    for s in made:
        assert s.page == page and set(s.text.split(" ")) <= source_words
        assert (tmp_path / "a" / s.id).read_bytes() == (tmp_path / "b" / s.id).read_bytes()
    # a second run into the same folder neither overwrites it nor crashes
    capsys.readouterr()
    assert main([*args[:1], str(tmp_path / "a"), *args[1:]]) == 2
    assert "not empty; add --overwrite" in capsys.readouterr().err
    assert main([*args[:1], str(tmp_path / "a"), *args[1:], "--overwrite"]) == 0


def test_stitch_refuses_a_folder_it_did_not_make(tmp_path, capsys):
    src, _ = _one_page_tsv(tmp_path, 2)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["stitch", str(mine), "--count", "1", "--from", str(src), "--overwrite"]) == 2
    assert "not a stitched set" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"


def test_stitch_refuses_a_file_with_a_test_split_unless_a_split_is_named(tmp_path, capsys):
    assert main(["stitch", str(tmp_path / "out"), "--count", "1", "--from", str(HOOKER_TSV)]) == 2
    assert "has a 'test' split" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
