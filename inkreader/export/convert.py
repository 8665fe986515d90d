"""ONNX and OpenVINO export, each verified (timm's ``onnx_validate`` is the model): the checker,
input/output names and shapes, the parameter total, logits parity with PyTorch, the same
decoded text on real lines, and a timing.

``fixed_width=True`` is the reference contract: one input ``actual_input`` [1, 1, 96, 2000] of raw
pixels, one output ``output`` [250, 1, 95] of logits. Otherwise batch and width are dynamic, and
a second input ``widths`` [B] gives each line's own width, over which its LSTMs read it.
BatchNorm is folded into the convolutions by the exporter's constant folding (eval mode).
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..charset import Charset
from ..errors import ModelError
from ..model import HandwritingRecognizer
from ..runtime.graph import (
    CHARSET_KEY,
    CONFIG_KEY,
    INPUT_NAME,
    OUTPUT_NAME,
    WIDTHS_NAME,
    onnx_bytes,
)

log = logging.getLogger(__name__)

# Max |logit difference| accepted against PyTorch, per unit of logit scale (the largest |logit|,
# at least 1): float32 sums over 250 LSTM steps drift in proportion to the logits' size.
PARITY_TOLERANCE = 1e-3
_WEIGHT_OPS = {"Convolution", "MatMul", "LSTMSequence", "LSTMCell", "GRUSequence", "RNNSequence"}


def _check_target(path: Path, suffix: str, force: bool) -> list[Path]:
    if path.suffix.lower() != suffix:
        raise ModelError(f"{path}: the output of this format must end in {suffix}")
    targets = [path, path.with_suffix(".bin")] if suffix == ".xml" else [path]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise ModelError(f"{existing[0]}: already exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return targets


def export_onnx(model: HandwritingRecognizer, path: str | Path, fixed_width: bool,
                charset: Charset | None = None, force: bool = False) -> Path:
    """Write ``model`` as ONNX (see ``onnx_bytes``); the charset goes into the metadata."""
    path = Path(path)
    _check_target(path, ".onnx", force)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(onnx_bytes(model, fixed_width, charset))
    tmp.replace(path)  # a failed export never leaves a half-written file under the real name
    return path


def export_openvino(model: HandwritingRecognizer, path: str | Path, fixed_width: bool,
                    charset: Charset | None = None, force: bool = False,
                    compress_to_fp16: bool = False) -> Path:
    """Write ``model`` as an OpenVINO IR (``path`` .xml plus its .bin), converted from the ONNX
    graph (the same LSTM graph that ONNX Runtime runs). Weights stay FP32 by default, so the IR
    gives the same text as PyTorch; ``compress_to_fp16`` halves the .bin."""
    import openvino as ov

    path = Path(path)
    _check_target(path, ".xml", force)
    ir = ov.convert_model(io.BytesIO(onnx_bytes(model, fixed_width)))
    if charset is not None:
        from dataclasses import asdict
        ir.set_rt_info(json.dumps(list(charset.symbols), ensure_ascii=False), [CHARSET_KEY])
        ir.set_rt_info(json.dumps(asdict(model.config)), [CONFIG_KEY])
    tmp = path.with_name(path.stem + ".tmp.xml")
    ov.save_model(ir, tmp, compress_to_fp16=compress_to_fp16)
    tmp.with_suffix(".bin").replace(path.with_suffix(".bin"))
    tmp.replace(path)  # the .xml finds its weights by name: <stem>.bin
    return path


# --- counting --------------------------------------------------------------------------------

def onnx_parameter_count(path: str | Path) -> int:
    """Elements of all initializers of an ONNX file (the layers' weights and biases)."""
    import onnx

    proto = onnx.load(str(path))
    return sum(int(np.prod(t.dims)) for t in proto.graph.initializer)


def ir_parameter_count(ir) -> int:
    """Elements of the float constants that are layer weights in an ``openvino.Model``: inputs of
    convolutions, matmuls and recurrent ops, and the bias added right after a conv or matmul
    (not the normalisation or LeakyReLU-slope scalars). FP16-compressed weights are followed
    through their decompressing Convert."""
    total = 0
    for node in ir.get_ordered_ops():
        if node.get_type_name() != "Constant" or not node.get_output_element_type(0).is_real():
            continue
        users = [t.get_node() for t in node.output(0).get_target_inputs()]
        users = [u for c in users for u in (
            [t.get_node() for t in c.output(0).get_target_inputs()]
            if c.get_type_name() == "Convert" else [c])]
        if any(_is_weight_use(u) for u in users):
            total += int(np.prod(node.get_output_shape(0)))
    return total


def _is_weight_use(user) -> bool:
    kind = user.get_type_name()
    if kind == "Add":  # a bias: added to a conv's or matmul's output
        return bool({user.input_value(i).get_node().get_type_name() for i in range(2)}
                    & {"Convolution", "MatMul"})
    return kind in _WEIGHT_OPS


def lstm_recurrent_biases(model: HandwritingRecognizer) -> int:
    """Elements of the LSTMs' recurrent biases, which OpenVINO adds into the input biases."""
    return sum(p.numel() for n, p in model.named_parameters()
               if n.startswith("lstm") and ".bias_hh" in n)


# --- verification ----------------------------------------------------------------------------

@dataclass
class Verification:
    """Everything ``verify_export`` checked, each with the measured value."""

    path: Path
    format: str
    fixed_width: bool
    input: str = ""
    output: str = ""
    parameters: int = 0
    expected_parameters: tuple[int, ...] = ()
    parameter_note: str = ""
    max_abs_diff: float = float("nan")
    logit_scale: float = 1.0  # max(1, largest |PyTorch logit|)
    frames_agreeing: tuple[int, int] = (0, 0)  # best-path frames with the same argmax, of all
    texts: list[tuple[str, str, str]] = field(default_factory=list)  # (line, torch, export)
    ms_torch: float = float("nan")
    ms_export: float = float("nan")
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def parity_ok(self) -> bool:
        return self.max_abs_diff <= PARITY_TOLERANCE * self.logit_scale

    def report(self) -> str:
        """A human-readable verification report, one check a line."""
        mark = lambda ok: "ok" if ok else "FAILED"  # noqa: E731
        same = sum(t == e for _, t, e in self.texts)
        lines = [
            f"exported {self.format} ({'fixed width' if self.fixed_width else 'dynamic'}): "
            f"{self.path}",
            f"  input   {self.input}",
            f"  output  {self.output}",
            f"  parameters {self.parameters:,} (expected "
            f"{' or '.join(f'{p:,}' for p in self.expected_parameters)}) "
            f"{mark(self.parameters in self.expected_parameters)}",
        ]
        if self.parameter_note:
            lines.append(f"    {self.parameter_note}")
        lines += [
            f"  logits max |diff| vs PyTorch: {self.max_abs_diff:.2e} (largest |logit| "
            f"{self.logit_scale:.1f}; tolerance {PARITY_TOLERANCE:g} x that) "
            f"{mark(self.parity_ok)}",
            f"  decoded text identical on {same}/{len(self.texts)} lines "
            f"{mark(same == len(self.texts) and bool(self.texts))}",
        ]
        agree, frames = self.frames_agreeing
        lines.append(f"  best-path argmax identical on {agree}/{frames} frames")
        lines += [f"    {name}: {t!r}" + ("" if t == e else f" != {e!r}")
                  for name, t, e in self.texts]
        lines.append(f"  time per line: PyTorch {self.ms_torch:.1f} ms, {self.format} "
                     f"{self.ms_export:.1f} ms ({len(self.texts)} lines, "
                     + ("one per request)" if self.fixed_width else "batched with their widths)"))
        lines += [f"  FAILED: {f}" for f in self.failures]
        lines.append("verification " + ("passed" if self.ok else "FAILED"))
        return "\n".join(lines)


def verify_export(model: HandwritingRecognizer, charset: Charset, path: str | Path, fmt: str,
                  fixed_width: bool, images: list[Path], repeats: int = 2) -> Verification:
    """Check an exported file (``fmt`` "onnx" or "openvino") against ``model`` on the line
    images ``images``: structure, parameter total, logits, decoded text, time per line."""
    v = Verification(Path(path), fmt, fixed_width)
    if fmt == "onnx":
        _check_onnx(v, model)
    else:
        _check_ir(v, model)
    if v.parameters not in v.expected_parameters:
        v.failures.append(f"{v.parameters:,} parameters, not the model's")
    if not images:
        v.failures.append("no line images to compare the outputs on")
    else:
        _compare_outputs(v, model, charset, images, repeats)
    return v


def _expect_shapes(v: Verification, model: HandwritingRecognizer, names: tuple[str, ...],
                   shapes: tuple[list, ...]) -> None:
    """Names and shapes (inputs, then the output): exactly the reference contract, or dynamic
    batch and width with the widths input."""
    cfg = model.config
    v.input = ", ".join(f"{n} {s}" for n, s in zip(names[:-1], shapes[:-1], strict=True))
    v.output = f"{names[-1]} {shapes[-1]}"
    want = (INPUT_NAME, OUTPUT_NAME) if v.fixed_width else (INPUT_NAME, WIDTHS_NAME, OUTPUT_NAME)
    if names != want:
        v.failures.append(f"names {names} are not {want}")
        return
    shapes = (shapes[0], shapes[-1])
    if v.fixed_width:
        want = ([1, 1, cfg.height, cfg.fixed_width],
                [cfg.fixed_width // cfg.stride, 1, cfg.num_classes])
        if list(shapes) != list(want):
            v.failures.append(f"shapes {shapes} are not the reference's {want}")
    else:
        (b, c, h, w), (_, _, k) = shapes
        if not (isinstance(b, str) and isinstance(w, str)
                and (c, h, k) == (1, cfg.height, cfg.num_classes)):
            v.failures.append(f"shapes {shapes} are not dynamic in batch and width")


def _check_onnx(v: Verification, model: HandwritingRecognizer) -> None:
    import onnx

    try:
        onnx.checker.check_model(str(v.path), full_check=True)
    except Exception as exc:
        v.failures.append(f"onnx.checker: {exc}")
    graph = onnx.load(str(v.path)).graph
    dims = lambda vi: [d.dim_value or d.dim_param for d in vi.type.tensor_type.shape.dim]  # noqa: E731
    if len(graph.output) != 1:
        v.failures.append(f"{len(graph.output)} outputs, not 1")
    _expect_shapes(v, model, (*(i.name for i in graph.input), graph.output[0].name),
                   (*(dims(i) for i in graph.input), dims(graph.output[0])))
    if any(n.op_type == "BatchNormalization" for n in graph.node):
        v.failures.append("BatchNormalization left in the graph (not folded)")
    v.parameters = onnx_parameter_count(v.path)
    v.expected_parameters = (model.exported_parameters(),)


def _check_ir(v: Verification, model: HandwritingRecognizer) -> None:
    import openvino as ov

    ir = ov.Core().read_model(str(v.path))
    dims = lambda p: [d.get_length() if d.is_static else "?" for d in p]  # noqa: E731
    if len(ir.outputs) != 1:
        v.failures.append(f"{len(ir.outputs)} outputs, not 1")
    _expect_shapes(v, model, (*(i.get_any_name() for i in ir.inputs), ir.output(0).get_any_name()),
                   (*(dims(i.get_partial_shape()) for i in ir.inputs),
                    dims(ir.output(0).get_partial_shape())))
    v.parameters = ir_parameter_count(ir)
    merged = lstm_recurrent_biases(model)
    v.expected_parameters = (model.exported_parameters(), model.exported_parameters() - merged)
    if v.parameters != model.exported_parameters():
        v.parameter_note = (f"OpenVINO adds each LSTM's recurrent bias into its input bias "
                            f"(exact): {model.exported_parameters():,} - {merged:,}")


def _compare_outputs(v: Verification, model: HandwritingRecognizer, charset: Charset,
                     images: list[Path], repeats: int) -> None:
    """Logits and greedy text of PyTorch and the export on the same prepared lines."""
    from ..decode.greedy import greedy_decode
    from ..preprocess import CNN_CONTEXT, prepare_line, read_gray, stack_lines
    from ..runtime.backends import OnnxBackend, OpenVinoBackend, TorchBackend, cpu_count

    cfg = model.config
    width = cfg.fixed_width if v.fixed_width else None
    lines = [prepare_line(read_gray(p), cfg.height, width, str(p), cfg.reading) for p in images]
    # Fixed width: one line per request as the reference. Dynamic: one batch of all the lines,
    # each with its width (proves batch and width are free), or, on a runtime that reads lines
    # of different widths apart only (OpenVINO's CPU plugin), one batch per width.
    threads = cpu_count()
    exported = (OnnxBackend(v.path, threads, 1) if v.format == "onnx"
                else OpenVinoBackend(v.path, "CPU", threads, 1))
    if v.fixed_width:
        groups = [[i] for i in range(len(lines))]
    elif exported.mixed_lengths:
        groups = [list(range(len(lines)))]
    else:
        by_width: dict[int, list[int]] = {}
        for i, ln in enumerate(lines):
            by_width.setdefault(ln.pixels.shape[1], []).append(i)
        groups = list(by_width.values())
    widest = [max(lines[i].pixels.shape[1] for i in g) for g in groups]
    batches = [(stack_lines([lines[i].pixels for i in g], None if v.fixed_width
                            else w + CNN_CONTEXT),
                None if v.fixed_width else np.array([lines[i].pixels.shape[1] for i in g]))
               for g, w in zip(groups, widest, strict=True)]
    torch_backend = TorchBackend(model)
    ref, v.ms_torch = timed(lambda: [torch_backend.run(*b) for b in batches], repeats)
    out, v.ms_export = timed(lambda: [exported.run(*b) for b in batches], repeats)
    v.ms_torch *= 1000 / len(lines)
    v.ms_export *= 1000 / len(lines)
    v.max_abs_diff = max(float(np.abs(r - o).max()) for r, o in zip(ref, out, strict=True))
    v.logit_scale = max(1.0, *(float(np.abs(r).max()) for r in ref))
    place = {i: (k, col) for k, g in enumerate(groups) for col, i in enumerate(g)}
    for i, (path, line) in enumerate(zip(images, lines, strict=True)):
        k, col = place[i]
        r, o = ref[k], out[k]
        frames = r.shape[0] if v.fixed_width else line.pixels.shape[1] // cfg.stride
        pair = [x[:frames, col] for x in (r, o)]
        same = int((pair[0].argmax(1) == pair[1].argmax(1)).sum())
        v.frames_agreeing = (v.frames_agreeing[0] + same, v.frames_agreeing[1] + frames)
        v.texts.append((Path(path).name, *(greedy_decode(x, charset)[0] for x in pair)))
    if not v.parity_ok:
        v.failures.append(f"logits differ from PyTorch by {v.max_abs_diff:.2e}")
    if any(t != e for _, t, e in v.texts):
        v.failures.append("decoded text differs from PyTorch")


def timed(fn, repeats: int) -> tuple[object, float]:
    """Run ``fn`` once to warm up, then ``repeats`` times; (last result, seconds per run)."""
    out = fn()
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    return out, (time.perf_counter() - start) / max(1, repeats)
