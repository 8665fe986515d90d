"""Greedy vs beam vs beam + character LM (+ lexicon, + test-time augmentation) on the Hooker
test split: CER, WER, time per line.

The model runs once per line (through the Recognizer, one line at a time, so every decoder
sees exactly the logits ``inkreader read`` would); the decoders then run on those logits and
only their own time is counted. The LM weight and per-character bonus (and, with
``--lexicon``, the penalty of a word outside it) are tuned on the val split ONLY (``--tune``:
a small grid, best val CER), then every decoder is measured on test. ``--tta`` also reads
every line as ``--tta`` does (shifted up and down, mean log-posteriors) and measures greedy and
the tuned beam on those.
Run from the repository root on a free core:

    .venv/bin/python bench/decoding.py --tune --write-doc docs/decoding.md

``--compare-lms A B ...`` only reads the val split, with beam + each LM in turn (choosing an
LM without the test split). ``--lines N`` reads only the first N lines of each split (a smoke
run; not a result).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import platform
import sys
import time
from pathlib import Path

import numpy as np

from inkreader.decode import (
    DEFAULT_BEAM_WIDTH,
    DEFAULT_BONUS,
    DEFAULT_LM_WEIGHT,
    DEFAULT_OOV_PENALTY,
    BeamDecoder,
    GreedyDecoder,
)
from inkreader.lexicon import Lexicon
from inkreader.lm import CharLM, resolve_lm_path
from inkreader.metrics import ErrorRates
from inkreader.recognizer import Recognizer

HOOKER = Path("../shared/data/hooker/lines.tsv")
WEIGHTS = (0.2, 0.35, 0.5, 0.75, 1.0)
BONUSES = (0.0, 1.0, 2.0)
PENALTIES = (1.5, 3.0, 5.0, 8.0)


class _Capture:
    """A decoder that keeps the logits it is given (and reads them greedily)."""

    def __init__(self, charset):
        self.greedy = GreedyDecoder(charset)
        self.logits: np.ndarray | None = None

    def decode(self, logits):
        self.logits = np.array(logits)
        return self.greedy.decode(logits)


def split_lines(tsv: Path, split: str, limit: int | None) -> list[tuple[Path, str]]:
    """(image path, label) of ``split``, in file order."""
    with open(tsv, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["split"] == split]
    return [(tsv.parent / r["file"], r["text"]) for r in rows[:limit]]


def collect_logits(rec: Recognizer, lines: list[tuple[Path, str]]) -> tuple[list, float]:
    """Each line's (T, C) logits (None for an unreadable image) and the seconds per line the
    model took (image decoding and preprocessing included)."""
    capture = _Capture(rec.charset)
    saved, rec.decoder = rec.decoder, capture
    out, start = [], time.perf_counter()
    for path, _ in lines:
        capture.logits = None
        result = rec.read_paths([path])[0]
        if not result.ok:
            print(f"warning: {result.error}", file=sys.stderr)
        out.append(capture.logits)
    rec.decoder = saved
    return out, (time.perf_counter() - start) / max(1, len(lines))


def measure(decoder, logits: list, labels: list[str]) -> tuple[ErrorRates, float]:
    """Corpus error rates of ``decoder`` and its mean decoding time per line (seconds). An
    unreadable line counts as an empty prediction, as ``inkreader evaluate`` counts it."""
    rates, seconds = ErrorRates(), 0.0
    for x, label in zip(logits, labels, strict=True):
        text = ""
        if x is not None:
            t0 = time.perf_counter()
            text = decoder.decode(x).text
            seconds += time.perf_counter() - t0
        rates.update(text, label)
    return rates, seconds / max(1, len(labels))


def tune(charset, lm, width: int, logits: list, labels: list[str]) -> tuple[float, float]:
    """The (LM weight, bonus) of the grid with the lowest val CER (then WER)."""
    best = None
    print("| LM weight | bonus | val CER % | val WER % |\n|---|---|---|---|")
    for w in WEIGHTS:
        for b in BONUSES:
            rates, _ = measure(BeamDecoder(charset, width, lm=lm, lm_weight=w, bonus=b),
                               logits, labels)
            print(f"| {w} | {b} | {100 * rates.cer:.2f} | {100 * rates.wer:.2f} |", flush=True)
            key = (rates.cer, rates.wer)
            if best is None or key < best[0]:
                best = (key, w, b)
    return best[1], best[2]


def tune_penalty(charset, lm, width: int, weight: float, bonus: float, lexicon,
                 logits: list, labels: list[str]) -> float:
    """The lexicon penalty of ``PENALTIES`` with the lowest val CER (then WER)."""
    best = None
    print("| lexicon penalty | val CER % | val WER % |\n|---|---|---|")
    for pen in PENALTIES:
        rates, _ = measure(BeamDecoder(charset, width, lm=lm, lm_weight=weight, bonus=bonus,
                                       lexicon=lexicon, oov_penalty=pen), logits, labels)
        print(f"| {pen} | {100 * rates.cer:.2f} | {100 * rates.wer:.2f} |", flush=True)
        key = (rates.cer, rates.wer)
        if best is None or key < best[0]:
            best = (key, pen)
    return best[1]


def table(rows: list[tuple[str, ErrorRates, float]], infer: float) -> str:
    lines = ["| decoder | CER % | WER % | decoding ms / line |", "|---|---|---|---|"]
    for name, rates, seconds in rows:
        lines.append(f"| {name} | {100 * rates.cer:.2f} | {100 * rates.wer:.2f} | "
                     f"{1000 * seconds:.2f} |")
    lines.append(f"\nThe model itself (shared by every row): {1000 * infer:.1f} ms per line "
                 "(one line per request, image decoding included).")
    return "\n".join(lines)


def machine() -> str:
    """The CPU model and the cores this process may use."""
    import os

    name = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {len(os.sched_getaffinity(0))} usable core(s)"


def write_doc(doc: Path, text: str, tag: str = "decoding-table") -> None:
    """Replace the block between ``<!-- TAG:begin -->`` and ``<!-- TAG:end -->`` of ``doc``."""
    begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    body = doc.read_text(encoding="utf-8")
    if begin not in body or end not in body:
        raise SystemExit(f"{doc}: no {begin} ... {end} block to fill")
    head, rest = body.split(begin, 1)
    doc.write_text(head + begin + "\n" + text + "\n" + end + rest.split(end, 1)[1],
                   encoding="utf-8")


def compare_lms(rec: Recognizer, args) -> None:
    """Val CER / WER of beam + each LM, at one weight and bonus (choosing an LM on val)."""
    val = split_lines(args.data, "val", args.lines)
    logits, _ = collect_logits(rec, val)
    labels = [t for _, t in val]
    print(f"| LM (weight {args.lm_weight}, bonus {args.bonus}) | val CER % | val WER % |\n"
          "|---|---|---|")
    for spec in args.compare_lms:
        lm = CharLM.load(resolve_lm_path(spec))
        rates, _ = measure(BeamDecoder(rec.charset, args.width, lm=lm, lm_weight=args.lm_weight,
                                       bonus=args.bonus), logits, labels)
        print(f"| {spec} | {100 * rates.cer:.2f} | {100 * rates.wer:.2f} |", flush=True)
    print(f"\n{len(val)} Hooker val lines, model {args.model or 'default'} ({args.backend}, "
          f"1 thread), {machine()}, {datetime.date.today()}; command: "
          f"`python bench/decoding.py {' '.join(sys.argv[1:])}`")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HOOKER)
    ap.add_argument("--model", help="default: the packaged model")
    ap.add_argument("--backend", default="onnx")
    ap.add_argument("--lm", default="default")
    ap.add_argument("--lexicon", help="also measure beam + LM + this word list ('default': the "
                    "packaged one)")
    ap.add_argument("--width", type=int, default=DEFAULT_BEAM_WIDTH)
    ap.add_argument("--tune", action="store_true",
                    help="tune LM weight and bonus (and the lexicon penalty) on val")
    ap.add_argument("--lm-weight", type=float, default=DEFAULT_LM_WEIGHT)
    ap.add_argument("--bonus", type=float, default=DEFAULT_BONUS)
    ap.add_argument("--penalty", type=float, default=DEFAULT_OOV_PENALTY)
    ap.add_argument("--tta", action="store_true", help="also measure reading with --tta")
    ap.add_argument("--lines", type=int, help="only the first N lines of each split (smoke)")
    ap.add_argument("--write-doc", type=Path, help="put the table into this markdown file")
    ap.add_argument("--compare-lms", nargs="+", metavar="LM",
                    help="only compare these LMs on the val split (beam + LM at --lm-weight "
                    "and --bonus) and stop; the test split is not read")
    args = ap.parse_args()

    rec = Recognizer.load(args.model, backend=args.backend, threads=1)
    if args.compare_lms:
        compare_lms(rec, args)
        return
    lm = CharLM.load(resolve_lm_path(args.lm))
    lexicon = Lexicon.load(args.lexicon) if args.lexicon else None
    weight, bonus, penalty = args.lm_weight, args.bonus, args.penalty
    if args.tune:
        val = split_lines(args.data, "val", args.lines)
        val_logits, _ = collect_logits(rec, val)
        val_labels = [t for _, t in val]
        weight, bonus = tune(rec.charset, lm, args.width, val_logits, val_labels)
        print(f"\ntuned on {len(val)} val lines: LM weight {weight}, bonus {bonus}\n")
        if lexicon is not None:
            penalty = tune_penalty(rec.charset, lm, args.width, weight, bonus, lexicon,
                                   val_logits, val_labels)
            print(f"\ntuned on {len(val)} val lines: lexicon penalty {penalty}\n")
    test = split_lines(args.data, "test", args.lines)
    logits, infer = collect_logits(rec, test)
    labels = [t for _, t in test]
    lm_name = f"beam {args.width} + char {lm.order}-gram LM (weight {weight}, bonus {bonus})"
    beams = [(lm_name, BeamDecoder(rec.charset, args.width, lm=lm, lm_weight=weight,
                                   bonus=bonus))]
    if lexicon is not None:
        beams.append((f"beam {args.width} + LM + lexicon (penalty {penalty})",
                      BeamDecoder(rec.charset, args.width, lm=lm, lm_weight=weight,
                                  bonus=bonus, lexicon=lexicon, oov_penalty=penalty)))
    decoders = [("greedy", GreedyDecoder(rec.charset)),
                (f"beam {args.width}", BeamDecoder(rec.charset, args.width)), *beams]
    rows = [(name, *measure(d, logits, labels)) for name, d in decoders]
    if args.tta:
        tta_rec = Recognizer.load(args.model, backend=args.backend, threads=1, tta=True)
        tta_logits, tta_infer = collect_logits(tta_rec, test)
        rows += [(f"--tta, {name}", *measure(d, tta_logits, labels))
                 for name, d in [("greedy", GreedyDecoder(rec.charset)), *beams]]
    command = "python bench/decoding.py " + " ".join(sys.argv[1:])
    text = (f"{table(rows, infer)}"
            + (f" With --tta: {1000 * tta_infer:.1f} ms per line." if args.tta else "")
            + f"\n\n{len(test)} Hooker test lines, model "
            f"{args.model or 'default'} ({args.backend}, 1 thread), "
            f"{machine()}, "
            f"{datetime.date.today()}; command: `{command}`")
    print(text)
    if args.write_doc:
        write_doc(args.write_doc, text)


if __name__ == "__main__":
    main()
