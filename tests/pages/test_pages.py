"""Line detection, reading order, page reading, the writers and ``inkreader read-page``."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from lxml import etree

from inkreader import cli
from inkreader.decode.lexicon import Lexicon
from inkreader.pages.reader import (
    PageLine,
    PageResult,
    detect_lines,
    read_page_arrays,
    read_page_files,
    read_pages,
    reading_order,
)
from inkreader.pages.segment import (
    DetectedLine,
    estimate_skew,
    find_lines,
    ink_mask,
    split_at_gaps,
)
from inkreader.pages.writer import PAGE_2019, draw, to_pagexml, to_text
from inkreader.runtime.recognizer import Recognizer

from ..conftest import SHARED

PAGES = SHARED / "data" / "hooker" / "test_pages"
SHORT_PAGE = PAGES / "JDH_2_16_72_007.jpg"  # three written lines
WORDS = ["the quick brown fox", "jumps over a lazy dog", "and then it rained",
         "all the long evening", "so we went home"]


def synthetic_page(lines=WORDS, x=60, top=80, pitch=70, size=(900, 800)) -> tuple:
    """A page of Hershey-script lines; returns it and each line's true ink box."""
    page = np.full(size, 230, np.uint8)
    boxes = []
    for k, text in enumerate(lines):
        y = top + k * pitch
        cv2.putText(page, text, (x, y), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.3, 30, 2,
                    cv2.LINE_AA)
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.3, 2)
        boxes.append((x, y - h, x + w, y + base))
    return page, boxes


def box_iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer.load(threads=1)


def test_finds_each_line_of_a_synthetic_page_in_order():
    page, boxes = synthetic_page()
    found = detect_lines(page)
    assert len(found) == len(boxes)
    for ln, box in zip(found, boxes, strict=True):
        xs, ys = zip(*ln.polygon, strict=True)
        assert box_iou((min(xs), min(ys), max(xs), max(ys)), box) > 0.5
        (x0, y0), (x1, y1) = ln.baseline
        assert x0 < x1 and abs(y0 - box[3]) < 20 and abs(y1 - box[3]) < 20


def test_skewed_page_is_levelled_and_lines_are_still_found():
    page, _ = synthetic_page()
    h, w = page.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 4.0, 1.0)  # counter-clockwise: lines rise
    skewed = cv2.warpAffine(page, m, (w, h), borderValue=230)
    assert estimate_skew(ink_mask(skewed)) == pytest.approx(4.0, abs=1.0)
    found = find_lines(skewed)
    assert len(found) == len(WORDS)
    for ln in found:
        (x0, y0), (x1, y1) = ln.baseline
        assert y1 < y0  # the baseline rises to the right like the text


def test_two_columns_are_read_one_after_the_other():
    left, _ = synthetic_page(WORDS[:4], x=30, size=(500, 700))
    right, _ = synthetic_page(WORDS[1:], x=30, top=110, size=(500, 700))
    page = np.hstack([left, np.full((500, 120), 230, np.uint8), right])
    found = detect_lines(page)
    assert len(found) == 8
    firsts = [min(x for x, _ in ln.polygon) for ln in found]
    assert all(x < 700 for x in firsts[:4]) and all(x > 700 for x in firsts[4:])
    assert [ln.block for ln in found] == [0] * 4 + [1] * 4


def test_reading_order_puts_a_margin_note_first_and_rows_top_down():
    def line(x0, y0, x1, y1):
        return DetectedLine([(x0, y0), (x1, y0), (x1, y1)], [], (x0, y0, x1, y1), 40.0)

    body = [line(200, 100 + 50 * k, 900, 110 + 50 * k) for k in range(4)]
    note = line(20, 160, 120, 170)
    assert reading_order(body[::-1] + [note]) == [[4], [3, 2, 1, 0]]
    assert reading_order([]) == []


def test_blank_and_tiny_pages_have_no_lines():
    assert find_lines(np.full((300, 200), 255, np.uint8)) == []
    assert find_lines(np.full((5, 5), 128, np.uint8)) == []


def test_read_page_files_reads_good_pages_and_names_bad_ones(rec, tmp_path):
    bad = tmp_path / "scan.jpg"
    bad.write_bytes(b"nope")
    results = read_page_files(rec, [bad, SHORT_PAGE, tmp_path / "missing.png"])
    assert [r.ok for r in results] == [False, True, False]
    assert "scan.jpg: not an image" in results[0].error
    assert "missing.png: no such file" in results[2].error
    page = results[1]
    assert page.size == cv2.imread(str(SHORT_PAGE), 0).shape and len(page.lines) >= 2
    for ln in page.lines:
        assert ln.error is None and ln.confidence is not None
        xs = [x for x, _ in ln.polygon]
        assert all(min(xs) - 5 <= c.x0 < c.x1 <= max(xs) + 5 for c in ln.chars)
    assert page.text == "\n".join(ln.text for ln in page.lines)


