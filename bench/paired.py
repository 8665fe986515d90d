"""Is model B's CER really lower than model A's on the same lines? A paired bootstrap.

Reads two line reports of ``inkreader evaluate --report FILE`` made on the same lines (same
ids; e.g. the shipped model and a candidate on the test split), and resamples the lines with
replacement (``scipy.stats.bootstrap``, paired, BCa interval): the corpus CER difference
B - A (points), its 95 % interval, and the share of resamples in which B reads better. Lines,
not characters, are resampled: a line's errors come from one crop of one hand and are not
independent. A difference whose interval spans 0 is one the data cannot tell from noise.

    .venv/bin/inkreader evaluate ../shared/data/hooker/lines.tsv --split test --report A.tsv
    .venv/bin/inkreader evaluate ../shared/data/hooker/lines.tsv --split test --model B.pt \
        --report B.tsv
    .venv/bin/python bench/paired.py A.tsv B.tsv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import bootstrap

from inkreader.errors import DatasetError
from inkreader.evaluate import read_report


def line_errors(path: Path) -> dict[str, tuple[int, int]]:
    """id -> (edit distance, label length) of every line of one report."""
    try:
        rows = read_report(path)
    except DatasetError as e:
        sys.exit(f"bench/paired.py: error: {e}")
    return {r["id"]: (r["distance"], len(r["label"])) for r in rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", type=Path, help="report of model A (the baseline)")
    ap.add_argument("b", type=Path, help="report of model B (the candidate)")
    ap.add_argument("--resamples", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    a, b = line_errors(args.a), line_errors(args.b)
    if a.keys() != b.keys():
        sys.exit(f"bench/paired.py: error: {args.a} and {args.b} are not reports of the same "
                 f"lines ({len(a.keys() ^ b.keys())} ids in only one of them)")
    ids = sorted(a)
    if any(a[i][1] != b[i][1] for i in ids):
        sys.exit("bench/paired.py: error: the two reports' labels differ")
    err_a = np.array([a[i][0] for i in ids], dtype=float)
    err_b = np.array([b[i][0] for i in ids], dtype=float)
    chars = np.array([a[i][1] for i in ids], dtype=float)

    def diff(ea, eb, n, axis=-1):
        return 100 * (eb.sum(axis) - ea.sum(axis)) / n.sum(axis)

    res = bootstrap((err_a, err_b, chars), diff, paired=True, vectorized=True,
                    n_resamples=args.resamples, method="BCa",
                    rng=np.random.default_rng(args.seed))
    point = diff(err_a, err_b, chars)
    better = float(np.mean(res.bootstrap_distribution < 0))
    lo, hi = res.confidence_interval
    print(f"{len(ids)} lines, {int(chars.sum())} characters")
    cer_a, cer_b = (100 * e.sum() / chars.sum() for e in (err_a, err_b))
    print(f"CER A {cer_a:.2f} %  B {cer_b:.2f} %")
    print(f"B - A: {point:+.2f} points, 95 % interval [{lo:+.2f}, {hi:+.2f}] "
          f"({args.resamples} paired resamples of the lines)")
    print(f"B reads better in {100 * better:.1f} % of the resamples; lines better / worse / "
          f"same: {int((err_b < err_a).sum())} / {int((err_b > err_a).sum())} / "
          f"{int((err_b == err_a).sum())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
