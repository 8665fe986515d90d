"""Training: strict config, CTC feasibility, loss goes down, exact resume (in-process and after
SIGKILL), DDP with two processes."""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.data.datasets import ctc_feasible, holdout, load_dataset
from inkreader.degrade.augment import AugmentConfig
from inkreader.errors import DatasetError, InkreaderError
from inkreader.model import HandwritingRecognizer, ModelConfig, load_checkpoint, save_checkpoint
from inkreader.preprocess import (
    CNN_CONTEXT,
    TAIL_MARGIN,
    Reading,
    prepare_line,
    read_gray,
    stack_lines,
)
from inkreader.train.config import (
    ConfigError,
    DataSource,
    TrainConfig,
    config_from_dict,
    dump_config,
    load_config,
)
from inkreader.train.data import LineImages, collate, load_source, read_exclude_list
from inkreader.train.fit import _StopOnSignal, fit, lr_factor, mean_frame_entropy, precision_warning
from inkreader.train.run import make_optimizer

from ..conftest import HOOKER_TSV, ROOT
from ..test_model import busy_model


def tiny_config(train_tsv: Path, val_tsv: Path, out: Path, **kw) -> TrainConfig:
    base = dict(train=(DataSource(str(train_tsv)),),
                val=(DataSource(str(val_tsv), augment=False),),
                out=str(out), epochs=2, epoch_lines=16, batch_size=4, warmup_steps=2,
                workers=0, threads=1, log_every=1, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def test_config_rejects_unknown_keys_and_round_trips(tmp_path, tiny_tsvs):
    with pytest.raises(ConfigError, match="unknown keys.*'epochz'"):
        config_from_dict({"epochz": 3, "train": [{"path": "a"}], "val": {"path": "b"}})
    with pytest.raises(ConfigError, match="unknown keys.*'wieght'"):
        config_from_dict({"train": [{"path": "a", "wieght": 2}], "val": {"path": "b"}})
    cfg = tiny_config(*tiny_tsvs, tmp_path / "run", precision="bf16")
    (tmp_path / "c.toml").write_text(dump_config(cfg), encoding="utf-8")
    assert load_config(tmp_path / "c.toml") == cfg


def test_holdout_splits_by_page_and_refuses_what_would_leak():
    train_part = load_dataset(HOOKER_TSV, "train")
    fit, held = holdout(train_part, 0.1, False), holdout(train_part, 0.1, True)
    assert len(fit) + len(held) == len(train_part)
    fit_pages, held_pages = {s.page_key for s in fit}, {s.page_key for s in held}
    assert not fit_pages & held_pages  # every page is on one side, with all its lines
    assert {s.page for s in train_part} == fit_pages | held_pages  # the TSV's page column
    n_pages = len(fit_pages | held_pages)
    assert 0.04 * n_pages < len(held_pages) < 0.2 * n_pages
    # a stable hash: the same pages whatever else the dataset holds
    assert {s.page_key for s in holdout(train_part[:300], 0.1, True)} <= held_pages

    with pytest.raises(ConfigError, match="holdout must be a fraction"):
        config_from_dict({"train": [{"path": "a", "holdout": 1.5}], "val": {"path": "a"}})
    with pytest.raises(ConfigError, match="give both the same holdout"):
        config_from_dict({"train": [{"path": "a", "holdout": 0.05}],
                          "val": {"path": "a", "holdout": 0.1}})
    with pytest.raises(ConfigError, match="give both the same holdout"):
        config_from_dict({"train": [{"path": "a"}], "val": {"path": "a", "holdout": 0.1}})
    ok = config_from_dict({"train": [{"path": "a", "holdout": 0.1}, {"path": "b"}],
                           "val": {"path": "a", "holdout": 0.1}})
    assert ok.experiment_key()["val"][0]["holdout"] == 0.1


def test_exclude_list_leaves_out_pages_and_lines(tmp_path, caplog):
    tsv = tmp_path / "t.tsv"
    rows = [r for r in HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:]
            if r.split("\t")[2] in ("JDH_2_16_40_001", "JDH_2_16_40_002")]
    tsv.write_text("file\tsplit\tpage\ttext\n" + "".join(
        f"{HOOKER_TSV.parent / r.split(chr(9))[0]}\t" + "\t".join(r.split("\t")[1:]) + "\n"
        for r in rows), encoding="utf-8")
    page2 = [r.split("\t")[0] for r in rows if r.split("\t")[2] == "JDH_2_16_40_002"]
    listing = tmp_path / "exclude.txt"
    listing.write_text(f"# broken\nJDH_2_16_40_001\n{HOOKER_TSV.parent / page2[0]}  # a line\n"
                       "JDH_9_typo\n", encoding="utf-8")
    charset = Charset.gnhk()
    full = load_source(DataSource(str(tsv), split="train"), charset, 96, 1600, False)
    with caplog.at_level("WARNING"):
        kept = load_source(DataSource(str(tsv), split="train", exclude=str(listing)), charset,
                           96, 1600, False)
    assert not any("JDH_2_16_40_001" in i for i in kept.ids)
    assert str(HOOKER_TSV.parent / page2[0]) not in kept.ids
    assert len(kept.ids) == sum("JDH_2_16_40_002" in i for i in full.ids) - 1
    assert "1 names match no line or page" in caplog.text and "JDH_9_typo" in caplog.text
    with pytest.raises(DatasetError, match="nowhere.txt: exclude list not found"):
        load_source(DataSource(str(tsv), exclude=str(tmp_path / "nowhere.txt")), charset, 96,
                    1600, False)


