"""``inkreader lm build TEXT... --order N --out FILE``: build a character n-gram language model
(interpolated Kneser-Ney, ARPA file; ``.gz`` compresses it) for ``read --lm``; with ``--unit
word`` a word n-gram model (order 3 by default) for ``read --word-lm``; ``inkreader lm mix``
interpolates character models, ``inkreader lm lexicon`` builds a word list.

A TEXT is a .txt file (one line of text a line), a GNHK word CSV (``image_filename,text``), a
line TSV with a ``split`` column (only ``--split``'s lines: never put evaluation text in an
LM you evaluate with), or a text source from a package: ``pkg:wordfreq`` (English words drawn
by frequency), ``pkg:pydoc`` (the prose of Python's language reference), ``deb:fortunes`` and
``deb:gcide`` (quotations from Debian's fortunes and dict-gcide packages; fetch them with
``scripts/install_lm_text.sh``). The shipped ``inkreader/models/english-char-6gram.arpa.gz``
was built with (docs/decoding.md)::

    inkreader lm build ../shared/data/hooker/lines.tsv ../shared/data/gnhk/train_words.csv \\
        --order 6 --min-count 2 --out runs/lm/letters.arpa.gz
    inkreader lm build pkg:wordfreq deb:fortunes deb:gcide --order 6 --min-count 2 \\
        --out runs/lm/english.arpa.gz
    inkreader lm mix runs/lm/letters.arpa.gz runs/lm/english.arpa.gz --weights 0.4 0.6 \\
        --out inkreader/models/english-char-6gram.arpa.gz
"""

from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True,
                           help="build, mix or lexicon")
    b = sub.add_parser("build", help="build a character (or word) n-gram LM from text",
                       description=__doc__.split("\n\n")[0])
    b.add_argument("texts", nargs="+", metavar="TEXT",
                   help="text files (.txt, GNHK .csv, line .tsv), pkg:wordfreq, pkg:pydoc, "
                   "deb:fortunes, deb:gcide, or words:FILE (a word list's words; "
                   "words:default the shipped one)")
    b.add_argument("--order", type=int, help="n-gram order (default 6 for characters, 3 for "
                   "words)")
    b.add_argument("--unit", choices=("char", "word"), default="char",
                   help="what the model predicts: characters (for --lm, the default) or words "
                   "(lower-cased words, digits and punctuation marks; for --word-lm)")
    b.add_argument("--out", required=True, help="output ARPA file (.arpa or .arpa.gz)")
    b.add_argument("--split", default="train",
                   help="the split of .tsv line files to use (default train)")
    b.add_argument("--min-count", type=int, default=2,
                   help="drop n-grams of order >= 3 seen fewer times (default 2; 1 keeps all)")
    b.add_argument("--eval", metavar="TEXT", help="held-out text (same forms as TEXT; a .tsv "
                   "reads its val split) to report the per-character perplexity on")
    b.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    m = sub.add_parser("mix", help="interpolate character LMs into one",
                       description="Statically interpolate character LMs (ARPA files) into "
                       "one: P = sum of w_i P_i over every n-gram any of them stores, back-off "
                       "weights recomputed (SRILM's ngram -mix-lm). Joins a small in-domain "
                       "model with a large general one; tune the weights on held-out text "
                       "with --eval.")
    m.add_argument("models", nargs="+", metavar="LM",
                   help="ARPA files ('default': the shipped one)")
    m.add_argument("--weights", type=float, nargs="+", required=True,
                   help="one weight per LM (normalised to sum to one)")
    m.add_argument("--out", required=True, help="output ARPA file (.arpa or .arpa.gz)")
    m.add_argument("--eval", metavar="TEXT", help="held-out text to report the per-character "
                   "perplexity of each LM and of the mixture on")
    m.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    x = sub.add_parser("lexicon", help="build a word list for --lexicon",
                       description="Build a word list for the beam search's --lexicon: the words "
                       "of TEXT (lower-cased runs of letters and apostrophes) seen at least "
                       "--min-count times, plus the --top-words most frequent English words "
                       "of the wordfreq package.")
    x.add_argument("texts", nargs="*", metavar="TEXT",
                   help="text files (.txt, GNHK .csv, line .tsv) as for 'lm build'")
    x.add_argument("--top-words", type=int, default=0, metavar="N",
                   help="add wordfreq's N most frequent English words (default 0)")
    x.add_argument("--min-count", type=int, default=1,
                   help="keep a word of TEXT seen at least this often (default 1)")
    x.add_argument("--split", default="train",
                   help="the split of .tsv line files to use (default train)")
    x.add_argument("--out", required=True, help="output word list (.txt or .txt.gz)")
    x.add_argument("--force", action="store_true", help="overwrite --out if it exists")


