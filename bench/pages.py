"""Whole-page figures on the Hooker test pages: line detection and page-level CER.

Detection: each ground-truth TextLine with text (``pagexml.read_page_xml``) against the lines
``pages.detect_lines`` finds; overlaps are areas of the two polygons filled on the page's pixel
grid. Matches: one-to-one, greedy by IoU, at IoU >= 0.5; precision = matches / detected lines,
recall = matches / ground-truth lines. Merged: a detected line holding at least half of each of
k >= 2 ground-truth lines merged k - 1 of them into another; split: a ground-truth line holding
at least half of each of k >= 2 detected lines was split into k pieces (k - 1 counted).

CER (unless --detection-only): corpus-level Levenshtein over pages (sum of edit distances /
sum of reference lengths), each page's text its lines joined by newlines; the reference is the
ground-truth lines in the XML's order (which is its reading order). Three rows: the whole
pipeline (detected lines in our reading order), the same recognizer on the ground-truth
polygons (the ceiling), and ``read-page`` given the PAGE-XML itself (every line the file
defines, in its reading order: it also reads the few lines that have no transcription; a
fourth row leaves those out, and must equal the ceiling).
The gold rows do not depend on the segmenter: ``--cache FILE`` keeps them between runs (keyed
by pages, model file and decoding).

    .venv/bin/python bench/pages.py                    # everything (50 pages)
    .venv/bin/python bench/pages.py --detection-only   # no model needed
    .venv/bin/python bench/pages.py --greedy   # read-page's decoding options (default: beam + LM)
"""

from __future__ import annotations

import argparse
import json
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
from inkreader.pages import segment
from inkreader.pages.reader import detect_lines, read_pages
from inkreader.preprocess import read_gray
from inkreader.results import PageLine, PageResult

PAGES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hooker" / "test_pages"
IOU = 0.5
HOLDS = 0.5  # share of a line inside another that counts for merged / split


def overlaps(truth: list, found: list) -> np.ndarray:
    """(T, F, 3) float: intersection, truth area and found area of every pair, in pixels
    (0 intersection where the boxes do not meet)."""
    out = np.zeros((len(truth), len(found), 3))
    tp = [np.asarray(t, np.int32) for t in truth]
    fp = [np.asarray(f, np.int32) for f in found]
    for i, a in enumerate(tp):
        for j, b in enumerate(fp):
            lo = np.minimum(a.min(axis=0), b.min(axis=0))
            hi = np.maximum(a.max(axis=0), b.max(axis=0))
            shape = (int(hi[1] - lo[1] + 1), int(hi[0] - lo[0] + 1))
            ma, mb = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
            cv2.fillPoly(ma, [a - lo], 1)
            cv2.fillPoly(mb, [b - lo], 1)
            meet = np.maximum(a.min(axis=0), b.min(axis=0)) <= np.minimum(a.max(axis=0),
                                                                           b.max(axis=0))
            inter = np.count_nonzero(ma & mb) if meet.all() else 0
            out[i, j] = (inter, np.count_nonzero(ma), np.count_nonzero(mb))
    return out


def detection(truth: list, found: list) -> dict:
    """Matches at IoU >= ``IOU``, merged and split counts of one page's polygons."""
    if not truth or not found:
        return {"matched": 0, "merged": 0, "split": 0}
    ov = overlaps(truth, found)
    inter, ta, fa = ov[..., 0], ov[..., 1], ov[..., 2]
    iou = inter / np.maximum(ta + fa - inter, 1)
    used_t, used_f = set(), set()
    for i, j in sorted(zip(*np.nonzero(iou >= IOU), strict=True), key=lambda p: -iou[p]):
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
    held_t = inter >= HOLDS * np.maximum(ta, 1)  # truth line i mostly inside found line j
    held_f = inter >= HOLDS * np.maximum(fa, 1)  # found line j mostly inside truth line i
    merged = int(np.maximum(held_t.sum(axis=0) - 1, 0).sum())
    split = int(np.maximum(held_f.sum(axis=1) - 1, 0).sum())
    return {"matched": len(used_t), "merged": merged, "split": split}


def page_text(result: PageResult) -> str:
    return result.text if result.ok else ""


def cer_row(results: list[PageResult], truth: list, seconds: float) -> dict:
    rates = ErrorRates()
    for res, t in zip(results, truth, strict=True):
        rates.update(page_text(res), "\n".join(s.text for s in t))
    return {"cer": rates.cer, "wer": rates.wer, "chars": rates.chars, "seconds": seconds}


