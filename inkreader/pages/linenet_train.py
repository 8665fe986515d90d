"""Train the line finder's weights (``inkreader.pages.linenet``) on pages with gold baselines.

    python -m inkreader.pages.linenet_train --pages DIR [DIR ...] --out FILE

Each DIR holds page images with their PAGE-XML or ALTO files (any layout ``read-page`` reads);
every line with a baseline is a target. The run is deterministic for a given seed, pages and
machine (one thread, fixed crop order); docs/pages.md gives the command behind the shipped file.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from inkreader.pages import linenet, segment
from inkreader.pages.layout import LayoutError, read_layout
from inkreader.preprocess import read_gray

log = logging.getLogger(__name__)
CROP = 160  # px of net input per training crop (8 line spacings)


def page_example(xml: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(planes, target) of one page as ``find_lines`` would see it, or None without lines."""
    layout = read_layout(xml)
    gray = read_gray(layout.image)
    scale = min(2.0, segment.WORK_SIDE / max(gray.shape))
    work = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
                      if scale < 1 else cv2.INTER_LINEAR) if scale != 1 else gray
    ink = segment.ink_mask(work)
    level, rotation = segment._rotate(ink, segment.estimate_skew(ink))
    spacing = segment.estimate_spacing(level)
    if spacing is None:
        return None
    planes, f = linenet.net_input(segment.level_gray(work, rotation, level.shape), level,
                                  spacing)
    bases = []
    for line in layout.lines:
        if len(line.baseline) < 2:
            continue
        pts = np.asarray(line.baseline, np.float64) * scale
        pts = pts @ rotation[:, :2].T + rotation[:, 2]
        bases.append(pts * f)
    if not bases:
        return None
    h, w = planes.shape[1:]
    return planes, linenet.band_target(bases, ((h + 1) // 2, (w + 1) // 2), spacing)


def crops(examples, rng: np.random.Generator, batch: int):
    """A batch of random CROP x CROP input crops (even offsets) and their targets, some
    mirrored left to right."""
    xs = np.zeros((batch, 2, CROP, CROP), np.float32)
    ys = np.zeros((batch, CROP // 2, CROP // 2), np.float32)
    for b in range(batch):
        planes, target = examples[rng.integers(len(examples))]
        h, w = planes.shape[1:]
        y0 = 2 * rng.integers(max(1, (h - CROP) // 2 + 1))
        x0 = 2 * rng.integers(max(1, (w - CROP) // 2 + 1))
        p = planes[:, y0:y0 + CROP, x0:x0 + CROP]
        t = target[y0 // 2:y0 // 2 + CROP // 2, x0 // 2:x0 // 2 + CROP // 2]
        if rng.random() < 0.5:
            p, t = p[:, :, ::-1], t[:, ::-1]
        xs[b, :, :p.shape[1], :p.shape[2]] = p
        ys[b, :t.shape[0], :t.shape[1]] = t
    return xs, ys


def train(examples, steps: int, batch: int, seed: int, lr: float):
    import torch

    threads, strict = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every run
    torch.use_deterministic_algorithms(True)
    try:
        return _train(examples, steps, batch, seed, lr)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(strict)


def _train(examples, steps: int, batch: int, seed: int, lr: float):
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = linenet.new_net()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(3.0))
    t0, running = time.perf_counter(), 0.0
    for step in range(steps):
        for group in opt.param_groups:  # cosine decay to zero
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        xs, ys = crops(examples, rng, batch)
        loss = loss_fn(net(torch.from_numpy(xs)), torch.from_numpy(ys))
        opt.zero_grad()
        loss.backward()
        opt.step()
        running += float(loss.detach())
        if (step + 1) % 100 == 0:
            log.info("step %d/%d loss %.4f (%.0f s)", step + 1, steps, running / 100,
                     time.perf_counter() - t0)
            running = 0.0
    return net.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pages", type=Path, nargs="+", required=True,
                   help="folders of page images with their PAGE-XML / ALTO files")
    p.add_argument("--out", type=Path, required=True, help="where to write the weights")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    xmls = []
    for folder in args.pages:
        if not folder.is_dir():
            print(f"linenet_train: error: {folder}: no such folder", file=sys.stderr)
            return 2
        xmls += sorted(folder.glob("*.xml"))
    examples = []
    for xml in xmls:
        try:
            ex = page_example(xml)
        except (LayoutError, OSError, ValueError) as exc:
            log.warning("%s: skipped (%s)", xml, exc)
            continue
        if ex is not None:
            examples.append(ex)
    if not examples:
        print("linenet_train: error: no page with baselines found", file=sys.stderr)
        return 2
    log.info("%d pages with baselines", len(examples))
    import torch

    net = train(examples, args.steps, args.batch, args.seed, args.lr)
    torch.save(net.state_dict(), args.out)
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
