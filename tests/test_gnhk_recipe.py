"""The GNHK recipe of the README, end to end on generated GNHK-format pages:
prepare-gnhk --split train / test -> train on the train gt file -> evaluate the test lines."""

from __future__ import annotations

import json

from inkreader.cli import main
from inkreader.trainconfig import DataSource, TrainConfig, dump_config

from .fakegnhk import make_pages


def test_prepare_train_evaluate(tmp_path, capsys):
    make_pages(tmp_path / "train_data" / "train", count=3, seed=1, special=False)
    make_pages(tmp_path / "test_data" / "test", count=2, seed=2, special=True)
    assert main(["prepare-gnhk", str(tmp_path / "train_data"), str(tmp_path / "lines_train"),
                 "--split", "train"]) == 0
    assert main(["prepare-gnhk", str(tmp_path / "test_data"), str(tmp_path / "lines_test"),
                 "--split", "test"]) == 0
    train_gt = tmp_path / "lines_train" / "train_img_id_gt.txt"
    test_gt = tmp_path / "lines_test" / "test_img_id_gt.txt"
    assert train_gt.read_text().count("\n") >= 10 and test_gt.exists()

    cfg = TrainConfig(train=(DataSource(str(train_gt)),),
                      val=DataSource(str(test_gt), augment=False), out=str(tmp_path / "run"),
                      epochs=1, epoch_lines=8, batch_size=4, warmup_steps=1, workers=0,
                      threads=1)
    (tmp_path / "gnhk.toml").write_text(dump_config(cfg), encoding="utf-8")
    assert main(["train", "--config", str(tmp_path / "gnhk.toml")]) == 0
    best = tmp_path / "run" / "best.pt"
    assert best.exists()

    capsys.readouterr()
    assert main(["evaluate", str(test_gt), "--model", str(best), "--backend", "torch",
                 "--fixed-width", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    n_test = sum(1 for line in test_gt.read_text().splitlines() if line)
    assert out["lines"] == n_test and out["chars"] > 0 and 0.0 <= out["cer"] <= 1.5
