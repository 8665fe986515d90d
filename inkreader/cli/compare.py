"""``inkreader compare A.tsv B.tsv [A2.tsv B2.tsv ...]``: is model B's CER really lower than
model A's on the same lines? A paired bootstrap of two ``inkreader evaluate --report`` files
(``inkreader.evaluation.compare``); with pairs of several sets, also of the mean over the sets."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("reports", nargs="+", metavar="A.tsv B.tsv",
                   help="report of model A (the baseline), then of model B (the candidate) "
                        "on the same lines; more pairs (A2 B2 ...): other sets, and the mean "
                        "difference over the sets with a stratified bootstrap")
    p.add_argument("--resamples", type=int, default=10000, help="paired bootstrap resamples")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the bootstrap resampling (default 0)")


def run(args) -> int:
    from ..errors import InkreaderError
    from ..evaluation.compare import compare_reports, compare_sets

    if len(args.reports) % 2:
        raise InkreaderError("compare takes pairs of reports: A.tsv B.tsv [A2.tsv B2.tsv ...]")
    pairs = list(zip(args.reports[::2], args.reports[1::2], strict=True))
    if len(pairs) == 1:
        print(compare_reports(*pairs[0], args.resamples, args.seed).summary())
        return 0
    macro = compare_sets(pairs, args.resamples, args.seed)
    for (a, b), one in zip(pairs, macro.sets, strict=True):
        print(f"== {a} -> {b}\n{one.summary()}")
    print(f"== all sets\n{macro.summary()}")
    return 0
