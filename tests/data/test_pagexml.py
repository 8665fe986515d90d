"""PAGE-XML / ALTO line datasets and line cutting."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inkreader.data import pagexml
from inkreader.data.datasets import load_dataset
from inkreader.data.pagexml import (
    PageImages,
    crop_line,
    line_image,
    read_page_xml,
    scan_page_folder,
)
from inkreader.errors import DatasetError, ImageError

from ..conftest import SHARED

HOOKER = SHARED / "data" / "hooker"

ALTO = """<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">
  <Description><MeasurementUnit>pixel</MeasurementUnit>
    <sourceImageInformation><fileName>C:\\scans\\letter.png</fileName></sourceImageInformation>
  </Description>
  <Layout><Page ID="p1" WIDTH="200" HEIGHT="100"><PrintSpace><TextBlock ID="b1">
    <TextLine ID="tl1" HPOS="10" VPOS="10" WIDTH="120" HEIGHT="30">
      <Shape><Polygon POINTS="10,10 130,12 128,40 12,38"/></Shape>
      <String CONTENT="Dear" HPOS="10" VPOS="10" WIDTH="40" HEIGHT="30"/><SP/>
      <String CONTENT="Sir," HPOS="60" VPOS="10" WIDTH="40" HEIGHT="30"/><SP/>
      <String CONTENT="won" HPOS="100" VPOS="10" WIDTH="20" HEIGHT="30"/><HYP CONTENT="-"/>
    </TextLine>
    <TextLine ID="tl2" HPOS="20.4" VPOS="50" WIDTH="100" HEIGHT="30">
      <String CONTENT="derful" HPOS="20" VPOS="50" WIDTH="60" HEIGHT="30"/>
    </TextLine>
    <TextLine ID="tl3" HPOS="20" VPOS="85" WIDTH="100" HEIGHT="10"/>
  </TextBlock></PrintSpace></Page></Layout>
</alto>
"""

PAGE2019 = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">
  <Page imageFilename="elsewhere/missing_name.tif" imageWidth="200" imageHeight="100">
    <TextRegion id="r1"><Coords points="0,0 200,0 200,100 0,100"/>
      <TextLine id="a"><Coords points="5,5 150,5 150,40 5,40"/>
        <TextEquiv index="2"><Unicode>second  guess</Unicode></TextEquiv>
        <TextEquiv index="1"><Unicode>best  reading </Unicode></TextEquiv>
      </TextLine>
      <TextLine id="b"><Coords points="5,50 150,50 150,90 5,90"/>
        <Word id="w1"><Coords points="5,50 60,50 60,90 5,90"/>
          <TextEquiv><Unicode>from</Unicode></TextEquiv></Word>
        <Word id="w2"><Coords points="70,50 150,50 150,90 70,90"/>
          <TextEquiv><Unicode>words</Unicode></TextEquiv></Word>
      </TextLine>
      <TextLine id="c"><Coords points="5,95 150,95"/>
        <TextEquiv><Unicode>no outline</Unicode></TextEquiv></TextLine>
    </TextRegion>
  </Page>
</PcGts>
"""


def _page_image(path: Path) -> np.ndarray:
    rng = np.random.default_rng(0)
    page = rng.integers(180, 230, (100, 200)).astype(np.uint8)
    cv2.putText(page, "Dear Sir", (12, 35), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2)
    cv2.imwrite(str(path), page)
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


