"""Training throughput of the reference network on this machine: lines/s and peak memory for
batches of real Hooker lines at their natural widths (height 96), fp32 and bf16 autocast, in the
NHWC (channels-last) layout ``inkreader train`` uses and, with ``--nchw``, the default layout.

    .venv/bin/python bench/train_throughput.py [--batch-sizes 8 16 32] [--seconds 30] [--nchw]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np
import torch

from inkreader.charset import Charset
from inkreader.model import HandwritingRecognizer
from inkreader.runtime.backends import cpu_count
from inkreader.train.config import DataSource
from inkreader.train.data import collate, load_source


def measure(model, batches, seconds: float, bf16: bool, nhwc: bool = True) -> float:
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    layout = torch.channels_last if nhwc else torch.contiguous_format
    model.to(memory_format=layout)
    lines, t0, i = 0, None, 0
    while True:
        b = batches[i % len(batches)]
        i += 1
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(b["x"].contiguous(memory_format=layout))
        loss = ctc(logits.float().log_softmax(-1), b["targets"],
                   model.output_lengths(b["widths"]), b["target_lengths"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if t0 is None:  # first step warms up allocators and kernels
            t0 = time.perf_counter()
            continue
        lines += len(b["ids"])
        if time.perf_counter() - t0 > seconds:
            return lines / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--bf16", action="store_true", help="also measure bf16 autocast")
    ap.add_argument("--nchw", action="store_true",
                    help="also measure the default NCHW layout (training uses NHWC)")
    args = ap.parse_args()
    torch.set_num_threads(cpu_count())
    src = load_source(DataSource("../shared/data/hooker/lines.tsv", split="train", limit=600),
                      Charset.gnhk(), 96, 1600, show_progress=False)
    widths = src.widths
    print(f"machine: {platform.processor() or platform.machine()}, {cpu_count()} cores, "
          f"torch {torch.__version__}; lines: 600 Hooker train lines, median width "
          f"{int(np.median(widths))} px at height 96")
    print("| batch | precision | layout | lines/s | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    order = np.argsort(widths)
    for bs in args.batch_sizes:
        batches = [collate([src.images[i] for i in order[s:s + bs]],
                           [src.labels[i] for i in order[s:s + bs]],
                           [src.ids[i] for i in order[s:s + bs]])
                   for s in range(0, len(order) - bs + 1, bs)]
        rng = np.random.default_rng(0)
        batches = [batches[i] for i in rng.permutation(len(batches))]
        for bf16 in ([False, True] if args.bf16 else [False]):
            for nhwc in ([True, False] if args.nchw else [True]):
                torch.manual_seed(0)
                model = HandwritingRecognizer()
                lps = measure(model, batches, args.seconds, bf16, nhwc)
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"| {bs} | {'bf16' if bf16 else 'fp32'} | {'NHWC' if nhwc else 'NCHW'} "
                      f"| {lps:.1f} | {rss:.0f} |", flush=True)


if __name__ == "__main__":
    main()
