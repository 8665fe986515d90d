"""``inkreader strokes FOLDER``: draw the lines of a folder of pen strokes (IAM-OnDB's form:
strokes.npz + lines.tsv) as line images, into a dataset folder any OCR engine can read
(``--out``), or as a sample sheet of the same lines under several renderings (``--sheet``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InkreaderError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="FOLDER", help="folder of pen strokes (strokes.npz and "
                                                     "lines.tsv: id, split, form, text)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", metavar="DIR", help="new folder for lines/*.png and lines.tsv "
                                                  "(file, split, page, text)")
    out.add_argument("--sheet", metavar="PNG", help="new PNG: each of the first --limit lines "
                                                    "plain, then under --renderings varied "
                                                    "renderings")
    p.add_argument("--split", help="only the lines of this split")
    p.add_argument("--pen", default="plain", choices=("plain", "varied"),
                   help="pen style of --out (default: plain, the validation rendering)")
    p.add_argument("--renderings", type=int, default=1, metavar="K",
                   help="renderings of every line (varied pen; default 1)")
    p.add_argument("--seed", type=int, default=0, help="rendering k of a line under a seed is "
                                                       "always the same")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N lines (--sheet: "
                                                          "default 3)")


def run(args: argparse.Namespace) -> int:
    import cv2
    from tqdm import tqdm

    from ..data.datasets import load_dataset
    from ..data.pen import render_line, sample_sheet

    if args.renderings < 1 or (args.limit is not None and args.limit < 1):
        raise InkreaderError("--renderings and --limit must be 1 or more")
    target = Path(args.out or args.sheet)
    if target.exists():
        raise InkreaderError(f"{target}: exists; choose a new name (never overwritten)")
    samples = load_dataset(args.folder, args.split)
    if args.sheet:
        ids = [s.id for s in samples[: args.limit or 3]]
        sheet = sample_sheet(args.folder, ids, args.renderings, args.seed)
        if not cv2.imwrite(str(target), sheet):
            raise InkreaderError(f"{target}: cannot write the PNG")
        print(f"{target}: {len(ids)} lines, plain and {args.renderings} varied renderings each")
        return 0
    samples = samples[: args.limit] if args.limit else samples
    renderings = args.renderings if args.pen == "varied" else 1
    lines_dir = target / "lines"
    lines_dir.mkdir(parents=True)
    rows = []
    for s in tqdm(samples, desc="strokes", unit="line"):
        for k in range(renderings):
            name = f"{s.id}.png" if renderings == 1 else f"{s.id}-{k}.png"
            img = render_line(args.folder, s.id, args.pen, args.seed, k)
            if not cv2.imwrite(str(lines_dir / name), img):
                raise InkreaderError(f"{lines_dir / name}: cannot write the line image")
            rows.append(f"lines/{name}\t{s.split or ''}\t{s.page or ''}\t{s.text}")
    tmp = target / "lines.tsv.partial"
    tmp.write_text("file\tsplit\tpage\ttext\n" + "\n".join(rows) + "\n", encoding="utf-8")
    tmp.replace(target / "lines.tsv")
    print(f"{target}/lines.tsv: {len(rows)} line images ({args.pen} pen)")
    return 0
