"""BatchNorm statistics re-estimated on a Hooker split's own lines (AdaBN, Li et al. 2016):
the five BatchNorm layers' running means and variances are replaced by the plain average of
each line's batch statistics over every line of ``--split``, read as the model reads them
(one line a batch, so padding is the reader's own tail margin), and the result is written as a
new checkpoint to evaluate like any other. If the val and test letters differed from the
training mixture in ink, paper or scale, statistics of the real lines would read them better.
Measured in session 27 (docs/training.md, "BatchNorm statistics of the real lines"): they do
not.

    .venv/bin/python bench/adabn.py --split train --out runs/ship-bn-train.pt
    .venv/bin/inkreader evaluate ../shared/data/hooker/lines.tsv --split val \
        --model runs/ship-bn-train.pt --report B.tsv

``--split val`` adapts to the evaluated lines themselves (test-time adaptation, unlabelled):
measure it on val only, never on test. An existing ``--out`` is refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from tta import HOOKER, read_split  # bench/tta.py, beside this script

from inkreader.model import load_checkpoint, save_checkpoint
from inkreader.paths import resolve_model_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HOOKER)
    ap.add_argument("--split", default="train")
    ap.add_argument("--model", help="default: the packaged model")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.split == "test":
        raise SystemExit("adapt on train or val, not on test")
    if args.out.exists():
        raise SystemExit(f"{args.out}: already exists; choose a new file")
    torch.set_num_threads(2)
    model, charset, meta = load_checkpoint(resolve_model_path(args.model))
    _, lines = read_split(args.data, args.split, model.config.reading)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average over the lines
        bn.train()
    with torch.inference_mode():
        for line in lines:
            x = torch.from_numpy(line.pixels[None, None].astype("float32"))
            model.cnn((x - 127.5) / 127.5)  # as HandwritingRecognizer.forward normalises
    model.eval()
    meta = {**meta, "adabn": f"BatchNorm statistics of the Hooker {args.split} lines"}
    save_checkpoint(args.out, model, charset, meta=meta)
    print(f"{len(norms)} BatchNorm layers re-estimated on {len(lines)} {args.split} lines "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
