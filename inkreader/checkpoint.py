"""Checkpoint formats and their upgrades: files of older versions are brought up to today's.

Two kinds of file carry a format version:
- a model (``model.save_checkpoint``: config, charset, weights), ``MODEL_VERSION``;
- a run's training state (``last.pt``, ``train.run.Run``), ``RUN_VERSION``; its ``experiment``
  is what a resumed run must not change (``TrainConfig.experiment_key``).

Loading either passes it through ``upgrade_model`` / ``upgrade_run``, which apply one function
per version step, from the file's version to today's; the rest of the code only sees the current
format. A setting added to ``ModelConfig`` or ``TrainConfig`` bumps the version and adds a step
that gives older files the value they were made with.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .errors import InkreaderError, ModelError

MODEL_FORMAT = "inkreader-checkpoint"
MODEL_VERSION = 2
RUN_FORMAT = "inkreader-run"
RUN_VERSION = 2


def _model_1_to_2(payload: dict) -> dict:
    """Version 1 left out the settings added after the first models were saved; those models
    were made without them (the reference's reading and height collapse, no input dropout)."""
    before = {"x_scale": 1.0, "deslant": False, "band": False, "collapse_rows": 1,
              "input_dropout": 0.0}
    return {**payload, "config": {**before, **payload["config"]}}


# Version 1 of a run's experiment left out each setting added after runs had been saved while
# it kept the value runs had before it existed, so that those runs still resumed. Version 2
# names every setting; these are the values a version-1 key means by leaving one out.
_RUN_1_SETTINGS = {"tail_margin": 0, "x_scale": 1.0, "decay_norms": True, "deslant": False,
                   "confidence_penalty": 0.0, "band": False, "collapse_rows": 1,
                   "input_dropout": 0.0, "reinit": (), "shrink": 1.0, "perturb": 0.0}
# the augmentation of a version-1 key without an [augment] table (paper margins off) ...
_RUN_1_AUGMENT = {"stretch": (0.8, 1.2), "shear": 0.35, "rotate": 2.0, "vscale": (0.8, 1.05),
                  "p_elastic": 0.4, "elastic_px": 2.5, "elastic_cell": 48, "elastic_rows": 3,
                  "p_stroke": 0.35, "p_blur": 0.25, "p_contrast": 0.6, "p_noise": 0.3,
                  "p_binarize": 0.12, "p_margin": 0.0, "margin_px": 80, "p_mask": 0.0,
                  "mask_count": 2, "mask_px": 20, "p_cut": 0.0, "cut_max": 0.4}
# ... and the augmentation settings a version-1 [augment] table left out at these values
_RUN_1_AUGMENT_LATER = {k: _RUN_1_AUGMENT[k] for k in ("elastic_cell", "elastic_rows", "p_mask",
                                                       "mask_count", "mask_px", "p_cut",
                                                       "cut_max")}
_RUN_1_SOURCE = {"holdout": None, "exclude": None, "pen": None, "renderings": 1, "seed": 0}


def _run_1_to_2(state: dict) -> dict:
    """Version 1 (no version in the file) left settings out of the experiment (above) and,
    before several validation sets, held one [val] source instead of a tuple of them."""
    key = {**_RUN_1_SETTINGS, **state["experiment"]}
    key["augment"] = ({**_RUN_1_AUGMENT_LATER, **key["augment"]} if "augment" in key
                      else dict(_RUN_1_AUGMENT))
    vals = key["val"] if isinstance(key["val"], (tuple, list)) else (key["val"],)
    key["train"] = tuple({**_RUN_1_SOURCE, **s} for s in key["train"])
    key["val"] = tuple({**_RUN_1_SOURCE, **s} for s in vals)
    return {**state, "experiment": key}


_MODEL_STEPS: dict[int, Callable[[dict], dict]] = {1: _model_1_to_2}
_RUN_STEPS: dict[int, Callable[[dict], dict]] = {1: _run_1_to_2}


def _upgrade(payload: dict, steps: dict[int, Callable[[dict], dict]], current: int,
             error: type[InkreaderError], path: str | Path) -> dict:
    version = payload.get("version", 1)
    if not isinstance(version, int) or not 1 <= version <= current:
        raise error(f"{path}: checkpoint format version {version!r}; this inkreader reads "
                    f"versions 1-{current} (a newer inkreader wrote it?)")
    for v in range(version, current):
        payload = steps[v](payload)
    return {**payload, "version": current}


def upgrade_model(payload: dict, path: str | Path) -> dict:
    """A model checkpoint's payload in today's format (``MODEL_VERSION``)."""
    return _upgrade(payload, _MODEL_STEPS, MODEL_VERSION, ModelError, path)


def upgrade_run(state: dict, path: str | Path) -> dict:
    """A run's ``last.pt`` state in today's format (``RUN_VERSION``); version 1 files carry
    no format or version."""
    if "format" in state and state["format"] != RUN_FORMAT:
        raise InkreaderError(f"{path}: not a run's training state (format "
                             f"{state['format']!r})")
    return _upgrade(state, _RUN_STEPS, RUN_VERSION, InkreaderError, path)
