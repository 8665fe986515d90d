"""``inkreader batch --xml-out DIR``: each page read also written as PAGE-XML or ALTO.

Written on the driver as each task's records are committed, from the records themselves
(their lines hold ids, outlines, baselines, texts, confidences and character spans), so
workers on a cluster need no access to DIR. A page read on a given layout is that layout
file filled in (in its own format unless ``fmt`` names the other); an image is written
afresh in ``fmt`` (PAGE-XML by default). Files are named ``<stem>.xml``, the stem of the
source file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import InkreaderError
from ..pages.layout import read_layout, render_page
from ..results import CharResult, PageLine, PageResult

log = logging.getLogger(__name__)
XML_FORMATS = ("pagexml", "alto")


def page_from_record(rec: dict) -> PageResult:
    """The PageResult a store record describes (no layout attached)."""
    lines = [PageLine(ln["id"], [tuple(p) for p in ln["polygon"]],
                      [tuple(p) for p in ln.get("baseline") or []], block=ln.get("block", 0),
                      text=ln.get("text") or "", confidence=ln.get("confidence"),
                      chars=[CharResult(**c) for c in ln.get("chars") or []],
                      error=ln.get("error"))
             for ln in rec.get("lines") or []]
    size = tuple(rec["size"]) if rec.get("size") else None
    return PageResult(rec.get("page_image", rec["image"]), size, lines, rec.get("error"))


class XmlOut:
    """Writes the pages of committed records into ``folder`` as ``fmt`` (None: a layout in
    its own format, an image as PAGE-XML). A page that cannot be written is logged and
    counted in ``failed``; the store still holds its result."""

    def __init__(self, folder: str | Path, fmt: str | None = None):
        if fmt is not None and fmt not in XML_FORMATS:
            raise InkreaderError(f"unknown XML format {fmt!r} ({', '.join(XML_FORMATS)})")
        self.folder, self.fmt = Path(folder), fmt
        self.written = self.failed = 0

    def write(self, records: list[dict]) -> None:
        for rec in records:
            if rec.get("status") != "ok":
                continue
            try:
                self._write(rec)
                self.written += 1
            except (InkreaderError, OSError) as exc:
                self.failed += 1
                log.error("%s: cannot write its XML: %s", rec["image"], exc)

    def _write(self, rec: dict) -> None:
        page = page_from_record(rec)
        fmt = self.fmt or "pagexml"
        if rec.get("kind") == "layout":
            page.layout = read_layout(rec["image"], rec.get("page_image"))
            fmt = self.fmt or page.layout.kind
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / (Path(rec["image"]).stem + ".xml")).write_bytes(render_page(page, fmt))
