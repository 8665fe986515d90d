"""The decoders on the Hooker test split: greedy, the beam search (flashlight-text + KenLM) without
and with the character LM and the word list: CER, WER, decoding time per line.

The model runs once per line (through the Recognizer, one line at a time, so every decoder
sees exactly the logits ``inkreader read`` would); the decoders then run on those logits and
only their own CPU time is counted. ``--tune`` chooses the LM weight and the blank penalty
(with the word list), then the word list's penalty, on the val splits ONLY (Hooker val and
IAM-OnDB val, the best mean CER of the two; a small grid), prints the grids and the width x
token beam x threshold table, and measures every decoder on test with what it chose; put the
chosen values in ``inkreader/decode/defaults.py`` (the one place the defaults live).
``--tta`` also reads every line as ``--tta`` does (shifted up and down, mean log-posteriors).
Run from the repository root on a core of its own:

    taskset -c 1 .venv/bin/python bench/decoding.py --tune --write-doc docs/decoding.md

``--sweep`` only reads the val sets: every combination of the values given to ``--widths``,
``--token-beams``, ``--thresholds``, ``--sure-blanks``, ``--lm-weights`` and
``--blank-penalties`` (each the default unless given), one row each with the mean CER and the
decoding CPU per line (the decoders take turns line by line, so that a shared core's drift
weighs on all alike), then the rows on the speed / CER Pareto front (choosing the defaults'
speed settings on val; docs/decoding.md, "Tuning").

``--compare-lms A B ...`` only reads the val split, with the default beam and each LM in turn
(choosing an LM without the test split). ``--lines N`` reads only the first N lines of each
split (a smoke run; not a result).
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

from inkreader.decode.greedy import GreedyDecoder
from inkreader.decode.lexicon import Lexicon
from inkreader.decode.options import GREEDY, DecodingOptions
from inkreader.metrics import ErrorRates
from inkreader.runtime.recognizer import Recognizer

HOOKER = Path("../shared/data/hooker/lines.tsv")
IAM = Path("../shared/data/iam-ondb")  # pen strokes, drawn with the plain pen as evaluate does
WEIGHTS = (0.6, 0.75, 0.9)
BLANK_PENALTIES = (1.0, 1.5, 2.0)
PENALTIES = (3.0, 5.0, 8.0)
# the speed / accuracy grid printed after tuning
WIDTHS, TOKEN_BEAMS, THRESHOLDS = (32, 48, 64), (6, 8), (8.0, 25.0)
# the frame pruning table (--frames): None searches every frame in full
SURE_BLANKS = (None, 0.9999, 0.999, 0.99, 0.9)


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
    return _capture_logits(rec, [lambda p=path: rec.read_paths([p])[0] for path, _ in lines])


def collect_val_logits(rec: Recognizer, dataset: Path, limit: int | None) -> tuple[list, list]:
    """(logits, labels) of the val split of any dataset ``inkreader evaluate`` reads (a TSV,
    a strokes folder), one line per request."""
    from inkreader.data.pagexml import PageImages, line_image
    from inkreader.evaluation.evaluate import load_lines

    samples = load_lines(dataset, "val")[0][:limit]
    pages = PageImages()
    logits, _ = _capture_logits(rec, [
        lambda s=s: rec.read_arrays([line_image(s, pages)], [str(s.id)])[0] for s in samples])
    return logits, [s.text for s in samples]


def cached(cache: Path | None, name: str, collect) -> tuple[list, list[str]]:
    """``collect()``'s (logits, labels), kept in ``cache/name.npz`` when ``cache`` is given: a
    second run (another decoder, another grid) reads the same logits without the model."""
    path = cache / f"{name}.npz" if cache else None
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            ends = z["ends"]
            flat, missing = z["logits"], set(z["missing"].tolist())
            starts = np.concatenate([[0], ends[:-1]])
            logits = [None if i in missing else flat[s:e]
                      for i, (s, e) in enumerate(zip(starts, ends, strict=True))]
            return logits, z["labels"].tolist()
    logits, labels = collect()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        classes = next((x.shape[1] for x in logits if x is not None), 1)
        parts = [x if x is not None else np.zeros((0, classes), np.float32) for x in logits]
        np.savez(path, logits=np.concatenate(parts).astype(np.float32),
                 ends=np.cumsum([len(x) for x in parts]),
                 missing=np.array([i for i, x in enumerate(logits) if x is None], np.int64),
                 labels=np.array(labels, dtype=str))
    return logits, labels


def _capture_logits(rec: Recognizer, reads: list) -> tuple[list, float]:
    """Run each of ``reads`` (a call reading one line with ``rec``) with a decoder that keeps
    the logits: each line's logits and the seconds per line."""
    capture = _Capture(rec.charset)
    saved, rec.decoder = rec.decoder, capture
    out, start = [], time.perf_counter()
    try:
        for read in reads:
            capture.logits = None
            result = read()
            if not result.ok:
                print(f"warning: {result.error}", file=sys.stderr)
            out.append(capture.logits)
    finally:
        rec.decoder = saved
    return out, (time.perf_counter() - start) / max(1, len(reads))


