"""ONNX / OpenVINO export: the reference contract with --fixed-width, dynamic shapes otherwise,
BN folded (parameter totals), and verified parity with PyTorch on real lines."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import openvino as ov
import pytest
import torch

from inkreader.charset import Charset
from inkreader.cli import main
from inkreader.errors import ModelError
from inkreader.export.convert import (
    export_onnx,
    export_openvino,
    ir_parameter_count,
    lstm_recurrent_biases,
    onnx_parameter_count,
    verify_export,
)
from inkreader.model import ModelConfig, save_checkpoint
from inkreader.runtime.graph import CHARSET_KEY

from ..conftest import SAMPLE_LINE, SHARED
from ..test_model import busy_model

CS = Charset.gnhk()
LINES = [SAMPLE_LINE, *sorted((SHARED / "data" / "hooker" / "lines").glob("*.jpg"))[:2]]


@pytest.fixture(scope="module")
def net():
    return busy_model()


@pytest.fixture(scope="module")
def exported(net, tmp_path_factory):
    """(format, fixed_width) -> exported path, each exported once for the whole module."""
    folder = tmp_path_factory.mktemp("exports")
    cache = {}

    def get(fmt: str, fixed: bool):
        if (fmt, fixed) not in cache:
            name = f"m_{'fixed' if fixed else 'dynamic'}.{'onnx' if fmt == 'onnx' else 'xml'}"
            export = export_onnx if fmt == "onnx" else export_openvino
            cache[fmt, fixed] = export(net, folder / name, fixed, CS)
        return cache[fmt, fixed]
    return get


def _dims(value_info) -> list:
    return [d.dim_value or d.dim_param for d in value_info.type.tensor_type.shape.dim]


def test_fixed_width_onnx_is_the_reference_contract(exported, net):
    path = exported("onnx", True)
    onnx.checker.check_model(str(path), full_check=True)
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["actual_input"]
    assert [o.name for o in graph.output] == ["output"]
    assert _dims(graph.input[0]) == [1, 1, 96, 2000] and _dims(graph.output[0]) == [250, 1, 95]
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert not [n for n in graph.node if n.op_type == "BatchNormalization"]  # folded
    assert onnx_parameter_count(path) == net.exported_parameters() == 5_564_396
    assert sum(n.op_type == "LSTM" for n in graph.node) == 4  # 2 LSTMs x 2 layers


def test_dynamic_onnx_runs_any_batch_and_width(exported, net):
    path = exported("onnx", False)
    graph = onnx.load(str(path)).graph
    b, c, h, w = _dims(graph.input[0])
    assert isinstance(b, str) and isinstance(w, str) and (c, h) == (1, 96)
    assert [i.name for i in graph.input] == ["actual_input", "widths"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape, widths in [((1, 1, 96, 64), [64]), ((3, 1, 96, 200), [160, 200, 96])]:
        x = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
        out = session.run(None, {"actual_input": x, "widths": np.array(widths)})[0]
        with torch.no_grad():
            ref = net(torch.from_numpy(x), torch.tensor(widths)).numpy()
        assert out.shape == (max(widths) // 8, shape[0], 95)
        for b, w in enumerate(widths):  # each line's own frames (past them: no line's)
            assert np.abs(out[: w // 8, b] - ref[: w // 8, b]).max() < 1e-3


def test_fixed_width_ir_is_the_reference_contract(exported, net):
    path = exported("openvino", True)
    ir = ov.Core().read_model(str(path))
    assert [i.get_any_name() for i in ir.inputs] == ["actual_input"]
    assert [o.get_any_name() for o in ir.outputs] == ["output"]
    assert list(ir.input(0).get_shape()) == [1, 1, 96, 2000]
    assert list(ir.output(0).get_shape()) == [250, 1, 95]
    total = ir_parameter_count(ir)
    assert total in (5_564_396, 5_564_396 - lstm_recurrent_biases(net))  # biases summed: 8,192
    assert path.with_suffix(".bin").stat().st_size >= 4 * total  # FP32 weights by default


def test_dynamic_ir_shapes(exported):
    ir = ov.Core().read_model(str(exported("openvino", False)))
    shape = ir.input(0).get_partial_shape()
    assert shape[0].is_dynamic and shape[3].is_dynamic and shape[2].get_length() == 96


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
@pytest.mark.parametrize("fixed", [True, False])
def test_verification_on_real_lines(exported, net, fmt, fixed):
    v = verify_export(net, CS, exported(fmt, fixed), fmt, fixed, LINES, repeats=1)
    assert v.ok, v.report()
    assert v.parity_ok and v.max_abs_diff < 1e-3 * v.logit_scale and len(v.texts) == len(LINES)
    assert all(t == e and len(t) > 3 for _, t, e in v.texts)  # real strings, equal
    assert v.frames_agreeing[0] == v.frames_agreeing[1] > 0
    assert "verification passed" in v.report()


def test_charset_is_embedded(exported):
    meta = {p.key: p.value for p in onnx.load(str(exported("onnx", True))).metadata_props}
    assert CHARSET_KEY in meta and len(__import__("json").loads(meta[CHARSET_KEY])) == 94
    ir = ov.Core().read_model(str(exported("openvino", True)))
    assert ir.has_rt_info([CHARSET_KEY])


def test_never_overwrites_silently(exported, net):
    path = exported("onnx", True)
    with pytest.raises(ModelError, match="already exists"):
        export_onnx(net, path, True, CS)
    with pytest.raises(ModelError, match="must end in .xml"):
        export_openvino(net, path.with_suffix(".onnx2"), True, CS)
    assert export_onnx(net, path, True, CS, force=True) == path


def test_export_command(tmp_path, net, capsys):
    model = tmp_path / "m.pt"
    save_checkpoint(model, net, CS)
    out = tmp_path / "ref.onnx"
    argv = ["export", "--format", "onnx", "--out", str(out), "--fixed-width", "-m", str(model)]
    assert main(argv) == 0
    report = capsys.readouterr().out
    assert "actual_input [1, 1, 96, 2000]" in report and "output [250, 1, 95]" in report
    assert "parameters 5,564,396" in report and "verification passed" in report
    assert main(argv) == 2  # exists: refused without --force
    assert "already exists" in capsys.readouterr().err


def test_a_wrong_parameter_total_fails_verification(exported, net, monkeypatch):
    monkeypatch.setattr(net, "exported_parameters", lambda: 1_000)
    v = verify_export(net, CS, exported("onnx", True), "onnx", True, LINES[:1], repeats=0)
    assert not v.ok and any("parameters" in f for f in v.failures)
    assert "verification FAILED" in v.report()


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_a_model_with_more_collapse_rows_exports_and_verifies(tmp_path, fmt):
    """Not the reference network (``collapse_rows = 3``), but the same contract: one export
    that computes what PyTorch does, with the parameter total its own."""
    wide = busy_model(ModelConfig(collapse_rows=3))
    path = tmp_path / f"wide.{'onnx' if fmt == 'onnx' else 'xml'}"
    (export_onnx if fmt == "onnx" else export_openvino)(wide, path, False, CS)
    v = verify_export(wide, CS, path, fmt, False, LINES, repeats=0)
    assert v.ok, v.report()
    assert v.expected_parameters[0] == wide.exported_parameters() > 5_564_396  # its own total
    assert all(t == e and len(t) > 3 for _, t, e in v.texts)
