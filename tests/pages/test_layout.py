"""Given layouts (PAGE-XML / ALTO in, the same file out), ALTO 4 out, and both formats checked
against their official schemas (vendored in inkreader/pages/xsd, validated offline)."""

from __future__ import annotations

import cv2
import pytest
from lxml import etree

from inkreader import cli
from inkreader.data.pagexml import read_page_xml
from inkreader.pages.alto import ALTO_4, line_words, to_alto
from inkreader.pages.layout import LayoutError, read_layout, read_layout_files, render_page
from inkreader.pages.reader import read_pages
from inkreader.pages.schemas import validate
from inkreader.pages.writer import PAGE_2019, to_pagexml
from inkreader.results import CharResult, PageLine, PageResult
from inkreader.runtime.recognizer import Recognizer

from .test_pages import PAGES, SHORT_PAGE, _result, synthetic_page

A = {"a": ALTO_4}
P = {"p": PAGE_2019}


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer.load(threads=1)


def _with_chars() -> PageResult:
    r = _result()
    ln = r.lines[1]  # "yours": characters with spans and confidences
    ln.text = "yo urs"
    ln.chars = [CharResult(c, conf, 10 + 20 * k, 28 + 20 * k)
                for k, (c, conf) in enumerate(zip("yo urs", (.9, .6, 1, .8, .95, .7),
                                                  strict=True))]
    return r


def _synthetic_layout(tmp_path, fmt: str):
    """A synthetic page saved as PNG with our own layout of it (ids g1.., true boxes)."""
    page, boxes = synthetic_page()
    cv2.imwrite(str(tmp_path / "synth.png"), page)
    lines = [PageLine(f"g{k}", [(x0 - 4, y0 - 4), (x1 + 4, y0 - 4), (x1 + 4, y1 + 4),
                                (x0 - 4, y1 + 4)], [(x0, y1 - 8), (x1, y1 - 8)], block=0,
                      text="old text")
             for k, (x0, y0, x1, y1) in enumerate(boxes, start=1)]
    xml = tmp_path / "synth.xml"
    result = PageResult("synth.png", page.shape, lines)
    xml.write_bytes(to_pagexml(result) if fmt == "pagexml" else to_alto(result))
    return xml


def test_our_pagexml_and_alto_are_valid_against_the_official_schemas():
    page = _with_chars()
    assert validate(to_pagexml(page), "pagexml") == []
    assert validate(to_alto(page), "alto") == []
    assert validate(to_alto(PageResult("empty.png", (10, 10))), "alto") == []
    # The check can fail: a String without its required CONTENT, a TextLine in PAGE order.
    bad = etree.fromstring(to_alto(page))
    bad.find(".//a:String", A).attrib.pop("CONTENT")
    assert any("CONTENT" in e for e in validate(etree.tostring(bad), "alto"))
    bad = etree.fromstring(to_pagexml(page))
    line = bad.find(".//p:TextLine", P)
    line.append(line.find("p:Coords", P))  # Coords after TextEquiv
    assert validate(etree.tostring(bad), "pagexml") != []


def test_alto_words_carry_word_and_character_confidences():
    root = etree.fromstring(to_alto(_with_chars()))
    lines = root.findall(".//a:TextLine", A)
    assert [ln.get("ID") for ln in lines] == ["l1", "l2", "l3"]
    words = lines[1].findall("a:String", A)
    assert [w.get("CONTENT") for w in words] == ["yo", "urs"]
    assert [w.get("WC") for w in words] == ["0.6000", "0.7000"]  # the least sure character
    assert words[0].get("CC") == "1 4" and words[1].get("HPOS") == "70"
    assert lines[0].get("BASELINE") == "10,35 150,35"
    assert lines[0].find("a:Shape/a:Polygon", A).get("POINTS") == "10,10 150,10 150,40 10,40"
    assert [w.text for w in line_words(_result().lines[0])] == ["Dear", "<Sir>", "&", "co"]
    assert lines[2].find("a:String", A).get("CONTENT") == ""  # a failed line stays empty