def run(args) -> int:
    from ..charset import Charset
    from ..decode.lm import LMError
    from ..lmbuild.estimate import build_lm
    from ..synth.text import clean_lines, load_text

    out = Path(args.out)
    if out.exists() and not args.force:
        raise LMError(f"{out}: already exists (use --force to overwrite)")
    if args.action == "lexicon":
        return build_lexicon(args, out)
    if args.action == "mix":
        return mix(args, out)
    if args.split in ("val", "test"):
        print(f"inkreader lm: warning: building from the {args.split} split: do not evaluate "
              "with this model on that split", file=sys.stderr)
    charset = Charset.gnhk()
    lines: list[str] = []
    for spec in args.texts:
        got, dropped = clean_lines(load_text(spec, args.split), charset)
        print(f"{spec}: {len(got)} lines, {sum(map(len, got))} characters"
              + (f" ({dropped} lines with characters outside the charset left out)"
                 if dropped else ""), file=sys.stderr)
        lines += got
    order = args.order or (3 if args.unit == "word" else 6)
    # a word model knows every charset symbol as a one-character token (digits, punctuation,
    # single letters), as a character model knows every symbol
    vocab = {s.lower() for s in charset.symbols if s != " "} if args.unit == "word" \
        else charset.symbols
    lm = build_lm(lines, order, vocab, args.min_count, args.unit)
    out.parent.mkdir(parents=True, exist_ok=True)
    lm.save(out)
    print(f"wrote {out}: order {lm.order}, {len(lm.prob)} n-grams, "
          f"{out.stat().st_size / 1e6:.2f} MB")
    if args.eval:
        report_perplexity(args.eval, {"": lm})
    return 0


def report_perplexity(spec: str, models: dict) -> None:
    from ..charset import Charset
    from ..lmbuild.arpa import perplexity
    from ..synth.text import clean_lines, load_text

    held, _ = clean_lines(load_text(spec, "val"), Charset.gnhk())
    for name, lm in models.items():
        unit = "word" if lm.words else "character"
        print(f"perplexity{' of ' + name if name else ''} on {spec}: "
              f"{perplexity(lm, held):.3f} per {unit} ({len(held)} lines)")


def mix(args, out: Path) -> int:
    from ..decode.lm import LMError, resolve_lm_path
    from ..lmbuild.arpa import CharLM
    from ..lmbuild.estimate import mix_lms

    if len(args.weights) != len(args.models):
        raise LMError(f"{len(args.models)} LMs but {len(args.weights)} --weights")
    models = [CharLM.load(resolve_lm_path(spec)) for spec in args.models]
    lm = mix_lms(models, args.weights)
    out.parent.mkdir(parents=True, exist_ok=True)
    lm.save(out)
    print(f"wrote {out}: order {lm.order}, {len(lm.prob)} n-grams, "
          f"{out.stat().st_size / 1e6:.2f} MB")
    if args.eval:
        named = dict(zip(args.models, models, strict=True))
        report_perplexity(args.eval, {**named, "the mixture": lm})
    return 0


def build_lexicon(args, out: Path) -> int:
    from ..decode.lexicon import Lexicon, frequent_english_words, text_words
    from ..decode.lm import LMError
    from ..synth.text import load_text

    if not args.texts and args.top_words <= 0:
        raise LMError("a lexicon needs TEXT files, --top-words N, or both")
    if args.split in ("val", "test"):
        print(f"inkreader lm: warning: building from the {args.split} split: do not evaluate "
              "with this lexicon on that split", file=sys.stderr)
    words: set[str] = set()
    for spec in args.texts:
        counts = text_words(load_text(spec, args.split))
        kept = {w for w, n in counts.items() if n >= args.min_count}
        print(f"{spec}: {len(kept)} words", file=sys.stderr)
        words |= kept
    if args.top_words > 0:
        common = frequent_english_words(args.top_words)
        print(f"wordfreq: {len(common)} of its {args.top_words} most frequent English words",
              file=sys.stderr)
        words |= set(common)
    lexicon = Lexicon(words)
    out.parent.mkdir(parents=True, exist_ok=True)
    lexicon.save(out)
    print(f"wrote {out}: {len(lexicon)} words, {out.stat().st_size / 1e3:.0f} kB")
    return 0