def measure_sets(decoder, sets: list[tuple[list, list[str]]]) -> tuple[list[ErrorRates], float]:
    """Each set's error rates and the mean decoding CPU time per line over all of them."""
    rates, seconds, lines = [], 0.0, 0
    for logits, labels in sets:
        r, s = measure(decoder, logits, labels)
        rates.append(r)
        seconds += s * len(labels)
        lines += len(labels)
    return rates, seconds / max(1, lines)


def measure(decoder, logits: list, labels: list[str]) -> tuple[ErrorRates, float]:
    """Corpus error rates of ``decoder`` and its mean decoding CPU time per line (seconds,
    this process's: other work on the machine does not count). An unreadable line counts as
    an empty prediction, as ``inkreader evaluate`` counts it."""
    rates, seconds = ErrorRates(), 0.0
    for x, label in zip(logits, labels, strict=True):
        text = ""
        if x is not None:
            t0 = time.process_time()
            text = decoder.decode(x).text
            seconds += time.process_time() - t0
        rates.update(text, label)
    return rates, seconds / max(1, len(labels))


def grid(charset, base: DecodingOptions, changes: list[dict],
         sets: list[tuple[list, list[str]]]) -> DecodingOptions:
    """Print each val set's CER and their mean for ``base`` with each of ``changes``; return
    the options of the lowest mean CER."""
    names = " | ".join(k.replace("_", " ") for k in changes[0])
    print(f"| {names} | Hooker val CER % | IAM-OnDB val CER % | mean % |\n"
          f"|{'---|' * (len(changes[0]) + 3)}")
    best = None
    for change in changes:
        opts = base.with_(**change)
        rates, _ = measure_sets(opts.decoder(charset), sets)
        mean = sum(100 * r.cer for r in rates) / len(rates)
        print("| " + " | ".join(str(v) for v in change.values()) + " | "
              + " | ".join(f"{100 * r.cer:.2f}" for r in rates) + f" | {mean:.3f} |", flush=True)
        if best is None or mean < best[0]:
            best = (mean, opts)
    print()
    return best[1]


def val_sets(rec: Recognizer, args) -> list[tuple[list, list[str]]]:
    """(logits, labels) of the Hooker and IAM-OnDB val splits, from ``--cache`` when there."""
    model = Path(args.model).stem if args.model else "default"
    return [cached(args.cache, f"{model}-{data.parent.name if data.is_file() else data.name}"
                   f"-val-{args.lines or 'all'}",
                   lambda data=data: collect_val_logits(rec, data, args.lines))
            for data in (args.data, IAM)]


def tune(charset, options: DecodingOptions, sets: list[tuple[list, list[str]]]) \
        -> DecodingOptions:
    """LM weight x blank penalty (with the word list at its penalty, as the default reads),
    then the word list's penalty: the values with the lowest mean val CER."""
    if options.lm:
        chosen = grid(charset, options,
                      [{"lm_weight": w, "blank_penalty": b}
                       for w in WEIGHTS for b in BLANK_PENALTIES], sets)
        options = options.with_(lm_weight=chosen.lm_weight, blank_penalty=chosen.blank_penalty)
    if options.lexicon:
        options = grid(charset, options, [{"lexicon_penalty": p} for p in PENALTIES], sets)
    return options


def table(rows: list[tuple[str, ErrorRates, float]], infer: float) -> str:
    lines = ["| decoder | CER % | WER % | decoding CPU ms / line |", "|---|---|---|---|"]
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


def compare_lms(rec: Recognizer, args, options: DecodingOptions) -> None:
    """Val CER / WER of the beam with each LM, at the options' weights (choosing an LM on val)."""
    val = split_lines(args.data, "val", args.lines)
    logits, _ = collect_logits(rec, val)
    labels = [t for _, t in val]
    print(f"| LM (weight {options.lm_weight}, blank penalty {options.blank_penalty}) "
          "| val CER % | val WER % |\n|---|---|---|")
    for spec in args.compare_lms:
        rates, _ = measure(options.with_(lm=spec).decoder(rec.charset), logits, labels)
        print(f"| {spec} | {100 * rates.cer:.2f} | {100 * rates.wer:.2f} |", flush=True)
    print(f"\n{len(val)} Hooker val lines, model {args.model or 'default'} ({args.backend}, "
          f"1 thread), {machine()}, {datetime.date.today()}; command: "
          f"`python bench/decoding.py {' '.join(sys.argv[1:])}`")


