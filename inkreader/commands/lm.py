"""``inkreader lm build TEXT... --order N --out FILE``: build a character n-gram language model
(interpolated Kneser-Ney, ARPA file; ``.gz`` compresses it) for ``read --lm``.

A TEXT is a .txt file (one line of text a line), a GNHK word CSV (``image_filename,text``), a
line TSV with a ``split`` column (only ``--split``'s lines: never put evaluation text in an
LM you evaluate with), or a text source shipped in a package: ``pkg:wordfreq`` (English
words drawn by frequency) or ``pkg:pydoc`` (the prose of Python's language reference).
The shipped ``inkreader/models/english-char-6gram.arpa.gz`` was built with::

    inkreader lm build ../shared/data/hooker/lines.tsv ../shared/data/gnhk/train_words.csv \\
        pkg:wordfreq --order 6 --min-count 2 --out inkreader/models/english-char-6gram.arpa.gz
"""

from __future__ import annotations

import math
import sys
from pathlib import Path


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build a character n-gram LM from text",
                       description=__doc__.split("\n\n")[0])
    b.add_argument("texts", nargs="+", metavar="TEXT",
                   help="text files (.txt, GNHK .csv, line .tsv) or pkg:wordfreq / pkg:pydoc")
    b.add_argument("--order", type=int, default=6, help="n-gram order (default 6)")
    b.add_argument("--out", required=True, help="output ARPA file (.arpa or .arpa.gz)")
    b.add_argument("--split", default="train",
                   help="the split of .tsv line files to use (default train)")
    b.add_argument("--min-count", type=int, default=2,
                   help="drop n-grams of order >= 3 seen fewer times (default 2; 1 keeps all)")
    b.add_argument("--eval", metavar="TEXT", help="held-out text (same forms as TEXT; a .tsv "
                   "reads its val split) to report the per-character perplexity on")
    b.add_argument("--force", action="store_true", help="overwrite --out if it exists")
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
    from ..lm import LMError, build_lm, clean_lines, load_text

    out = Path(args.out)
    if out.exists() and not args.force:
        raise LMError(f"{out}: already exists (use --force to overwrite)")
    if args.action == "lexicon":
        return build_lexicon(args, out)
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
    lm = build_lm(lines, args.order, charset.symbols, args.min_count)
    out.parent.mkdir(parents=True, exist_ok=True)
    lm.save(out)
    print(f"wrote {out}: order {lm.order}, {len(lm.prob)} n-grams, "
          f"{out.stat().st_size / 1e6:.2f} MB")
    if args.eval:
        held, _ = clean_lines(load_text(args.eval, "val"), charset)
        total = sum(lm.text_logprob(t) for t in held)
        chars = sum(len(t) + 1 for t in held)  # + the end of each line
        print(f"perplexity on {args.eval}: {math.exp(-total / max(1, chars)):.3f} per "
              f"character ({len(held)} lines)")
    return 0


def build_lexicon(args, out: Path) -> int:
    from ..lexicon import Lexicon, frequent_english_words, text_words
    from ..lm import LMError, load_text

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
