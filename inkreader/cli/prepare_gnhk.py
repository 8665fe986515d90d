"""``inkreader prepare-gnhk PAGES_DIR OUT_DIR [--split test|train]``: GNHK pages -> the
reference's binarised line images and ``<split>_img_id_gt.txt``."""

from __future__ import annotations

import argparse
import sys

from ..errors import InkreaderError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pages_dir", metavar="PAGES_DIR",
                   help="GNHK pages (eng_*.jpg + .json), or a folder holding <split>/")
    p.add_argument("out_dir", metavar="OUT_DIR", help="new or empty folder for the line images")
    p.add_argument("--split", default="test", choices=("test", "train"),
                   help="names the gt file <split>_img_id_gt.txt (default: test)")
    p.add_argument("--jobs", type=int, default=1,
                   help="pages binarised in parallel processes (default: 1)")
    p.add_argument("--overwrite", action="store_true",
                   help="allow a non-empty OUT_DIR and replace files of the same names")


def run(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise InkreaderError(f"--jobs must be 1 or more, got {args.jobs}")
    from tqdm import tqdm

    from ..data.gnhk import gt_name, prepare_gnhk

    def on_skip(page: str, reason: str) -> None:
        # tqdm.write keeps the progress bar intact
        tqdm.write(f"inkreader prepare-gnhk: error: {reason} (page {page} skipped)",
                   file=sys.stderr)

    s = prepare_gnhk(args.pages_dir, args.out_dir, split=args.split, overwrite=args.overwrite,
                     jobs=args.jobs, on_skip=on_skip)
    print(f"pages: {s.pages} found, {s.pages_done} done, {len(s.skipped_pages)} skipped")
    print(f"lines kept: {s.lines_kept} ({s.chars} characters) -> "
          f"{args.out_dir}/{gt_name(args.split)}")
    print(f"lines excluded: {len(s.too_wide)} too wide (> 2000 px at height 96), "
          f"{len(s.all_filtered)} with every word filtered (%math%, %SC%, %NA%, printed)")
    if s.outside_charset:
        chars = ", ".join(f"{c!r} x{n}" for c, n in s.outside_charset.most_common())
        print(f"characters outside the charset: {sum(s.outside_charset.values())} ({chars})")
    else:
        print("characters outside the charset: 0")
    print(f"summary: {args.out_dir}/{args.split}_summary.json")
    return 1 if s.skipped_pages else 0
