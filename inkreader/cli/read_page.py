"""``inkreader read-page IMAGE_OR_DIR...``: find the text lines of whole pages and read them.

A PAGE-XML or ALTO file given instead of an image is a layout: the lines it defines are read
on its image (found as datasets find it) in its reading order, and ``--format`` pagexml for a
PAGE-XML file (alto for an ALTO file) writes that same file with each line's text and
confidence filled in. Without ``--out-dir`` the result goes to stdout: the page text (several
pages: each after a ``==> page <==`` header), or one JSON object a line with ``--format json``,
or the PAGE-XML / ALTO of a single page. With ``--out-dir D`` each page becomes
``D/<name>.txt|.json|.xml``. ``--draw``
saves the page with its lines and their text drawn on it (a PNG for one page, a folder of PNGs
for several). Existing files are never overwritten unless ``--overwrite`` is given. A page that
cannot be read is reported on stderr by name, the others are still read; the exit code is 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2

from ..errors import InkreaderError
from ..pages.layout import is_layout, read_layout_files, render_page
from ..pages.reader import read_page_files
from ..pages.writer import FORMATS, draw
from ..preprocess import read_gray
from ..results import LineResult, PageResult
from ..runtime.recognizer import expand_inputs
from .model_options import add_model_arguments, load_recognizer

CHUNK = 8  # pages segmented and read per recognizer call (bounds the memory of big batches)


def add_arguments(p) -> None:
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR",
                   help="page images, folders of them, or PAGE-XML / ALTO layout files")
    p.add_argument("--out-dir", type=Path, help="write one file per page into this folder")
    p.add_argument("--format", choices=tuple(FORMATS), default="text",
                   help="text (default), json (lines with polygons, text, confidence), "
                   "pagexml (PAGE-XML 2019) or alto (ALTO 4.4); a layout file read in its own "
                   "format is written back filled in")
    p.add_argument("--draw", type=Path, metavar="OUT.png",
                   help="draw the lines and their text on the page (several pages: a folder)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_model_arguments(p)


def run(args) -> int:
    entries = expand_inputs(args.inputs)
    several = len(entries) > 1
    if args.format in ("pagexml", "alto") and several and args.out_dir is None:
        raise InkreaderError(f"{args.format} of several pages needs --out-dir (one file a page)")
    _check_draw_target(args.draw, several, args.overwrite)
    rec = load_recognizer(args)
    failed = False
    for start in range(0, len(entries), CHUNK):
        chunk = entries[start:start + CHUNK]
        paths = [e for e in chunk if not isinstance(e, LineResult)]
        read = iter(read_page_files(rec, [p for p in paths if not is_layout(p)]))
        laid = iter(read_layout_files(rec, [p for p in paths if is_layout(p)]))
        for e in chunk:
            if isinstance(e, LineResult):
                page = PageResult(e.name, error=e.error)
            else:
                page = next(laid) if is_layout(e) else next(read)
            failed |= not _emit(page, args, several)
    return 1 if failed else 0


def _emit(page: PageResult, args, several: bool) -> bool:
    """Write or print one page; False if it failed."""
    if not page.ok:
        print(f"inkreader read-page: error: {page.error}", file=sys.stderr)
        return False
    bad = [ln for ln in page.lines if ln.error]
    for ln in bad:
        print(f"inkreader read-page: error: {ln.error}", file=sys.stderr)
    data = render_page(page, args.format)
    if args.out_dir is not None:
        stem = (page.layout.path if page.layout is not None else Path(page.name)).stem
        target = args.out_dir / (stem + FORMATS[args.format])
        if not _write(target, data, args.overwrite):
            return False
        print(f"{page.name}: {len(page.lines)} lines -> {target}", file=sys.stderr)
    elif args.format == "json":
        print(json.dumps(page.to_json(), ensure_ascii=False))
    else:
        if several:
            print(f"==> {page.name} <==")
        sys.stdout.write(data.decode("utf-8"))
    sys.stdout.flush()
    if args.draw is not None:
        target = args.draw / (Path(page.name).stem + ".png") if several else args.draw
        image = draw(read_gray(page.name), page)
        ok, png = cv2.imencode(".png", image)
        if not ok or not _write(target, png.tobytes(), args.overwrite):
            return False
    return not bad


def _write(target: Path, data: bytes, overwrite: bool) -> bool:
    if target.exists() and not overwrite:
        print(f"inkreader read-page: error: {target}: exists (use --overwrite to replace it)",
              file=sys.stderr)
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:
        print(f"inkreader read-page: error: {target}: cannot write ({exc.strerror or exc})",
              file=sys.stderr)
        return False
    return True


def _check_draw_target(target: Path | None, several: bool, overwrite: bool) -> None:
    if target is None:
        return
    if several and target.exists() and not target.is_dir():
        raise InkreaderError(f"{target}: --draw for several pages needs a folder")
    if not several and target.is_dir():
        raise InkreaderError(f"{target}: is a folder; --draw for one page takes a .png path")
    if not several and target.exists() and not overwrite:
        raise InkreaderError(f"{target}: exists (use --overwrite to replace it)")