@pytest.mark.parametrize("fmt", ["pagexml", "alto"])
def test_round_trip_ours_out_ours_in_keeps_every_line_and_text(tmp_path, fmt):
    page = _with_chars()
    xml = tmp_path / f"page.{fmt}.xml"
    xml.write_bytes(render_page(page, fmt))
    back = read_page_xml(xml)  # the dataset reader: lines with text
    assert [(s.id.split("__")[1], s.text, list(s.polygon)) for s in back] == [
        (ln.id, ln.text, ln.polygon) for ln in page.lines if ln.error is None]
    layout = read_layout(xml)
    assert layout.kind == fmt and layout.image == tmp_path / "page.jpg"
    assert [(ln.id, ln.polygon, ln.baseline, ln.block) for ln in layout.lines] == [
        (ln.id, ln.polygon, ln.baseline, ln.block) for ln in page.lines]


def test_hooker_page_layout_keeps_ids_order_and_baselines():
    xml = PAGES / "JDH_2_16_145_001.xml"
    layout = read_layout(xml)
    assert layout.kind == "pagexml" and layout.image == PAGES / "JDH_2_16_145_001.jpg"
    tree = etree.parse(str(xml))
    ids = [e.get("id") for e in tree.iter("{*}TextLine")]
    assert [ln.id for ln in layout.lines] == ids  # document order = its reading order here
    assert layout.lines[0].block == 0 and layout.lines[1].block == 1
    assert all(len(ln.baseline) >= 2 and len(ln.polygon) >= 3 for ln in layout.lines)


def test_reading_the_gold_layout_matches_reading_the_gold_polygons(rec):
    """The bench's gold ceiling reads read_page_xml's polygons; the layout path must give the
    same text for every line with a transcription (it also reads the untranscribed ones)."""
    xmls = [SHORT_PAGE.with_suffix(".xml"), PAGES / "JDH_2_16_145_001.xml"]
    got = read_layout_files(rec, xmls)
    truth = [read_page_xml(x) for x in xmls]
    gold = read_pages(rec, [(str(t[0].path), (lambda p=t[0].path: cv2.imread(str(p), 0)))
                            for t in truth],
                      lines=[[PageLine(s.id.split("__")[1], list(s.polygon)) for s in t]
                             for t in truth])
    for page, ceiling in zip(got, gold, strict=True):
        assert page.ok and page.layout is not None
        by_id = {ln.id: ln.text for ln in page.lines}
        assert [by_id[ln.id] for ln in ceiling.lines] == [ln.text for ln in ceiling.lines]
        assert len(page.lines) >= len(ceiling.lines)


def test_filled_layout_keeps_the_file_and_adds_texts(rec, tmp_path):
    xml = PAGES / "JDH_2_16_145_001.xml"
    [page] = read_layout_files(rec, [xml])
    out = etree.fromstring(render_page(page, "pagexml"))
    before = etree.parse(str(xml)).getroot()
    assert out.tag == before.tag  # still PAGE 2013, as given
    lines_out, lines_in = list(out.iter("{*}TextLine")), list(before.iter("{*}TextLine"))
    assert [(e.get("id"), e.find("{*}Coords").get("points")) for e in lines_out] == [
        (e.get("id"), e.find("{*}Coords").get("points")) for e in lines_in]
    texts = {ln.id: ln.text for ln in page.lines}
    for e in lines_out:
        [equiv] = e.findall("{*}TextEquiv")
        assert equiv.find("{*}Unicode").text == texts[e.get("id")]
        assert 0 <= float(equiv.get("conf")) <= 1
    assert out.find(".//{*}TranskribusMetadata") is not None  # other elements kept


