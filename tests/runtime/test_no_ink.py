"""No ink, no text (issue 47): blank, grey, noisy and gradient paper reads as empty text with
confidence 0 in every decoding, real lines all count as ink, and paper detected as a line on a
page is dropped."""

from __future__ import annotations

import numpy as np
import pytest

from inkreader.decode.options import GREEDY, DecodingOptions
from inkreader.pages.reader import read_lines
from inkreader.preprocess import has_ink, read_gray
from inkreader.results import PageLine, PageResult
from inkreader.runtime.recognizer import Recognizer

from ..conftest import HOOKER_TSV, SAMPLE_LINE
from ..pages.test_pages import synthetic_page


def _papers() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    noisy = lambda paper, sigma: np.clip(paper + rng.normal(0, sigma, (96, 600)), 0, 255)  # noqa: E731
    return {"white": np.full((96, 600), 255, np.uint8),
            "grey": np.full((96, 600), 180, np.uint8),
            "light noise": noisy(235, 12).astype(np.uint8),
            "heavy noise": noisy(220, 45).astype(np.uint8),
            "specks": np.where(rng.random((96, 600)) < 0.002, 0, 240).astype(np.uint8),
            "shading": np.tile(np.linspace(140, 250, 600), (96, 1)).astype(np.uint8),
            "black": np.full((40, 300), 20, np.uint8)}


def _hooker(n: int) -> list:
    rows = [r.split("\t") for r in HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]]
    return [HOOKER_TSV.parent / r[0] for r in rows if r[1] == "test"][:n]


def test_paper_has_no_ink_and_real_lines_have():
    assert not any(has_ink(p) for p in _papers().values())
    lines = [read_gray(p) for p in [SAMPLE_LINE, *_hooker(60)]]
    assert all(has_ink(g) for g in lines)
    assert has_ink(255 - lines[0])  # light ink on a dark ground


@pytest.mark.parametrize("decoding", [GREEDY, DecodingOptions()], ids=["greedy", "default"])
def test_paper_reads_as_empty_text_with_no_confidence(decoding):
    rec = Recognizer.load(backend="onnx", decoding=decoding, threads=1)
    papers = _papers()
    results = rec.read_arrays([*papers.values(), read_gray(SAMPLE_LINE)], [*papers, "line"])
    for r in results[:-1]:
        assert (r.ok, r.text, r.confidence, r.chars) == (True, "", 0.0, []), r.name
    assert results[-1].text and results[-1].confidence > 0.5


def test_paper_detected_as_a_line_is_dropped_from_its_page():
    page, boxes = synthetic_page(["Dear Sir", "yours truly"])
    blank = (60, 400, 600, 440)  # paper below the writing
    outline = lambda b, k: PageLine(k, [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])])  # noqa: E731
    rec = Recognizer.load(backend="onnx", decoding=GREEDY, threads=1)
    for drop, kept in ((True, ["l0", "l1"]), (False, ["l0", "l1", "blank"])):
        result = PageResult("page", lines=[outline(boxes[0], "l0"), outline(blank, "blank"),
                                           outline(boxes[1], "l1")])
        read_lines(rec, [result], [page], drop_blank=drop)
        assert sorted(ln.id for ln in result.lines) == sorted(kept)
        assert all(ln.text for ln in result.lines if ln.id != "blank")
