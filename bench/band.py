"""How much of a line crop its ink fills, and how much larger the ink band makes the letters.

For every k-th line of a split (default: train and val, every 7th), the ink band's share of
the crop's height (``preprocess.ink_band``), the magnification a cut line gets at height 96
(crop height / band height), and the core zone at height 96 before and after the cut (the rows
with at least half the busiest row's Otsu ink), as 10th / 50th / 90th percentiles.

    .venv/bin/python bench/band.py [--data ../shared/data/hooker/lines.tsv] [--splits train val]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from inkreader.datasets import load_dataset
from inkreader.preprocess import HEIGHT, ink_band, read_gray


def core_rows(gray: np.ndarray) -> int:
    """Rows of a dark-on-light line with at least half the busiest row's ink (5-row mean)."""
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    rows = np.convolve(ink.sum(axis=1, dtype=np.float64), np.ones(5) / 5, mode="same")
    return int((rows >= 0.5 * rows.max()).sum()) if rows.max() > 0 else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/hooker/lines.tsv"))
    ap.add_argument("--splits", nargs="+", default=["train", "val"])
    ap.add_argument("--every", type=int, default=7)
    args = ap.parse_args()
    share, grow, core, core_cut = [], [], [], []
    samples = [s for split in args.splits for s in load_dataset(args.data, split)]
    for s in samples[:: args.every]:
        gray = read_gray(s.path)
        top, bottom = ink_band(gray)
        h = gray.shape[0]
        share.append((bottom - top) / h)
        grow.append(h / (bottom - top))
        core.append(core_rows(gray) * HEIGHT / h)
        core_cut.append(core_rows(gray[top:bottom]) * HEIGHT / (bottom - top))
    print(f"{len(share)} lines of {args.data} ({', '.join(args.splits)}; every {args.every}th)")
    print("percentiles                     10th    50th    90th")
    for name, values in (("band / crop height", share), ("magnification", grow),
                         ("core zone at h96 (px), as cut", core),
                         ("core zone at h96 (px), band", core_cut)):
        p = np.percentile(values, [10, 50, 90])
        print(f"{name:30s} {p[0]:7.2f} {p[1]:7.2f} {p[2]:7.2f}")


if __name__ == "__main__":
    main()
