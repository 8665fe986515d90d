"""``inkreader train --config FILE [overrides]``: train, resume or fine-tune a model."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="TOML training config (see configs/)")
    p.add_argument("--out", help="run folder (resumes if it holds last.pt)")
    p.add_argument("--init", help="fine-tune from this checkpoint ('default' = shipped model)")
    p.add_argument("--epochs", type=int,
                   help="epochs to train (overrides the config)")
    p.add_argument("--epoch-lines", type=int, help="lines drawn from the mixture per epoch")
    p.add_argument("--batch-size", type=int,
                   help="lines per batch (overrides the config)")
    p.add_argument("--lr", type=float,
                   help="peak learning rate (overrides the config)")
    p.add_argument("--seed", type=int,
                   help="seed of the data order and augmentation (overrides the config)")
    p.add_argument("--workers", type=int, help="data loader processes")
    p.add_argument("--threads", type=int, help="torch threads (default: cores / processes)")
    p.add_argument("--max-minutes", type=float, help="stop cleanly after this long")
    p.add_argument("--max-steps", type=int,
                   help="stop cleanly after this many steps of this invocation (a smoke run)")
    p.add_argument("--until-step", type=int,
                   help="stop cleanly when the run reaches this step, however often it was "
                   "killed and resumed (a run already there returns at once)")
    p.add_argument("--precision", choices=("fp32", "bf16"),
                   help="bf16 autocasts convolutions, matmuls and LSTMs (CPUs with AVX512-BF16)")
    p.add_argument("--dropout", type=float,
                   help="dropout of the LSTMs and classifier (overrides the config)")
    p.add_argument("--val-limit", type=int,
                   help="validate on N lines spread evenly over each validation set")
    p.add_argument("--checkpoint-minutes", type=float,
                   help="minutes between checkpoints (overrides the config)")
    p.add_argument("--keep-epochs", action="store_true", default=None,
                   help="also save every epoch's model as OUT/epochs/epoch-NNN.pt (for "
                   "'inkreader average')")


def run(args: argparse.Namespace) -> int:
    from ..train.config import load_config
    from ..train.fit import fit

    cfg = load_config(args.config).with_overrides(
        out=args.out, init=args.init, epochs=args.epochs, epoch_lines=args.epoch_lines,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed, workers=args.workers,
        threads=args.threads, max_minutes=args.max_minutes, max_steps=args.max_steps,
        until_step=args.until_step,
        precision=args.precision, dropout=args.dropout, val_limit=args.val_limit,
        checkpoint_minutes=args.checkpoint_minutes, keep_epochs=args.keep_epochs)
    best = fit(cfg)
    print(f"best model: {best}" if best.exists() else "no validation yet: no best model")
    return 0
