"""Whole-page figures on the Hooker test pages: line detection and page-level CER.

Detection: each ground-truth TextLine with text (``pagexml.read_page_xml``) against the lines
``pages.detect_lines`` finds; IoU is the area IoU of the two polygons, computed exactly on the
page's pixel grid (both polygons filled as masks); one-to-one greedy matching by IoU, a match at
IoU >= 0.5. Precision = matches / detected lines, recall = matches / ground-truth lines.

CER (unless --detection-only): corpus-level Levenshtein over pages (sum of edit distances /
sum of reference lengths), each page's text its lines joined by newlines; the reference is the
ground-truth lines in the XML's order (which is its reading order). Two rows: the whole pipeline
(detected lines in our reading order) and the same recognizer on the ground-truth polygons.

    .venv/bin/python bench/pages.py                    # everything (50 pages)
    .venv/bin/python bench/pages.py --detection-only   # no model needed
    .venv/bin/python bench/pages.py --greedy   # read-page's decoding options (default: beam + LM)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from inkreader.cli.decoding import add_decoding_arguments, decoding_options
from inkreader.data.pagexml import read_page_xml
from inkreader.metrics import ErrorRates
from inkreader.pages.reader import PageLine, PageResult, detect_lines, read_pages
from inkreader.preprocess import read_gray

PAGES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hooker" / "test_pages"
IOU = 0.5


def polygon_iou(a, b) -> float:
    """Area IoU of two polygons on the pixel grid (filled masks over their joint box)."""
    pa, pb = np.asarray(a, np.int32), np.asarray(b, np.int32)
    lo = np.minimum(pa.min(axis=0), pb.min(axis=0))
    hi = np.maximum(pa.max(axis=0), pb.max(axis=0))
    ia = np.maximum(pa.min(axis=0), pb.min(axis=0))
    ib = np.minimum(pa.max(axis=0), pb.max(axis=0))
    if (ib < ia).any():
        return 0.0
    shape = (int(hi[1] - lo[1] + 1), int(hi[0] - lo[0] + 1))
    ma, mb = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    cv2.fillPoly(ma, [pa - lo], 1)
    cv2.fillPoly(mb, [pb - lo], 1)
    union = np.count_nonzero(ma | mb)
    return np.count_nonzero(ma & mb) / union if union else 0.0


def match(truth: list, found: list, threshold: float = IOU) -> int:
    """Greedy one-to-one matching by IoU; the number of pairs at ``threshold`` or above."""
    pairs = []
    for i, t in enumerate(truth):
        for j, f in enumerate(found):
            iou = polygon_iou(t, f)
            if iou >= threshold:
                pairs.append((iou, i, j))
    used_t, used_f = set(), set()
    for _iou, i, j in sorted(pairs, reverse=True):
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
    return len(used_t)


def page_text(result: PageResult) -> str:
    return result.text if result.ok else ""


def run(folder: Path, limit: int | None, detection_only: bool, model: str | None,
        backend: str, decoding=None) -> dict:
    """``decoding``: a ``DecodingOptions`` (None: the library's default, as read-page)."""
    xmls = sorted(folder.glob("*.xml"))[:limit]
    truth, found, grays, names = [], [], [], []
    seg_seconds = 0.0
    for xml in xmls:
        samples = read_page_xml(xml)
        gray = read_gray(samples[0].path)
        t0 = time.perf_counter()
        lines = detect_lines(gray)
        seg_seconds += time.perf_counter() - t0
        truth.append(samples)
        found.append(lines)
        grays.append(gray)
        names.append(str(samples[0].path))
    matched = sum(match([s.polygon for s in t], [ln.polygon for ln in f])
                  for t, f in zip(truth, found, strict=True))
    n_truth = sum(len(t) for t in truth)
    n_found = sum(len(f) for f in found)
    out = {"pages": len(xmls), "truth_lines": n_truth, "found_lines": n_found,
           "matched": matched, "precision": matched / max(1, n_found),
           "recall": matched / max(1, n_truth), "segment_s_per_page": seg_seconds / len(xmls)}
    if detection_only:
        return out
    from inkreader.runtime.recognizer import Recognizer

    rec = Recognizer.load(model, backend=backend, decoding=decoding)
    loaders = [(n, (lambda g=g: g)) for n, g in zip(names, grays, strict=True)]
    gt_lines = [[PageLine(s.id, list(s.polygon)) for s in t] for t in truth]
    for key, lines in (("pipeline", found), ("gt_polygons", gt_lines)):
        t0 = time.perf_counter()
        results = read_pages(rec, loaders, lines=lines)
        rates = ErrorRates()
        for res, t in zip(results, truth, strict=True):
            rates.update(page_text(res), "\n".join(s.text for s in t))
        out[key] = {"cer": rates.cer, "wer": rates.wer, "chars": rates.chars,
                    "seconds": time.perf_counter() - t0}
    return out


def markdown(r: dict) -> str:
    rows = ["| what | value |", "|---|---|",
            f"| pages | {r['pages']} |",
            f"| ground-truth lines (with text) | {r['truth_lines']} |",
            f"| detected lines | {r['found_lines']} |",
            f"| matched at polygon IoU >= {IOU} | {r['matched']} |",
            f"| detection precision | {r['precision']:.3f} |",
            f"| detection recall | {r['recall']:.3f} |",
            f"| segmentation time per page | {r['segment_s_per_page']:.2f} s |"]
    for key, label in (("pipeline", "whole pipeline (detected lines, our order)"),
                       ("gt_polygons", "ground-truth line polygons")):
        if key in r:
            v = r[key]
            rows.append(f"| page CER, {label} | {v['cer']:.4f} (WER {v['wer']:.4f}; "
                        f"{v['chars']} ref chars; {v['seconds']:.1f} s) |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pages", type=Path, default=PAGES, help="folder of page JPEG + PAGE-XML")
    p.add_argument("--limit", type=int, help="only the first N pages")
    p.add_argument("--detection-only", action="store_true", help="skip recognition (no CER)")
    p.add_argument("--model", help="model file (default: the packaged model)")
    p.add_argument("--backend", default="auto")
    add_decoding_arguments(p)
    args = p.parse_args(argv)
    if not args.pages.is_dir():
        print(f"bench/pages.py: error: {args.pages}: no such folder", file=sys.stderr)
        return 2
    r = run(args.pages, args.limit, args.detection_only, args.model, args.backend,
            decoding_options(args))
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} usable cores, "
          f"{platform.python_implementation()} {platform.python_version()}")
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