@pytest.mark.parametrize("fmt", ["pagexml", "alto"])
def test_read_page_fills_a_layout_in_its_own_format_validly(tmp_path, capsys, fmt):
    xml = _synthetic_layout(tmp_path, fmt)
    out = tmp_path / "out"
    assert cli.main(["read-page", str(xml), "--format", fmt, "--out-dir", str(out)]) == 0
    data = (out / "synth.xml").read_bytes()
    assert validate(data, fmt) == []
    root = etree.fromstring(data)
    if fmt == "alto":
        lines = root.findall(".//a:TextLine", A)
        text = [" ".join(s.get("CONTENT") for s in ln.findall("a:String", A)) for ln in lines]
        assert all(s.get("WC") for s in root.iter(f"{{{ALTO_4}}}String"))
    else:
        lines = root.findall(".//p:TextLine", P)
        text = [ln.find("p:TextEquiv/p:Unicode", P).text for ln in lines]
    assert [ln.get("ID" if fmt == "alto" else "id") for ln in lines] == [f"g{k}" for k in
                                                                          range(1, 6)]
    assert "old text" not in text and sum("the" in t or "dog" in t for t in text) >= 2
    other = "alto" if fmt == "pagexml" else "pagexml"  # the other format: written afresh
    assert cli.main(["read-page", str(xml), "--format", other]) == 0
    assert validate(capsys.readouterr().out.encode(), other) == []


def test_layouts_without_outlines_are_errors_naming_file_and_line(tmp_path, capsys):
    xml = _synthetic_layout(tmp_path, "pagexml")
    root = etree.parse(str(xml)).getroot()
    line = root.findall(".//p:TextLine", P)[2]
    line.remove(line.find("p:Coords", P))
    xml.write_bytes(etree.tostring(root))
    with pytest.raises(LayoutError, match=r"synth.xml: line 'g3' has no outline"):
        read_layout(xml)
    root.find(".//p:TextRegion", P).remove(root.find(".//p:TextRegion/p:Coords", P))
    xml.write_bytes(etree.tostring(root))
    with pytest.raises(LayoutError, match=r"synth.xml: region 'r1' has no outline"):
        read_layout(xml)
    alto = _synthetic_layout(tmp_path, "alto")
    root = etree.parse(str(alto)).getroot()
    line = root.findall(".//a:TextLine", A)[0]
    line.remove(line.find("a:Shape", A))
    for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"):
        del line.attrib[k]
    alto.write_bytes(etree.tostring(root))
    with pytest.raises(LayoutError, match=r"synth.xml: line 'g1' has no outline"):
        read_layout(alto)
    other = tmp_path / "mets.xml"
    other.write_text("<mets/>")
    assert cli.main(["read-page", str(alto), str(other), str(SHORT_PAGE)]) == 1
    err = capsys.readouterr().err
    assert "synth.xml: line 'g1' has no outline" in err
    assert "mets.xml: neither PAGE-XML nor ALTO" in err and "Traceback" not in err


def test_alto_v2_box_lines_and_numeric_baselines(tmp_path):
    page, boxes = synthetic_page()
    cv2.imwrite(str(tmp_path / "v2.png"), page)
    (x0, y0, x1, y1) = boxes[0]
    (tmp_path / "v2.xml").write_text(
        '<alto xmlns="http://www.loc.gov/standards/alto/ns-v2#"><Description>'
        "<MeasurementUnit>pixel</MeasurementUnit><sourceImageInformation><fileName>v2.png"
        "</fileName></sourceImageInformation></Description><Layout><Page><PrintSpace>"
        f'<TextBlock ID="b1" HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}">'
        f'<TextLine ID="t1" HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}" '
        f'BASELINE="{y1 - 5}"><String CONTENT="old"/></TextLine></TextBlock>'
        "</PrintSpace></Page></Layout></alto>")
    layout = read_layout(tmp_path / "v2.xml")
    assert layout.image == tmp_path / "v2.png"
    [ln] = layout.lines
    assert ln.polygon == [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    assert ln.baseline == [(x0, y1 - 5), (x1, y1 - 5)]


def test_api_reads_a_layout_beside_images():
    import inkreader

    reader = inkreader.load(threads=1)
    xml = SHORT_PAGE.with_suffix(".xml")
    page, image = reader.read_page([xml, SHORT_PAGE])
    assert page.layout is not None and image.layout is None
    assert [ln.id for ln in page.lines] == [e.get("id") for e in
                                            etree.parse(str(xml)).iter("{*}TextLine")]
    assert reader.read_page(xml).text == page.text
    assert validate(render_page(page, "alto"), "alto") == []
