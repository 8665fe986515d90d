"""The Python API of the README: inkreader.load(), Reader.read / read_page, on real lines."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import inkreader
from inkreader.errors import ImageError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LINE = SHARED / "gnhk" / "sample_line.jpg"
HOOKER = SHARED / "hooker"


@pytest.fixture(scope="module")
def greedy():
    return inkreader.load(decoding=inkreader.GREEDY, backend="torch", threads=1)


def test_readme_three_lines_read_a_real_line():
    reader = inkreader.load()  # the README's lines, the default decoding
    result = reader.read(str(LINE))
    assert isinstance(result, inkreader.LineResult) and result.ok
    assert result.text and result.text == result.text.strip()
    assert 0 <= result.confidence <= 1 and result.chars
    assert all(0 <= c.x0 < c.x1 for c in result.chars)
    assert reader.decoding == inkreader.DecodingOptions()


def test_a_batch_keeps_input_order_and_arrays_read_like_files(greedy):
    rows = [r.split("\t") for r in (HOOKER / "lines.tsv").read_text().splitlines()[1:4]]
    paths = [HOOKER / r[0] for r in rows]
    batch = greedy.read([str(p) for p in paths])
    assert [r.name for r in batch] == [str(p) for p in paths]
    assert all(r.ok and r.text for r in batch)
    # one line at a time (a batch pads its lines to the widest, which can change a reading)
    arrays = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths]
    by_path = [greedy.read(str(p)).text for p in paths]
    by_array = [greedy.read(a).text for a in arrays]
    colour = greedy.read(cv2.cvtColor(arrays[0], cv2.COLOR_GRAY2BGR))
    assert by_path == by_array and colour.text == by_array[0]


def test_bad_input_is_a_result_or_a_clear_error(greedy, tmp_path):
    missing = greedy.read(str(tmp_path / "nope.png"))
    assert not missing.ok and "nope.png" in missing.error
    with pytest.raises(ImageError, match="uint8"):
        greedy.read([np.zeros((10, 10), np.float32)])


@pytest.mark.parametrize(("image", "got"), [
    (np.zeros((96, 300), np.float32), r"got float32 of shape \(96, 300\)"),
    (np.zeros((96, 300, 2), np.uint8), r"got uint8 of shape \(96, 300, 2\)"),
    (np.zeros(300, np.uint8), r"got uint8 of shape \(300,\)"),
    (np.zeros((0, 300), np.uint8), r"got uint8 of shape \(0, 300\)"),
    (None, "got NoneType"),
    (42, "got int")])
def test_a_bad_array_or_none_is_an_image_error_saying_what_it_got(greedy, image, got):
    for call in (greedy.read, greedy.read_page):
        for given in (image, [image]):
            with pytest.raises(ImageError, match=rf"expected a path, or a uint8 array .*; {got}"):
                call(given)


def test_read_page_finds_and_reads_lines(greedy):
    page = sorted((HOOKER / "test_pages").glob("*.jpg"))[0]
    result = greedy.read_page(str(page))
    assert isinstance(result, inkreader.PageResult)
    assert len(result.lines) >= 5 and sum(bool(ln.text) for ln in result.lines) >= 5
