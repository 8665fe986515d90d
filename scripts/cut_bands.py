"""Copy a line set (a folder with lines.tsv) with every line cut to its ink band.

Stage 21 trained on such copies (runs/band/) before ``band = true`` existed in the train
config; ``inkreader.preprocess.crop_to_band`` is what both apply, so a model trained on the
copies reads with ``band`` exactly as it trained. Usage:

    .venv/bin/python scripts/cut_bands.py ../shared/data/hooker runs/band/hooker
    .venv/bin/python scripts/cut_bands.py runs/stitch-v6 runs/band/stitch-v6
    .venv/bin/python scripts/cut_bands.py runs/synth-v4 runs/band/synth-v4

The copies are PNG (lossless; the originals are decoded once), named as the originals with
.png, the other columns of lines.tsv unchanged. An existing output folder is refused.
"""

from __future__ import annotations

import sys
from multiprocessing import Pool
from pathlib import Path

import cv2

from inkreader.preprocess import crop_to_band, read_gray

SRC, DST = (Path(a) for a in sys.argv[1:3]) if len(sys.argv) == 3 else (None, None)


def cut(row: str) -> str:
    name, rest = row.split("\t", 1)
    out = Path(name).with_suffix(".png")
    (DST / out).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(DST / out), crop_to_band(read_gray(SRC / name))):
        raise OSError(f"{DST / out}: not written")
    return f"{out.as_posix()}\t{rest}\n"


def main() -> int:
    if SRC is None:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    if DST.exists():
        print(f"{DST}: already exists", file=sys.stderr)
        return 1
    header, *rows = (SRC / "lines.tsv").read_text(encoding="utf-8").splitlines()
    DST.mkdir(parents=True)
    with Pool() as pool:
        lines = pool.map(cut, rows, chunksize=200)
    (DST / "lines.tsv").write_text(header + "\n" + "".join(lines), encoding="utf-8")
    print(f"{DST}: {len(lines)} lines cut to their ink band")
    return 0


if __name__ == "__main__":
    sys.exit(main())