def test_the_shipped_exclude_list_names_78_hooker_train_lines():
    names = read_exclude_list(ROOT / "configs" / "hooker-train-exclude.txt")
    samples = load_dataset(HOOKER_TSV)
    out = [s for s in samples if s.page_key in names]
    assert len(names) == 4 and len(out) == 78 and {s.split for s in out} == {"train"}


def test_holdout_that_leaves_no_lines_names_the_file(tmp_path, tiny_tsvs):
    with pytest.raises(DatasetError, match=r"holdout = 1e-09 leaves no held-out lines"):
        load_source(DataSource(str(tiny_tsvs[0]), holdout=1e-9), Charset.gnhk(), 96, 1600,
                    show_progress=False, held_out=True)


def test_shipped_configs_load_and_never_touch_the_test_split():
    # corpus-sources.toml lists page sources for `inkreader corpus` (tests/corpus), not a run
    configs = sorted(p for p in (ROOT / "configs").glob("*.toml")
                     if p.name != "corpus-sources.toml")
    assert configs
    for path in configs:
        cfg = load_config(path)
        for source in (*cfg.train, *cfg.val):
            if any(name in source.path for name in ("hooker", "iam-ondb", "corpus")):
                assert source.split in ("train", "val"), f"{path.name}: {source}"
        for val in cfg.val:
            assert val.split != "test" and not val.augment, path.name


def test_a_source_with_a_test_split_must_name_its_split(tmp_path):
    tsv = tmp_path / "all.tsv"
    rows = [f"{HOOKER_TSV.parent / 'lines' / f}\t{sp}\tabc" for f, sp in
            (("a.jpg", "train"), ("b.jpg", "test"))]
    tsv.write_text("file\tsplit\ttext\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"all\.tsv: has a 'test' split.*split = \"train\""):
        load_source(DataSource(str(tsv)), Charset.gnhk(), 96, 1600, show_progress=False)


def test_ctc_feasibility_counts_repeats():
    assert ctc_feasible(3, [1, 2, 3])
    assert not ctc_feasible(3, [1, 1, 2])  # the repeat needs a blank between
    assert ctc_feasible(4, [1, 1, 2])


def test_val_limit_spreads_over_every_letter_of_the_val_split():
    charset = Charset.gnhk()
    val = load_source(DataSource(HOOKER_TSV, split="val", augment=False, limit=60), charset,
                      96, 1600, False)
    sub = val.spread(6)
    assert len(sub.ids) == 6
    assert sub.ids[0] == val.ids[0] and sub.ids[-1] == val.ids[-1]
    positions = [val.ids.index(i) for i in sub.ids]
    gaps = [b - a for a, b in itertools.pairwise(positions)]
    assert min(gaps) >= 10  # every ~12th line, not the first six
    assert sub.labels == [val.labels[p] for p in positions]
    assert val.spread(1000) is val


