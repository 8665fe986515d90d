"""The state of one training run: the network, its optimiser, its folder, and the
checkpoints that resume it exactly (``last.pt``) or start it from another run's weights
(``init``, with ``reinit``, ``shrink`` and ``perturb``). The loop is in ``train.py``."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import torch

from ..charset import Charset
from ..checkpoint import RUN_FORMAT, RUN_VERSION, upgrade_run
from ..errors import InkreaderError
from ..model import HandwritingRecognizer, ModelConfig, load_checkpoint, widen_collapse
from ..paths import resolve_model_path
from .config import TrainConfig

log = logging.getLogger(__name__)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW over the model's parameters. With ``decay_norms = false`` the biases and the
    BatchNorm scales and shifts (every parameter of one dimension) are not decayed, only the
    convolution, LSTM and classifier weight matrices, as is usual when the decay is strong;
    with ``decay_norms = true`` all of them are (one parameter group)."""
    if cfg.decay_norms:
        return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.ndim > 1], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr)



class Run:
    """The state of one training run and its folder."""

    def __init__(self, cfg: TrainConfig, rank: int = 0, world: int = 1):
        self.cfg, self.rank, self.world = cfg, rank, world
        self.dir = Path(cfg.out)
        self.charset = Charset.gnhk()
        self.model = HandwritingRecognizer(ModelConfig(dropout=cfg.dropout,
                                                       num_classes=self.charset.num_classes,
                                                       x_scale=cfg.x_scale,
                                                       deslant=cfg.deslant, band=cfg.band,
                                                       collapse_rows=cfg.collapse_rows,
                                                       input_dropout=cfg.input_dropout))
        self.opt = make_optimizer(self.model, cfg)
        self.epoch, self.batch, self.step, self.lines_seen = 0, 0, 0, 0
        self.best_cer, self.elapsed = float("inf"), 0.0

    # -- checkpoints ---------------------------------------------------------------------------
    def state(self) -> dict:
        return {"format": RUN_FORMAT, "version": RUN_VERSION,
                "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "epoch": self.epoch, "batch": self.batch, "step": self.step,
                "lines_seen": self.lines_seen, "best_cer": self.best_cer,
                "elapsed": self.elapsed, "experiment": self.cfg.experiment_key(),
                "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),
                "python_rng": random.getstate()}

    def save_last(self) -> None:
        if self.rank != 0:
            return
        tmp = self.dir / "last.pt.tmp"
        torch.save(self.state(), tmp)
        tmp.replace(self.dir / "last.pt")  # atomic: a kill mid-save keeps the previous one
        log.info("checkpoint: epoch %d batch %d step %d", self.epoch, self.batch, self.step)

    def resume(self) -> bool:
        path = self.dir / "last.pt"
        if not path.exists():
            return False
        st = upgrade_run(torch.load(path, map_location="cpu", weights_only=False), path)
        if st["experiment"] != self.cfg.experiment_key():
            raise InkreaderError(f"{path}: this run folder holds a different experiment; use a new "
                                 "--out, or the same config to resume it")
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["optimizer"])
        for k in ("epoch", "batch", "step", "lines_seen", "best_cer", "elapsed"):
            setattr(self, k, st[k])
        torch.set_rng_state(st["torch_rng"])
        np.random.set_state(st["numpy_rng"])
        random.setstate(st["python_rng"])
        self._forget_metrics_after(self.step)
        log.info("resumed %s at epoch %d batch %d (step %d)", path, self.epoch, self.batch,
                 self.step)
        return True

    def _forget_metrics_after(self, step: int) -> None:
        """Drop log records of steps the resumed run will train again (they were lost)."""
        path = self.dir / "metrics.jsonl"
        if self.rank != 0 or not path.exists():
            return
        lines = path.read_text(encoding="utf-8").splitlines()
        keep = [x for x in lines if json.loads(x).get("step", 0) <= step]
        if len(keep) < len(lines):
            path.write_text("".join(x + "\n" for x in keep), encoding="utf-8")

    def init_from(self, spec: str) -> None:
        if spec != "default" and not Path(spec).exists():
            raise InkreaderError(f"{spec}: --init checkpoint not found (a run's best.pt or "
                                 "epochs/*.pt, or an `inkreader average` output); to start "
                                 "from the shipped model instead, add --init default")
        mixing = (self.cfg.shrink, self.cfg.perturb) != (1.0, 0.0)
        fresh = ({k: v.clone() for k, v in self.model.state_dict().items()}  # seeded weights
                 if mixing else {})
        model, charset, _ = load_checkpoint(resolve_model_path(spec))
        if charset != self.charset:
            raise InkreaderError(f"{spec}: its charset differs from the training charset")
        rows = self.model.config.collapse_rows
        if model.config.collapse_rows == 1 and rows > 1:
            model = widen_collapse(model, rows)
            log.info("widened %s's height collapse to %d rows (the same function)", spec, rows)
        diff = model.config.architecture_differences(self.model.config)
        if diff:
            raise InkreaderError(f"{spec}: another network than the run's: " + ", ".join(
                f"{k} {theirs} (the run: {mine})" for k, (theirs, mine) in diff.items()))
        self.model.load_state_dict(model.state_dict())
        log.info("initialised weights from %s", spec)
        for name in self.cfg.reinit:  # seeded: fit() set the seed before building the model
            getattr(self.model, name).reset_parameters()
            log.info("started %s afresh (reinit)", name)
        if mixing:
            shrink_perturb(self.model, fresh, self.cfg.shrink, self.cfg.perturb)
            log.info("shrank the weights to %g of %s's and added %g of the run's initial ones",
                     self.cfg.shrink, spec, self.cfg.perturb)

    def log_metrics(self, record: dict) -> None:
        if self.rank != 0:
            return
        with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def shrink_perturb(model: HandwritingRecognizer, fresh: dict[str, torch.Tensor],
                   shrink: float, perturb: float) -> None:
    """Every weight and bias of the convolutions, the height collapse, the LSTMs and the
    classifier becomes ``shrink`` times itself plus ``perturb`` times the same tensor of
    ``fresh`` (a state dict of initial weights); BatchNorm's parameters and statistics stay."""
    norms = {f"{name}." for name, m in model.named_modules()
             if isinstance(m, torch.nn.BatchNorm2d)}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not any(name.startswith(prefix) for prefix in norms):
                p.mul_(shrink).add_(fresh[name], alpha=perturb)
