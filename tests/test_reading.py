"""How a model reads a line (``preprocess.Reading``: x_scale, deslant, band) is one setting: a
training run prepares its lines that way, writes it into the models it saves, and checkpoints
and their exports carry it to every reader. The settings' own effects are tested beside them
(test_scale.py, test_deslant.py, test_band.py)."""

from __future__ import annotations

import logging

import onnx
import pytest

from inkreader.charset import Charset
from inkreader.export.convert import export_onnx, export_openvino
from inkreader.model import ModelConfig, load_checkpoint, save_checkpoint
from inkreader.preprocess import AS_IS, Reading
from inkreader.runtime.graph import CONFIG_KEY
from inkreader.runtime.recognizer import Recognizer
from inkreader.train.fit import fit

from .conftest import SAMPLE_LINE
from .test_model import busy_model
from .train.test_train import tiny_config

EVERY_SETTING = Reading(x_scale=1.25, deslant=True, band=True)


def test_a_models_reading_travels_with_the_checkpoint_and_its_exports(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, busy_model(ModelConfig(x_scale=1.25, deslant=True, band=True)),
                    Charset.gnhk())
    model, _, _ = load_checkpoint(path)
    assert model.config.reading == EVERY_SETTING
    onnx_path = export_onnx(model, tmp_path / "m.onnx", fixed_width=False, charset=Charset.gnhk())
    xml = export_openvino(model, tmp_path / "m.xml", fixed_width=False, charset=Charset.gnhk())
    for source, backend in ((path, "torch"), (onnx_path, "onnx"), (xml, "openvino")):
        rec = Recognizer.load(source, backend=backend)
        assert rec.reading == EVERY_SETTING, backend
        (result,) = rec.read_paths([SAMPLE_LINE])
        assert result.ok, backend
    # the reference pipeline reads lines as they are, whatever the model trained with
    assert Recognizer.load(path, backend="torch", fixed_width=True).reading == AS_IS
    plain = tmp_path / "plain.pt"
    save_checkpoint(plain, busy_model(ModelConfig()), Charset.gnhk())
    assert Recognizer.load(plain, backend="torch").reading == AS_IS


@pytest.mark.parametrize(("config", "want", "warning"), [
    ('{"x_scale": 9.0, "deslant": true}', Reading(deslant=True), "embedded x_scale 9.0 ignored"),
    ("not json", AS_IS, "unreadable embedded model config ignored"),
    ('["a", "list"]', AS_IS, "unreadable embedded model config ignored"),
])
def test_an_export_whose_config_cannot_be_used_reads_as_is_and_says_so(tmp_path, caplog, config,
                                                                     want, warning):
    model, _, _ = load_checkpoint(_saved(tmp_path))
    path = export_onnx(model, tmp_path / "m.onnx", fixed_width=False, charset=Charset.gnhk())
    proto = onnx.load(str(path))
    (entry,) = [p for p in proto.metadata_props if p.key == CONFIG_KEY]
    entry.value = config
    onnx.save(proto, str(path))
    with caplog.at_level(logging.WARNING, logger="inkreader"):
        rec = Recognizer.load(path, backend="onnx")
    assert rec.reading == want
    assert warning in caplog.text and str(path) in caplog.text


def test_training_writes_a_model_that_reads_as_it_trained(tmp_path, tiny_tsvs):
    train_tsv, val_tsv = tiny_tsvs
    fit(tiny_config(train_tsv, val_tsv, tmp_path / "run", epochs=1, x_scale=1.5, deslant=True,
                    band=True))
    model, _, _ = load_checkpoint(tmp_path / "run" / "best.pt")
    assert model.config.reading == Reading(x_scale=1.5, deslant=True, band=True)


def _saved(tmp_path):
    path = tmp_path / "plain.pt"
    save_checkpoint(path, busy_model(ModelConfig()), Charset.gnhk())
    return path
