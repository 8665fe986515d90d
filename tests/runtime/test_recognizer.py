"""Recognizer: the same text on every backend, typed results in input order with confidences
and spans, bad inputs isolated, static OMZ-style IRs (4442 classes) with their charlist."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from inkreader.charset import Charset
from inkreader.decode.base import DecodedLine, log_softmax
from inkreader.decode.options import GREEDY
from inkreader.errors import CharsetError, ModelError
from inkreader.export.convert import export_onnx, export_openvino
from inkreader.model import ModelConfig, load_checkpoint, save_checkpoint
from inkreader.preprocess import (
    CNN_CONTEXT,
    Line,
    pad_width,
    prepare_line,
    shift_rows,
    stack_lines,
)
from inkreader.runtime.recognizer import (
    MAX_LINE_WIDTH,
    TTA_SHIFTS,
    LineResult,
    Recognizer,
    _result,
    expand_inputs,
    plan_batches,
)

from ..conftest import SAMPLE_LINE, SHARED
from ..test_model import busy_model
from ..test_preprocess import _png_header_only

HOOKER = sorted((SHARED / "data" / "hooker" / "lines").glob("*.jpg"))
LINES = [SAMPLE_LINE, *HOOKER[:7]]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "busy.pt"
    save_checkpoint(path, busy_model(), Charset.gnhk())
    return path


@pytest.fixture(scope="module")
def recognizers(checkpoint):
    return {b: Recognizer.load(checkpoint, backend=b, batch_size=4)
            for b in ("torch", "onnx", "openvino")}


@pytest.fixture(scope="module")
def torch_texts(recognizers):
    return [r.text for r in recognizers["torch"].read_paths(LINES)]


def test_same_text_on_every_backend(recognizers, torch_texts):
    assert sum(len(t) > 3 for t in torch_texts) >= 6  # real strings, not one constant
    for backend in ("onnx", "openvino"):
        results = recognizers[backend].read_paths(LINES)
        assert [r.name for r in results] == [str(p) for p in LINES]  # input order
        assert [r.text for r in results] == torch_texts, backend


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_concurrent_streams_give_the_same_text(checkpoint, backend):
    expected = [r.text for r in Recognizer.load(checkpoint, backend="torch", batch_size=2)
                .read_paths(LINES + LINES)]  # the same batches, one at a time
    rec = Recognizer.load(checkpoint, backend=backend, batch_size=2, threads=2, streams=2)
    assert rec.backend.streams == 2
    results = rec.read_paths(LINES + LINES)  # several batches in flight at once
    assert [r.text for r in results] == expected
    assert rec.stats.requests >= 8


def test_results_are_typed_and_consistent(recognizers):
    for path, r in zip(LINES, recognizers["onnx"].read_paths(LINES), strict=True):
        h, w = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).shape
        assert r.ok and r.size == (h, w)
        assert r.text == "".join(c.char for c in r.chars)
        assert 0 <= r.confidence <= 1 and all(0 <= c.confidence <= 1 for c in r.chars)
        assert all(0 <= c.x0 < c.x1 <= w for c in r.chars)
        assert [c.x0 for c in r.chars] == sorted(c.x0 for c in r.chars)  # reading order
        j = r.to_json()
        assert j["image"] == str(path) and j["text"] == r.text and j["error"] is None


def test_spans_map_back_through_the_resize():
    line = Line(pixels=np.zeros((96, 48), np.uint8), width=45, scale=2.0, source_size=(192, 90))
    decoded = DecodedLine("ab", np.array([1, 2]), np.array([[0, 1], [3, 6]]),
                          np.array([0.9, 0.5]), 0.5)
    r = _result("x", decoded, line, 8.0, Charset(tuple("ab")))
    assert [(c.char, c.x0, c.x1) for c in r.chars] == [("a", 0, 16), ("b", 48, 90)]  # clamped


def test_batches_do_not_change_fixed_width_results(checkpoint):
    one = Recognizer.load(checkpoint, backend="onnx", fixed_width=True, batch_size=1)
    four = Recognizer.load(checkpoint, backend="onnx", fixed_width=True, batch_size=4)
    texts = [r.text for r in one.read_paths(LINES[:5])]
    assert [r.text for r in four.read_paths(LINES[:5])] == texts
    assert one.stats.requests == 5 and four.stats.requests == 2


def test_read_arrays_equals_read_paths(recognizers, torch_texts):
    grays = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in LINES]
    results = recognizers["torch"].read_arrays(grays, names=[p.name for p in LINES])
    assert [r.text for r in results] == torch_texts
    assert [r.name for r in results] == [p.name for p in LINES]


def test_bad_inputs_do_not_stop_the_others(recognizers, tmp_path):
    good = cv2.imread(str(SAMPLE_LINE), cv2.IMREAD_GRAYSCALE)
    files = {
        "good.jpg": SAMPLE_LINE.read_bytes(),
        "zero.jpg": b"",
        "text.jpg": b"this is not an image",
        "trunc.jpg": SAMPLE_LINE.read_bytes()[:4000],
        "huge.png": _png_header_only(50_000, 50_000),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    cv2.imwrite(str(tmp_path / "16bit.png"), good.astype(np.uint16) * 257)
    rgba = np.dstack([np.stack([good] * 3, -1), np.full_like(good, 255)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(good).convert("P").save(tmp_path / "palette.png")
    paths = [*sorted(tmp_path.iterdir()), tmp_path / "missing.jpg"]
    results = {p.name: r for p, r in
               zip(paths, recognizers["onnx"].read_paths(paths), strict=True)}
    expected_errors = {"zero.jpg": "empty file", "text.jpg": "not an image",
                       "trunc.jpg": "truncated JPEG", "huge.png": "too large",
                       "missing.jpg": "no such file"}
    for name, message in expected_errors.items():
        assert not results[name].ok and results[name].text == ""
        assert name in results[name].error and message in results[name].error
    reference = results["good.jpg"].text
    for name in ("good.jpg", "16bit.png", "rgba.png", "palette.png"):
        assert results[name].ok and results[name].text == reference, name


def test_too_long_and_too_wide_lines(recognizers, checkpoint):
    long = np.zeros((3, 1200), np.uint8)  # 38,400 px at height 96
    assert MAX_LINE_WIDTH < 96 * 1200 // 3
    r_long, r_ok = recognizers["onnx"].read_arrays([long, np.zeros((96, 200), np.uint8)])
    assert "not a single text line" in r_long.error and r_ok.ok
    fixed = Recognizer.load(checkpoint, backend="torch", fixed_width=True)
    (r,) = fixed.read_arrays([np.zeros((10, 300), np.uint8)], names=["wide"])
    assert "wide: 2880 px wide" in r.error and "fixed input width 2000" in r.error


def test_plan_batches():
    widths = [700, 10, 650, 2000, 690, 20, 0, 680]
    batches = plan_batches(widths, batch_size=3, max_columns=3 * 2000)
    assert sorted(i for b in batches for i in b) == list(range(len(widths)))
    assert all(len(b) <= 3 for b in batches)
    order = [widths[i] for b in batches for i in b]
    assert order == sorted(widths)  # grouped by width
    for b in batches:  # no batch mixes a line with one over 1.5x its padded width
        ws = [pad_width(widths[i], None) for i in b]
        assert max(ws) <= 1.5 * min(ws)
    two = 2 * pad_width(1900, None)
    assert plan_batches([1900] * 4, 4, two) == [[0, 1], [2, 3]]  # column budget
    assert plan_batches([1900] * 4, 4, two - 1) == [[0], [1], [2], [3]]


def test_expand_inputs(tmp_path):
    (tmp_path / "lines").mkdir()
    for name in ("b.png", "a.JPG", "notes.txt"):
        (tmp_path / "lines" / name).write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    out = expand_inputs([tmp_path / "lines", tmp_path / "empty", "missing.jpg"])
    assert out[:2] == [tmp_path / "lines" / "a.JPG", tmp_path / "lines" / "b.png"]
    assert isinstance(out[2], LineResult) and "no image files" in out[2].error
    assert str(out[3]) == "missing.jpg"


def test_onnx_file_uses_its_embedded_charset(checkpoint, tmp_path, torch_texts):
    net, charset, _ = load_checkpoint(checkpoint)
    path = export_onnx(net, tmp_path / "m.onnx", False, charset)
    rec = Recognizer.load(path, batch_size=4)  # the same batches as ``torch_texts``
    assert rec.backend.name == "onnx" and rec.charset == charset
    assert [r.text for r in rec.read_paths(LINES)] == torch_texts


@pytest.fixture(scope="module")
def ir_4442(tmp_path_factory):
    """A static OMZ-style IR with 4442 classes and another input geometry (64 x 1000), no
    embedded charset, and a 4441-symbol charlist for it."""
    folder = tmp_path_factory.mktemp("jp")
    net = busy_model(ModelConfig(num_classes=4442, height=64, fixed_width=1000))
    xml = export_openvino(net, folder / "japanese.xml", fixed_width=True)
    symbols = [chr(0x4E00 + i) for i in range(4441)]
    charlist = folder / "japanese.txt"
    charlist.write_text("\n".join(symbols) + "\n", encoding="utf-8")
    return xml, charlist, symbols


def test_static_ir_with_4442_classes_runs(ir_4442):
    xml, charlist, symbols = ir_4442
    rec = Recognizer.load(xml, charlist=charlist)
    assert rec.backend.name == "openvino" and rec.backend.num_classes == 4442
    assert (rec.height, rec.fixed_width, rec.batch_size) == (64, 1000, 1)  # read from the model
    wide = np.zeros((5, 400), np.uint8)  # 5,120 px at height 64
    results = rec.read_paths(LINES[:3]) + rec.read_arrays([wide], names=["wide"])
    assert all(r.ok for r in results[:3]) and any(r.text for r in results[:3])
    assert set("".join(r.text for r in results)) <= set(symbols)
    assert "fixed input width 1000" in results[3].error


def test_charlist_must_fit_the_class_count(ir_4442, tmp_path):
    xml, _, symbols = ir_4442
    short = tmp_path / "short.txt"
    short.write_text("\n".join(symbols[:-1]), encoding="utf-8")
    with pytest.raises(CharsetError, match=r"short.txt has 4440 symbols.*has 4442 classes"):
        Recognizer.load(xml, charlist=short)
    with pytest.raises(CharsetError, match=r"default GNHK charlist has 94 .*--charlist"):
        Recognizer.load(xml)


def test_model_errors(tmp_path, ir_4442):
    with pytest.raises(ModelError, match="model file not found"):
        Recognizer.load(tmp_path / "nope.pt")
    with pytest.raises(ModelError, match="only on --backend openvino"):
        Recognizer.load(ir_4442[0], backend="onnx", charlist=ir_4442[1])
    with pytest.raises(ModelError, match="unknown backend"):
        Recognizer.load(None, backend="tensorrt")


def test_default_model_reads_the_sample_line():
    rec = Recognizer.load()
    (r,) = rec.read_paths([SAMPLE_LINE])
    assert r.ok and len(rec.charset) == 94 and r.size == (431, 3073)


def test_static_batch_of_two_is_filled(tmp_path):
    import warnings

    import torch

    path = tmp_path / "b2.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(busy_model(), (torch.zeros(2, 1, 96, 400),), str(path), dynamo=False,
                          input_names=["actual_input"], output_names=["output"])
    rec = Recognizer.load(path)
    assert (rec.batch_size, rec.fixed_width) == (2, 400)
    lines = [np.full((96, w), 200, np.uint8) for w in (100, 150, 300)]
    for line in lines:
        line[40:50, 10:-10] = 0  # ink: a line without any is not read
    assert all(r.ok for r in rec.read_arrays(lines)) and rec.stats.requests == 2


def test_shift_rows_repeats_the_edge_rows():
    batch = np.arange(2 * 1 * 5 * 3, dtype=np.float32).reshape(2, 1, 5, 3)
    down = shift_rows(batch, 2)
    assert (down[:, :, 2:] == batch[:, :, :3]).all()
    assert (down[:, :, :2] == batch[:, :, :1]).all()
    up = shift_rows(batch, -1)
    assert (up[:, :, :4] == batch[:, :, 1:]).all() and (up[:, :, 4] == batch[:, :, 4]).all()
    assert shift_rows(batch, 0) is batch


def test_tta_decodes_the_mean_log_posteriors_of_the_shifted_lines(checkpoint):
    lines = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in HOOKER[:3]]
    seen = []

    class Keep:  # a decoder that keeps what it is given
        def __init__(self, inner):
            self.inner = inner

        def decode(self, logits):
            seen.append(np.array(logits))
            return self.inner.decode(logits)

    plain = Recognizer.load(checkpoint, backend="torch")
    plain.decoder = Keep(plain.decoder)
    plain.read_arrays(lines[:1])
    rec = Recognizer.load(checkpoint, backend="torch", decoding=GREEDY.with_(tta=True))
    rec.decoder = Keep(rec.decoder)
    (r,) = rec.read_arrays(lines[:1])
    assert r.ok and rec.stats.requests == 1
    line = prepare_line(lines[0], reading=rec.reading)
    width = line.pixels.shape[1]
    batch, widths = stack_lines([line.pixels], width + CNN_CONTEXT), np.array([width])
    want = np.mean([log_softmax(rec.backend.run(shift_rows(batch, dy), widths))
                    for dy in TTA_SHIFTS], axis=0)[: len(seen[1]), 0]
    np.testing.assert_allclose(seen[1], want, atol=1e-5)
    assert not np.allclose(seen[0], seen[1])  # the shifted copies changed what was decoded