def decoders(charset, options: DecodingOptions) -> list[tuple[str, object]]:
    """(row name, decoder): greedy, the beam without LM, with the LM, with LM + word list."""
    beam = f"beam {options.beam_width}/{options.token_beam} (threshold {options.beam_threshold:g}" \
        f", sure blank {options.sure_blank or 'none'})"
    lm = (f"{beam} + char LM (weight {options.lm_weight}, blank penalty "
          f"{options.blank_penalty})")
    rows = [("greedy (--greedy)", GreedyDecoder(charset)),
            (beam, options.with_(lm=None, lexicon=None).decoder(charset))]
    if options.lm:
        rows.append((lm, options.with_(lexicon=None).decoder(charset)))
    if options.lm and options.lexicon:
        rows.append((f"{lm} + word list (penalty {options.lexicon_penalty})",
                     options.decoder(charset)))
    return rows


def extra_rows(charset, options: DecodingOptions, lms: list[str],
               others: list[str] = ()) -> list[tuple[str, object]]:
    """The last row of ``decoders`` without frame pruning (when it prunes), with each of
    ``lms`` instead of its LM, and with each of ``others`` ("field=value,...", e.g.
    "token_beam=8,lm_weight=0.75") changed."""
    rows = [] if options.sure_blank is None else [
        ("the same without frame pruning (--sure-blank none)",
         options.with_(sure_blank=None).decoder(charset))]
    for spec in others:
        change = {k: type(getattr(options, k))(v) for k, v in
                  (item.split("=", 1) for item in spec.split(","))}
        rows.append((f"the same with {spec}", options.with_(**change).decoder(charset)))
    return rows + [(f"the same with --lm {spec}", options.with_(lm=spec).decoder(charset))
                   for spec in lms]


def val_table(charset, options: DecodingOptions, args,
              sets: list[tuple[list, list[str]]]) -> None:
    """Val CER and decoding time of the tuned beam at other widths x token beams x frame
    thresholds (the speed the default pays for its CER)."""
    rows = [(f"beam {w}/{k}, threshold {t:g}, LM + word list as tuned",
             options.with_(beam_width=w, token_beam=k, beam_threshold=t).decoder(charset))
            for w in WIDTHS for k in TOKEN_BEAMS for t in THRESHOLDS]
    print("| decoder (val) | Hooker CER % | IAM-OnDB CER % | mean % | decoding CPU ms / line |\n"
          "|---|---|---|---|---|")
    for name, dec in rows:
        rates, seconds = measure_sets(dec, sets)
        mean = sum(100 * r.cer for r in rates) / len(rates)
        print(f"| {name} | " + " | ".join(f"{100 * r.cer:.2f}" for r in rates)
              + f" | {mean:.3f} | {1000 * seconds:.2f} |", flush=True)
    print()


def frames_table(charset, options: DecodingOptions,
                 sets: list[tuple[list, list[str]]]) -> None:
    """Val CER and decoding time of ``options`` with each frame-pruning threshold, and the
    share of frames the search still reads in full and as blank only (decode/frames.py)."""
    from inkreader.decode.base import log_softmax
    from inkreader.decode.frames import kept_frames

    logps = [log_softmax(x) for logits, _ in sets for x in logits if x is not None]
    frames = sum(len(x) for x in logps)
    print("| sure blank | frames searched in full | blank only | Hooker CER % | IAM-OnDB CER % "
          "| mean % | decoding CPU ms / line |\n|---|---|---|---|---|---|---|")
    for sure in SURE_BLANKS:
        full, blank = frames, 0
        if sure is not None:
            only = [kept_frames(x, sure)[1] for x in logps]
            blank = sum(int(b.sum()) for b in only)
            full = sum(len(b) for b in only) - blank
        rates, seconds = measure_sets(options.with_(sure_blank=sure).decoder(charset), sets)
        mean = sum(100 * r.cer for r in rates) / len(rates)
        print(f"| {sure or 'none'} | {100 * full / frames:.1f} % | {100 * blank / frames:.1f} % | "
              + " | ".join(f"{100 * r.cer:.2f}" for r in rates)
              + f" | {mean:.3f} | {1000 * seconds:.2f} |", flush=True)
    print(f"\n{' + '.join(str(len(lb)) for _, lb in sets)} val lines, {frames} frames; "
          f"{machine()}, {datetime.date.today()}")


