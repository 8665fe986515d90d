"""INT8 post-training quantisation of a checkpoint to an OpenVINO IR, with NNCF.

    ir = quantize_openvino(model, charset, "model-int8.xml", calibration_lines(tsv, "train"))

The checkpoint goes through the same ONNX graph as ``export.export_openvino``; NNCF inserts
FakeQuantize ops calibrated on real line images (each at its own width, one line a sample), and
OpenVINO's CPU plugin then runs the convolutions, the LSTMs and the matmuls in INT8.
Calibration lines come from a training split: calibrating on the lines the model is measured on
would leak them into the model, so a split named "test" is refused.

An INT8 IR runs best with f32 (not bf16) for what stays unquantised: OpenVINO otherwise inserts
bf16 <-> int8 reorders around every quantised op (measured here, batch 16 x 800 px, one core:
INT8 + f32 54 ms, INT8 + bf16 73 ms, bf16 alone 73 ms, f32 alone 135 ms); ``backends`` applies
that when it loads a quantised model with the "auto" precision.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..charset import Charset
from ..data.datasets import FORBIDDEN_SPLITS, load_dataset
from ..data.sample import LineSample
from ..errors import DatasetError, ImageError, ModelError
from ..preprocess import AS_IS, Reading

log = logging.getLogger(__name__)

DEFAULT_CALIBRATION_LINES = 300  # NNCF's default subset size
# Op types left in f32 by default: the LSTMs carry INT8's loss. With them quantised the shipped
# model read both val sets about 5 points of CER worse than f32; with them in f32 within 0.06
# (docs/inference.md, "INT8").
F32_OPS = ("LSTMSequence",)
QUANTIZATION_KEY = "inkreader.quantization"  # rt_info: how the IR was quantised (JSON)


def calibration_lines(dataset: str | Path, split: str = "train",
                      limit: int = DEFAULT_CALIBRATION_LINES) -> list[LineSample]:
    """``limit`` lines of ``split``, spread evenly over the split (deterministic)."""
    if split in FORBIDDEN_SPLITS:
        raise DatasetError(f"{dataset}: calibrating on the {split!r} split would tune the model "
                           "on the lines it is measured on; use a training split")
    if limit < 1:
        raise DatasetError(f"the number of calibration lines must be at least 1, got {limit}")
    samples = load_dataset(dataset, split)
    if len(samples) <= limit:
        return samples
    step = len(samples) / limit
    return [samples[int(i * step)] for i in range(limit)]


def calibration_inputs(samples: list[LineSample], height: int, fixed_width: int | None,
                       reading: Reading = AS_IS) -> Iterator[np.ndarray | tuple]:
    """(1, 1, H, W) float32 raw pixels of each readable sample (the inference preprocessing,
    read as ``reading``), with its width (1,) as the dynamic graph's second input unless
    ``fixed_width``; an unreadable one is logged and skipped."""
    from ..data.pagexml import PageImages, line_image
    from ..preprocess import CNN_CONTEXT, prepare_line, stack_lines

    pages = PageImages()
    for sample in samples:
        try:
            line = prepare_line(line_image(sample, pages), height, fixed_width, str(sample.path),
                                reading)
        except ImageError as exc:
            log.warning("calibration line skipped: %s", exc)
            continue
        if fixed_width is not None:
            yield stack_lines([line.pixels])
        else:
            width = line.pixels.shape[1]
            yield stack_lines([line.pixels], width + CNN_CONTEXT), np.array([width])


OVERFLOW_FIXES = ("enable", "first_layer_only", "disable")


def quantize_openvino(model, charset: Charset, out: str | Path, samples: list[LineSample],
                      fixed_width: bool = False, force: bool = False,
                      overflow_fix: str = "enable", keep_f32: tuple[str, ...] = F32_OPS) -> Path:
    """Quantise ``model`` (a HandwritingRecognizer) to an INT8 OpenVINO IR at ``out`` (.xml and
    its .bin), calibrated on ``samples``; the op types of ``keep_f32`` (OpenVINO type names,
    the LSTMs by default) stay in f32. The charset, the model config and the calibration's
    description go into the IR's rt_info.

    ``overflow_fix`` is NNCF's: "enable" stores every layer's weights in 7 bits, so that CPUs
    without VNNI (AVX2, AVX-512 before Cascade Lake), whose 8-bit dot products saturate a
    16-bit sum, compute what was calibrated; NNCF's own default fixes the first layer only.
    On an AVX2 CPU the shipped model read the Hooker val split at 43.74 % CER quantised with
    NNCF's default and 24.94 % with "enable" (f32: 19.53 %; docs/inference.md)."""
    from ..extras import require

    require("quant", "INT8 quantisation")
    import nncf
    import openvino as ov
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix

    from ..runtime.graph import CHARSET_KEY, CONFIG_KEY, onnx_bytes

    out = Path(out)
    if out.suffix.lower() != ".xml":
        raise ModelError(f"{out}: an OpenVINO IR must end in .xml")
    if overflow_fix not in OVERFLOW_FIXES:
        raise ModelError(f"overflow_fix must be one of {', '.join(OVERFLOW_FIXES)}, got "
                         f"{overflow_fix!r}")
    existing = [p for p in (out, out.with_suffix(".bin")) if p.exists()]
    if existing and not force:
        raise ModelError(f"{existing[0]}: already exists (use --force to overwrite)")
    cfg = model.config
    inputs = list(calibration_inputs(samples, cfg.height,
                                     cfg.fixed_width if fixed_width else None, cfg.reading))
    if not inputs:
        raise DatasetError("no readable calibration lines")
    ir = ov.convert_model(io.BytesIO(onnx_bytes(model, fixed_width)))
    start = time.perf_counter()
    advanced = AdvancedQuantizationParameters(overflow_fix=OverflowFix(overflow_fix))
    # the op types left in f32 (NNCF inserts no FakeQuantize before them)
    ignored = nncf.IgnoredScope(types=list(keep_f32)) if keep_f32 else None
    quantized = nncf.quantize(ir, nncf.Dataset(inputs), subset_size=len(inputs),
                              advanced_parameters=advanced, ignored_scope=ignored)
    log.info("quantised on %d lines in %.1f s", len(inputs), time.perf_counter() - start)
    quantized.set_rt_info(json.dumps(list(charset.symbols), ensure_ascii=False), [CHARSET_KEY])
    quantized.set_rt_info(json.dumps(asdict(cfg)), [CONFIG_KEY])
    quantized.set_rt_info(json.dumps({"method": "nncf.quantize (INT8, default preset)",
                                      "overflow_fix": overflow_fix,
                                      "f32_ops": sorted(keep_f32),
                                      "calibration_lines": len(inputs),
                                      "splits": sorted({str(s.split) for s in samples})}),
                          [QUANTIZATION_KEY])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.xml")
    ov.save_model(quantized, tmp, compress_to_fp16=False)
    tmp.with_suffix(".bin").replace(out.with_suffix(".bin"))
    tmp.replace(out)  # the .xml finds its weights by name: <stem>.bin
    return out


