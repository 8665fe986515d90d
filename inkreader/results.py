"""What reading gives back, and its JSON: one home for the result types of lines and pages.

``read --json``, ``read-page --format json``, the service and ``batch``'s store all spell their
results with the ``to_json`` methods here, so a key means the same everywhere:

    character  {"char", "confidence", "x0", "x1"}
    line       {"image", "text", "confidence", "chars", "error", "size"}
    page line  {"id", "block", "polygon", "baseline", "text", "confidence", "chars", "error"}
    page       {"image", "size", "error", "text", "lines", "seconds"}

``text`` is None when ``error`` is set; ``size`` is (height, width) of the original image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

Point = tuple[int, int]


@dataclass
class CharResult:
    """One recognised character: its confidence in [0, 1] and its x-span [x0, x1) in the
    original image's pixels."""

    char: str
    confidence: float
    x0: int
    x1: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class LineResult:
    """One line image's result, in input order. ``error`` set means no text was read."""

    name: str
    text: str = ""
    confidence: float | None = None
    chars: list[CharResult] = field(default_factory=list)
    error: str | None = None
    size: tuple[int, int] | None = None  # (height, width) of the original image

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        """A JSON-ready dict: image, text (None on error), confidence, chars, error, size."""
        return {"image": self.name, "text": None if self.error else self.text,
                "confidence": self.confidence, "chars": [c.to_json() for c in self.chars],
                "error": self.error, "size": list(self.size) if self.size else None}

    def as_page(self) -> PageResult:
        """The line image as a page of one line whose outline is the whole image (as the web
        page and ``batch``'s store show it); a line not read has no outline."""
        lines = []
        if self.size:
            h, w = self.size
            lines = [PageLine("l1", [(0, 0), (w - 1, 0), (w - 1, h - 1), (0, h - 1)],
                              text=self.text, confidence=self.confidence, chars=self.chars,
                              error=self.error)]
        return PageResult(self.name, self.size, lines, self.error)


@dataclass
class PageLine:
    """One line of a page, in page pixels. ``chars`` x-spans are page columns; ``block``
    numbers the reading-order block (a column or a margin note) the line is in."""

    id: str
    polygon: list[Point]
    baseline: list[Point] = field(default_factory=list)
    block: int = 0
    text: str = ""
    confidence: float | None = None
    chars: list[CharResult] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "block": self.block,
                "polygon": [list(p) for p in self.polygon],
                "baseline": [list(p) for p in self.baseline],
                "text": None if self.error else self.text, "confidence": self.confidence,
                "chars": [c.to_json() for c in self.chars], "error": self.error}


@dataclass
class PageResult:
    """One page's lines in reading order; ``error`` set means the page could not be read.
    ``layout``: the given layout (``pages.layout.Layout``) the lines came from, if any.
    ``pages.layout.render_page`` writes it as text, JSON, PAGE-XML or ALTO."""

    name: str
    size: tuple[int, int] | None = None  # (height, width)
    lines: list[PageLine] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0  # this page's share of the wall time
    layout: object | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def text(self) -> str:
        """The page's text: its lines in reading order, one a line."""
        return "\n".join(ln.text for ln in self.lines if ln.error is None)

    @property
    def confidence(self) -> float | None:
        """The mean confidence of the lines read (None: no line read with one)."""
        known = [ln.confidence for ln in self.lines if ln.error is None and ln.confidence]
        return sum(known) / len(known) if known else None

    def to_json(self) -> dict:
        return {"image": self.name, "size": list(self.size) if self.size else None,
                "error": self.error, "text": None if self.error else self.text,
                "lines": [ln.to_json() for ln in self.lines], "seconds": round(self.seconds, 3)}
