"""Page results out: plain text, JSON, PAGE-XML 2019, ALTO 4 (``alto``), and a drawing of the
lines on the page.

PAGE-XML follows the 2019-07-15 schema (validated against it): one TextRegion per reading-order
block (a column or a margin note; its Coords the box of its lines), a ReadingOrder listing the
regions, and per line its Coords, Baseline and TextEquiv (with ``conf``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from lxml import etree

from ..results import PageLine, PageResult

PAGE_2019 = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
FORMATS = {"text": ".txt", "json": ".json", "pagexml": ".xml", "alto": ".xml"}


def to_text(page: PageResult) -> str:
    """The page's lines in reading order, one a line, ending with a newline."""
    return page.text + "\n" if page.lines else ""


def to_json(page: PageResult) -> str:
    return json.dumps(page.to_json(), ensure_ascii=False, indent=1) + "\n"


def _points(points) -> str:
    return " ".join(f"{max(0, int(x))},{max(0, int(y))}" for x, y in points)


def _region_box(lines: list[PageLine]) -> list[tuple[int, int]]:
    pts = np.array([p for ln in lines for p in ln.polygon])
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def to_pagexml(page: PageResult, creator: str = "inkreader") -> bytes:
    """A PAGE-XML 2019 document (UTF-8 bytes) of a page result."""
    ns = f"{{{PAGE_2019}}}"
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    root = etree.Element(ns + "PcGts", nsmap={None: PAGE_2019, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{PAGE_2019} {PAGE_2019}/pagecontent.xsd")
    meta = etree.SubElement(root, ns + "Metadata")
    for tag, value in (("Creator", creator), ("Created", now), ("LastChange", now)):
        etree.SubElement(meta, ns + tag).text = value
    h, w = page.size or (0, 0)
    el = etree.SubElement(root, ns + "Page", imageFilename=Path(page.name).name,
                          imageWidth=str(w), imageHeight=str(h))
    blocks: dict[int, list[PageLine]] = {}
    for ln in page.lines:
        if len(ln.polygon) >= 3:
            blocks.setdefault(ln.block, []).append(ln)
    if blocks:
        order = etree.SubElement(etree.SubElement(el, ns + "ReadingOrder"), ns + "OrderedGroup",
                                 id="ro1", caption="Regions reading order")
        for k, b in enumerate(blocks):
            etree.SubElement(order, ns + "RegionRefIndexed", index=str(k), regionRef=f"r{b + 1}")
    for b, lines in blocks.items():
        region = etree.SubElement(el, ns + "TextRegion", id=f"r{b + 1}")
        etree.SubElement(region, ns + "Coords", points=_points(_region_box(lines)))
        for ln in lines:
            _line(region, ln, ns)
        equiv = etree.SubElement(region, ns + "TextEquiv")
        etree.SubElement(equiv, ns + "Unicode").text = "\n".join(
            ln.text for ln in lines if ln.error is None)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _line(region: etree._Element, ln: PageLine, ns: str) -> None:
    line = etree.SubElement(region, ns + "TextLine", id=ln.id)
    etree.SubElement(line, ns + "Coords", points=_points(ln.polygon))
    if len(ln.baseline) >= 2:
        etree.SubElement(line, ns + "Baseline", points=_points(ln.baseline))
    equiv = etree.SubElement(line, ns + "TextEquiv")
    if ln.confidence is not None:
        equiv.set("conf", f"{min(1.0, max(0.0, ln.confidence)):.4f}")
    etree.SubElement(equiv, ns + "Unicode").text = ln.text if ln.error is None else ""


def render(page: PageResult, fmt: str) -> bytes:
    """The page in ``fmt`` (text, json, pagexml or alto) as bytes."""
    if fmt == "text":
        return to_text(page).encode("utf-8")
    if fmt == "json":
        return to_json(page).encode("utf-8")
    if fmt == "pagexml":
        return to_pagexml(page)
    if fmt == "alto":
        from .alto import to_alto
        return to_alto(page)
    raise ValueError(f"unknown format {fmt!r} ({', '.join(FORMATS)})")


def draw(gray: np.ndarray, page: PageResult, show_text: bool = True) -> np.ndarray:
    """The page in colour with each line's outline, baseline and number; with ``show_text``
    a white panel on the right holds each line's number and text at the line's height:
    (H, W [+ panel], 3) uint8 BGR."""
    img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    overlay = img.copy()
    h, w = gray.shape
    thick = max(1, round(max(h, w) / 800))
    scale = max(0.4, max(h, w) / 2500)
    for k, ln in enumerate(page.lines):
        poly = np.asarray(ln.polygon, np.int32)
        cv2.fillPoly(overlay, [poly], _colour(k))
        cv2.polylines(img, [poly], True, _colour(k), thick, cv2.LINE_AA)
        if len(ln.baseline) >= 2:
            cv2.polylines(img, [np.asarray(ln.baseline, np.int32)], False, (0, 0, 200), thick)
    img = cv2.addWeighted(overlay, 0.25, img, 0.75, 0)
    panel = np.full((h, int(w * 0.8) if show_text else 0, 3), 255, np.uint8)
    for k, ln in enumerate(page.lines):
        x0, y0 = np.asarray(ln.polygon).min(axis=0)
        x1, y1 = np.asarray(ln.polygon).max(axis=0)
        _label(img, str(k + 1), (int(x0), int((y0 + y1) / 2)), scale, _colour(k), thick)
        if show_text:
            text = f"{k + 1}  {_ascii(ln.text) if ln.error is None else '(error)'}"
            _label(panel, text, (8, int((y0 + y1) / 2)), scale, _colour(k), thick)
    return np.hstack([img, panel]) if show_text else img


def _ascii(text: str) -> str:
    """OpenCV's Hershey fonts draw ASCII only."""
    return text.encode("ascii", "replace").decode("ascii")


def _label(img: np.ndarray, text: str, org: tuple[int, int], scale: float, colour,
           thick: int) -> None:
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = org
    cv2.rectangle(img, (x, y - th - 4), (x + tw + 4, y + 4), (255, 255, 255), -1)
    cv2.putText(img, text, (x + 2, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick,
                cv2.LINE_AA)


def _colour(k: int) -> tuple[int, int, int]:
    palette = [(200, 80, 0), (0, 140, 0), (160, 0, 160), (0, 120, 200), (120, 90, 0),
               (0, 0, 180), (140, 140, 0), (90, 0, 200)]
    return palette[k % len(palette)]
