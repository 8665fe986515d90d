"""``inkreader compare A.tsv B.tsv``: is model B's CER really lower than model A's on the same
lines? A paired bootstrap of two ``inkreader evaluate --report`` files (``inkreader.compare``)."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("a", help="report of model A (the baseline)")
    p.add_argument("b", help="report of model B (the candidate), made on the same lines")
    p.add_argument("--resamples", type=int, default=10000, help="paired bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from ..compare import compare_reports

    print(compare_reports(args.a, args.b, args.resamples, args.seed).summary())
    return 0
