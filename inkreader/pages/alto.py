"""ALTO 4 out: a page result as an ALTO 4.4 document (validated against the schema in the
tests), and the words of one line written into an ALTO ``TextLine``.

One ``TextBlock`` per reading-order block, in reading order; each line a ``TextLine`` with its
box, its outline (``Shape/Polygon``) and its baseline as a points list (ALTO 4.2+), holding
its words as ``String``s with ``SP`` between them. ALTO carries confidences per word and per
character, not per line: a ``String``'s ``WC`` is its least sure character's confidence (0..1)
and ``CC`` lists each character's uncertainty as ALTO defines it, 0 (sure) .. 9 (unsure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from lxml import etree

from .. import __version__
from ..results import PageLine, PageResult

ALTO_4 = "http://www.loc.gov/standards/alto/ns-v4#"
ALTO_XSD = "http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass
class Word:
    """One word of a line: its text, confidence (None: unknown) and page-pixel x-span."""

    text: str
    confidence: float | None
    x0: int
    x1: int
    chars: list[float] | None = None  # each character's confidence, when known


def line_words(line: PageLine) -> list[Word]:
    """The words of a read line, split at spaces. Spans and confidences come from the line's
    characters when they match its text one to one; otherwise (a line that has no character
    results) the line's box is shared out by length and each word gets the line's
    confidence."""
    text = line.text if line.error is None else ""
    xs = [x for x, _ in line.polygon]
    if len(line.chars) == len(text) and text:
        words, cur = [], []
        for c in [*line.chars, None]:
            if c is None or c.char == " ":
                if cur:
                    words.append(Word("".join(k.char for k in cur),
                                      min(k.confidence for k in cur), min(k.x0 for k in cur),
                                      max(k.x1 for k in cur), [k.confidence for k in cur]))
                cur = []
            else:
                cur.append(c)
        return words
    tokens = text.split()
    if not tokens:
        return []
    x0, x1 = min(xs), max(xs)
    edges = np.linspace(x0, x1, len(tokens) + 1).round().astype(int)
    return [Word(t, line.confidence, int(a), int(b)) for t, a, b in
            zip(tokens, edges[:-1], edges[1:], strict=True)]


def _fmt(v: float) -> str:
    return str(int(round(v)))


def _points(points) -> str:
    return " ".join(f"{max(0, int(x))},{max(0, int(y))}" for x, y in points)


def _box(el: etree._Element, x0, y0, x1, y1) -> None:
    x0, y0 = max(0, x0), max(0, y0)
    el.set("HPOS", _fmt(x0))
    el.set("VPOS", _fmt(y0))
    el.set("WIDTH", _fmt(max(0, x1 - x0)))
    el.set("HEIGHT", _fmt(max(0, y1 - y0)))


def fill_alto_line(el: etree._Element, line: PageLine, ns: str = ALTO_4) -> None:
    """Replace the words (``String``, ``SP``, ``HYP``) of the ALTO ``TextLine`` ``el`` by the
    words of ``line``; an empty or failed line gets one empty ``String`` (ALTO needs one)."""
    for old in [c for c in el if etree.QName(c).localname in ("String", "SP", "HYP")]:
        el.remove(old)
    ys = [y for _, y in line.polygon]
    y0, y1 = min(ys), max(ys)
    words = line_words(line)
    for k, w in enumerate(words):
        if k:
            sp = etree.SubElement(el, f"{{{ns}}}SP")
            _box(sp, words[k - 1].x1, y0, w.x0, y1)
        s = etree.SubElement(el, f"{{{ns}}}String", CONTENT=w.text)
        _box(s, w.x0, y0, w.x1, y1)
        if w.confidence is not None:
            s.set("WC", f"{min(1.0, max(0.0, w.confidence)):.4f}")
        if w.chars:
            s.set("CC", " ".join(str(round(9 * (1 - min(1.0, max(0.0, c))))) for c in w.chars))
    if not words:
        etree.SubElement(el, f"{{{ns}}}String", CONTENT="")


def to_alto(page: PageResult, creator: str = "inkreader") -> bytes:
    """An ALTO 4.4 document (UTF-8 bytes) of a page result."""
    ns = f"{{{ALTO_4}}}"
    root = etree.Element(ns + "alto", nsmap={None: ALTO_4, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{ALTO_4} {ALTO_XSD}")
    root.set("SCHEMAVERSION", "4.4")
    desc = etree.SubElement(root, ns + "Description")
    etree.SubElement(desc, ns + "MeasurementUnit").text = "pixel"
    src = etree.SubElement(desc, ns + "sourceImageInformation")
    etree.SubElement(src, ns + "fileName").text = Path(page.name).name
    proc = etree.SubElement(desc, ns + "Processing", ID="proc1")
    etree.SubElement(proc, ns + "processingDateTime").text = (
        datetime.now(UTC).replace(microsecond=0).isoformat())
    soft = etree.SubElement(proc, ns + "processingSoftware")
    etree.SubElement(soft, ns + "softwareName").text = creator
    etree.SubElement(soft, ns + "softwareVersion").text = __version__
    h, w = page.size or (0, 0)
    pg = etree.SubElement(etree.SubElement(root, ns + "Layout"), ns + "Page", ID="page1",
                          PHYSICAL_IMG_NR="1")
    pg.set("WIDTH", str(w))
    pg.set("HEIGHT", str(h))
    space = etree.SubElement(pg, ns + "PrintSpace")
    _box(space, 0, 0, w, h)
    blocks: dict[int, list[PageLine]] = {}
    for ln in page.lines:
        if len(ln.polygon) >= 3:
            blocks.setdefault(ln.block, []).append(ln)
    for b, lines in blocks.items():
        block = etree.SubElement(space, ns + "TextBlock", ID=f"r{b + 1}")
        pts = np.array([p for ln in lines for p in ln.polygon])
        _box(block, *pts.min(axis=0), *pts.max(axis=0))
        for ln in lines:
            _alto_line(block, ln, ns)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _alto_line(block: etree._Element, ln: PageLine, ns: str) -> None:
    el = etree.SubElement(block, ns + "TextLine", ID=ln.id)
    pts = np.asarray(ln.polygon)
    _box(el, *pts.min(axis=0), *pts.max(axis=0))
    if len(ln.baseline) >= 2:
        el.set("BASELINE", _points(ln.baseline))
    shape = etree.SubElement(el, ns + "Shape")
    etree.SubElement(shape, ns + "Polygon", POINTS=_points(ln.polygon))
    fill_alto_line(el, ln, ns.strip("{}"))