def sweep(charset, options: DecodingOptions, args,
          sets: list[tuple[list, list[str]]]) -> None:
    """Val mean CER and decoding CPU per line of every combination of the ``--widths`` ...
    ``--blank-penalties`` values; then the rows that no other row beats on both (the Pareto
    front, fastest first). The decoders take turns line by line (one LM and word list shared),
    so that a shared core's drift weighs on every row alike."""
    import itertools

    from inkreader.decode.beam import BeamDecoder, load_kenlm

    axes = {"beam_width": args.widths, "token_beam": args.token_beams,
            "beam_threshold": args.thresholds, "sure_blank": args.sure_blanks,
            "lm_weight": args.lm_weights, "blank_penalty": args.blank_penalties}
    axes = {k: v or [getattr(options, k)] for k, v in axes.items()}
    lm = load_kenlm(options.lm, charset) if options.lm else None
    lexicon = Lexicon.load(options.lexicon) if options.lexicon else None
    changes = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    for change in changes:
        change["sure_blank"] = change["sure_blank"] or None  # 0: no frame pruning
    decs = [BeamDecoder(charset, c["beam_width"], lm=lm, lm_weight=c["lm_weight"],
                        blank_penalty=c["blank_penalty"], lexicon=lexicon,
                        lexicon_penalty=options.lexicon_penalty, token_beam=c["token_beam"],
                        threshold=c["beam_threshold"], sure=c["sure_blank"]) for c in changes]
    rates = [[ErrorRates() for _ in sets] for _ in decs]
    seconds = [0.0] * len(decs)
    for k, (logits, labels) in enumerate(sets):
        for x, label in zip(logits, labels, strict=True):
            for i, dec in enumerate(decs):
                text = ""
                if x is not None:
                    t0 = time.process_time()
                    text = dec.decode(x).text
                    seconds[i] += time.process_time() - t0
                rates[i][k].update(text, label)
    lines = sum(len(lb) for _, lb in sets)
    head = ("| " + " | ".join(k.replace("_", " ") for k in axes) + " | Hooker CER % | "
            f"IAM-OnDB CER % | mean % | decoding CPU ms / line |\n|{'---|' * (len(axes) + 4)}")
    rows = []
    for change, r, sec in zip(changes, rates, seconds, strict=True):
        mean = sum(100 * x.cer for x in r) / len(r)
        rows.append((sec / lines, mean, "| " + " | ".join(
            f"{v if v is not None else 'none'}" for v in change.values()) + " | "
            + " | ".join(f"{100 * x.cer:.2f}" for x in r)
            + f" | {mean:.3f} | {1000 * sec / lines:.2f} |"))
    front = [r for r in sorted(rows) if not any(
        o[0] <= r[0] and o[1] <= r[1] and o != r for o in rows)]
    print(head + "\n" + "\n".join(r[2] for r in rows))
    print("\nPareto front (fastest first):\n" + head + "\n" + "\n".join(r[2] for r in front))
    print(f"\n{' + '.join(str(len(lb)) for _, lb in sets)} val lines, LM {options.lm}, word "
          f"list {options.lexicon} (penalty {options.lexicon_penalty}); {machine()}, "
          f"{datetime.date.today()}; command: `python bench/decoding.py {' '.join(sys.argv[1:])}`")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    d = DecodingOptions()
    ap.add_argument("--data", type=Path, default=HOOKER)
    ap.add_argument("--model", help="default: the packaged model")
    ap.add_argument("--backend", default="auto", help="default: auto, as inkreader read")
    ap.add_argument("--lm", default=d.lm, help="'none': no LM rows")
    ap.add_argument("--lexicon", default=d.lexicon, help="'none': no word-list rows")
    ap.add_argument("--width", type=int, default=d.beam_width)
    ap.add_argument("--token-beam", type=int, default=d.token_beam)
    ap.add_argument("--threshold", type=float, default=d.beam_threshold)
    ap.add_argument("--tune", action="store_true",
                    help="tune LM weight and blank penalty, then the word list penalty, on val")
    ap.add_argument("--lm-weight", type=float, default=d.lm_weight)
    ap.add_argument("--blank-penalty", type=float, default=d.blank_penalty)
    ap.add_argument("--penalty", type=float, default=d.lexicon_penalty)
    ap.add_argument("--tta", action="store_true", help="also measure reading with --tta")
    ap.add_argument("--lines", type=int, help="only the first N lines of each split (smoke)")
    ap.add_argument("--cache", type=Path,
                    help="keep the val sets' logits in this folder and read them from there "
                    "(the model runs once; delete the folder after changing the model)")
    ap.add_argument("--also-lm", nargs="+", default=[], metavar="LM",
                    help="add the default's row with each of these LMs")
    ap.add_argument("--also-options", nargs="+", default=[], metavar="FIELD=VALUE,...",
                    help="add the default's row with these DecodingOptions fields changed")
    ap.add_argument("--frames", action="store_true",
                    help="only the frame-pruning table on the val sets (--sure-blank values "
                    "of SURE_BLANKS), then stop; the test split is not read")
    ap.add_argument("--sure-blank", type=float, default=d.sure_blank,
                    help="frame pruning of the beam rows (0: none)")
    ap.add_argument("--sweep", action="store_true",
                    help="only the val sets' CER and decoding CPU of every combination of the "
                    "values below, and their Pareto front; the test split is not read")
    ap.add_argument("--widths", type=int, nargs="+", help="beam widths of --sweep")
    ap.add_argument("--token-beams", type=int, nargs="+", help="token beams of --sweep")
    ap.add_argument("--thresholds", type=float, nargs="+", help="beam thresholds of --sweep")
    ap.add_argument("--sure-blanks", type=float, nargs="+",
                    help="sure-blank values of --sweep (0: no frame pruning)")
    ap.add_argument("--lm-weights", type=float, nargs="+", help="LM weights of --sweep")
    ap.add_argument("--blank-penalties", type=float, nargs="+",
                    help="blank penalties of --sweep")
    ap.add_argument("--write-doc", type=Path, help="put the table into this markdown file")
    ap.add_argument("--compare-lms", nargs="+", metavar="LM",
                    help="only compare these LMs on the val split (the beam at --lm-weight "
                    "and --blank-penalty) and stop; the test split is not read")
    args = ap.parse_args()

    options = DecodingOptions(
        beam_width=args.width, token_beam=args.token_beam, beam_threshold=args.threshold,
        lm=None if args.lm == "none" else args.lm, lm_weight=args.lm_weight,
        blank_penalty=args.blank_penalty,
        lexicon=None if args.lexicon == "none" else args.lexicon,
        lexicon_penalty=args.penalty, sure_blank=args.sure_blank or None)
    rec = Recognizer.load(args.model, backend=args.backend, threads=1, decoding=GREEDY)
    if args.compare_lms:
        compare_lms(rec, args, options)
        return
    if args.frames:
        frames_table(rec.charset, options, val_sets(rec, args))
        return
    if args.sweep:
        sweep(rec.charset, options, args, val_sets(rec, args))
        return
    if args.tune:
        sets = val_sets(rec, args)
        options = tune(rec.charset, options, sets)
        print(f"tuned on {' + '.join(str(len(lb)) for _, lb in sets)} val lines: LM weight "
              f"{options.lm_weight}, blank penalty {options.blank_penalty}, word list penalty "
              f"{options.lexicon_penalty}\n")
        val_table(rec.charset, options, args, sets)
    test = split_lines(args.data, "test", args.lines)
    logits, infer = collect_logits(rec, test)
    labels = [t for _, t in test]
    chosen = decoders(rec.charset, options) + extra_rows(rec.charset, options, args.also_lm,
                                                         args.also_options)
    rows = [(name, *measure(dec, logits, labels)) for name, dec in chosen]
    if args.tta:
        tta_rec = Recognizer.load(args.model, backend=args.backend, threads=1,
                                  decoding=GREEDY.with_(tta=True))
        tta_logits, tta_infer = collect_logits(tta_rec, test)
        rows += [(f"--tta, {name}", *measure(dec, tta_logits, labels))
                 for name, dec in [chosen[0], *chosen[2:4]]]
    command = "python bench/decoding.py " + " ".join(sys.argv[1:])
    text = (f"{table(rows, infer)}"
            + (f" With --tta: {1000 * tta_infer:.1f} ms per line." if args.tta else "")
            + f"\n\n{len(test)} Hooker test lines, model "
            f"{args.model or 'default'} ({rec.backend.name}, 1 thread), "
            f"{machine()}, "
            f"{datetime.date.today()}; command: `{command}`")
    print(text)
    if args.write_doc:
        write_doc(args.write_doc, text)


if __name__ == "__main__":
    main()
