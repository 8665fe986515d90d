"""Checkpoint formats: models and runs' last.pt of older versions load, upgraded step by step;
files of a newer version are refused by name."""

from __future__ import annotations

import copy
from dataclasses import asdict, replace

import pytest
import torch

from inkreader.charset import Charset
from inkreader.checkpoint import MODEL_VERSION, RUN_VERSION
from inkreader.degrade.augment import AugmentConfig
from inkreader.errors import InkreaderError, ModelError
from inkreader.model import ModelConfig, load_checkpoint, save_checkpoint
from inkreader.paths import resolve_model_path
from inkreader.train.run import Run

from .test_model import busy_model
from .train.test_train import tiny_config


def test_the_shipped_model_loads_with_every_setting():
    model, charset, _ = load_checkpoint(resolve_model_path("default"))
    assert charset == Charset.gnhk() and model.config.num_classes == charset.num_classes
    assert set(asdict(model.config)) == set(ModelConfig.__dataclass_fields__)


def test_a_version_1_model_gets_the_settings_it_was_made_without(tmp_path):
    """Version 1 left out x_scale, deslant, band, collapse_rows and input_dropout: they load
    as the reference's, whatever today's defaults are."""
    net = busy_model(ModelConfig(x_scale=1.15))
    save_checkpoint(tmp_path / "m.pt", net, Charset.gnhk())
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["version"] == MODEL_VERSION
    payload["version"] = 1
    for key in ("deslant", "band", "collapse_rows", "input_dropout"):
        del payload["config"][key]
    torch.save(payload, tmp_path / "v1.pt")
    loaded, _, _ = load_checkpoint(tmp_path / "v1.pt")
    assert loaded.config == net.config
    x = torch.rand(1, 1, 96, 64) * 255
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x))


def test_model_checkpoints_of_a_newer_or_broken_format_are_refused(tmp_path):
    save_checkpoint(tmp_path / "m.pt", busy_model(), Charset.gnhk())
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    torch.save({**payload, "version": MODEL_VERSION + 1}, tmp_path / "new.pt")
    with pytest.raises(ModelError, match=r"new\.pt: checkpoint format version 3"):
        load_checkpoint(tmp_path / "new.pt")
    del payload["config"]["band"]  # today's version names every setting
    torch.save(payload, tmp_path / "broken.pt")
    with pytest.raises(ModelError, match=r"broken\.pt: model config lacks keys: \['band'\]"):
        load_checkpoint(tmp_path / "broken.pt")


_LEGACY_AUGMENT = asdict(AugmentConfig(p_margin=0.0))


def _as_version_1(state: dict, single_val: bool = False) -> dict:
    """A last.pt state as inkreader wrote it before run files had a version: no format, and
    each setting added after runs had been saved left out of the experiment while it kept the
    value runs had before it (``single_val``: before several validation sets, one [val] source
    without pen settings)."""
    state = {k: v for k, v in state.items() if k not in ("format", "version")}
    key = copy.deepcopy(state["experiment"])
    before = {"tail_margin": 0, "x_scale": 1.0, "decay_norms": True, "deslant": False,
              "confidence_penalty": 0.0, "band": False, "collapse_rows": 1,
              "input_dropout": 0.0, "reinit": (), "shrink": 1.0, "perturb": 0.0}
    for k, v in before.items():
        if key[k] == v:
            del key[k]
    aug = key["augment"]
    for k in ("p_mask", "mask_count", "mask_px", "p_cut", "cut_max"):
        if aug[k] == _LEGACY_AUGMENT[k]:
            del aug[k]
    if aug == {k: v for k, v in _LEGACY_AUGMENT.items() if k in aug}:
        del key["augment"]
    else:
        for k in ("elastic_cell", "elastic_rows"):
            if aug[k] == _LEGACY_AUGMENT[k]:
                del aug[k]
    for source in (*key["train"], *key["val"]):
        for k in ("holdout", "exclude"):
            if source[k] is None:
                del source[k]
        if single_val:
            for k in ("pen", "renderings", "seed"):
                del source[k]
    if single_val:
        (key["val"],) = key["val"]
    return {**state, "experiment": key}


@pytest.mark.parametrize(("settings", "single_val"), [
    ({"tail_margin": 0, "augment": AugmentConfig(p_margin=0.0)}, True),  # no [augment] saved
    ({"x_scale": 1.15, "augment": AugmentConfig(elastic_cell=24, p_margin=0.3)}, False),
    ({}, False),
])
def test_a_version_1_last_pt_resumes_and_still_refuses_another_experiment(
        tmp_path, tiny_tsvs, settings, single_val):
    cfg = tiny_config(*tiny_tsvs, tmp_path / "run", **settings)
    (tmp_path / "run").mkdir()
    run = Run(cfg)
    run.step = 7
    run.save_last()
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert (state["format"], state["version"]) == ("inkreader-run", RUN_VERSION)
    old = _as_version_1(state, single_val)
    assert set(old["experiment"]) < set(state["experiment"])  # settings really left out
    torch.save(old, tmp_path / "run" / "last.pt")
    again = Run(cfg)
    assert again.resume() and again.step == 7
    for other in ({"x_scale": 1.2}, {"tail_margin": 64}, {"augment": AugmentConfig()},
                  {"band": True}):
        changed = replace(cfg, **other)
        if changed == cfg:
            continue
        with pytest.raises(InkreaderError, match="different experiment"):
            Run(changed).resume()


def test_a_last_pt_of_a_newer_format_is_refused(tmp_path, tiny_tsvs):
    cfg = tiny_config(*tiny_tsvs, tmp_path / "run")
    (tmp_path / "run").mkdir()
    run = Run(cfg)
    run.save_last()
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    torch.save({**state, "version": RUN_VERSION + 1}, tmp_path / "run" / "last.pt")
    with pytest.raises(InkreaderError, match="last.pt: checkpoint format version 3"):
        Run(cfg).resume()
