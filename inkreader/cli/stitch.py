"""``inkreader stitch OUT_DIR --count N``: new lines from the words of real training lines, cut
at the model's forced alignment (see inkreader/synth/stitch.py and docs/training.md)."""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

from tqdm import tqdm

from ..errors import DatasetError
from ..paths import resolve_model_path
from ..synth.stitch import build_bank, write_lines
from ..train.config import DataSource
from ..train.data import source_samples


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder for lines/, lines.tsv, stitch.json")
    p.add_argument("--count", type=int, required=True, help="number of lines")
    p.add_argument("--from", dest="source", required=True, metavar="DATA",
                   help="the labelled lines to cut (TSV, gt file, PAGE-XML folder, ...)")
    p.add_argument("--split", help="only this split of DATA (train: never an evaluation split)")
    p.add_argument("--exclude", metavar="FILE", help="line ids or page names to leave out")
    p.add_argument("--model", default="default", help="checkpoint that aligns the labels")
    p.add_argument("--max-cer", type=float, default=0.2,
                   help="cut only lines the model reads at this greedy CER or better "
                        "(default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="line i of a seed is always the same")
    p.add_argument("--overwrite", action="store_true", help="replace the set in OUT_DIR")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..model import load_checkpoint

    out = Path(args.out_dir)
    if args.count < 1:
        raise DatasetError(f"--count must be at least 1, got {args.count}")
    if not 0 <= args.max_cer <= 1:
        raise DatasetError(f"--max-cer must be between 0 and 1, got {args.max_cer}")
    if out.exists() and any(out.iterdir()):
        if not args.overwrite:
            raise DatasetError(f"{out}: not empty; add --overwrite to replace the set in it")
        if not (out / "stitch.json").exists():
            raise DatasetError(f"{out}: not a stitched set (no stitch.json); not deleting it")
        shutil.rmtree(out)
    samples = source_samples(DataSource(args.source, args.split, exclude=args.exclude))
    path = resolve_model_path(args.model)
    model, charset, _ = load_checkpoint(path)
    model.eval().float()

    def log_posteriors(img):
        with torch.inference_mode():
            x = torch.from_numpy(img).float()[None, None]
            return model(x)[:, 0].log_softmax(-1).numpy()

    with tqdm(total=len(samples), unit="line", desc="cut") as bar:
        bank = build_bank(samples, log_posteriors, charset, model.config.stride, args.max_cer,
                          progress=bar.update)
    meta = {"source": str(args.source), "split": args.split, "exclude": args.exclude,
            "model": str(path), "model_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "max_cer": args.max_cer, "seed": args.seed, "count": args.count,
            "lines_cut": bank.lines_used, "lines_skipped": bank.lines_skipped,
            "words": len(bank.words), "pages": len(bank.pages())}
    with tqdm(total=args.count, unit="line", desc="stitch") as bar:
        write_lines(bank, out, args.count, args.seed, meta, progress=bar.update)
    print(f"{out}/lines.tsv: {args.count} lines from {len(bank.words)} words of "
          f"{bank.lines_used} lines on {len(bank.pages())} pages ({bank.lines_skipped} lines "
          f"not cut: read above --max-cer {args.max_cer} or not alignable)")
    return 0
