"""The word-level decoder (flashlight's ``LexiconDecoder`` + a word n-gram LM, ``--word-lm``)
against the default decoding (the character LM + word list) on the same logits: CER, WER and
decoding CPU time per line on the Hooker val split and the IAM-OnDB val lines.

The model runs once per line (through the Recognizer, one line at a time, as ``inkreader read``
reads it); its logits are kept in ``--cache`` (default ``runs/wordlm/``, keyed by the dataset
and the model file's size and time) so that every decoder and every setting reads the same
ones. ``--tune`` chooses the word decoder's LM weight, word score and unknown-prefix score on
the Hooker val split ONLY (a small grid, lowest CER), then both val sets are read with the
default decoding and the word decoder at what it chose. Only the decoders' own CPU time counts.
Run from the repository root on a core of its own:

    taskset -c 1 .venv/bin/python bench/words.py \
        --word-lm runs/wordlm/english-words-3gram.arpa.gz --designs 300 --tune
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import itertools
import math
import sys
import time
from pathlib import Path

import numpy as np
from decoding import machine, measure

from inkreader.data.pagexml import PageImages, line_image
from inkreader.decode.defaults import (
    DEFAULT_UNK_SCORE,
    DEFAULT_WORD_LM_WEIGHT,
    DEFAULT_WORD_SCORE,
)
from inkreader.decode.greedy import GreedyDecoder
from inkreader.decode.options import GREEDY, DecodingOptions
from inkreader.evaluation.evaluate import load_lines
from inkreader.paths import resolve_model_path
from inkreader.runtime.recognizer import Recognizer

SETS = {"Hooker val": ("../shared/data/hooker/lines.tsv", "val"),
        "IAM-OnDB val": ("../shared/data/iam-ondb", "val")}
WEIGHTS = (0.25, 0.5, 0.75)
WORD_SCORES = (0.0, 1.0, 2.0)
UNK_SCORES = (-math.inf, -5.0, -2.0, 0.0)
# the word ends of the trie tried by --designs: none (a word may touch the next one), a space
# only, a space or punctuation (defaults.WORD_ENDS)
DESIGNS = ("", " ", " ,.-;:")


class _Capture:
    """A decoder that keeps the logits it is given (and reads them greedily)."""

    def __init__(self, charset):
        self.greedy = GreedyDecoder(charset)
        self.logits: np.ndarray | None = None

    def decode(self, logits):
        self.logits = np.array(logits, dtype=np.float32)
        return self.greedy.decode(logits)


def set_logits(rec: Recognizer, name: str, model: str | None, cache: Path,
               limit: int | None) -> tuple[list, list[str]]:
    """(logits of each line, None when unreadable; labels) of a val set, read one line at a
    time, cached in ``cache``."""
    data, split = SETS[name]
    samples, _ = load_lines(data, split)
    samples = samples[:limit]
    labels = [s.text for s in samples]
    weights = resolve_model_path(model)
    stamp = f"{weights}|{weights.stat().st_size}|{weights.stat().st_mtime_ns}"
    key = hashlib.sha1(f"{data}|{split}|{len(samples)}|{stamp}".encode()).hexdigest()[:12]
    path = cache / f"logits-{name.replace(' ', '-')}-{key}.npz"
    if path.is_file():
        with np.load(path) as f:
            kept = set(f.files)
            return [f[k] if (k := str(i)) in kept else None for i in range(len(samples))], labels
    capture = _Capture(rec.charset)
    saved, rec.decoder = rec.decoder, capture
    out, pages = [], PageImages()
    for sample in samples:
        capture.logits = None
        line = rec.read_arrays([line_image(sample, pages)], [str(sample.path)])[0]
        if line.error is not None:
            print(f"warning: {line.error}", file=sys.stderr)
        out.append(capture.logits)
    rec.decoder = saved
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{str(i): x for i, x in enumerate(out) if x is not None})
    return out, labels


def tune(charset, base: DecodingOptions, logits: list, labels: list[str]) -> DecodingOptions:
    """The grid on Hooker val: LM weight x word score at unk score -inf, then the unk score."""
    print("| word LM weight | word score | unk score | val CER % | val WER % |\n"
          "|---|---|---|---|---|")
    best = None

    def run(opts):
        nonlocal best
        rates, _ = measure(opts.decoder(charset), logits, labels)
        print(f"| {opts.word_lm_weight} | {opts.word_score} | {opts.unk_score} | "
              f"{100 * rates.cer:.2f} | {100 * rates.wer:.2f} |", flush=True)
        if best is None or (rates.cer, rates.wer) < best[0]:
            best = ((rates.cer, rates.wer), opts)

    for w, s in itertools.product(WEIGHTS, WORD_SCORES):
        run(base.with_(word_lm_weight=w, word_score=s, unk_score=-math.inf))
    chosen = best[1]
    for u in UNK_SCORES[1:]:
        run(chosen.with_(unk_score=u))
    return best[1]


def designs(charset, args, logits: list, labels: list[str]) -> None:
    """Val CER of each trie design (word ends, with and without one-letter words) at its best
    LM weight x word score of the small grid, on the first lines of Hooker val."""
    from inkreader.decode.lexicon import Lexicon
    from inkreader.decode.words import WordDecoder, WordModel

    lexicon = Lexicon.load(args.lexicon)
    print("| word ends | one-letter words | spellings | best weight, word score | val CER % | "
          "ms / line |\n|---|---|---|---|---|---|")
    for ends, letters in itertools.product(DESIGNS, (True, False)):
        model = WordModel(args.word_lm, lexicon, charset, letters, ends)
        best = None
        for w, s in itertools.product(WEIGHTS, WORD_SCORES):
            rates, seconds = measure(WordDecoder(charset, model, lm_weight=w, word_score=s,
                                                 unk_score=-math.inf),
                                     logits, labels)
            if best is None or rates.cer < best[0]:
                best = (rates.cer, seconds, w, s)
        cer, seconds, w, s = best
        print(f"| {ends!r} | {'yes' if letters else 'no'} | {model.spellings:,} | {w}, {s} | "
              f"{100 * cer:.2f} | {1000 * seconds:.1f} |", flush=True)
    print()


def measure_rows(charset, rows: list, data: dict, results: dict) -> None:
    """Build each row's decoder (its set-up time printed) and measure it on every set."""
    for label, opts in rows:
        t0 = time.perf_counter()
        decoder = opts.decoder(charset)
        print(f"{label}: set-up {time.perf_counter() - t0:.1f} s", flush=True)
        for name, (logits, labels) in data.items():
            rates, seconds = measure(decoder, logits, labels)
            results[name].append(f"{label} | {100 * rates.cer:.2f} | {100 * rates.wer:.2f} | "
                                 f"{1000 * seconds:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--word-lm", required=True, help="the word LM (inkreader lm build --unit word)")
    ap.add_argument("--lexicon", default="default", help="the word list (default: the shipped one)")
    ap.add_argument("--model", help="default: the packaged model")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--cache", type=Path, default=Path("runs/wordlm"))
    ap.add_argument("--tune", action="store_true", help="tune on Hooker val first")
    ap.add_argument("--word-lm-weight", type=float, default=DEFAULT_WORD_LM_WEIGHT)
    ap.add_argument("--word-score", type=float, default=DEFAULT_WORD_SCORE)
    ap.add_argument("--unk-score", type=float, default=DEFAULT_UNK_SCORE)
    ap.add_argument("--no-letters", action="store_true",
                    help="also read without the one-letter words (no spelling outside the list)")
    ap.add_argument("--lines", type=int, help="only the first N lines of each set (smoke)")
    ap.add_argument("--designs", type=int, metavar="N",
                    help="first compare the trie designs on the first N Hooker val lines")
    args = ap.parse_args()

    rec = Recognizer.load(args.model, backend=args.backend, threads=1, decoding=GREEDY)
    cs = rec.charset
    data = {name: set_logits(rec, name, args.model, args.cache, args.lines) for name in SETS}
    # The default is measured before any word model is built: in a process holding the word
    # search's trie the character search ran about 3 times slower (CPU time; not understood,
    # perhaps the allocator), and a user runs one or the other.
    results = {name: [] for name in SETS}
    measure_rows(cs, [("default (char LM + word list)", DecodingOptions())], data, results)
    words = DecodingOptions(word_lm=args.word_lm, lexicon=args.lexicon,
                            word_lm_weight=args.word_lm_weight, word_score=args.word_score,
                            unk_score=args.unk_score)
    if args.designs:
        logits, labels = data["Hooker val"]
        designs(cs, args, logits[:args.designs], labels[:args.designs])
    if args.tune:
        words = tune(cs, words, *data["Hooker val"])
        print(f"\nchosen on Hooker val: {words.describe()}\n")
    rows = [(f"words (weight {words.word_lm_weight}, word score {words.word_score}, unk score "
             f"{words.unk_score})", words)]
    if args.no_letters:
        rows.append(("the same without one-letter words", words.with_(word_letters=False)))
    measure_rows(cs, rows, data, results)
    print("\n| set | decoder | CER % | WER % | decoding CPU ms / line |\n|---|---|---|---|---|")
    for name, lines in results.items():
        print("\n".join(f"| {name} | {line} |" for line in lines))
    print(f"\n{machine()}, {datetime.date.today()}; model {args.model or 'default'} "
          f"({rec.backend.name}, 1 thread); command: `python bench/words.py "
          f"{' '.join(sys.argv[1:])}`")


if __name__ == "__main__":
    main()