def test_lines_are_held_as_lossless_png_and_read_back_exactly():
    val = load_source(DataSource(str(HOOKER_TSV), split="val", limit=12), Charset.gnhk(), 96,
                      1600, False)
    rng = np.random.default_rng(0)
    raw = [rng.integers(0, 256, (96, w), dtype=np.uint8) for w in (7, 300, 1600)]
    held = LineImages(raw)
    assert [im.tobytes() for im in held] == [im.tobytes() for im in raw]
    assert held.widths.tolist() == [7, 300, 1600]
    assert [im.shape for im in held[1:]] == [(96, 300), (96, 1600)]
    assert val.images.nbytes < sum(im.size for im in val.images)  # held smaller than raw
    spread = val.spread(5)
    assert len(spread.images) == 5 and spread.images[0].tobytes() == val.images[0].tobytes()


def test_lr_schedule_warms_up_then_decays_to_floor():
    assert lr_factor(0, 100, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10, 0.1) == pytest.approx(1.0)
    assert lr_factor(100, 100, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor(30, 100, 10, 0.1) > lr_factor(60, 100, 10, 0.1)


@pytest.mark.parametrize("decay_norms", [True, False])
def test_decay_norms_false_decays_only_the_weight_matrices(tiny_tsvs, tmp_path, decay_norms):
    model = HandwritingRecognizer(ModelConfig())
    cfg = tiny_config(*tiny_tsvs, tmp_path, lr=0.1, weight_decay=0.5, decay_norms=decay_norms)
    opt = make_optimizer(model, cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # a step that only decays
    opt.step()
    for name, p in model.named_parameters():
        decayed = decay_norms or p.ndim > 1
        expected = before[name] * (1 - 0.1 * 0.5) if decayed else before[name]
        assert torch.allclose(p.detach(), expected), name
    assert any(p.ndim == 1 for p in model.parameters())  # BatchNorm and biases exist


def test_mean_frame_entropy_leaves_out_the_padding_frames():
    uniform = torch.full((5, 2, 4), -math.log(4))
    padded = uniform.clone()
    padded[2:, 1] = torch.tensor([0.0, -50.0, -50.0, -50.0])  # line 1's padding: certain frames
    lengths = torch.tensor([5, 2])
    assert mean_frame_entropy(padded, lengths).item() == pytest.approx(math.log(4))
    certain = torch.full((3, 1, 4), -50.0)
    certain[..., 0] = 0.0
    assert mean_frame_entropy(certain, torch.tensor([3])).item() == pytest.approx(0, abs=1e-6)


def test_confidence_penalty_keeps_the_posteriors_less_certain(tmp_path, tiny_tsvs):
    with pytest.raises(ConfigError, match="confidence_penalty"):
        tiny_config(*tiny_tsvs, tmp_path, confidence_penalty=-0.1)
    line = prepare_line(read_gray(ROOT / "../shared/data/gnhk/sample_line.jpg"))
    x = torch.from_numpy(stack_lines([line.pixels]))
    entropy = {}
    for penalty in (0.0, 3.0):
        cfg = tiny_config(*tiny_tsvs, tmp_path / str(penalty), epochs=1, lr=3e-3,
                          confidence_penalty=penalty)
        fit(cfg)
        model = HandwritingRecognizer(ModelConfig(dropout=cfg.dropout))
        model.load_state_dict(_weights(tmp_path / str(penalty) / "last.pt"))
        with torch.no_grad():
            log_probs = model.eval()(x).log_softmax(-1)
        entropy[penalty] = mean_frame_entropy(log_probs, torch.tensor([x.shape[-1] // 8])).item()
    assert entropy[3.0] > entropy[0.0] + 0.1, entropy


def test_bf16_on_a_cpu_that_only_emulates_it_is_warned_about(tmp_path, tiny_tsvs, caplog,
                                                            monkeypatch):
    assert precision_warning("fp32", native=False) is None
    assert precision_warning("bf16", native=True) is None
    assert "--precision fp32" in precision_warning("bf16", native=False)
    monkeypatch.setattr("inkreader.train.fit.native_bf16", lambda: False)
    # the warning comes before any work: a run that then fails on its data still gave it
    cfg = tiny_config(tmp_path / "missing.tsv", tiny_tsvs[1], tmp_path / "run", precision="bf16")
    with pytest.raises(DatasetError, match="missing.tsv"):
        fit(cfg)
    assert any("without native bf16" in r.getMessage() for r in caplog.records)


def test_loss_goes_down_and_best_model_reads_an_image(tmp_path, tiny_tsvs):
    cfg = tiny_config(*tiny_tsvs, tmp_path / "run", epochs=4, epoch_lines=24, lr=3e-3)
    best = fit(cfg)
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) == 24
    assert sum(losses[-4:]) / 4 < 0.7 * sum(losses[:4]) / 4
    assert (tmp_path / "run" / "curve.png").stat().st_size > 1000
    assert len(list((tmp_path / "cache").glob("*.pkl"))) == 2  # its train and val lines
    model, charset, meta = load_checkpoint(best)
    assert meta["trained"] and 0 <= meta["val_cer"] <= 1.5 and len(charset) == 94
    line = prepare_line(read_gray(ROOT / "../shared/data/gnhk/sample_line.jpg"))
    with torch.no_grad():
        logits = model(torch.from_numpy(stack_lines([line.pixels])))
    assert logits.shape == (line.pixels.shape[1] // 8, 1, 95)


def _weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


def test_resume_is_exact(tmp_path, tiny_tsvs):
    straight = tiny_config(*tiny_tsvs, tmp_path / "a")
    fit(straight)
    # the same experiment, stopped mid-epoch twice and resumed each time
    broken = tiny_config(*tiny_tsvs, tmp_path / "b", max_steps=3)
    fit(broken)
    state = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    assert (state["epoch"], state["batch"], state["step"]) == (0, 3, 3)
    fit(broken)
    fit(tiny_config(*tiny_tsvs, tmp_path / "b"))
    a, b = _weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_until_step_stops_at_the_runs_own_step_however_often_it_is_run(tmp_path, tiny_tsvs):
    def state(run):
        s = torch.load(run / "last.pt", weights_only=False)
        return s["epoch"], s["batch"], s["step"]

    def validated(run):
        lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
        return [r["epoch"] for r in map(json.loads, lines) if "val_cer" in r]

    run = tmp_path / "run"
    cfg = tiny_config(*tiny_tsvs, run, keep_epochs=True)  # 4 steps an epoch, 2 epochs
    fit(replace(cfg, until_step=3))
    assert state(run) == (0, 3, 3)
    fit(replace(cfg, until_step=3))  # run again (as after a kill): no step more
    assert state(run) == (0, 3, 3)
    # a stop on an epoch's last step ends the epoch first: validation and snapshot
    fit(replace(cfg, until_step=4))
    assert state(run) == (1, 0, 4)
    assert validated(run) == [1] and (run / "epochs" / "epoch-001.pt").exists()
    fit(replace(cfg, until_step=4))
    assert state(run) == (1, 0, 4) and validated(run) == [1]
    fit(cfg)  # the whole run, the same experiment
    assert state(run) == (2, 0, 8) and validated(run) == [1, 2]
    with pytest.raises(ConfigError, match="until_step must be 1 or more"):
        replace(cfg, until_step=0)


def test_resume_refuses_a_different_experiment(tmp_path, tiny_tsvs):
    fit(tiny_config(*tiny_tsvs, tmp_path / "a", max_steps=1))
    with pytest.raises(InkreaderError, match="different experiment"):
        fit(tiny_config(*tiny_tsvs, tmp_path / "a", lr=0.5))


def test_tail_margin_pads_every_line_and_counts_in_its_ctc_length():
    narrow, wide = np.full((96, 40), 200, np.uint8), np.full((96, 400), 210, np.uint8)
    plain = collate([narrow, wide], [[1], [2]], ["n", "w"])
    assert plain["widths"].tolist() == [40, 400] and plain["x"].shape[-1] == 400 + CNN_CONTEXT
    padded = collate([narrow, wide], [[1], [2]], ["n", "w"], margin=TAIL_MARGIN)
    assert padded["widths"].tolist() == [40 + TAIL_MARGIN, 400 + TAIL_MARGIN]
    assert padded["x"].shape[-1] == 400 + TAIL_MARGIN + CNN_CONTEXT
    assert (padded["x"][1, 0, :, 400:] == 210).all()  # the wide line's own edge value
    with pytest.raises(ConfigError, match="tail_margin"):
        TrainConfig(train=(DataSource("a"),), val=DataSource("b"), tail_margin=-8)


def test_equal_width_batches_count_each_lines_padding_as_its_own():
    narrow, wide = np.full((96, 40), 200, np.uint8), np.full((96, 400), 210, np.uint8)
    equal = collate([narrow, wide], [[1], [2]], ["n", "w"], equal_widths=True)
    assert equal["widths"].tolist() == [400, 400] and equal["x"].shape[-1] == 400 + CNN_CONTEXT
    assert (equal["x"][0, 0, :, 40:] == 200).all()  # the narrow line's own edge value
    with pytest.raises(ConfigError, match="batch_widths"):
        TrainConfig(train=(DataSource("a"),), val=DataSource("b"), batch_widths="same")


def test_x_scale_stretches_the_training_lines(tmp_path, tiny_tsvs):
    train_tsv, val_tsv = tiny_tsvs
    plain = load_source(DataSource(str(val_tsv)), Charset.gnhk(), 96, 1600, False)
    wide = load_source(DataSource(str(val_tsv)), Charset.gnhk(), 96, 1600, False,
                       reading=Reading(x_scale=1.5))
    for a, b in zip(plain.images, wide.images, strict=True):
        assert abs(b.shape[1] - 1.5 * a.shape[1]) <= 2 and b.shape[0] == 96
    with pytest.raises(ConfigError, match="x_scale must be within"):
        tiny_config(*tiny_tsvs, tmp_path / "a", x_scale=0.0)


def test_the_augment_table_is_strict_and_round_trips(tmp_path, tiny_tsvs):
    base = {"train": [{"path": "a"}], "val": {"path": "b"}}
    cfg = config_from_dict({**base, "augment": {"p_margin": 0.2, "stretch": [0.9, 1.1]}})
    assert cfg.augment.p_margin == 0.2 and cfg.augment.stretch == (0.9, 1.1)
    assert cfg.augment.shear == AugmentConfig().shear  # the rest keeps its default
    with pytest.raises(ConfigError, match=r"\[augment\]: unknown keys.*'p_margn'"):
        config_from_dict({**base, "augment": {"p_margn": 0.2}})
    with pytest.raises(ConfigError, match=r"\[augment\]: p_blur must be a probability"):
        config_from_dict({**base, "augment": {"p_blur": 2}})
    full = tiny_config(*tiny_tsvs, tmp_path / "run", augment=cfg.augment)
    (tmp_path / "c.toml").write_text(dump_config(full), encoding="utf-8")
    assert load_config(tmp_path / "c.toml") == full


def _cli_train(config: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "inkreader.cli", "train", "--config",
                             str(config), "--out", str(out), *extra], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_cli_flags_override_the_config(tmp_path, tiny_tsvs):
    config = tmp_path / "c.toml"
    config.write_text(dump_config(tiny_config(*tiny_tsvs, tmp_path / "ignored")), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(out), "--max-steps", "2",
                 "--precision", "bf16", "--dropout", "0.1", "--lr", "3e-4"]) == 0
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["step"] == 2  # stopped by --max-steps, mid-epoch (4 steps an epoch)
    resolved = load_config(out / "config.toml")
    assert (resolved.precision, resolved.dropout, resolved.lr) == ("bf16", 0.1, 3e-4)
    assert resolved.max_steps == 2 and not (tmp_path / "ignored").exists()


def test_a_missing_init_checkpoint_says_how_to_start_from_the_shipped_model(tmp_path, tiny_tsvs,
                                                                           capsys):
    config = tmp_path / "c.toml"
    cfg = tiny_config(*tiny_tsvs, tmp_path / "run", init=str(tmp_path / "earlier-run" / "best.pt"))
    config.write_text(dump_config(cfg), encoding="utf-8")
    assert main(["train", "--config", str(config), "--max-steps", "1"]) != 0
    err = capsys.readouterr().err
    assert "earlier-run/best.pt: --init checkpoint not found" in err and "--init default" in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()  # a run that could not start leaves no folder
    cfg = tiny_config(tmp_path / "nowhere.tsv", tiny_tsvs[1], tmp_path / "run")
    config.write_text(dump_config(cfg), encoding="utf-8")
    assert main(["train", "--config", str(config), "--max-steps", "1"]) != 0
    assert "nowhere.tsv: no such dataset" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_signal_while_lines_load_stops_the_run_at_once(tmp_path, tiny_tsvs, monkeypatch,
                                                         capsys):
    """A run's lines take minutes to load: SIGTERM then stops it at once, with a message and
    no run folder (nothing to save), even inside the loader's skip-a-bad-line handler."""
    import inkreader.train.data as traindata

    real, calls = traindata.line_image, []

    def line_image(*args):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs in this (the main) thread before this ends
        return real(*args)

    monkeypatch.setattr(traindata, "line_image", line_image)
    before = signal.getsignal(signal.SIGTERM)
    config = tmp_path / "c.toml"
    config.write_text(dump_config(tiny_config(*tiny_tsvs, tmp_path / "run")), encoding="utf-8")
    assert main(["train", "--config", str(config)]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "signal 15 before the first training step: stopped" in err
    assert "Traceback" not in err
    assert len(calls) == 3 and not (tmp_path / "run").exists()
    assert signal.getsignal(signal.SIGTERM) is before  # the caller's handler is back


def test_a_signal_while_training_asks_for_a_checkpoint_after_the_step():
    stop = _StopOnSignal()
    try:
        stop.armed = True
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        assert stop.requested
    finally:
        stop.restore()


def test_killed_run_continues_where_its_checkpoint_was(tmp_path, tiny_tsvs):
    cfg = tiny_config(*tiny_tsvs, tmp_path / "run", epochs=3, checkpoint_minutes=0.0)
    config = tmp_path / "c.toml"
    config.write_text(dump_config(cfg), encoding="utf-8")
    proc = _cli_train(config, tmp_path / "run")
    last = tmp_path / "run" / "last.pt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if last.exists() and torch.load(last, weights_only=False)["step"] >= 5:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(last, weights_only=False)["step"]
    assert 5 <= killed_at < 12
    proc = _cli_train(config, tmp_path / "run")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"resumed {last}" in err
    final = torch.load(last, weights_only=False)
    assert final["step"] == 12 and final["epoch"] == 3  # 3 epochs of 4 steps, not restarted
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").open()]
    steps = [r["step"] for r in records if "loss" in r]
    # every step logged once: records of steps lost with the kill were dropped on resume
    assert steps == list(range(1, 13))


def test_ddp_two_processes(tmp_path, tiny_tsvs):
    cfg = tiny_config(*tiny_tsvs, tmp_path / "run", epochs=1, epoch_lines=16)
    config = tmp_path / "c.toml"
    config.write_text(dump_config(cfg), encoding="utf-8")
    torchrun = Path(sys.executable).with_name("torchrun")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # --standalone: a rendezvous on a free local port (a fixed port can be taken)
    res = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2",
                          "-m", "inkreader.cli", "train", "--config", str(config)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    # 16 lines in batches of 4 split over 2 ranks: 2 steps, 16 lines seen in all
    assert state["step"] == 2 and state["lines_seen"] == 16
    assert (tmp_path / "run" / "best.pt").exists()


def test_init_widens_a_1_row_model_and_refuses_another_network(tmp_path, tiny_tsvs, capsys,
                                                               caplog):
    narrow = tmp_path / "narrow.pt"
    save_checkpoint(narrow, busy_model(ModelConfig()), Charset.gnhk())
    with caplog.at_level(logging.INFO, logger="inkreader"):
        fit(tiny_config(*tiny_tsvs, tmp_path / "wide", epochs=1, collapse_rows=3,
                        init=str(narrow)))
    assert "height collapse to 3 rows" in caplog.text
    model, _, _ = load_checkpoint(tmp_path / "wide" / "best.pt")
    assert model.config.collapse_rows == 3
    config = tmp_path / "c.toml"  # a 3-row model cannot start a 1-row run
    cfg = tiny_config(*tiny_tsvs, tmp_path / "back", init=str(tmp_path / "wide" / "best.pt"))
    config.write_text(dump_config(cfg), encoding="utf-8")
    assert main(["train", "--config", str(config), "--max-steps", "1"]) != 0
    err = capsys.readouterr().err
    assert "another network than the run's: collapse_rows 3 (the run: 1)" in err
    assert "Traceback" not in err and not (tmp_path / "back").exists()


def test_reinit_starts_the_named_layers_afresh_and_keeps_the_rest(tmp_path, tiny_tsvs, caplog):
    trained = tmp_path / "trained.pt"
    source = busy_model(ModelConfig())
    save_checkpoint(trained, source, Charset.gnhk())
    with caplog.at_level(logging.INFO, logger="inkreader"):
        fit(tiny_config(*tiny_tsvs, tmp_path / "run", epochs=1, lr=0.0, init=str(trained),
                        reinit=("lstm_b", "classifier"), input_dropout=0.5))
    assert "started lstm_b afresh" in caplog.text and "started classifier afresh" in caplog.text
    model, _, _ = load_checkpoint(tmp_path / "run" / "best.pt")  # lr 0: weights as initialised
    before, after = source.state_dict(), model.state_dict()
    for kept in ("cnn.0.0.weight", "collapse.weight", "lstm_a.weight_hh_l0"):
        assert torch.equal(before[kept], after[kept]), kept
    for fresh in ("lstm_b.weight_hh_l0", "lstm_b.bias_ih_l1_reverse", "classifier.weight"):
        assert not torch.allclose(before[fresh], after[fresh], atol=1e-3), fresh
    assert model.config.input_dropout == 0.5


def test_reinit_and_dropouts_are_checked():
    sources = {"train": [{"path": "a"}], "val": {"path": "b"}}
    with pytest.raises(ConfigError, match=r"reinit names unknown layers \['lstm_c'\]"):
        config_from_dict({**sources, "init": "default", "reinit": ["lstm_a", "lstm_c"]})
    with pytest.raises(ConfigError, match="no init is given"):
        config_from_dict({**sources, "reinit": ["classifier"]})
    with pytest.raises(ConfigError, match="reinit must be a list of layer names"):
        config_from_dict({**sources, "init": "default", "reinit": "classifier"})
    with pytest.raises(ConfigError, match="input_dropout must be at least 0 and below 1"):
        config_from_dict({**sources, "input_dropout": 1.0})


def test_shrink_perturb_mixes_the_init_with_the_runs_own_initial_weights(tmp_path, tiny_tsvs,
                                                                          caplog):
    trained = tmp_path / "trained.pt"
    source = busy_model(ModelConfig(), seed=5)
    save_checkpoint(trained, source, Charset.gnhk())
    with caplog.at_level(logging.INFO, logger="inkreader"):
        fit(tiny_config(*tiny_tsvs, tmp_path / "run", epochs=1, lr=0.0, init=str(trained),
                        shrink=0.4, perturb=0.1))
    assert "shrank the weights to 0.4" in caplog.text
    model, _, _ = load_checkpoint(tmp_path / "run" / "best.pt")  # lr 0: weights as started
    torch.manual_seed(3)  # the run's seed
    fresh = HandwritingRecognizer(ModelConfig()).state_dict()
    before, after = source.state_dict(), model.state_dict()
    for name in ("cnn.0.0.weight", "cnn.4.0.bias", "collapse.weight", "lstm_a.weight_hh_l0",
                 "lstm_b.bias_ih_l1_reverse", "classifier.weight"):
        expected = 0.4 * before[name] + 0.1 * fresh[name]
        assert torch.allclose(after[name], expected, atol=1e-6), name
        assert not torch.allclose(after[name], before[name], atol=1e-4), name
    for kept in ("cnn.0.1.weight", "cnn.2.1.bias"):  # BatchNorm's scale and shift
        assert torch.equal(after[kept], before[kept]), kept


def test_shrink_and_perturb_are_checked():
    sources = {"train": [{"path": "a"}], "val": {"path": "b"}}
    with pytest.raises(ConfigError, match="no init is given"):
        config_from_dict({**sources, "shrink": 0.5})
    with pytest.raises(ConfigError, match="shrink must be above 0 and at most 1"):
        config_from_dict({**sources, "init": "default", "shrink": 0.0})
    with pytest.raises(ConfigError, match="perturb 0 or more"):
        config_from_dict({**sources, "init": "default", "perturb": -0.1})


def test_input_dropout_only_acts_while_training():
    torch.manual_seed(0)
    plain = HandwritingRecognizer(ModelConfig()).eval()
    dropped = HandwritingRecognizer(ModelConfig(input_dropout=0.5)).eval()
    dropped.load_state_dict(plain.state_dict())  # no weights of its own
    x = torch.rand(2, 1, 96, 160) * 255
    with torch.no_grad():
        assert torch.equal(plain(x), dropped(x))
        dropped.train()
        torch.manual_seed(1)
        first = dropped(x)
        plain.train()
        torch.manual_seed(1)  # the same dropout stream between the LSTMs, none before A
        assert not torch.allclose(first, plain(x))


def test_prepared_lines_are_cached_and_any_change_prepares_them_again(tmp_path, caplog):
    rows = [r.split("\t") for r in HOOKER_TSV.read_text(encoding="utf-8").splitlines()[1:4]]
    for file, *_ in rows:
        (tmp_path / Path(file).name).write_bytes((HOOKER_TSV.parent / file).read_bytes())
    tsv = tmp_path / "lines.tsv"
    tsv.write_text("file\ttext\n" + "".join(f"{Path(f).name}\t{text}\n" for f, *_, text in rows)
                   + f"{Path(rows[0][0]).name}\tcosts 5 €\n", encoding="utf-8")
    source, cache = DataSource(str(tsv)), tmp_path / "cache"

    def load():
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="inkreader"):
            return load_source(source, Charset.gnhk(), 96, 1600, False, cache=cache,
                               reading=Reading(deslant=True))

    first = load()
    assert "kept in" in caplog.text and len(list(cache.glob("*.pkl"))) == 1
    again = load()
    assert "read from" in caplog.text and "dropped 1 lines (charset)" in caplog.text
    assert (again.labels, again.ids) == (first.labels, first.ids)
    assert all(np.array_equal(a, b) for a, b in zip(again.images, first.images, strict=True))
    # another reading, or a line's image rewritten, is another key: prepared afresh
    load_source(source, Charset.gnhk(), 96, 1600, False, cache=cache)
    image = tmp_path / Path(rows[1][0]).name
    cv2.imwrite(str(image), 255 - cv2.imread(str(image), cv2.IMREAD_GRAYSCALE))
    changed = load()
    assert "kept in" in caplog.text and len(list(cache.glob("*.pkl"))) == 3
    assert not np.array_equal(changed.images[1], first.images[1])
    for stale in cache.glob("*.pkl"):  # a damaged cache is said and prepared again
        stale.write_bytes(b"not a pickle")
    assert load().ids == first.ids and "unreadable line cache" in caplog.text


def test_a_run_keeps_its_lines_beside_its_folder_unless_told_not_to(tmp_path, tiny_tsvs):
    cfg = tiny_config(*tiny_tsvs, tmp_path / "runs" / "a")
    assert cfg.cache_dir == tmp_path / "runs" / "cache"
    assert cfg.with_overrides(cache="").cache_dir is None
    assert cfg.experiment_key() == cfg.with_overrides(cache="elsewhere").experiment_key()
