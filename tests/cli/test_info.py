"""``inkreader info``: what a model file is, and whether its network is the reference's."""

from __future__ import annotations

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.export.convert import export_onnx
from inkreader.model import ModelConfig, save_checkpoint

from ..test_model import busy_model


def test_info_on_the_shipped_model_names_the_reference_network_and_its_totals(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "network: the reference's" in out
    assert "card convention (convs with BN folded, height collapse, classifier): 141,292" in out
    assert "true total of the exported graph (BN folded, LSTMs included): 5,564,396" in out
    assert "frames per line: width / 8 (250 at the reference width 2000)" in out


def test_info_says_when_a_network_is_not_the_reference(tmp_path, capsys):
    path = tmp_path / "wide.pt"
    save_checkpoint(path, busy_model(ModelConfig(collapse_rows=3)), Charset.gnhk())
    assert main(["info", "-m", str(path)]) == 0
    assert "network: NOT the reference's: collapse_rows 3 (reference 1)" in \
        capsys.readouterr().out


def test_info_describes_an_export_and_refuses_a_missing_file(tmp_path, capsys):
    model = busy_model()
    onnx = export_onnx(model, tmp_path / "m.onnx", fixed_width=True, charset=Charset.gnhk())
    assert main(["info", "-m", str(onnx)]) == 0
    out = capsys.readouterr().out
    assert "input [1, 1, 96, 2000] (B, C, H, W); classes 95" in out
    assert "parameters (layer weights and biases): 5,564,396" in out
    assert "charset: 94 symbols embedded by inkreader" in out
    assert main(["info", "-m", str(tmp_path / "none.pt")]) != 0
    err = capsys.readouterr().err
    assert "none.pt: model file not found" in err and "Traceback" not in err
