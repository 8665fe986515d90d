"""A given layout: the lines a PAGE-XML (2009 .. 2019) or ALTO (v2 .. v4) file defines, read
with their image, and the same file written back with each line's text and confidence.

    layout = read_layout("letter.xml")          # lines: ids, polygons, baselines, reading order
    [page] = read_pages(rec, [(layout.name, layout.load)], lines=[layout.lines])
    Path("out.xml").write_bytes(fill_layout(layout, page))

What the file holds is kept: regions, ids, coordinates, metadata and every other element; only
the lines' (and, in PAGE, the regions') text changes. Reading order: PAGE's ``ReadingOrder``
orders the regions (regions it does not name follow in document order) and Transkribus'
``custom="readingOrder {index:N;}"`` the lines of a region; ALTO's is the document order. A
region or line without an outline cannot be read, and is an error naming the file and the
element: a layout is read whole or not at all.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from lxml import etree

from ..data import pagexml
from ..errors import DatasetError
from ..preprocess import read_gray
from ..results import PageLine, PageResult
from .alto import fill_alto_line
from .reader import read_pages

LAYOUT_SUFFIXES = (".xml",)
_INDEX = re.compile(r"readingOrder\s*\{[^}]*index:\s*(\d+)")


class LayoutError(DatasetError):
    """A layout file that cannot be read: not PAGE-XML or ALTO, or a region or line that has
    no outline."""


@dataclass
class Layout:
    """A parsed layout file: its lines in reading order (``PageLine``s with id, polygon,
    baseline and block), the image they are on, and the document they came from."""

    path: Path
    kind: str  # "pagexml" or "alto"
    image: Path
    lines: list[PageLine]
    tree: etree._ElementTree

    @property
    def name(self) -> str:
        """The page's name in results: its image path."""
        return str(self.image)

    def load(self) -> np.ndarray:
        """The page image, (H, W) uint8 gray."""
        return read_gray(self.image)


def is_layout(path: str | Path) -> bool:
    return Path(path).suffix.lower() in LAYOUT_SUFFIXES


def read_layout(xml: str | Path, image: str | Path | None = None) -> Layout:
    """Parse ``xml`` (PAGE-XML or ALTO); ``image``: its page image (default: the file the XML
    names, looked for beside it as datasets do). Raises LayoutError naming the file."""
    xml = Path(xml)
    try:
        tree = etree.parse(str(xml), pagexml.PARSER)
    except (OSError, etree.XMLSyntaxError) as exc:
        raise LayoutError(f"{xml}: not readable XML ({exc})") from None
    return _layout(tree, xml, image)


def parse_layout(data: bytes, name: str, image: str | Path) -> Layout:
    """A layout sent as bytes (an upload named ``name``) for the page image ``image``."""
    try:
        tree = etree.ElementTree(etree.fromstring(data, pagexml.PARSER))
    except etree.XMLSyntaxError as exc:
        raise LayoutError(f"{name}: not readable XML ({exc})") from None
    return _layout(tree, Path(name), image)


def _layout(tree: etree._ElementTree, xml: Path, image: str | Path | None) -> Layout:
    root = tree.getroot()
    kind = pagexml.local_name(root.tag)
    if kind == "PcGts" and (etree.QName(root).namespace or "").startswith(pagexml.PAGE_NS):
        name, lines = _page_lines(root, xml)
        kind = "pagexml"
    elif kind == "alto":
        name, lines = _alto_lines(root, xml)
    else:
        raise LayoutError(f"{xml}: neither PAGE-XML nor ALTO (root element {kind!r})")
    ids = [ln.id for ln in lines]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise LayoutError(f"{xml}: line id {dup!r} is used more than once")
    found = Path(image) if image is not None else pagexml.find_image(xml, name)
    return Layout(xml, kind, found, lines, tree)


# --- PAGE-XML -------------------------------------------------------------------------------