def test_hooker_test_pages_match_the_shared_line_crops():
    found = scan_page_folder(HOOKER / "test_pages")
    assert (found.pages, len(found.samples), found.errors) == (50, 953, [])
    tsv = {}
    for row in (HOOKER / "lines.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        file, split, _, text = row.split("\t")
        if split == "test":
            tsv[Path(file).stem] = text
    assert {s.id: s.text for s in found.samples} == tsv  # same lines, same labels
    pages = PageImages()
    for sample in found.samples[:400:100]:
        ours = line_image(sample, pages)
        shared = cv2.imread(str(HOOKER / "lines" / f"{sample.id}.jpg"), cv2.IMREAD_GRAYSCALE)
        if ours.shape[0] > shared.shape[0]:  # the shared crops were scaled to height <= 128
            ours = cv2.resize(ours, shared.shape[::-1], interpolation=cv2.INTER_AREA)
        assert ours.shape == shared.shape
        assert np.abs(ours.astype(int) - shared).mean() < 6


def test_alto_lines_text_and_image(tmp_path):
    page = _page_image(tmp_path / "letter.png")
    (tmp_path / "letter.xml").write_text(ALTO, encoding="utf-8")
    samples = read_page_xml(tmp_path / "letter.xml")
    assert [(s.id, s.text) for s in samples] == [("letter__tl1", "Dear Sir, won-"),
                                                 ("letter__tl2", "derful")]
    assert all(s.path == tmp_path / "letter.png" for s in samples)
    assert samples[0].polygon == ((10, 10), (130, 12), (128, 40), (12, 38))
    assert samples[1].polygon == ((20, 50), (120, 50), (120, 80), (20, 80))
    crop = line_image(samples[1])
    assert np.array_equal(crop[4:-4, 4:-4], page[50:81, 20:121])  # a rectangle: all inside


def test_page_2019_text_choice_words_and_stem_fallback(tmp_path):
    _page_image(tmp_path / "p1.jpg")
    (tmp_path / "p1.xml").write_text(PAGE2019, encoding="utf-8")
    errors: list[str] = []
    samples = read_page_xml(tmp_path / "p1.xml", errors)
    assert [s.text for s in samples] == ["best reading", "from words"]
    assert samples[0].path == tmp_path / "p1.jpg"
    assert len(errors) == 1 and "line c" in errors[0] and "p1.xml" in errors[0]
    with pytest.raises(DatasetError, match="no outline"):
        read_page_xml(tmp_path / "p1.xml")


def test_folder_with_bad_files_and_a_missing_image(tmp_path):
    _page_image(tmp_path / "letter.png")
    (tmp_path / "letter.xml").write_text(ALTO, encoding="utf-8")
    (tmp_path / "broken.xml").write_text("<PcGts><Page", encoding="utf-8")
    (tmp_path / "mets.xml").write_text('<mets xmlns="http://www.loc.gov/METS/"/>',
                                       encoding="utf-8")
    (tmp_path / "gone.xml").write_text(PAGE2019, encoding="utf-8")  # no image at all
    found = scan_page_folder(tmp_path)
    assert found.pages == 2
    assert any("broken.xml" in e and "not readable XML" in e for e in found.errors)
    gone = [s for s in found.samples if s.id.startswith("gone__")]
    assert len(gone) == 2  # kept, so an evaluation counts them
    with pytest.raises(ImageError, match="missing_name.tif"):
        line_image(gone[0])
    assert len(load_dataset(tmp_path)) == 4
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.xml").write_text("<x", encoding="utf-8")
    with pytest.raises(DatasetError, match="no PAGE-XML or ALTO pages; 1 unreadable"):
        load_dataset(empty)


def test_crop_line_masks_with_paper_colour_and_clips():
    page = np.full((60, 100), 200, np.uint8)
    page[20:40, 30:70] = 10  # ink
    page[0:5, :] = 0  # dark edge outside the line
    tri = ((30, 20), (70, 20), (70, 40))
    crop = crop_line(page, tri)
    assert crop.shape == (20 + 1 + 8, 40 + 1 + 8)
    assert crop[4 + 5, 4 + 38] == 10  # inside the triangle: the page's pixel
    assert crop[4 + 19, 4 + 1] == np.percentile(page[16:45, 26:75], 90)  # outside: paper
    edge = crop_line(page, ((0, 0), (10, 0), (10, 10), (0, 10)))
    assert edge.shape == (15, 15)  # the pad is clipped at the page's edges
    with pytest.raises(ImageError, match="outside the 100x60 page"):
        crop_line(page, ((500, 5), (600, 5), (600, 9)), name="p.jpg line 3")
    with pytest.raises(ImageError, match="3 points"):
        crop_line(page, ((1, 1), (5, 5)))


def test_page_images_decode_each_page_once(tmp_path, monkeypatch):
    _page_image(tmp_path / "letter.png")
    (tmp_path / "letter.xml").write_text(ALTO, encoding="utf-8")
    samples = read_page_xml(tmp_path / "letter.xml") * 3
    calls = []
    real = pagexml.read_gray
    monkeypatch.setattr(pagexml, "read_gray", lambda p: calls.append(p) or real(p))
    pages = PageImages()
    for s in samples:
        line_image(s, pages)
    assert calls == [tmp_path / "letter.png"]
