"""``inkreader average CKPT... --out FILE [--bn-data DATASET]``: average checkpoints' weights
(e.g. the ``epochs/`` snapshots a run keeps with ``keep_epochs = true``) into one model;
``--bn-data`` re-estimates its BatchNorm statistics on that dataset's training lines."""

from __future__ import annotations

from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("checkpoints", nargs="+", type=Path, metavar="CKPT",
                   help=".pt model checkpoints of one architecture (best.pt, epochs/*.pt)")
    p.add_argument("--out", required=True, type=Path, help="the averaged checkpoint (.pt)")
    p.add_argument("--bn-data", metavar="DATASET",
                   help="re-estimate BatchNorm statistics on this line dataset (gt file, TSV "
                   "or page folder), unaugmented")
    p.add_argument("--bn-split", default="train",
                   help="--bn-data: its split (default train; 'test' is refused)")
    p.add_argument("--bn-lines", type=int, default=2000,
                   help="--bn-data: at most this many lines, spread over the split (default "
                   "2000)")
    p.add_argument("--half", action="store_true",
                   help="store the weights as float16 (as the packaged model)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")


def run(args) -> int:
    from ..data.datasets import FORBIDDEN_SPLITS
    from ..errors import DatasetError, ModelError
    from ..model import save_checkpoint
    from ..train.average import average_checkpoints, recompute_batchnorm
    from ..train.config import DataSource, TrainConfig
    from ..train.data import load_source

    if args.out.exists() and not args.force:
        raise ModelError(f"{args.out}: already exists (use --force to overwrite)")
    if args.out.suffix != ".pt":
        raise ModelError(f"{args.out}: the averaged model is a .pt checkpoint")
    if args.bn_data and args.bn_split in FORBIDDEN_SPLITS:
        raise DatasetError(f"{args.bn_data}: re-estimating BatchNorm on the {args.bn_split!r} "
                           "split would tune the model on the lines it is measured on")
    if args.bn_lines < 1:
        raise DatasetError(f"--bn-lines must be at least 1, got {args.bn_lines}")
    model, charset, meta = average_checkpoints(args.checkpoints)
    if args.bn_data:
        source = DataSource(args.bn_data, split=args.bn_split, augment=False)
        lines = load_source(source, charset, model.config.height, TrainConfig.max_width,
                            spread=args.bn_lines, reading=model.config.reading)
        used = recompute_batchnorm(model, lines)
        meta["batchnorm"] = {"data": args.bn_data, "split": args.bn_split, "lines": used}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out, model, charset, meta=meta, half=args.half)
    print(f"averaged {len(args.checkpoints)} checkpoints -> {args.out}"
          + (f" (BatchNorm re-estimated on {meta['batchnorm']['lines']} lines)"
             if args.bn_data else ""))
    return 0
