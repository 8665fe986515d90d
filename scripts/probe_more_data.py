"""Write the line lists of the data probe (configs/probe-more-data.toml; docs/training.md,
"What more lines of this hand buy"): the Hooker val split's letters, sorted by name, taken
alternately into half A and half B, then

    OUT/train-plus-valA.tsv  the train split and half A's lines, all as split "train"
    OUT/train-plus-valB.tsv  the same with half B's lines
    OUT/valA.tsv, OUT/valB.tsv  each half's lines, as split "val"

with absolute image paths, in the columns of ../shared/data/hooker/lines.tsv. Usage:

    .venv/bin/python scripts/probe_more_data.py runs/probe-more-data

A model trained on these lists has trained on val lines: it is a probe, never shipped, and it
never reads the test split. An existing output folder is refused.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HOOKER = Path("../shared/data/hooker")


def letter(file: str) -> str:
    """lines/JDH_2_16_40a_003__r1l26.jpg -> JDH_2_16_40a (the letter; a page adds _003)."""
    return "_".join(Path(file).stem.split("_")[:4])


def write(path: Path, rows: list[dict], split: str, columns: list[str]) -> None:
    root = HOOKER.resolve()
    with path.open("w", encoding="utf-8") as f:
        f.write("\t".join(columns) + "\n")
        for r in rows:
            r = {**r, "file": str(root / r["file"]), "split": split}
            f.write("\t".join(r[c] for c in columns) + "\n")


def main(out: Path) -> None:
    if out.exists():
        sys.exit(f"{out}: already exists; choose a new folder")
    with (HOOKER / "lines.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    columns = list(rows[0])
    val = [r for r in rows if r["split"] == "val"]
    letters = sorted({letter(r["file"]) for r in val})
    half_a = set(letters[0::2])
    a = [r for r in val if letter(r["file"]) in half_a]
    b = [r for r in val if letter(r["file"]) not in half_a]
    out.mkdir(parents=True)
    train = [r for r in rows if r["split"] == "train"]
    write(out / "train-plus-valA.tsv", train + a, "train", columns)
    write(out / "train-plus-valB.tsv", train + b, "train", columns)
    write(out / "valA.tsv", a, "val", columns)
    write(out / "valB.tsv", b, "val", columns)
    print(f"half A: {len(half_a)} letters, {len(a)} lines; half B: "
          f"{len(letters) - len(half_a)} letters, {len(b)} lines -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
