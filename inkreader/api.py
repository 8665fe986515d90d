"""The Python API: load a model once, read line or page images with it.

    import inkreader
    reader = inkreader.load()                    # the shipped model, the default decoding
    line = reader.read("line.jpg")               # LineResult: text, confidence, chars (spans)
    lines = reader.read(["a.jpg", "b.jpg"])      # a batch: results in input order
    page = reader.read_page("page.jpg")          # PageResult: lines with polygons and texts
    page = reader.read_page("page.xml")          # the lines a PAGE-XML / ALTO file defines
    inkreader.render(page, "alto")               # bytes: ALTO 4 (or "pagexml", "json", "text")

An image is a path or an (H, W) uint8 grayscale array (a colour (H, W, 3) array is taken as
BGR, as OpenCV reads it). ``inkreader.load(decoding=inkreader.GREEDY)`` gives the reference's
greedy decoding; any ``DecodingOptions`` value chooses another. ``ReaderSpec`` is the same
choice as one frozen value (``inkreader.ReaderSpec``: what the CLI, the service and ``batch``
read with).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .decode.options import DecodingOptions
from .errors import ImageError
from .pages.layout import is_layout, read_layout_files, render_page
from .pages.reader import read_page_arrays, read_page_files
from .results import LineResult, PageResult
from .runtime.recognizer import Recognizer
from .runtime.spec import ReaderSpec

Image = str | Path | np.ndarray


class Reader:
    """A loaded model and its decoding; ``inkreader.load`` builds one."""

    def __init__(self, recognizer: Recognizer):
        self.recognizer = recognizer

    @property
    def decoding(self) -> DecodingOptions | None:
        return self.recognizer.decoding

    def read(self, images: Image | Sequence[Image]) -> LineResult | list[LineResult]:
        """Read one line image (a LineResult) or a sequence of them (a list, in input order,
        read in batches). A file that cannot be read gives a result with ``error`` set."""
        if _single(images):
            return self._read_lines([images])[0]
        return self._read_lines(list(images))

    def read_page(self, pages: Image | Sequence[Image]) -> PageResult | list[PageResult]:
        """Find and read the lines of one page image (a PageResult) or of several (a list).
        A PAGE-XML or ALTO file (``.xml``) instead of an image gives its lines, read on its
        image in its reading order; ``render(page, "pagexml")`` (``"alto"`` for ALTO) is then
        that file with the texts and confidences filled in."""
        if _single(pages):
            return self._read_pages([pages])[0]
        return self._read_pages(list(pages))

    def _read_lines(self, images: list[Image]) -> list[LineResult]:
        if all(isinstance(i, (str, Path)) for i in images):
            return self.recognizer.read_paths(images)
        arrays = [_array(i, n) for n, i in enumerate(images)]
        names = [str(i) if not isinstance(i, np.ndarray) else f"<array {n}>"
                 for n, i in enumerate(images)]
        return self.recognizer.read_arrays(arrays, names)

    def _read_pages(self, pages: list[Image]) -> list[PageResult]:
        if all(isinstance(p, (str, Path)) for p in pages):
            xmls = [p for p in pages if is_layout(p)]
            if not xmls:
                return read_page_files(self.recognizer, pages)
            laid = iter(read_layout_files(self.recognizer, xmls))
            images = iter(read_page_files(self.recognizer,
                                          [p for p in pages if not is_layout(p)]))
            return [next(laid) if is_layout(p) else next(images) for p in pages]
        arrays = [_array(p, n) for n, p in enumerate(pages)]
        names = [str(p) if not isinstance(p, np.ndarray) else f"<array {n}>"
                 for n, p in enumerate(pages)]
        return read_page_arrays(self.recognizer, arrays, names)


def load(model: str | Path | None = None, *, decoding: DecodingOptions | None = None,
         backend: str = "auto", threads: int | None = None) -> Reader:
    """A Reader of ``model`` (a .pt checkpoint, an .onnx or an OpenVINO .xml; None: the shipped
    default model) with ``decoding`` (None: the default, beam search with the shipped language
    model and word list). ``backend``: "auto", "openvino", "onnx" or "torch"; ``threads``:
    the cores it may use (default: all). ``ReaderSpec`` has every option."""
    spec = ReaderSpec(None if model is None else str(model), backend, threads, decoding)
    return Reader(spec.recognizer())


def render(page: PageResult, fmt: str) -> bytes:
    """``page`` as ``fmt`` bytes: "text", "json", "pagexml" (PAGE-XML 2019) or "alto" (ALTO
    4.4); a page read on a given layout, in the layout's own format, is that file with the
    texts and confidences filled in."""
    return render_page(page, fmt)


def _single(x) -> bool:
    """One image (a path or any array: several images come as a list, tuple or iterator), or
    None and other non-iterables, which ``_array`` then refuses, saying what it got."""
    return isinstance(x, (str, Path, np.ndarray)) or not isinstance(x, Iterable)


ACCEPTED = "a path, or a uint8 array (H, W) gray, (H, W, 3) BGR or (H, W, 4) BGRA"


def _array(image: Image, n: int = 0) -> np.ndarray:
    """An image as an (H, W) uint8 gray array; anything else is an ImageError that says what
    it got and what is accepted."""
    if isinstance(image, (str, Path)):
        from .preprocess import read_gray
        return read_gray(image)
    if not isinstance(image, np.ndarray):
        raise ImageError(f"<image {n}>: expected {ACCEPTED}; got {type(image).__name__}")
    channels = image.shape[2] if image.ndim == 3 else None
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or channels not in (None, 3, 4) \
            or image.size == 0:
        raise ImageError(f"<array {n}>: expected {ACCEPTED}; got {image.dtype} of shape "
                         f"{image.shape}")
    if image.ndim == 3:
        import cv2
        code = cv2.COLOR_BGR2GRAY if channels == 3 else cv2.COLOR_BGRA2GRAY
        return cv2.cvtColor(image, code)
    return image


__all__ = ["Reader", "ReaderSpec", "load", "render"]
