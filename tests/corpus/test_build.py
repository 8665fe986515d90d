"""``inkreader corpus`` on real page ground truth: the Hooker test pages' PAGE-XML in
../shared (evaluation pages: these tests check cutting, labels and splits, nothing trains)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from inkreader.cli import main
from inkreader.corpus.build import build_corpus, repeated_texts
from inkreader.corpus.crop import STORE_HEIGHT, baseline_angle, cut_line
from inkreader.corpus.gitsource import materialise
from inkreader.corpus.sources import Source, load_sources
from inkreader.data.datasets import load_dataset
from inkreader.data.pagexml import read_xml_lines
from inkreader.errors import DatasetError

from ..conftest import ROOT, SHARED

PAGES = SHARED / "data" / "hooker" / "test_pages"
LETTERS = ("JDH_2_16_145", "JDH_2_16_159", "JDH_2_16_65")


def _pages(tmp: Path) -> Path:
    """Three letters' first pages, one folder a letter, as an archive keeps them."""
    root = tmp / "pages"
    for letter in LETTERS:
        (root / letter).mkdir(parents=True)
        for suffix in (".xml", ".jpg"):
            shutil.copy(PAGES / f"{letter}_001{suffix}", root / letter / f"{letter}_001{suffix}")
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path, dict]:
    tmp = tmp_path_factory.mktemp("corpus")
    root = _pages(tmp)
    counts = build_corpus([(Source(repo=str(root), licence="CC-BY-SA-4.0"), root, "")],
                          tmp / "out", val_fraction=0.3, workers=1)
    return root, tmp / "out", counts


def test_every_line_of_the_pages_is_cut_labelled_and_readable(corpus):
    root, out, counts = corpus
    gold = {}
    for xml in root.glob("*/*.xml"):
        _, lines = read_xml_lines(xml)
        gold.update({(xml.stem, ln.id): " ".join(ln.text.split())
                     for ln in lines if ln.text.strip()})
    samples = load_dataset(out / "lines.tsv")
    (c,) = counts.values()
    assert len(samples) == c["kept train"] + c["kept val"]
    assert len(gold) == len(samples) + c["dropped: repeated text kept out of val"]
    rows = [r.split("\t") for r in (out / "lines.tsv").read_text().splitlines()[1:]]
    for sample, row in zip(samples, rows, strict=True):
        # the Hooker text is in the charset already: the label is the transcription
        assert sample.text == gold[(Path(row[3]).name, row[8])]
        pixels = cv2.imread(str(sample.path), cv2.IMREAD_GRAYSCALE)
        assert pixels is not None and 8 <= pixels.shape[0] <= STORE_HEIGHT
        assert row[7] == "CC-BY-SA-4.0"


def test_the_split_keeps_each_letter_whole(corpus):
    _, out, _ = corpus
    samples = load_dataset(out / "lines.tsv")
    rows = [r.split("\t") for r in (out / "lines.tsv").read_text().splitlines()[1:]]
    split_of = {}
    for sample, row in zip(samples, rows, strict=True):
        split_of.setdefault(row[4], set()).add(sample.split)
    assert all(len(s) == 1 for s in split_of.values())
    assert {next(iter(s)) for s in split_of.values()} == {"train", "val"}


def test_the_mask_keeps_the_neighbouring_lines_out():
    page = np.full((300, 400), 220, np.uint8)
    page[100:140, 50:350] = 30        # the line's ink
    page[60:95, 50:350] = 30          # the line above, inside the polygon's box
    polygon = [(50, 96), (350, 96), (350, 140), (50, 140), (200, 60)]  # a peak reaching up
    line = cut_line(page, polygon[:4])
    assert line.shape == (140 - 96 + 1 + 8, 300 + 1 + 8)
    assert (line[:4] > 200).all()     # the margin above the outline is paper, not ink


def test_a_slanted_baseline_is_levelled():
    page = np.full((500, 600), 230, np.uint8)
    start, end = (100, 100), (400, 209)  # 20 degrees down to the right
    cv2.line(page, start, end, 20, 7)
    polygon = [(95, 75), (405, 185), (405, 235), (95, 125)]
    assert baseline_angle([start, end]) == pytest.approx(19.97, abs=0.05)
    line = cut_line(page, polygon, [start, end])
    ink_rows = np.flatnonzero((line < 100).any(axis=1))
    assert ink_rows.max() - ink_rows.min() <= 10   # level: the stroke stays 7-10 px tall
    vertical = cut_line(page.T.copy(), [(y, x) for x, y in polygon], [(100, 400), (100, 100)])
    assert vertical.shape[1] > vertical.shape[0]   # a margin note read bottom to top


def test_repeated_text_is_found_across_documents():
    from inkreader.corpus.build import Line
    from inkreader.data.pagexml import XmlLine

    def line(text, doc, page):
        return Line("s", page, doc, XmlLine("l", text, None), Path("x"), text=text)

    consent = "je consens a ce que ma copie soit publiee sous licence"
    lines = [line("2 de 2", "a", "a1"), line("2 de 2", "b", "b1"), line("une ligne", "a", "a1")]
    lines += [line(consent.replace("ma", w), d, d) for w, d in (("ma", "c"), ("la", "d"),
                                                                 ("sa", "e"))]
    assert repeated_texts(lines) == {0, 1, 3, 4, 5}


def test_a_pinned_commit_is_read_from_a_git_repository_with_objects_missing(tmp_path):
    repo = _pages(tmp_path)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "pages"], check=True)
    commit = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    blob = subprocess.run(git + ["rev-parse", f"HEAD:{LETTERS[0]}/{LETTERS[0]}_001.jpg"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()   # as a mirror without it
    done = materialise(repo / ".git", commit, tmp_path / "checkout")
    assert done.missing == [f"{LETTERS[0]}/{LETTERS[0]}_001.jpg"]
    counts = build_corpus([(Source(repo="x/y", commit=commit), done.root, commit)],
                          tmp_path / "out", val_fraction=0.3, workers=1)
    assert counts["x+y"]["pages without image"] == 1
    assert counts["x+y"]["dropped: page image missing"] > 0
    with pytest.raises(DatasetError, match="refusing to overwrite"):
        materialise(repo / ".git", commit, repo)


def test_the_shipped_sources_file_pins_every_repository():
    sources = load_sources(ROOT / "configs" / "corpus-sources.toml")
    assert len(sources) == 10 and all(len(s.commit) == 40 for s in sources)
    assert all(s.licence == "CC-BY-4.0" for s in sources)


def test_the_command_builds_from_a_folder_and_refuses_bad_sources(tmp_path, capsys):
    root = _pages(tmp_path)
    assert main(["corpus", str(root), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    assert "lines: train" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nrepo = "a/b"\ncommit = "abc"\n')
    assert main(["corpus", str(bad), "--out", str(tmp_path / "o2")]) == 2
    assert "full 40-digit hash" in capsys.readouterr().err
    bad.write_text('[[source]]\nrepo = "a/b"\nlicense = "x"\n')
    assert main(["corpus", str(bad), "--out", str(tmp_path / "o2")]) == 2
    assert "unknown key(s) license" in capsys.readouterr().err