def _page_lines(root: etree._Element, xml: Path) -> tuple[str | None, list[PageLine]]:
    pages = pagexml.children(root, "Page")
    if not pages:
        raise LayoutError(f"{xml}: PAGE-XML without a Page element")
    page = pages[0]
    regions = [r for r in pagexml.descendants(page, "TextRegion")
               if pagexml.children(r, "TextLine")]
    for r in pagexml.descendants(page, "TextRegion"):
        if _page_outline(r, xml, "region") is None:
            raise LayoutError(f"{xml}: region {r.get('id')!r} has no outline (Coords)")
    rank = {rid: k for k, rid in enumerate(_page_region_order(page))}
    regions.sort(key=lambda r: rank.get(r.get("id"), len(rank)))  # stable: document order
    out = []
    for block, region in enumerate(regions):
        lines = pagexml.children(region, "TextLine")
        keys = [_INDEX.search(ln.get("custom", "")) for ln in lines]
        if all(keys):
            lines = [ln for _, ln in sorted(zip([int(k.group(1)) for k in keys], lines,
                                                strict=True), key=lambda t: t[0])]
        for line in lines:
            lid = line.get("id") or f"{region.get('id')}_l{len(out) + 1}"
            polygon = _page_outline(line, xml, f"line {lid}")
            if polygon is None:
                raise LayoutError(f"{xml}: line {lid!r} has no outline (Coords with 3 points "
                                  "or more)")
            baseline = list(pagexml.page_baseline(line, f"{xml} line {lid}") or [])
            out.append(PageLine(lid, list(polygon), baseline, block=block))
    return page.get("imageFilename"), out


def _page_outline(el: etree._Element, xml: Path, what: str):
    polygon = pagexml.page_polygon(el, f"{xml} {what}")
    return polygon if polygon is not None and len(polygon) >= 3 else None


def _page_region_order(page: etree._Element) -> list[str]:
    """Region ids in the order of the page's ReadingOrder (indexed groups by index)."""
    order: list[str] = []

    def walk(group: etree._Element) -> None:
        kids = [k for k in group if isinstance(k.tag, str)]
        if all(k.get("index") is not None for k in kids):
            kids.sort(key=lambda k: int(k.get("index")))
        for k in kids:
            if k.get("regionRef"):
                order.append(k.get("regionRef"))
            if "Group" in pagexml.local_name(k.tag):
                walk(k)

    for ro in pagexml.children(page, "ReadingOrder"):
        walk(ro)
    return order


def _fill_page(root: etree._Element, result: PageResult) -> None:
    ns = etree.QName(root).namespace
    by_id = {ln.id: ln for ln in result.lines}
    for line in root.iter(f"{{{ns}}}TextLine"):
        got = by_id.get(line.get("id"))
        if got is not None:
            _set_equiv(line, ns, got.text if got.error is None else "", got.confidence)
    for region in root.iter(f"{{{ns}}}TextRegion"):
        texts = [by_id[ln.get("id")] for ln in pagexml.children(region, "TextLine")
                 if ln.get("id") in by_id]
        if texts:
            _set_equiv(region, ns, "\n".join(t.text for t in texts if t.error is None), None)
    for last in root.iter(f"{{{ns}}}LastChange"):
        last.text = datetime.now(UTC).replace(microsecond=0).isoformat()


def _set_equiv(el: etree._Element, ns: str, text: str, conf: float | None) -> None:
    """Replace ``el``'s TextEquiv by one holding ``text``: where the old one was, else where
    the schema wants it (before TextStyle; in a line also before UserDefined and Labels, which
    in a region come before its lines)."""
    equiv = etree.Element(f"{{{ns}}}TextEquiv")
    if conf is not None:
        equiv.set("conf", f"{min(1.0, max(0.0, conf)):.4f}")
    etree.SubElement(equiv, f"{{{ns}}}Unicode").text = text
    old = pagexml.children(el, "TextEquiv")
    if old:
        equiv.tail = old[0].tail
        el.replace(old[0], equiv)
        for extra in old[1:]:
            el.remove(extra)
        return
    later = ("TextStyle",) if pagexml.local_name(el.tag) == "TextRegion" else (
        "TextStyle", "UserDefined", "Labels")
    at = next((k for k, c in enumerate(el) if pagexml.local_name(c.tag) in later), len(el))
    el.insert(at, equiv)


# --- ALTO -----------------------------------------------------------------------------------

