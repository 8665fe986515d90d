"""A small learned line finder: where the text lines of a levelled page run.

    net = load()                           # the shipped weights (None if the file is absent)
    ridges = find_net_ridges(net, gray, ink, spacing)   # -> [segment._Ridge], working scale

The classical steps of ``segment`` level the page and measure its line spacing ``L``; this
module then scales the levelled page so that ``L`` is ``PITCH`` px and a fully convolutional
net of about 12k weights (``LineNet``) marks, at half that scale, a thin band just above each
line's baseline. Each connected band becomes a ridge (its centre per column), and ``segment``
gives the ink to the ridges as before. Unlike the blurred-ink ridges, the bands stay apart for
words written between two lines, and end where a heading ends and its date begins, because the
net learned where the transcribers of real pages put their lines.

The weights (``linenet.pt`` beside this file) were trained by ``inkreader.pages.linenet_train``
on the gold PAGE-XML baselines of the Joseph Hooker letters' train split (CC BY-SA 4.0, as that
data); docs/pages.md gives the command.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

WEIGHTS = Path(__file__).with_name("linenet.pt")
PITCH = 20.0  # px: the line spacing of the net's input
BAND_UP, BAND_HALF = 0.2, 0.12  # the target band: centred this many L above the baseline
LEVEL = 0.5  # a band pixel has at least this probability
MIN_LENGTH = 0.5  # L: shorter bands are specks


def _torch():
    import torch

    return torch


@functools.cache
def _net_class():
    torch = _torch()
    nn = torch.nn

    class LineNet(nn.Module):
        """2 input planes (gray, classical ink mask) at full scale -> 1 logit plane at half
        scale. Dilated 3x3 convolutions see about 3 L around each pixel: enough to tell a
        line from the gap between two, or from a word written in that gap."""

        def __init__(self, width: int = 16):
            super().__init__()
            layers = [nn.Conv2d(2, 16, 3, padding=1), nn.ReLU(),
                      nn.Conv2d(16, width, 3, stride=2, padding=1), nn.ReLU()]
            for d in (1, 2, 4, 8):
                layers += [nn.Conv2d(width, width, 3, padding=d, dilation=d), nn.ReLU()]
            layers.append(nn.Conv2d(width, 1, 1))
            self.body = nn.Sequential(*layers)

        def forward(self, x):
            return self.body(x)[:, 0]

    return LineNet


def new_net():
    return _net_class()()


@functools.cache
def load(path: str | Path = WEIGHTS):
    """The trained net in eval mode, or None when the weights file is absent."""
    path = Path(path)
    if not path.is_file():
        return None
    torch = _torch()
    net = new_net()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.eval()
    return net


def net_input(level_gray: np.ndarray, level_ink: np.ndarray, spacing: float):
    """(2, h, w) float32 input of a levelled working-scale page and its scale factor."""
    f = PITCH / spacing
    gray = cv2.resize(level_gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    ink = cv2.resize(level_ink.astype(np.float32), None, fx=f, fy=f,
                     interpolation=cv2.INTER_AREA)
    paper = max(float(np.median(gray)), 1.0)
    darkness = np.clip(1.0 - gray.astype(np.float32) / paper, 0.0, 1.0)
    return np.stack([darkness * 4.0, ink]).astype(np.float32), f


def band_target(baselines, shape, spacing: float) -> np.ndarray:
    """(h, w) uint8 target at the net's output scale (half its input): a band of
    2 * BAND_HALF L centred BAND_UP L above each baseline (points already at input scale)."""
    out = np.zeros(shape, np.uint8)
    lo = PITCH / 2
    thick = max(2, round(2 * BAND_HALF * lo))
    for base in baselines:
        pts = np.asarray(base, np.float64) / 2
        pts[:, 1] -= BAND_UP * lo
        cv2.polylines(out, [np.round(pts).astype(np.int32)], False, 1, thick)
    return out


def predict(net, planes: np.ndarray) -> np.ndarray:
    """(h', w') band probabilities at half the input's scale."""
    torch = _torch()
    with torch.inference_mode():
        logits = net(torch.from_numpy(planes)[None])[0]
    return torch.sigmoid(logits).numpy()


def find_net_ridges(net, level_gray: np.ndarray, level_ink: np.ndarray, spacing: float):
    """The ridges (working scale, levelled) of the bands the net finds."""
    planes, f = net_input(level_gray, level_ink, spacing)
    return ridges_from_bands(predict(net, planes), 2.0 / f, spacing)


def ridges_from_bands(prob: np.ndarray, out_scale: float, spacing: float):
    """One ridge per connected band of ``prob`` (>= ``LEVEL``): its probability-weighted
    centre per column, in working pixels (``out_scale`` working px per ``prob`` px)."""
    from inkreader.pages.segment import _Ridge

    n, labels, stats, _ = cv2.connectedComponentsWithStats((prob > LEVEL).astype(np.uint8),
                                                           connectivity=8)
    ridges = []
    for k in range(1, n):
        x, y, w, h = stats[k, :4]
        if w * out_scale < MIN_LENGTH * spacing:
            continue
        box = labels[y:y + h, x:x + w] == k
        weight = prob[y:y + h, x:x + w] * box
        mass = weight.sum(axis=0)
        cols = np.flatnonzero(mass > 0)
        centre = (weight * np.arange(h)[:, None]).sum(axis=0)[cols] / mass[cols] + y
        # Output pixel centres in working pixels, then one value per working column.
        xs_w = (x + cols + 0.5) * out_scale - 0.5
        ys_w = (centre + 0.5) * out_scale - 0.5
        x0, x1 = int(np.floor(xs_w[0] - 0.5 * out_scale)), int(np.ceil(xs_w[-1]
                                                                      + 0.5 * out_scale))
        x0 = max(0, x0)
        ys = np.interp(np.arange(x0, x1), xs_w, ys_w)
        ridges.append(_Ridge(x0, ys, float(weight.sum())))
    return sorted(ridges, key=lambda r: float(r.ys.mean()))
