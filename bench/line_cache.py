"""How long ``inkreader train`` takes to prepare a source's lines, and to read them back from
its line cache (``cache`` in the train config): the Hooker train split as stage 23 reads it
(deslant, x_scale 1.2, the shipped exclude list), prepared once into a fresh cache folder and
then loaded again from it.

    .venv/bin/python bench/line_cache.py [--split train] [--limit N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from inkreader.charset import Charset
from inkreader.preprocess import Reading
from inkreader.trainconfig import DataSource, TrainConfig
from inkreader.traindata import load_source


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="train")
    p.add_argument("--limit", type=int, help="only the first N lines")
    args = p.parse_args()
    source = DataSource("../shared/data/hooker/lines.tsv", split=args.split, limit=args.limit,
                        exclude="configs/hooker-train-exclude.txt")
    reading = Reading(x_scale=1.2, deslant=True)
    with tempfile.TemporaryDirectory() as cache:
        for what in ("prepared", "read from the cache"):
            start = time.perf_counter()
            lines = load_source(source, Charset.gnhk(), 96, TrainConfig.max_width, False,
                                reading=reading, cache=cache)
            print(f"{len(lines.ids)} lines {what} in {time.perf_counter() - start:.1f} s")
        size = sum(f.stat().st_size for f in Path(cache).iterdir())
        print(f"cache: {size / 1e6:.0f} MB, {size / len(lines.ids) / 1e3:.0f} KB a line")


if __name__ == "__main__":
    main()
