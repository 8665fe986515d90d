"""Line datasets from folders of PAGE-XML or ALTO pages, and cutting lines from page images.

Each TextLine with text becomes a ``LineSample`` whose ``path`` is the page image and whose
``polygon`` is the line's outline; ``line_image`` cuts it out with ``crop_line``. Lines of a
page come out consecutively, so a ``PageImages`` cache decodes each page image once.

- PAGE-XML (any primaresearch namespace: 2009 .. 2019): ``TextLine/Coords@points`` (or the
  2009 ``Point`` children); text from the line's own ``TextEquiv/Unicode`` (the lowest
  ``@index`` when there are several), else its ``Word``s joined by spaces.
- ALTO (v2 .. v4, or no namespace): ``TextLine/Shape/Polygon@POINTS``, else the
  ``HPOS/VPOS/WIDTH/HEIGHT`` rectangle; text = the ``String@CONTENT``s joined by spaces.
- The image: ``Page@imageFilename`` / ``sourceImageInformation/fileName`` next to the XML (or
  one folder up, as Transkribus exports put XML in ``page/``), else the XML's stem with an
  image suffix. A page whose image is missing still yields its lines: reading them fails
  with an error naming the file, so an evaluation counts them instead of dropping them.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from lxml import etree

from ..errors import DatasetError, ImageError
from ..preprocess import read_gray
from .sample import LineSample

log = logging.getLogger(__name__)

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".jp2", ".bmp", ".webp")
# The shared Hooker line crops were cut with 4 px around the polygon's box and the outside
# filled with about the crop's 90th percentile (measured on 16 lines, +-1 grey level), so
# lines cut here look like the lines the models were trained on.
LINE_PAD = 4
PAPER_PERCENTILE = 90
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)

Polygon = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class XmlLine:
    """One TextLine of a page file as written there: id, text, outline, baseline (reading
    direction: first point to last) and the line type the editor tagged (ALTO ``TAGREFS`` label,
    PAGE ``custom`` ``structure {type:...}``), e.g. ``DefaultLine``, ``HeadingLine:rubric``,
    ``printed``; empty when untagged."""

    id: str
    text: str
    polygon: Polygon | None
    baseline: Polygon | None = None
    kind: str = ""


@dataclass
class PageFolder:
    """What ``scan_page_folder`` found: the lines, and every problem by file name."""

    samples: list[LineSample] = field(default_factory=list)
    pages: int = 0
    errors: list[str] = field(default_factory=list)


def local_name(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if local_name(c.tag) == name]


def descendants(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el.iter() if local_name(c.tag) == name]


def parse_points(text: str, where: str) -> Polygon:
    """"x,y x,y ..." (PAGE) or "x y x y ..." / "x,y x,y" (ALTO) -> integer points."""
    nums = re.split(r"[\s,]+", text.strip())
    try:
        values = [round(float(v)) for v in nums if v]
    except ValueError:
        raise DatasetError(f"{where}: unreadable points {text[:60]!r}") from None
    if len(values) % 2:
        raise DatasetError(f"{where}: odd number of coordinates in {text[:60]!r}")
    return tuple(zip(values[0::2], values[1::2], strict=True))


def _page_text(line: etree._Element) -> str:
    equivs = children(line, "TextEquiv")
    if equivs:
        best = min(equivs, key=lambda e: int(e.get("index", "0") or 0))
        unicode = children(best, "Unicode")
        return (unicode[0].text or "").strip() if unicode else ""
    words = [_page_text(w) for w in children(line, "Word")]
    return " ".join(w for w in words if w)


def page_polygon(line: etree._Element, where: str) -> Polygon | None:
    coords = children(line, "Coords")
    if not coords:
        return None
    if coords[0].get("points"):
        return parse_points(coords[0].get("points"), where)
    pts = children(coords[0], "Point")  # PAGE 2009
    return tuple((int(p.get("x", 0)), int(p.get("y", 0))) for p in pts) or None


_PAGE_TYPE = re.compile(r"structure\s*\{[^}]*type:\s*([^;}]+)")


def page_baseline(line: etree._Element, where: str) -> Polygon | None:
    base = children(line, "Baseline")
    return parse_points(base[0].get("points"), where) if base and base[0].get("points") else None


def _read_page(root: etree._Element, xml: Path) -> tuple[str | None, list[XmlLine]]:
    page = children(root, "Page")
    if not page:
        raise DatasetError(f"{xml}: PAGE-XML without a Page element")
    lines = []
    for n, line in enumerate(descendants(page[0], "TextLine"), start=1):
        lid = line.get("id") or f"l{n}"
        where = f"{xml} line {lid}"
        kind = _PAGE_TYPE.search(line.get("custom") or "")
        lines.append(XmlLine(lid, _page_text(line), page_polygon(line, where),
                              page_baseline(line, where), kind.group(1).strip() if kind else ""))
    return page[0].get("imageFilename"), lines


def alto_polygon(line: etree._Element, where: str) -> Polygon | None:
    for shape in children(line, "Shape"):
        for poly in children(shape, "Polygon"):
            if poly.get("POINTS"):
                return parse_points(poly.get("POINTS"), where)
    try:
        x, y = float(line.get("HPOS")), float(line.get("VPOS"))
        w, h = float(line.get("WIDTH")), float(line.get("HEIGHT"))
    except (TypeError, ValueError):
        return None
    x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _alto_text(line: etree._Element) -> str:
    words = []
    for el in line:
        kind = local_name(el.tag)
        if kind == "String":
            words.append(el.get("CONTENT", ""))
        elif kind == "HYP" and words:  # the hyphen written at the line's end
            words[-1] += el.get("CONTENT", "-")
    return " ".join(w for w in words if w).strip()


def _alto_baseline(line: etree._Element, where: str) -> Polygon | None:
    """ALTO 4.2+ writes the baseline as points; earlier versions as one VPOS number."""
    value = (line.get("BASELINE") or "").strip()
    if not re.search(r"[\s,]", value):
        return None
    points = parse_points(value, where)
    return points if len(points) >= 2 else None


def _alto_kind(line: etree._Element, labels: dict[str, str]) -> str:
    refs = (line.get("TAGREFS") or "").split()
    return next((labels[r] for r in refs if r in labels), "")


def _read_alto(root: etree._Element, xml: Path) -> tuple[str | None, list[XmlLine]]:
    unit = next((u.text for u in descendants(root, "MeasurementUnit")), None)
    if unit and unit.strip() != "pixel":
        raise DatasetError(f"{xml}: ALTO MeasurementUnit {unit.strip()!r} is not supported "
                           "(pixel coordinates only)")
    names = [f.text.strip() for f in descendants(root, "fileName") if f.text and f.text.strip()]
    labels = {t.get("ID"): t.get("LABEL") or "" for t in descendants(root, "OtherTag")}
    lines = []
    for n, line in enumerate(descendants(root, "TextLine"), start=1):
        lid = line.get("ID") or f"l{n}"
        where = f"{xml} line {lid}"
        lines.append(XmlLine(lid, _alto_text(line), alto_polygon(line, where),
                              _alto_baseline(line, where), _alto_kind(line, labels)))
    return (names[0] if names else None), lines


def find_image(xml: Path, name: str | None) -> Path:
    """The page image of ``xml``: its named file (beside the XML, one folder up, or in a sibling
    folder such as ``jpg/`` beside ``alto/``), else the XML's stem with an image suffix; if none
    exists, the best guess (reading it will fail)."""
    up = xml.parent.parent
    siblings = sorted(d for d in up.iterdir() if d.is_dir() and d != xml.parent) \
        if xml.parent.name and up.is_dir() else []
    folders = (xml.parent, up, *siblings)
    candidates = []
    if name:
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        candidates += [xml.parent / name] + [d / base for d in folders]
    candidates += [d / (xml.stem + s) for d in folders for s in IMAGE_SUFFIXES]
    for path in candidates:
        if path.is_file():
            return path
    return candidates[0]


class NotPageXml(DatasetError):
    """An XML file that is neither PAGE-XML nor ALTO (METS, ...)."""


def read_xml_lines(xml: str | Path) -> tuple[Path, list[XmlLine]]:
    """One PAGE-XML or ALTO file -> (its page image, every TextLine as written there).

    A file that cannot be parsed is a DatasetError (NotPageXml for other XML)."""
    xml = Path(xml)
    try:
        root = etree.parse(str(xml), PARSER).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise DatasetError(f"{xml}: not readable XML ({exc})") from None
    ns = etree.QName(root).namespace or ""
    kind = local_name(root.tag)
    if kind == "PcGts" and ns.startswith(PAGE_NS):
        image_name, lines = _read_page(root, xml)
    elif kind == "alto":
        image_name, lines = _read_alto(root, xml)
    else:
        raise NotPageXml(f"{xml}: neither PAGE-XML nor ALTO (root element {kind!r})")
    return find_image(xml, image_name), lines


def read_page_xml(xml: str | Path, errors: list[str] | None = None) -> list[LineSample]:
    """One PAGE-XML or ALTO file -> its lines with text (lines without text are skipped).

    A file that cannot be parsed is a DatasetError (NotPageXml for other XML). A line with text
    but no usable outline cannot be cut: it is appended to ``errors`` if given, else raised.
    """
    xml = Path(xml)
    image, lines = read_xml_lines(xml)
    samples = []
    for lid, text, polygon in ((ln.id, ln.text, ln.polygon) for ln in lines):
        if not text.strip():
            continue
        if polygon is None or len(polygon) < 3:
            problem = f"{xml}: line {lid} has text but no outline to cut it by"
            if errors is None:
                raise DatasetError(problem)
            errors.append(problem)
            continue
        # Runs of spaces in transcriptions are typing slips, not layout: fold them, as the
        # shared Hooker lines.tsv did.
        text = " ".join(text.split())
        samples.append(LineSample(image, text, f"{xml.stem}__{lid}", polygon=polygon))
    return samples


def scan_page_folder(folder: str | Path) -> PageFolder:
    """Every PAGE-XML / ALTO file of ``folder`` (or of its ``page/`` or ``alto/`` subfolder),
    sorted by name. A bad file or line is listed in ``errors`` and the rest is still read;
    other XML (METS, ...) is ignored."""
    folder = Path(folder)
    xmls = sorted(folder.glob("*.xml"))
    for sub in ("page", "alto"):
        if not xmls and (folder / sub).is_dir():
            xmls = sorted((folder / sub).glob("*.xml"))
    result = PageFolder()
    for xml in xmls:
        try:
            samples = read_page_xml(xml, result.errors)
        except NotPageXml as exc:
            log.debug("%s", exc)
            continue
        except DatasetError as exc:
            result.errors.append(str(exc))
            continue
        result.pages += 1
        if samples and not samples[0].path.is_file():
            log.warning("%s: page image %s not found", xml, samples[0].path)
        result.samples.extend(samples)
    return result


def load_page_folder(folder: str | Path) -> list[LineSample]:
    """A folder of PAGE-XML or ALTO pages -> line samples (path = the page image, polygon =
    the line's outline). Bad files are logged as errors; none readable is a DatasetError."""
    found = scan_page_folder(folder)
    for err in found.errors:
        log.error("%s", err)
    if found.pages == 0:
        detail = f"; {len(found.errors)} unreadable" if found.errors else ""
        raise DatasetError(f"{folder}: no PAGE-XML or ALTO pages{detail}")
    return found.samples


def crop_line(page: np.ndarray, polygon, pad: int = LINE_PAD,
              name: str = "<page>") -> np.ndarray:
    """Cut one line from an 8-bit (H, W) page: the polygon's bounding box plus ``pad`` px,
    pixels outside the polygon set to the local paper colour (the box's 90th percentile:
    above the ink, below bright specks). Returns (h, w) uint8."""
    pts = np.asarray(polygon, dtype=np.int64).reshape(-1, 2)
    if len(pts) < 3:
        raise ImageError(f"{name}: a line outline needs 3 points or more, got {len(pts)}")
    h, w = page.shape
    x0, y0 = np.maximum(pts.min(axis=0) - pad, 0)
    x1, y1 = np.minimum(pts.max(axis=0) + pad, (w - 1, h - 1))
    if x1 < x0 or y1 < y0:
        raise ImageError(f"{name}: line outline {pts.min(axis=0).tolist()}.."
                         f"{pts.max(axis=0).tolist()} lies outside the {w}x{h} page")
    box = page[y0:y1 + 1, x0:x1 + 1]
    mask = np.zeros(box.shape, np.uint8)
    cv2.fillPoly(mask, [(pts - (x0, y0)).astype(np.int32)], 255)
    paper = np.uint8(round(float(np.percentile(box, PAPER_PERCENTILE))))
    return np.where(mask > 0, box, paper).astype(np.uint8)


class PageImages:
    """Decoded page images, kept for the last ``size`` pages, so consecutive lines of a page
    decode it once. A page that cannot be read raises the same ImageError for each line."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._pages: OrderedDict[Path, np.ndarray | ImageError] = OrderedDict()

    def get(self, path: Path) -> np.ndarray:
        if path not in self._pages:
            try:
                self._pages[path] = read_gray(path)
            except ImageError as exc:
                self._pages[path] = exc
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        self._pages.move_to_end(path)
        page = self._pages[path]
        if isinstance(page, ImageError):
            raise page
        return page


def line_image(sample: LineSample, pages: PageImages | None = None) -> np.ndarray:
    """The grayscale (h, w) uint8 pixels of a sample: its own file, its cut from the page
    image (pass a shared ``PageImages`` to decode each page once), or its pen strokes drawn."""
    if sample.pen is not None:
        from .pen import render_line
        return render_line(sample.path, sample.id, sample.pen, sample.seed, sample.rendering)
    if sample.polygon is None:
        return read_gray(sample.path)
    page = (pages or PageImages(1)).get(sample.path)
    return crop_line(page, sample.polygon, name=f"{sample.path} line {sample.id}")
