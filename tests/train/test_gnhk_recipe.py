"""The GNHK recipe of the README, end to end on generated GNHK-format pages:
prepare-gnhk --split train / test -> train with configs/gnhk-finetune.toml (validation on held-out
train pages) -> evaluate the test lines."""

from __future__ import annotations

import dataclasses
import json

from inkreader.cli import main
from inkreader.data.datasets import holdout, load_dataset
from inkreader.train.config import dump_config, load_config

from ..conftest import ROOT
from ..fakegnhk import make_pages


def test_prepare_train_evaluate(tmp_path, capsys, monkeypatch):
    make_pages(tmp_path / "train_data" / "train", count=6, seed=1, special=False)
    make_pages(tmp_path / "test_data" / "test", count=2, seed=2, special=True)
    assert main(["prepare-gnhk", str(tmp_path / "train_data"), str(tmp_path / "lines_train"),
                 "--split", "train"]) == 0
    assert main(["prepare-gnhk", str(tmp_path / "test_data"), str(tmp_path / "lines_test"),
                 "--split", "test"]) == 0
    train_gt = tmp_path / "lines_train" / "train_img_id_gt.txt"
    test_gt = tmp_path / "lines_test" / "test_img_id_gt.txt"
    assert train_gt.read_text().count("\n") >= 10 and test_gt.exists()

    # the shipped config reads the train lines as the README's commands write them, and holds
    # the same pages out of training that it validates on
    shipped = load_config(ROOT / "configs" / "gnhk-finetune.toml")
    assert [s.path for s in shipped.train] == ["lines_train/train_img_id_gt.txt"]
    (val,) = shipped.val
    assert val.path == "lines_train/train_img_id_gt.txt" and not val.augment
    assert val.holdout == shipped.train[0].holdout == 0.05
    # six fake pages: hold out half of them so that both parts have lines
    cfg = dataclasses.replace(
        shipped, epochs=1, epoch_lines=8, batch_size=4, warmup_steps=1, workers=0, threads=1,
        init=None, out=str(tmp_path / "run"),
        train=(dataclasses.replace(shipped.train[0], holdout=0.5),),
        val=(dataclasses.replace(val, holdout=0.5),))
    monkeypatch.chdir(tmp_path)  # the config's paths are relative to where it runs
    samples = load_dataset("lines_train/train_img_id_gt.txt")
    fit = {s.page_key for s in holdout(samples, 0.5, held_out=False)}
    val = {s.page_key for s in holdout(samples, 0.5, held_out=True)}
    assert fit and val and not fit & val and len(fit | val) == 6
    (tmp_path / "gnhk.toml").write_text(dump_config(cfg), encoding="utf-8")
    assert main(["train", "--config", "gnhk.toml"]) == 0
    best = tmp_path / "run" / "best.pt"
    assert best.exists()

    capsys.readouterr()
    assert main(["evaluate", str(test_gt), "--model", str(best), "--backend", "torch",
                 "--fixed-width", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    n_test = sum(1 for line in test_gt.read_text().splitlines() if line)
    assert out["lines"] == n_test and out["chars"] > 0 and 0.0 <= out["cer"] <= 1.5