def run(folder: Path, limit: int | None, detection_only: bool, model: str | None,
        backend: str, decoding=None, cache: Path | None = None) -> dict:
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
    counts = [detection([s.polygon for s in t], [ln.polygon for ln in f])
              for t, f in zip(truth, found, strict=True)]
    n_truth = sum(len(t) for t in truth)
    n_found = sum(len(f) for f in found)
    matched = sum(c["matched"] for c in counts)
    out = {"pages": len(xmls), "truth_lines": n_truth, "found_lines": n_found,
           "matched": matched, "precision": matched / max(1, n_found),
           "recall": matched / max(1, n_truth), "merged": sum(c["merged"] for c in counts),
           "split": sum(c["split"] for c in counts),
           "segment_s_per_page": seg_seconds / len(xmls)}
    if detection_only:
        return out
    from inkreader.runtime.recognizer import Recognizer

    rec = Recognizer.load(model, backend=backend, decoding=decoding)
    loaders = [(n, (lambda g=g: g)) for n, g in zip(names, grays, strict=True)]
    t0 = time.perf_counter()
    out["pipeline"] = cer_row(read_pages(rec, loaders, lines=found), truth,
                              time.perf_counter() - t0)
    out.update(_fixed_rows(rec, xmls, truth, loaders, cache, model, decoding))
    return out


def _fixed_rows(rec, xmls, truth, loaders, cache: Path | None, model, decoding) -> dict:
    """The rows that do not depend on the segmenter: the gold polygons and the gold layout."""
    from inkreader.pages.layout import read_layout_files
    from inkreader.paths import resolve_model_path

    path = resolve_model_path(model)
    key = json.dumps([[x.name for x in xmls], str(path), path.stat().st_size,
                      path.stat().st_mtime_ns, rec.decoding.describe() if rec.decoding
                      else None])
    store = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    if key in store:
        return store[key]
    gt_lines = [[PageLine(s.id.split("__", 1)[1], list(s.polygon)) for s in t] for t in truth]
    t0 = time.perf_counter()
    rows = {"gt_polygons": cer_row(read_pages(rec, loaders, lines=gt_lines), truth,
                                   time.perf_counter() - t0)}
    t0 = time.perf_counter()
    laid = read_layout_files(rec, xmls)
    rows["gt_layout"] = cer_row(laid, truth, time.perf_counter() - t0)
    # The same reading with the lines that have no transcription left out: what the layout
    # path adds over the ceiling is then exactly nothing, if it reads each line alike.
    for page, t in zip(laid, truth, strict=True):
        ids = {s.id.split("__", 1)[1] for s in t}
        page.lines = [ln for ln in page.lines if ln.id in ids]
    rows["gt_layout_transcribed"] = cer_row(laid, truth, rows["gt_layout"]["seconds"])
    if cache:
        store[key] = rows
        cache.write_text(json.dumps(store, indent=1))
    return rows


def markdown(r: dict) -> str:
    rows = ["| what | value |", "|---|---|",
            f"| pages | {r['pages']} |",
            f"| ground-truth lines (with text) | {r['truth_lines']} |",
            f"| detected lines | {r['found_lines']} |",
            f"| matched at polygon IoU >= {IOU} | {r['matched']} |",
            f"| detection precision | {r['precision']:.3f} |",
            f"| detection recall | {r['recall']:.3f} |",
            f"| ground-truth lines merged into another | {r['merged']} |",
            f"| extra pieces of split ground-truth lines | {r['split']} |",
            f"| segmentation time per page | {r['segment_s_per_page']:.2f} s |"]
    for key, label in (("pipeline", "whole pipeline (detected lines, our order)"),
                       ("gt_polygons", "ground-truth line polygons (the ceiling)"),
                       ("gt_layout", "the PAGE-XML given as the layout (all its lines)"),
                       ("gt_layout_transcribed", "the same, lines with a transcription only")):
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
    p.add_argument("--cache", type=Path, help="JSON file keeping the segmenter-free rows")
    p.add_argument("--json", action="store_true", help="print the figures as JSON too")
    p.add_argument("--segmenter", choices=("net", "classical"), default=segment.METHOD,
                   help="how lines are found: the learned line finder or blurred ink alone")
    p.add_argument("--model", help="model file (default: the packaged model)")
    p.add_argument("--backend", default="auto")
    add_decoding_arguments(p)
    args = p.parse_args(argv)
    segment.METHOD = args.segmenter
    if not args.pages.is_dir():
        print(f"bench/pages.py: error: {args.pages}: no such folder", file=sys.stderr)
        return 2
    r = run(args.pages, args.limit, args.detection_only, args.model, args.backend,
            decoding_options(args), args.cache)
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} usable cores, "
          f"{platform.python_implementation()} {platform.python_version()}; "
          f"segmenter: {args.segmenter}")
    print(markdown(r))
    if args.json:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
