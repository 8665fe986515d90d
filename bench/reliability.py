"""Is the line confidence informative? Confidence against measured CER on the Hooker val split.

For every line: the greedy reading, its CER, and each candidate line confidence of
``inkreader.decode.base.LINE_CONFIDENCES`` (min / mean / geometric mean of the characters'
posteriors, and the geometric mean of the path's frame posteriors). Prints, as markdown:
1. each candidate's Spearman correlation with the line CER and its AUROC for "the line has an
   error" (the candidate that ranks lines best is the one to ship);
2. for the shipped kind: bins of confidence with their lines and corpus CER;
3. the lines kept at several ``--min-confidence`` thresholds and their CER (kept / flagged).
Writes a PNG (confidence vs line CER, binned CER) and, with ``--write-doc``, the tables into
the marked block of docs/confidence.md. Run from the repository root on a free core:

    .venv/bin/python bench/reliability.py --write-doc docs/confidence.md

``--lines N`` reads only the first N val lines (a smoke run; not a result).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
from decoding import HOOKER, collect_logits, machine, split_lines, write_doc
from scipy.stats import spearmanr

from inkreader.decode.base import LINE_CONFIDENCES
from inkreader.decode.defaults import LINE_CONFIDENCE
from inkreader.decode.greedy import GreedyDecoder
from inkreader.metrics import ErrorRates, char_distance
from inkreader.runtime.recognizer import Recognizer

BINS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0 + 1e-9)
THRESHOLDS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)


def per_line(charset, logits: list, labels: list[str]) -> tuple[dict, np.ndarray, np.ndarray,
                                                                  list[str]]:
    """Each candidate's confidence per line (N,), the lines' errors and label lengths (N,),
    and the greedy texts. An unreadable line: confidence 0, its whole label wrong."""
    decoders = {k: GreedyDecoder(charset, confidence=k) for k in LINE_CONFIDENCES}
    conf = {k: [] for k in LINE_CONFIDENCES}
    errors, lengths, texts = [], [], []
    for x, label in zip(logits, labels, strict=True):
        label = label.strip()
        text = ""
        for kind, dec in decoders.items():
            out = dec.decode(x) if x is not None else None
            conf[kind].append(out.confidence if out else 0.0)
            text = out.text if out else ""
        texts.append(text)
        errors.append(char_distance(text, label))
        lengths.append(len(label))
    return ({k: np.array(v) for k, v in conf.items()}, np.array(errors), np.array(lengths),
            texts)


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """P(score of a correct line > score of a wrong line), ties count half."""
    good, bad = score[~positive], score[positive]
    if not len(good) or not len(bad):
        return float("nan")
    wins = (good[:, None] > bad[None, :]).sum() + 0.5 * (good[:, None] == bad[None, :]).sum()
    return float(wins / (len(good) * len(bad)))


def candidates_table(conf: dict, errors: np.ndarray, lengths: np.ndarray) -> str:
    cer = errors / np.maximum(lengths, 1)
    rows = ["| line confidence | Spearman rho with line CER | AUROC (line has an error) |",
            "|---|---|---|"]
    rhos = {}
    for kind, c in conf.items():
        rhos[kind] = spearmanr(c, cer).statistic if np.ptp(c) > 0 else float("nan")
        rows.append(f"| {kind} | {rhos[kind]:.3f} | {auroc(c, errors > 0):.3f} |")
    ranked = sorted((r, k) for k, r in rhos.items() if not np.isnan(r))
    if ranked:
        rows.append(f"\nRanks lines by CER best (most negative rho): **{ranked[0][1]}**.")
    return "\n".join(rows)


def bins_table(c: np.ndarray, errors: np.ndarray, lengths: np.ndarray) -> str:
    rows = ["| confidence | lines | mean confidence | CER % of these lines | lines with no "
            "error % |", "|---|---|---|---|---|"]
    for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
        m = (c >= lo) & (c < hi)
        if m.any():
            cer = 100 * errors[m].sum() / max(1, lengths[m].sum())
            rows.append(f"| [{lo:.2f}, {min(hi, 1.0):.2f}{']' if hi > 1 else ')'} | {m.sum()} | "
                        f"{c[m].mean():.3f} | {cer:.2f} | {100 * (errors[m] == 0).mean():.1f} |")
    return "\n".join(rows)


def thresholds_table(c: np.ndarray, errors: np.ndarray, lengths: np.ndarray) -> str:
    rows = ["| --min-confidence | lines kept % | CER % of kept lines | CER % of flagged lines |",
            "|---|---|---|---|"]
    for t in THRESHOLDS:
        keep = c >= t

        def rate(m):
            return f"{100 * errors[m].sum() / lengths[m].sum():.2f}" if lengths[m].sum() else "-"
        rows.append(f"| {t} | {100 * keep.mean():.1f} | {rate(keep)} | {rate(~keep)} |")
    return "\n".join(rows)


def plot(c: np.ndarray, errors: np.ndarray, lengths: np.ndarray, kind: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cer = errors / np.maximum(lengths, 1)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.scatter(c, 100 * cer, s=6, alpha=0.35, label="lines")
    centres, rates = [], []
    for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
        m = (c >= lo) & (c < hi)
        if m.any():
            centres.append(c[m].mean())
            rates.append(100 * errors[m].sum() / max(1, lengths[m].sum()))
    ax.plot(centres, rates, "o-", color="crimson", label="CER of the bin's lines")
    ax.set(xlabel=f"line confidence ({kind})", ylabel="CER %", xlim=(0, 1),
           ylim=(0, min(150, max(105, 100 * cer.max() if len(cer) else 100))),
           title="Hooker val: line confidence against measured CER")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HOOKER)
    ap.add_argument("--model", help="default: the packaged model")
    ap.add_argument("--backend", default="onnx")
    ap.add_argument("--kind", default=LINE_CONFIDENCE, choices=LINE_CONFIDENCES,
                    help="the line confidence to bin (the shipped one)")
    ap.add_argument("--lines", type=int, help="only the first N val lines (smoke)")
    ap.add_argument("--png", type=Path, default=Path("docs/reliability.png"))
    ap.add_argument("--write-doc", type=Path, help="put the tables into this markdown file")
    args = ap.parse_args()

    rec = Recognizer.load(args.model, backend=args.backend, threads=1)
    val = split_lines(args.data, "val", args.lines)
    logits, _ = collect_logits(rec, val)
    conf, errors, lengths, texts = per_line(rec.charset, logits, [t for _, t in val])
    overall = ErrorRates()
    for text, (_, label) in zip(texts, val, strict=True):
        overall.update(text, label)
    c = conf[args.kind]
    plot(c, errors, lengths, args.kind, args.png)
    command = "python bench/reliability.py " + " ".join(sys.argv[1:])
    text = (f"Candidates (higher AUROC and more negative rho rank lines better):\n\n"
            f"{candidates_table(conf, errors, lengths)}\n\nBins of the `{args.kind}` "
            f"confidence:\n\n{bins_table(c, errors, lengths)}\n\nFlagging lines for review:"
            f"\n\n{thresholds_table(c, errors, lengths)}\n\n{len(val)} Hooker val lines, greedy "
            f"decoding, corpus CER {100 * overall.cer:.2f} %, model {args.model or 'default'} "
            f"({args.backend}), {machine()}, {datetime.date.today()}; plot {args.png}; "
            f"command: `{command}`")
    print(text)
    if args.write_doc:
        write_doc(args.write_doc, text, "reliability-table")


if __name__ == "__main__":
    main()
