"""The one image path: decoding every kind of file (good and bad), the reference resize and pad,
inkreader's variable width, batching."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from inkreader.errors import ImageError
from inkreader.preprocess import (
    FIXED_WIDTH,
    HEIGHT,
    TAIL_MARGIN,
    decode_image,
    light_on_dark,
    pad_width,
    prepare_line,
    read_gray,
    resized_width,
    stack_lines,
)

from .conftest import HOOKER_TSV, SAMPLE_LINE

RNG = np.random.default_rng(0)
GRAY = RNG.integers(0, 256, (40, 120), dtype=np.uint8)


def encode(array: np.ndarray, ext: str = ".png") -> bytes:
    ok, buf = cv2.imencode(ext, array)
    assert ok
    return buf.tobytes()


def pil_bytes(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def test_jpeg_decodes_as_the_reference_imread():
    expected = cv2.imread(str(SAMPLE_LINE), cv2.IMREAD_GRAYSCALE)
    got = read_gray(SAMPLE_LINE)
    assert got.dtype == np.uint8 and np.array_equal(got, expected)


def test_colour_goes_through_bgr_to_gray():
    bgr = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    data = encode(bgr)
    got = decode_image(data, "c.png")
    # exactly the reference demo's imread(IMREAD_GRAYSCALE), which is BGR->GRAY up to rounding
    assert np.array_equal(got, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE))
    assert np.abs(got.astype(int) - cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)).max() <= 1


def test_sixteen_bit_is_scaled_to_eight():
    a16 = np.array([[0, 32768, 65535]], np.uint16)
    assert decode_image(encode(a16), "16.png").tolist() == [[0, 128, 255]]


def test_rgba_transparency_is_paper():
    rgba = np.zeros((2, 2, 4), np.uint8)  # black ink ...
    rgba[0, :, 3] = 255  # ... opaque on the first row, fully transparent on the second
    got = decode_image(pil_bytes(Image.fromarray(rgba, "RGBA")), "a.png")
    assert got.tolist() == [[0, 0], [255, 255]]


def test_palette_images():
    im = Image.fromarray(GRAY).convert("P")
    got = decode_image(pil_bytes(im), "p.png")
    expected = np.asarray(im.convert("L"))
    assert np.abs(got.astype(int) - expected).max() <= 1  # L vs BGR2GRAY rounding
    im.info["transparency"] = int(np.asarray(im)[0, 0])
    transparent = decode_image(pil_bytes(im), "pt.png")
    assert transparent[0, 0] == 255


def test_one_bit_image():
    im = Image.fromarray(GRAY > 128)
    got = decode_image(pil_bytes(im), "b.png")
    assert set(np.unique(got)) <= {0, 255}


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"hello, not an image", "not an image"),
    (encode(GRAY, ".jpg")[:-200], "truncated JPEG"),
    (encode(GRAY)[:200], "corrupt or truncated PNG"),
])
def test_bad_bytes_are_named_errors(data, message):
    with pytest.raises(ImageError, match=f"bad.img: {message}"):
        decode_image(data, "bad.img")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` x ``height`` pixels with no pixel data (a decompression bomb's
    header): decoding must refuse it before allocating anything."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def test_huge_image_is_refused_naming_its_size_and_the_limit():
    # over Pillow's own bomb limit (2 x 89 MP): its error gives the pixels, not the sides
    with pytest.raises(ImageError, match=r"huge.png: image too large \(1,600,000,000 pixels; "
                       r"limit 100,000,000 pixels\)"):
        decode_image(_png_header_only(40_000, 40_000), "huge.png")
    # over MAX_PIXELS, under Pillow's error limit
    with pytest.raises(ImageError, match=r"big.png: image too large \(12000x10000 px; "
                       r"limit 100,000,000 pixels\)"):
        decode_image(_png_header_only(12_000, 10_000), "big.png")


def test_read_gray_missing_and_directory(tmp_path):
    with pytest.raises(ImageError, match="missing.jpg: no such file"):
        read_gray(tmp_path / "missing.jpg")
    with pytest.raises(ImageError, match="is a directory"):
        read_gray(tmp_path)


def test_reference_resize_truncates_the_width():
    assert resized_width(431, 3073) == int(96 * 3073 / 431) == 684
    assert resized_width(1000, 5) == 1  # never zero
    line = prepare_line(read_gray(SAMPLE_LINE))
    assert line.pixels.shape == (HEIGHT, 688 + TAIL_MARGIN) and line.width == 684  # x8, margin
    assert line.scale == pytest.approx(3073 / 684) and line.source_size == (431, 3073)


def test_fixed_width_pads_with_edge_values():
    gray = np.tile(np.arange(50, dtype=np.uint8), (96, 1))
    line = prepare_line(gray, fixed_width=FIXED_WIDTH)
    assert line.pixels.shape == (96, 2000) and line.width == 50
    assert (line.pixels[:, 50:] == gray[:, -1:]).all()  # numpy 'edge', not white


def test_too_wide_for_the_fixed_width_is_a_clear_error():
    wide = np.zeros((10, 300), np.uint8)  # 2880 px at height 96
    with pytest.raises(ImageError, match=r"w.png: 2880 px wide .* wider than the fixed input"):
        prepare_line(wide, fixed_width=FIXED_WIDTH, name="w.png")
    # variable width reads it whole, with the tail margin
    assert prepare_line(wide).pixels.shape == (96, 2880 + TAIL_MARGIN)


def test_variable_width_adds_the_tail_margin_and_rounds_up_to_the_stride():
    assert [pad_width(w, None, margin=0) for w in (1, 8, 9, 684)] == [8, 8, 16, 688]
    assert [pad_width(w, None, margin=20) for w in (1, 684)] == [24, 704]
    assert pad_width(684, None) == 688 + TAIL_MARGIN  # TAIL_MARGIN is a multiple of 8
    assert pad_width(684, 2000) == 2000  # the reference contract has no margin
    tiny = prepare_line(np.zeros((1, 1), np.uint8))
    assert tiny.pixels.shape == (96, 96 + TAIL_MARGIN)


def test_the_tail_margin_is_the_line_s_own_edge_values():
    gray = np.full((48, 100), 200, np.uint8)
    gray[:, -1] = 180  # the last column is what the margin repeats
    line = prepare_line(gray)
    assert line.width == 200
    assert line.pixels.shape[1] == pad_width(200, None)
    assert (line.pixels[:, 200:] == line.pixels[:, 199:200]).all()


def test_stack_lines_edge_pads_to_the_widest():
    a = np.full((96, 16), 7, np.uint8)
    b = np.tile(np.arange(24, dtype=np.uint8), (96, 1))
    batch = stack_lines([a, b])
    assert batch.shape == (2, 1, 96, 24) and batch.dtype == np.float32
    assert (batch[0, 0, :, 16:] == 7).all() and (batch[1, 0] == b).all()


def test_light_ink_on_a_dark_ground_is_inverted_at_variable_width_only():
    gray = read_gray(HOOKER_TSV.parent / "lines" / "JDH_2_16_172_001__r2l2.jpg")
    plain, negative = prepare_line(gray), prepare_line(255 - gray)
    assert not plain.inverted and negative.inverted
    # INTER_AREA commutes with the inversion up to rounding
    diff = np.abs(plain.pixels.astype(int) - negative.pixels.astype(int))
    assert diff.max() <= 1
    # the reference contract reads what it is given
    fixed = prepare_line(255 - gray, fixed_width=FIXED_WIDTH)
    assert not fixed.inverted and fixed.pixels[:, :10].mean() < 128


def test_dark_ink_lines_are_never_inverted():
    """Every 8th real Hooker line (all splits), the GNHK sample, flat and noisy images."""
    rows = HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1::8]
    paths = [HOOKER_TSV.parent / row.split("\t")[0] for row in rows] + [SAMPLE_LINE]
    assert len(paths) > 800
    flagged = [p.name for p in paths if prepare_line(read_gray(p)).inverted]
    assert flagged == []
    dim = (read_gray(paths[0]).astype(np.int32) * 2 // 5).astype(np.uint8)  # a dark photo
    assert not light_on_dark(dim)
    for flat in (np.zeros((40, 90), np.uint8), np.full((40, 90), 255, np.uint8), GRAY):
        assert not light_on_dark(flat)