def _alto_lines(root: etree._Element, xml: Path) -> tuple[str | None, list[PageLine]]:
    unit = next((u.text for u in pagexml.descendants(root, "MeasurementUnit")), None)
    if unit and unit.strip() != "pixel":
        raise LayoutError(f"{xml}: ALTO MeasurementUnit {unit.strip()!r} is not supported "
                          "(pixel coordinates only)")
    names = [f.text.strip() for f in pagexml.descendants(root, "fileName")
             if f.text and f.text.strip()]
    out = []
    for block, region in enumerate(pagexml.descendants(root, "TextBlock")):
        if pagexml.alto_polygon(region, f"{xml} block") is None:
            raise LayoutError(f"{xml}: block {region.get('ID')!r} has no outline (Shape or "
                              "HPOS/VPOS/WIDTH/HEIGHT)")
        for line in pagexml.children(region, "TextLine"):
            lid = line.get("ID") or f"l{len(out) + 1}"
            polygon = pagexml.alto_polygon(line, f"{xml} line {lid}")
            if polygon is None or len(polygon) < 3:
                raise LayoutError(f"{xml}: line {lid!r} has no outline (Shape/Polygon or "
                                  "HPOS/VPOS/WIDTH/HEIGHT)")
            out.append(PageLine(lid, list(polygon), _alto_baseline(line, polygon, xml, lid),
                                block=block))
    return (names[0] if names else None), out


def _alto_baseline(line: etree._Element, polygon, xml: Path, lid: str) -> list:
    """ALTO 4.2+: a points list; before it, one number, the baseline's height on the page."""
    text = (line.get("BASELINE") or "").strip()
    if not text:
        return []
    if re.fullmatch(r"[-+]?\d+(\.\d*)?", text):
        xs = [x for x, _ in polygon]
        y = round(float(text))
        return [(min(xs), y), (max(xs), y)]
    return list(pagexml.parse_points(text, f"{xml} line {lid} BASELINE"))


def _fill_alto(root: etree._Element, result: PageResult) -> None:
    ns = etree.QName(root).namespace
    by_id = {ln.id: ln for ln in result.lines}
    for line in pagexml.descendants(root, "TextLine"):
        got = by_id.get(line.get("ID"))
        if got is not None:
            fill_alto_line(line, got, ns)


# --- writing back ---------------------------------------------------------------------------

def fill_layout(layout: Layout, result: PageResult) -> bytes:
    """``layout``'s document (UTF-8 bytes) with each line's text and confidence from
    ``result`` (lines matched by id); everything else as it was."""
    tree = copy.deepcopy(layout.tree)
    root = tree.getroot()
    if layout.kind == "pagexml":
        _fill_page(root, result)
    else:
        _fill_alto(root, result)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- reading --------------------------------------------------------------------------------

def read_layout_files(rec, xmls) -> list[PageResult]:
    """Read the lines of layout files (PAGE-XML or ALTO) on their images, all in one
    recognizer call. One PageResult a file, in input order, named by its image, with
    ``layout`` set; a file that cannot be parsed is a result named by the file, with
    ``error``."""
    from ..errors import InkreaderError

    parsed: list[Layout | PageResult] = []
    for xml in xmls:
        try:
            parsed.append(read_layout(xml))
        except InkreaderError as exc:
            parsed.append(PageResult(str(xml), error=str(exc)))
    good = [p for p in parsed if isinstance(p, Layout)]
    pages = read_pages(rec, [(lay.name, lay.load) for lay in good],
                       lines=[copy.deepcopy(lay.lines) for lay in good])
    for lay, page in zip(good, pages, strict=True):
        page.layout = lay
    read = iter(pages)
    return [next(read) if isinstance(p, Layout) else p for p in parsed]


def render_page(page: PageResult, fmt: str) -> bytes:
    """``page`` in ``fmt`` (text, json, pagexml or alto); a page read on a layout, in the
    layout's own format, is that file filled in; anything else is written afresh."""
    from .writer import render

    layout = page.layout
    if isinstance(layout, Layout) and fmt == layout.kind:
        return fill_layout(layout, page)
    return render(page, fmt)
