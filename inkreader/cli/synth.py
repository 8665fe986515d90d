"""``inkreader synth OUT_DIR --count N``: render synthetic handwriting lines (see docs/synth.md)."""

from __future__ import annotations

import argparse

from tqdm import tqdm

from ..extras import require
from ..synth.fonts import find_fonts
from ..synth.generate import SynthConfig, generate


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder for lines/ and lines.tsv")
    p.add_argument("--count", type=int, required=True, help="number of lines")
    p.add_argument("--seed", type=int, default=0, help="line i of a seed is always the same")
    p.add_argument("--workers", type=int, default=1, help="rendering processes (default 1)")
    p.add_argument("--fonts-dir", action="append", metavar="DIR",
                   help="font folder (repeatable); replaces the default folders: "
                        "$INKREADER_FONTS_DIR, the project's .fonts, the Debian handwriting fonts")
    p.add_argument("--gnhk-words", default=SynthConfig.gnhk_words, metavar="CSV",
                   help="GNHK train word labels (default: %(default)s; skipped if missing)")
    p.add_argument("--lines-tsv", default=SynthConfig.lines_tsv, metavar="TSV",
                   help="line texts, 'train' split only (default: %(default)s; skipped if missing)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="continue the set in OUT_DIR (same seed, fonts and text sources)")
    mode.add_argument("--overwrite", action="store_true",
                      help="delete the set in OUT_DIR and render a new one")


def run(args: argparse.Namespace) -> int:
    require("synth", "synthetic lines")  # fontTools and wordfreq, before any font is read
    fonts = find_fonts(args.fonts_dir)
    config = SynthConfig(seed=args.seed, gnhk_words=args.gnhk_words, lines_tsv=args.lines_tsv)
    mode = "resume" if args.resume else "overwrite" if args.overwrite else "new"
    bars: list[tqdm] = []  # the bar starts with the first line, after the folder checks

    def progress(n: int) -> None:
        if not bars:
            bars.append(tqdm(total=args.count, unit="line", desc="synth"))
        bars[0].update(n)

    try:
        rendered, seconds = generate(args.out_dir, args.count, config, fonts, args.workers,
                                     mode, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    rate = rendered / seconds if seconds > 0 else 0.0
    print(f"{args.out_dir}/lines.tsv: {args.count} lines from {len(fonts)} fonts; rendered "
          f"{rendered} in {seconds:.1f} s ({rate:.1f} lines/s, {args.workers} worker(s))")
    return 0
