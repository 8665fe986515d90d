"""How certain a model's frames are: the mean entropy (nats) of its frames' posteriors and the
share of frames whose argmax is the blank, on Hooker lines spread over a split, each model read
at its own x_scale, in eval mode. The quantity `confidence_penalty` rewards in training
(`train.mean_frame_entropy`, padding frames left out); measured in session 16 for stage 13
(docs/training.md).

    .venv/bin/python bench/frame_entropy.py MODEL [MODEL ...] [--split val] [--lines 200]

PyTorch, one thread, fp32.
"""

from __future__ import annotations

import argparse

import torch

from inkreader.model import load_checkpoint
from inkreader.paths import resolve_model_path
from inkreader.train import mean_frame_entropy
from inkreader.trainconfig import DataSource
from inkreader.traindata import collate, load_source

HOOKER = "../shared/data/hooker/lines.tsv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help=".pt checkpoints ('default': the packaged model)")
    ap.add_argument("--data", default=HOOKER)
    ap.add_argument("--split", default="val")
    ap.add_argument("--lines", type=int, default=200, help="lines spread over the split")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name in args.models:
        model, charset, _ = load_checkpoint(resolve_model_path(name))
        model.eval().float()
        lines = load_source(DataSource(path=args.data, split=args.split), charset, 96, 2400,
                            show_progress=False, reading=model.config.reading, spread=args.lines)
        entropy, blank, frames = 0.0, 0, 0
        with torch.inference_mode():
            for start in range(0, len(lines.ids), 16):
                idx = range(start, min(start + 16, len(lines.ids)))
                batch = collate([lines.images[i] for i in idx], [lines.labels[i] for i in idx],
                                [lines.ids[i] for i in idx])
                logp = model(batch["x"]).log_softmax(-1)
                lengths = model.output_lengths(batch["widths"])
                own = torch.arange(logp.shape[0]).unsqueeze(1) < lengths.unsqueeze(0)
                entropy += float(mean_frame_entropy(logp, lengths)) * int(own.sum())
                blank += int(((logp.argmax(-1) == 0) & own).sum())
                frames += int(own.sum())
        print(f"{name}: {entropy / frames:.3f} nats a frame, {100 * blank / frames:.1f} % of "
              f"frames blank, {len(lines.ids)} lines at x_scale {model.config.x_scale:g}")


if __name__ == "__main__":
    main()
