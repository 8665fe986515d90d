"""Is model B's CER really lower than model A's on the same lines? A paired bootstrap.

Takes two line reports of ``inkreader evaluate --report FILE`` made on the same lines (same
ids; e.g. the shipped model and a candidate on the test split) and resamples the lines with
replacement (``scipy.stats.bootstrap``, paired, BCa interval): the corpus CER difference
B - A (points), its 95 % interval, and the share of resamples in which B reads better. Lines,
not characters, are resampled: a line's errors come from one crop of one hand and are not
independent. A difference whose interval spans 0 is one the data cannot tell from noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .evaluate import read_report


@dataclass(frozen=True)
class Comparison:
    """Two reports of the same lines compared by a paired bootstrap (CERs in %, differences
    in points, B - A)."""

    lines: int
    chars: int
    cer_a: float
    cer_b: float
    difference: float
    interval: tuple[float, float]  # 95 %, BCa
    resamples: int
    b_better: float  # share of the resamples in which B's CER is lower
    lines_better: int  # lines B reads with fewer errors than A
    lines_worse: int
    lines_same: int

    def summary(self) -> str:
        lo, hi = self.interval
        return "\n".join([
            f"{self.lines} lines, {self.chars} characters",
            f"CER A {self.cer_a:.2f} %  B {self.cer_b:.2f} %",
            f"B - A: {self.difference:+.2f} points, 95 % interval [{lo:+.2f}, {hi:+.2f}] "
            f"({self.resamples} paired resamples of the lines)",
            f"B reads better in {100 * self.b_better:.1f} % of the resamples; lines better / "
            f"worse / same: {self.lines_better} / {self.lines_worse} / {self.lines_same}",
        ])


def _line_errors(path: str | Path) -> dict[str, tuple[int, int]]:
    """id -> (edit distance, label length) of every line of one report."""
    return {r["id"]: (r["distance"], len(r["label"])) for r in read_report(path)}


@dataclass(frozen=True)
class MacroComparison:
    """Several sets, each read by A and B: the mean over sets of B - A (each set counts the
    same, as ``inkreader evaluate``'s mean CER and training's selection do), its 95 %
    percentile interval from a stratified paired bootstrap (each set's lines resampled
    within the set), and each set's own comparison."""

    sets: tuple[Comparison, ...]
    difference: float
    interval: tuple[float, float]
    resamples: int
    b_better: float

    def summary(self) -> str:
        lo, hi = self.interval
        mean_a = sum(c.cer_a for c in self.sets) / len(self.sets)
        mean_b = sum(c.cer_b for c in self.sets) / len(self.sets)
        return "\n".join([
            f"mean CER of {len(self.sets)} sets: A {mean_a:.2f} %  B {mean_b:.2f} %",
            f"B - A: {self.difference:+.2f} points, 95 % interval [{lo:+.2f}, {hi:+.2f}] "
            f"({self.resamples} paired resamples, lines resampled within each set)",
            f"B reads better in {100 * self.b_better:.1f} % of the resamples"])


def compare_sets(pairs: list[tuple[str | Path, str | Path]], resamples: int = 10000,
                 seed: int = 0) -> MacroComparison:
    """``pairs`` of reports (A's and B's of one set each): the mean CER difference over the
    sets, with a stratified paired bootstrap of it."""
    if not pairs:
        raise DatasetError("compare needs at least one pair of reports")
    rng = np.random.default_rng(seed)
    sets, draws = [], np.zeros(resamples)
    for a, b in pairs:
        err_a, err_b, chars = _paired_arrays(a, b)
        sets.append(_compare(err_a, err_b, chars, resamples, seed))
        idx = rng.integers(len(chars), size=(resamples, len(chars)))
        draws += 100 * (err_b[idx].sum(1) - err_a[idx].sum(1)) / chars[idx].sum(1)
    draws /= len(pairs)
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return MacroComparison(tuple(sets), float(np.mean([c.difference for c in sets])),
                           (float(lo), float(hi)), resamples, float(np.mean(draws < 0)))


def _paired_arrays(a: str | Path, b: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edit distances of A and B and the label lengths, line by line (ids sorted);
    ``DatasetError`` for reports of different lines."""
    ea, eb = _line_errors(a), _line_errors(b)
    if ea.keys() != eb.keys():
        raise DatasetError(f"{a} and {b} are not reports of the same lines "
                           f"({len(ea.keys() ^ eb.keys())} ids in only one of them)")
    ids = sorted(ea)
    if any(ea[i][1] != eb[i][1] for i in ids):
        raise DatasetError(f"{a} and {b}: the two reports' labels differ")
    return (np.array([ea[i][0] for i in ids], dtype=float),
            np.array([eb[i][0] for i in ids], dtype=float),
            np.array([ea[i][1] for i in ids], dtype=float))


def compare_reports(a: str | Path, b: str | Path, resamples: int = 10000,
                    seed: int = 0) -> Comparison:
    """Model A's report (the baseline) against model B's (the candidate), line by line.
    ``DatasetError`` names a file that is not a report, or reports of different lines."""
    return _compare(*_paired_arrays(a, b), resamples, seed)


def _compare(err_a: np.ndarray, err_b: np.ndarray, chars: np.ndarray, resamples: int,
             seed: int) -> Comparison:
    """The paired bootstrap of one set's line errors (A's, B's) and label lengths."""
    from scipy.stats import bootstrap

    if resamples < 100:
        raise DatasetError(f"resamples must be 100 or more, got {resamples}")

    def diff(xa, xb, n, axis=-1):
        return 100 * (xb.sum(axis) - xa.sum(axis)) / n.sum(axis)

    if np.array_equal(err_a, err_b):  # every resample's difference is 0 (BCa has no interval)
        lo = hi = better = 0.0
    else:
        res = bootstrap((err_a, err_b, chars), diff, paired=True, vectorized=True,
                        n_resamples=resamples, method="BCa", rng=np.random.default_rng(seed))
        lo, hi = res.confidence_interval
        better = np.mean(res.bootstrap_distribution < 0)
    return Comparison(
        lines=len(chars), chars=int(chars.sum()),
        cer_a=float(100 * err_a.sum() / chars.sum()), cer_b=float(100 * err_b.sum() / chars.sum()),
        difference=float(diff(err_a, err_b, chars)), interval=(float(lo), float(hi)),
        resamples=resamples, b_better=float(better),
        lines_better=int((err_b < err_a).sum()), lines_worse=int((err_b > err_a).sum()),
        lines_same=int((err_b == err_a).sum()))


__all__ = ["Comparison", "MacroComparison", "compare_reports", "compare_sets"]
