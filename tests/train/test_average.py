"""Checkpoint averaging: the exact mean, refusal of mixed architectures, BatchNorm statistics
re-estimated as the plain average over batches, the CLI and training's epoch snapshots."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.errors import ModelError
from inkreader.model import HandwritingRecognizer, ModelConfig, load_checkpoint, save_checkpoint
from inkreader.train.average import average_checkpoints, recompute_batchnorm
from inkreader.train.config import DataSource
from inkreader.train.data import LoadedSource, collate
from inkreader.train.fit import fit

from ..conftest import HOOKER_TSV
from .test_train import tiny_config


def _checkpoint(path, seed: int, config: ModelConfig | None = None, batches: int = 0):
    torch.manual_seed(seed)
    model = HandwritingRecognizer(config or ModelConfig())
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1)
        bn.num_batches_tracked.fill_(batches)
    save_checkpoint(path, model, Charset.gnhk())
    return model


def test_average_is_the_mean_of_the_weights(tmp_path):
    a = _checkpoint(tmp_path / "a.pt", 1, batches=5)
    b = _checkpoint(tmp_path / "b.pt", 2, replace(ModelConfig(), dropout=0.1), batches=9)
    c = _checkpoint(tmp_path / "c.pt", 3, batches=7)
    model, charset, meta = average_checkpoints([tmp_path / n for n in ("a.pt", "b.pt", "c.pt")])
    assert charset == Charset.gnhk() and len(meta["averaged"]) == 3
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    for k, v in model.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(v, (sa[k] + sb[k] + sc[k]) / 3, rtol=0, atol=1e-6)
        else:
            assert torch.equal(v, sc[k]), k  # integer buffers: the last checkpoint's
    assert not torch.equal(model.state_dict()["collapse.weight"], sa["collapse.weight"])


def test_average_of_models_read_at_other_scales_keeps_the_first_scale(tmp_path, caplog):
    _checkpoint(tmp_path / "a.pt", 1, replace(ModelConfig(), x_scale=1.1))
    _checkpoint(tmp_path / "b.pt", 2)
    model, _, _ = average_checkpoints([tmp_path / "a.pt", tmp_path / "b.pt"])
    assert model.config.x_scale == 1.1
    assert "the mean keeps 1.1 (run tune-scale" in caplog.text


def test_average_refuses_another_architecture(tmp_path):
    _checkpoint(tmp_path / "a.pt", 1)
    _checkpoint(tmp_path / "wide.pt", 1, replace(ModelConfig(), lstm_hidden=128))
    with pytest.raises(ModelError, match=r"wide.pt: its config differs from .*a.pt's in "
                                         r"lstm_hidden \(128 against 256\); only"):
        average_checkpoints([tmp_path / "a.pt", tmp_path / "wide.pt"])
    with pytest.raises(ModelError, match="no checkpoints"):
        average_checkpoints([])


def test_batchnorm_statistics_are_the_plain_average_over_batches():
    torch.manual_seed(0)
    model = HandwritingRecognizer(ModelConfig()).eval()
    rng = np.random.default_rng(0)
    # two batches of different widths (sorted by width, 16 lines a batch)
    images = [rng.integers(0, 256, (96, 64 if i < 16 else 160), dtype=np.uint8) for i in range(32)]
    lines = LoadedSource(DataSource("mem"), images, [[1]] * 32, [str(i) for i in range(32)])
    assert recompute_batchnorm(model, lines) == 32
    bn, conv = model.cnn[0][1], model.cnn[0][0]
    assert not model.training and bn.momentum == 0.1  # restored
    means = []
    with torch.no_grad():
        for part in (images[:16], images[16:]):
            x = collate(part, [[1]] * 16, ["x"] * 16)["x"]
            means.append(conv((x - 127.5) / 127.5).mean(dim=(0, 2, 3)))
    torch.testing.assert_close(bn.running_mean, (means[0] + means[1]) / 2, rtol=1e-4, atol=1e-5)
    assert int(bn.num_batches_tracked) == 2


def test_cli_averages_and_refuses_the_test_split(tmp_path, capsys):
    _checkpoint(tmp_path / "a.pt", 1)
    _checkpoint(tmp_path / "b.pt", 2)
    out = tmp_path / "avg.pt"
    args = ["average", str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--out", str(out)]
    assert main([*args, "--bn-data", str(HOOKER_TSV), "--bn-split", "test"]) == 2
    assert "'test' split" in capsys.readouterr().err and not out.exists()
    assert main([*args, "--bn-data", str(HOOKER_TSV), "--bn-lines", "20", "--half"]) == 0
    assert "re-estimated on 20 lines" in capsys.readouterr().out
    model, _, meta = load_checkpoint(out)
    assert meta["batchnorm"] == {"data": str(HOOKER_TSV), "split": "train", "lines": 20}
    assert torch.load(out, weights_only=True)["state_dict"]["collapse.weight"].dtype == \
        torch.float16
    assert main(args) == 2  # exists: never overwritten without --force
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


def test_training_keeps_every_epochs_model(tmp_path, tiny_tsvs):
    fit(tiny_config(*tiny_tsvs, tmp_path / "run", keep_epochs=True))
    kept = sorted((tmp_path / "run" / "epochs").glob("epoch-*.pt"))
    assert [p.name for p in kept] == ["epoch-001.pt", "epoch-002.pt"]
    metas = [load_checkpoint(p)[2] for p in kept]
    assert [m["epoch"] for m in metas] == [1, 2]
    model, _, _ = average_checkpoints(kept)
    assert model.state_dict().keys() == load_checkpoint(kept[0])[0].state_dict().keys()
    # the run's last.pt is a training state, not a model: a clear error naming the file
    with pytest.raises(ModelError, match=r"last\.pt: not an inkreader checkpoint \(a PyTorch "
                       r"file, but not a model\); a run's last\.pt is its training state"):
        average_checkpoints([kept[0], tmp_path / "run" / "last.pt"])
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(ModelError, match=r"notes\.txt: not an inkreader checkpoint \(not a "
                       "PyTorch file"):
        load_checkpoint(tmp_path / "notes.txt")