def test_given_outlines_are_read_in_one_call(rec):
    page, boxes = synthetic_page()
    outlines = [[PageLine(f"g{k}", [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
                 for k, (x0, y0, x1, y1) in enumerate(boxes)]]

    [result] = read_pages(rec, [("synthetic", lambda: page)], lines=outlines)
    assert [ln.id for ln in result.lines] == [f"g{k}" for k in range(5)]
    assert rec.stats.lines == 5 and all(ln.error is None for ln in result.lines)
    [same] = read_page_arrays(rec, [page], ["synthetic"])
    assert len(same.lines) == 5


def _result() -> PageResult:
    return PageResult("dir/page.jpg", (100, 200), [
        PageLine("l1", [(10, 10), (150, 10), (150, 40), (10, 40)], [(10, 35), (150, 35)],
                 block=0, text="Dear <Sir> & co", confidence=0.8),
        PageLine("l2", [(10, 50), (150, 50), (150, 80), (10, 80)], [(10, 75), (150, 75)],
                 block=0, text="yours", confidence=0.5),
        PageLine("l3", [(160, 10), (195, 10), (195, 90), (160, 90)], [], block=1,
                 error="bad line")])


def test_pagexml_2019_has_regions_lines_baselines_and_text():
    root = etree.fromstring(to_pagexml(_result()))
    ns = {"p": PAGE_2019}
    assert root.tag == f"{{{PAGE_2019}}}PcGts"
    page = root.find("p:Page", ns)
    assert page.get("imageFilename") == "page.jpg" and page.get("imageWidth") == "200"
    refs = [r.get("regionRef") for r in root.iterfind(".//p:RegionRefIndexed", ns)]
    regions = root.findall(".//p:TextRegion", ns)
    assert refs == [r.get("id") for r in regions] == ["r1", "r2"]
    lines = root.findall(".//p:TextLine", ns)
    assert [ln.get("id") for ln in lines] == ["l1", "l2", "l3"]
    assert lines[0].find("p:Baseline", ns).get("points") == "10,35 150,35"
    assert lines[0].find("p:TextEquiv/p:Unicode", ns).text == "Dear <Sir> & co"
    assert lines[0].find("p:TextEquiv", ns).get("conf") == "0.8000"
    assert lines[2].find("p:Baseline", ns) is None
    assert regions[0].find("p:TextEquiv/p:Unicode", ns).text == "Dear <Sir> & co\nyours"
    children = [etree.QName(c).localname for c in lines[0]]
    assert children == ["Coords", "Baseline", "TextEquiv"]  # the schema's order


def test_text_json_and_drawing():
    r = _result()
    assert to_text(r) == "Dear <Sir> & co\nyours\n"
    data = json.loads(json.dumps(r.to_json()))
    assert data["lines"][2]["text"] is None and data["lines"][2]["error"] == "bad line"
    assert data["lines"][0]["polygon"][0] == [10, 10]
    img = draw(np.full((100, 200), 200, np.uint8), r)
    assert img.shape == (100, 360, 3) and img[:, 200:].min() < 255  # text panel written


def test_read_page_command(tmp_path, capsys):
    assert cli.main(["read-page", str(SHORT_PAGE), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["image"] == str(SHORT_PAGE) and len(out["lines"]) >= 2
    args = ["read-page", str(SHORT_PAGE), str(tmp_path / "nope.jpg"), "--out-dir",
            str(tmp_path / "o"), "--format", "pagexml", "--draw", str(tmp_path / "d")]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "nope.jpg: no such file" in err
    xml = tmp_path / "o" / "JDH_2_16_72_007.xml"
    assert etree.parse(str(xml)).getroot().tag == f"{{{PAGE_2019}}}PcGts"
    assert cv2.imread(str(tmp_path / "d" / "JDH_2_16_72_007.png")) is not None
    assert cli.main(args) == 1  # the same outputs again: never overwritten
    assert "exists (use --overwrite" in capsys.readouterr().err
    assert cli.main(["read-page", str(SHORT_PAGE), str(SHORT_PAGE), "--format",
                     "pagexml"]) == 2


def test_read_page_takes_the_decoding_options(capsys):
    assert cli.main(["read-page", str(SHORT_PAGE), "--greedy"]) == 0
    greedy = capsys.readouterr().out.split("\n")
    assert cli.main(["read-page", str(SHORT_PAGE)]) == 0  # the default: beam + LM + words
    beam = capsys.readouterr().out.split("\n")
    assert len(beam) == len(greedy) and beam != greedy
    words = Lexicon.load("default")

    def known(lines: list[str]) -> float:
        tokens = [w.strip(".,;:!?'\"") for ln in lines for w in ln.split()]
        return sum(t.lower() in words for t in tokens if t) / max(1, len(tokens))

    assert known(beam) > known(greedy)  # the word list steered the beam to real words
    assert cli.main(["read-page", str(SHORT_PAGE), "--beam-width", "0"]) == 2
    assert "beam-width must be at least 1" in capsys.readouterr().err


def test_a_wide_blank_splits_a_row_in_two_lines_but_word_gaps_do_not():
    page, _ = synthetic_page(WORDS[:3], size=(400, 1400))
    # A date right of the first line (which ends at x 388), 3 line pitches away: one ridge
    # spans both, the blank cuts them apart.
    cv2.putText(page, "Kew 1895", (600, 80), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.3, 30, 2,
                cv2.LINE_AA)
    found = detect_lines(page)
    assert len(found) == 4
    right = [ln for ln in found if min(x for x, _ in ln.polygon) > 550]
    assert len(right) == 1 and max(x for x, _ in right[0].polygon) > 750
    assert split_at_gaps(np.ones((5, 50), bool), 10.0) == [(0, 50)]
    gap = np.zeros((5, 200), bool)
    gap[:, :40] = gap[:, 120:] = True  # a blank 8 L wide: cut; 3 L: cut too; 1 L: kept
    assert split_at_gaps(gap, 10.0) == [(0, 40), (120, 200)]
    gap[:, 40:90] = True
    assert split_at_gaps(gap, 10.0) == [(0, 90), (120, 200)]
    gap[:, 90:110] = True
    assert split_at_gaps(gap, 10.0) == [(0, 200)]