# --- checking an INT8 IR against the checkpoint ---------------------------------------------

@dataclass
class Int8Check:
    """How an INT8 IR's output compares with the checkpoint's on a few real lines."""

    path: Path
    fake_quantize: int = 0
    dynamic: bool = True
    texts: list[tuple[str, str, str]] = field(default_factory=list)  # (line, torch, int8)
    frames_agreeing: tuple[int, int] = (0, 0)
    correlation: float = float("nan")  # Pearson r of all the lines' logits, INT8 vs f32
    ms_torch: float = float("nan")
    ms_int8: float = float("nan")
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        same = sum(t == q for _, t, q in self.texts)
        agree, frames = self.frames_agreeing
        lines = [f"INT8 OpenVINO IR: {self.path}",
                 f"  FakeQuantize ops: {self.fake_quantize}; input "
                 f"{'dynamic batch and width' if self.dynamic else 'fixed'}",
                 f"  logits vs PyTorch f32: correlation {self.correlation:.3f}; best-path "
                 f"argmax identical on {agree}/{frames} frames",
                 f"  decoded text identical on {same}/{len(self.texts)} lines (INT8 is not exact: "
                 "measure its CER with bench/inference.py --int8)"]
        lines += [f"    {name}: {t!r}" + ("" if t == q else f" -> {q!r}")
                  for name, t, q in self.texts]
        lines.append(f"  time per line: PyTorch {self.ms_torch:.1f} ms, INT8 {self.ms_int8:.1f} ms "
                     f"({len(self.texts)} lines, one batch)")
        lines += [f"  FAILED: {f}" for f in self.failures]
        lines.append("check " + ("passed" if self.ok else "FAILED"))
        return "\n".join(lines)


