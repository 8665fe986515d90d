"""CER of a model's line reports by the height of the line crops.

The Hooker crops are at most 128 px high; the short ones were cut by tight polygons through the
ascenders and descenders, and the reader magnifies what is left to height 96. This splits each
report's character errors by crop height (of the image file the report names) and gives each
bucket's CER and its excess: the CER points of the whole split its lines cost above the rate
of the full-height crops (127 px and over). Errors and characters as the CER counts them
(Levenshtein distance over label length).

    .venv/bin/inkreader evaluate ../shared/data/hooker/lines.tsv --split val --report R.tsv
    .venv/bin/python bench/crop_height.py R.tsv [R2.tsv ...] [--root ../shared/data/hooker]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inkreader.errors import DatasetError  # noqa: E402
from inkreader.evaluate import read_report  # noqa: E402

HOOKER = Path(__file__).resolve().parents[1].parent / "shared/data/hooker"
BUCKETS = ((0, 70), (70, 90), (90, 110), (110, 127), (127, 10**6))


def bucket_table(rows: list[dict], heights: dict[str, int]) -> list[tuple[str, int, float, float]]:
    """[(bucket, lines, CER %, excess CER points of the whole report)] in BUCKETS order."""
    chars = sum(len(r["label"]) for r in rows)
    per = {b: [0, 0, 0] for b in BUCKETS}  # errors, characters, lines
    for r in rows:
        h = heights[r["id"]]
        b = next(b for b in BUCKETS if b[0] <= h < b[1])
        per[b][0] += int(r["distance"])
        per[b][1] += len(r["label"])
        per[b][2] += 1
    e_full, c_full, _ = per[BUCKETS[-1]]
    base = e_full / c_full if c_full else 0.0
    out = []
    for (lo, hi), (e, c, n) in per.items():
        name = f"{lo}-{hi - 1} px" if hi < 10**6 else f"{lo} px and over"
        cer = 100 * e / c if c else float("nan")
        out.append((name, n, cer, 100 * (e - base * c) / chars if chars else 0.0))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports", nargs="+", help="evaluate --report TSV files")
    p.add_argument("--root", default=str(HOOKER),
                   help="folder the reports' line ids are relative to")
    args = p.parse_args()
    for path in args.reports:
        try:
            rows = read_report(path)
        except DatasetError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        heights = {}
        for r in rows:
            image = Path(args.root) / r["id"]
            try:
                with Image.open(image) as im:
                    heights[r["id"]] = im.size[1]
            except OSError as e:
                print(f"error: {path}: cannot read the line image {image}: {e}", file=sys.stderr)
                return 1
        print(f"{path}\n\n| crop height | lines | CER | excess (points of the split) |")
        print("|---|---|---|---|")
        for name, n, cer, excess in bucket_table(rows, heights):
            print(f"| {name} | {n} | {cer:.2f} % | {excess:+.2f} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
