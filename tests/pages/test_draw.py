"""Drawing character spans: the picture, where pictures go (never over an existing file), and
the spans themselves: original-image pixels, inside the image, in reading order, with every
decoder."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.decode.base import DecodedLine
from inkreader.decode.options import GREEDY, DecodingOptions
from inkreader.errors import InkreaderError
from inkreader.pages.draw import COLOURS, draw_line, draw_outputs, save_drawing
from inkreader.preprocess import Line
from inkreader.results import CharResult, LineResult
from inkreader.runtime.recognizer import Recognizer, _result

from ..conftest import HOOKER_TSV, SAMPLE_LINE

LINES = [HOOKER_TSV.parent / "lines" / name for name in
         ("JDH_2_16_144_001__r1l2.jpg", "JDH_2_16_144_001__r1l3.jpg")]


def test_draw_line_tints_each_span_and_adds_a_text_band():
    gray = np.full((48, 200), 255, np.uint8)
    result = LineResult("x", "ab", 0.9, [CharResult("a", 0.9, 10, 30),
                                         CharResult("b", 0.8, 100, 120)])
    img = draw_line(gray, result)
    assert img.dtype == np.uint8 and img.shape[1] == 400 and img.shape[0] > 96  # zoomed x2
    assert (img[:96, 20:60] != 255).any(axis=2).all()  # span 'a' is tinted ...
    assert (img[:96, 70:190] == 255).all()  # ... the gap is not
    blue = img[5, 30].astype(int)
    assert blue[2] > blue[0]  # the first colour is blue-ish, as COLOURS[0]
    assert COLOURS[0][2] > COLOURS[0][0]
    assert (img[96:] != 255).any()  # text under the line


def test_draw_outputs(tmp_path):
    assert draw_outputs(tmp_path / "one.png", ["a/x.jpg"]) == [tmp_path / "one.png"]
    assert draw_outputs(tmp_path, ["a/x.jpg"]) == [tmp_path / "x.png"]  # an existing folder
    assert draw_outputs(f"{tmp_path}/d/", ["a/x.jpg", "b/x.jpg", "y.png"]) == [
        tmp_path / "d" / "x.png", tmp_path / "d" / "x-2.png", tmp_path / "d" / "y.png"]
    assert draw_outputs(str(tmp_path / "{stem}.spans.png"), ["a/x.jpg", "y.png"]) == [
        tmp_path / "x.spans.png", tmp_path / "y.spans.png"]
    with pytest.raises(InkreaderError, match="names one file"):
        draw_outputs(tmp_path / "one.png", ["x.jpg", "y.jpg"])


def test_save_drawing_never_overwrites(tmp_path):
    result = LineResult(str(SAMPLE_LINE), "a", 0.5, [CharResult("a", 0.5, 0, 50)])
    out = save_drawing(result, tmp_path / "sub" / "a.png")
    assert cv2.imread(str(out)).shape[1] == cv2.imread(str(SAMPLE_LINE)).shape[1]
    before = out.read_bytes()
    with pytest.raises(InkreaderError, match="already exists"):
        save_drawing(result, out)
    assert out.read_bytes() == before


def test_read_draws_several_images_into_a_folder(tmp_path, capsys):
    folder = tmp_path / "drawn"
    assert main(["read", *map(str, LINES), "--draw", f"{folder}/", "--json"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.stem + ".png" for p in LINES)
    assert len(capsys.readouterr().out.splitlines()) == 2
    # again: the pictures exist, so they are errors (exit 1), not overwritten
    assert main(["read", *map(str, LINES), "--draw", f"{folder}/"]) == 1
    assert capsys.readouterr().err.count("already exists") == 2
    assert main(["read", *map(str, LINES), "--draw", str(tmp_path / "one.png")]) == 2


def test_spans_map_frames_to_original_pixels():
    # 300 x 60 px image: resized to 96 high -> 480 wide, scale 0.625 original px per column.
    line = Line(np.zeros((96, 480), np.uint8), 480, 300 / 480, (60, 300))
    decoded = DecodedLine("ab", np.array([1, 2]), np.array([[2, 4], [59, 60]]),
                          np.array([0.9, 0.5]), 0.5)
    r = _result("x", decoded, line, 8.0, Charset(tuple("ab")))
    # frame 2 starts at column 16 -> 10 px; frame 4 ends at column 32 -> 20 px
    assert [(c.x0, c.x1) for c in r.chars] == [(10, 20), (295, 300)]


@pytest.mark.parametrize("beam", [False, True])
def test_real_lines_have_spans_inside_and_in_order(beam, capsys):
    rec = Recognizer.load(backend="onnx", decoding=DecodingOptions() if beam else GREEDY)
    for path, r in zip([*LINES, SAMPLE_LINE], rec.read_paths([*LINES, SAMPLE_LINE]),
                       strict=True):
        h, w = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).shape
        assert r.ok and r.size == (h, w) and r.text == "".join(c.char for c in r.chars)
        assert all(0 <= c.x0 < c.x1 <= w for c in r.chars)
        assert [c.x0 for c in r.chars] == sorted(c.x0 for c in r.chars)
        assert [c.x1 for c in r.chars] == sorted(c.x1 for c in r.chars)
        assert 0 <= r.confidence <= 1 and all(0 <= c.confidence <= 1 for c in r.chars)
    assert main(["read", str(SAMPLE_LINE), "--json", "--beam-width", "2"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert all(0 <= c["x0"] < c["x1"] <= row["size"][1] for c in row["chars"])
