"""One line of a dataset: where its pixels come from (an image, a polygon of a page, pen
strokes) and its label. Every loader of ``inkreader.data`` makes these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LineSample:
    """One line: where its pixels come from and its label. ``polygon`` is set for lines cut
    from a page (a tuple of (x, y) int points) and then ``path`` is the page image."""

    path: Path
    text: str
    id: str
    split: str | None = None
    polygon: tuple[tuple[int, int], ...] | None = None
    page: str | None = None  # the page the line was cut from, where the dataset says
    # a line of pen strokes (``path`` is the strokes archive, ``id`` the line's key in it),
    # drawn with this style of ``inkreader.data.pen`` ("plain" or "varied"): rendering number
    # ``rendering`` under ``seed``
    pen: str | None = None
    seed: int = 0
    rendering: int = 0

    @property
    def page_key(self) -> str:
        """The page this line belongs to, so that a hold-out keeps a page's lines together: the
        TSV's ``page`` column, the page image's file name for a PAGE-XML / ALTO line (not its
        path: the same pages are held out however the folder is named), the file name before
        ``_line<N>`` (``prepare-gnhk``'s names); else the line itself."""
        if self.page:
            return self.page
        if self.polygon is not None:
            return Path(self.path).name
        return _LINE_SUFFIX.sub("", Path(self.id).stem)


_LINE_SUFFIX = re.compile(r"_line\d+$")
