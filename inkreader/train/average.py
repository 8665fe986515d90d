"""Checkpoint averaging: one model whose weights are the mean of several checkpoints' weights.

Averaging the weights of a run's last epochs (Polyak averaging; "SWA" when the epochs come from
a cyclic or constant learning rate) lands nearer the centre of the flat region the late epochs
wander around, and usually reads better than any single one of them. The averaged model's
BatchNorm statistics are the mean of the checkpoints' statistics, which is not the statistics
of the averaged weights; ``recompute_batchnorm`` re-estimates them on training lines, as
``torch.optim.swa_utils.update_bn`` does for SWA.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..charset import Charset
from ..errors import ModelError
from ..model import HandwritingRecognizer, load_checkpoint
from .data import LoadedSource, collate

log = logging.getLogger(__name__)


def average_checkpoints(paths: Sequence[str | Path]
                        ) -> tuple[HandwritingRecognizer, Charset, dict]:
    """The mean of the checkpoints' float tensors; integer buffers (BatchNorm's batch counts)
    come from the last checkpoint. Every checkpoint must have the same architecture and charset;
    dropout and x_scale are not architecture: the mean takes the first checkpoint's (choose the
    scale of a mixed mean with ``inkreader tune-scale``)."""
    if not paths:
        raise ModelError("average: no checkpoints given")
    model, charset, _ = load_checkpoint(paths[0])
    total = {k: v.double() if v.is_floating_point() else v.clone()
             for k, v in model.state_dict().items()}
    for path in paths[1:]:
        other, other_charset, _ = load_checkpoint(path)
        if other_charset != charset:
            raise ModelError(f"{path}: its charset differs from {paths[0]}'s; only checkpoints "
                             "of one charset can be averaged")
        diff = _differences(other, model)
        if diff:
            raise ModelError(f"{path}: its config differs from {paths[0]}'s in " + ", ".join(
                f"{k} ({mine} against {theirs})" for k, (mine, theirs) in diff.items())
                + "; only checkpoints of one network, read the same way, can be averaged")
        if other.config.x_scale != model.config.x_scale:
            log.warning("%s reads at x_scale %g, %s at %g: the mean keeps %g (run tune-scale "
                        "on it)", path, other.config.x_scale, paths[0], model.config.x_scale,
                        model.config.x_scale)
        for k, v in other.state_dict().items():
            total[k] = total[k] + v.double() if v.is_floating_point() else v.clone()
    n = len(paths)
    model.load_state_dict({k: (v / n).float() if v.is_floating_point() else v
                           for k, v in total.items()})
    meta = {"trained": True, "averaged": [str(p) for p in paths]}
    return model, charset, meta


def _differences(a: HandwritingRecognizer, b: HandwritingRecognizer) -> dict:
    """The config settings in which ``a`` differs from ``b``, as {setting: (a's, b's)}.
    Dropout (training knobs) and x_scale (how lines are stretched, which tune-scale chooses)
    are left out: checkpoints that differ only in them average."""
    ca, cb = asdict(a.config), asdict(b.config)
    return {k: (ca[k], cb[k]) for k in ca
            if k not in ("dropout", "input_dropout", "x_scale") and ca[k] != cb[k]}


@torch.no_grad()
def recompute_batchnorm(model: HandwritingRecognizer, lines: LoadedSource,
                        batch_size: int = 16) -> int:
    """Re-estimate every BatchNorm layer's running mean and variance as the plain average over
    ``lines`` (no augmentation; batches of similar width, as in training). Returns the number
    of lines used. Dropout stays off; the model is left in eval mode."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    saved = {m: m.momentum for m in bns}
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch counts equally
    model.eval()
    for m in bns:
        m.train()
    order = np.argsort(lines.widths, kind="stable")
    for start in range(0, len(order), batch_size):  # a plain average: batch order is moot
        idx = order[start:start + batch_size]
        batch = collate([lines.images[i] for i in idx], [lines.labels[i] for i in idx],
                        [lines.ids[i] for i in idx])
        model(batch["x"], batch["widths"])
    for m in bns:
        m.momentum = saved[m]
        m.eval()
    log.info("BatchNorm statistics re-estimated on %d lines", len(order))
    return len(order)
