"""``inkreader errors REPORT.tsv [...]``: where a model's character errors are (by kind of edit
and of character, confusions, doubled letters), from ``inkreader evaluate --report`` files
(``inkreader.evaluation.error_analysis``)."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("reports", nargs="+", help="evaluate --report TSV or JSON Lines files")
    p.add_argument("--top", type=int, default=15, help="confusions and characters listed")


def run(args) -> int:
    from ..evaluation.error_analysis import analyse_report, format_tally

    tallies = [(path, analyse_report(path)) for path in args.reports]  # every file read first
    print("\n".join(format_tally(path, tally, args.top) for path, tally in tallies))
    return 0