def check_int8(model, charset: Charset, path: str | Path, images: list[Path]) -> Int8Check:
    """Structure (FakeQuantize present, names, class count) and agreement with ``model`` in
    f32 on ``images``; only a broken structure or output counts as a failure."""
    import openvino as ov

    from ..decode.greedy import greedy_decode
    from ..preprocess import prepare_line, read_gray, stack_lines
    from ..runtime.backends import OpenVinoBackend, TorchBackend
    from ..runtime.graph import INPUT_NAME, OUTPUT_NAME

    c = Int8Check(Path(path))
    ir = ov.Core().read_model(str(path))
    c.fake_quantize = sum(op.get_type_name() == "FakeQuantize" for op in ir.get_ordered_ops())
    c.dynamic = ir.input(0).get_partial_shape().is_dynamic
    if not c.fake_quantize:
        c.failures.append("no FakeQuantize op: the IR is not quantised")
    names = (ir.input(0).get_any_name(), ir.output(0).get_any_name())
    if names != (INPUT_NAME, OUTPUT_NAME):
        c.failures.append(f"names {names} are not {(INPUT_NAME, OUTPUT_NAME)}")
    width = None if c.dynamic else model.config.fixed_width
    lines = [prepare_line(read_gray(p), model.config.height, width, str(p), model.config.reading)
             for p in images]
    batch = stack_lines([ln.pixels for ln in lines])
    torch_logits, c.ms_torch = _timed(TorchBackend(model).run, batch, len(lines))
    int8 = OpenVinoBackend(path, "CPU", 1, 1, precision="auto")
    q_logits, c.ms_int8 = _timed(int8.run, batch, len(lines))
    if q_logits.shape != torch_logits.shape:
        c.failures.append(f"output shape {q_logits.shape}, PyTorch's {torch_logits.shape}")
        return c
    agree = total = 0
    pairs = []
    for i, (p, ln) in enumerate(zip(images, lines, strict=True)):
        frames = -(-ln.width // model.config.stride) if c.dynamic else len(torch_logits)
        t, q = torch_logits[:frames, i], q_logits[:frames, i]
        pairs.append((t.ravel(), q.ravel()))
        agree += int((t.argmax(1) == q.argmax(1)).sum())
        total += frames
        c.texts.append((Path(p).name, greedy_decode(t, charset)[0], greedy_decode(q, charset)[0]))
    c.frames_agreeing = (agree, total)
    c.correlation = float(np.corrcoef(np.concatenate([t for t, _ in pairs]),
                                      np.concatenate([q for _, q in pairs]))[0, 1])
    return c


def _timed(run, batch: np.ndarray, lines: int) -> tuple[np.ndarray, float]:
    run(batch)  # warm-up: the first call of a new shape allocates
    start = time.perf_counter()
    out = run(batch)
    return out, 1000 * (time.perf_counter() - start) / lines
