"""``inkreader export --format onnx|openvino --out PATH [--fixed-width] [--model M]``: export a
checkpoint and print its verification (checker, names and shapes, parameter total, logits
parity with PyTorch, the same decoded text on real lines, a timing). Exit code 1 if a check
failed (the file is kept for inspection).

``--int8 --calibration DATASET`` (OpenVINO only) quantises with NNCF, calibrated on the
dataset's train split (quantize.py), and prints how the INT8 output compares with PyTorch's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

CHECK_LINES = 3  # Hooker lines checked besides the GNHK sample line


def add_arguments(p) -> None:
    p.add_argument("--format", required=True, choices=("onnx", "openvino"),
                   help="ONNX (.onnx) or OpenVINO IR (.xml + .bin)")
    p.add_argument("--out", required=True, type=Path,
                   help="output file: .onnx, or .xml for OpenVINO (its .bin goes beside it)")
    p.add_argument("--fixed-width", action="store_true",
                   help="the reference contract: input actual_input [1,1,96,2000], output "
                   "output [250,1,95]; default: dynamic batch and width")
    p.add_argument("-m", "--model", help="a .pt checkpoint (default: the packaged model)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--fp16", action="store_true",
                   help="OpenVINO: store the weights as FP16 (half the size; default FP32)")
    p.add_argument("--int8", action="store_true",
                   help="OpenVINO: INT8 post-training quantisation (NNCF); needs --calibration")
    p.add_argument("--calibration", metavar="DATASET",
                   help="--int8: line dataset to calibrate on (gt file, TSV or page folder)")
    p.add_argument("--calibration-split", default="train",
                   help="--int8: its split (default train; 'test' is refused)")
    p.add_argument("--calibration-lines", type=int, default=300,
                   help="--int8: lines used, spread over the split (default 300)")
    # the choices are quantize.OVERFLOW_FIXES, spelt out: the CLI starts without importing it
    p.add_argument("--overflow-fix", default="enable",
                   choices=("enable", "first_layer_only", "disable"),
                   help="--int8: NNCF's overflow fix (default enable: 7-bit weights in every "
                   "layer, correct on CPUs without VNNI too; see docs/inference.md)")
    p.add_argument("--int8-lstm", action="store_true",
                   help="--int8: quantise the LSTMs too (default: they stay in f32; quantised, "
                   "they cost about 5 points of CER: docs/inference.md)")
    p.add_argument("--check-images", nargs="+", type=Path, metavar="IMAGE",
                   help="line images to verify on (default: ../shared's GNHK sample line and "
                   f"{CHECK_LINES} Hooker lines, or a synthetic line if ../shared is absent)")


def run(args) -> int:
    from ..errors import ModelError
    from ..export.convert import export_onnx, export_openvino, verify_export
    from ..model import load_checkpoint
    from ..paths import resolve_model_path

    path = resolve_model_path(args.model)
    if path.suffix.lower() in (".onnx", ".xml"):
        raise ModelError(f"{path}: export starts from a .pt checkpoint")
    if args.int8:
        return _run_int8(args, path)
    model, charset, _ = load_checkpoint(path)
    if args.format == "onnx":
        out = export_onnx(model, args.out, args.fixed_width, charset, force=args.force)
    else:
        out = export_openvino(model, args.out, args.fixed_width, charset, force=args.force,
                              compress_to_fp16=args.fp16)
    with tempfile.TemporaryDirectory() as tmp:
        images = args.check_images or default_check_images(Path(tmp))
        report = verify_export(model, charset, out, args.format, args.fixed_width, images)
    print(f"model {path}")
    print(report.report())
    return 0 if report.ok else 1


def _run_int8(args, path: Path) -> int:
    from ..errors import InkreaderError
    from ..export.quantize import F32_OPS, calibration_lines, check_int8, quantize_openvino
    from ..extras import require
    from ..model import load_checkpoint

    require("quant", "INT8 quantisation (--int8)")  # before the minutes of loading and export
    if args.format != "openvino":
        raise InkreaderError("--int8 makes an OpenVINO IR: use --format openvino")
    if not args.calibration:
        raise InkreaderError("--int8 needs --calibration DATASET (lines of a training split)")
    if args.fp16:
        raise InkreaderError("--int8 and --fp16 exclude each other")
    samples = calibration_lines(args.calibration, args.calibration_split, args.calibration_lines)
    model, charset, _ = load_checkpoint(path)
    out = quantize_openvino(model, charset, args.out, samples, args.fixed_width, args.force,
                            args.overflow_fix, keep_f32=() if args.int8_lstm else F32_OPS)
    with tempfile.TemporaryDirectory() as tmp:
        images = args.check_images or default_check_images(Path(tmp))
        check = check_int8(model, charset, out, images)
    print(f"model {path}")
    print(f"calibrated on {len(samples)} lines of {args.calibration} "
          f"(split {args.calibration_split})")
    print(check.report())
    return 0 if check.ok else 1


def default_check_images(tmp: Path) -> list[Path]:
    """The GNHK sample line and a few Hooker lines from ../shared (beside the working folder or
    the repository), else one synthetic line written into ``tmp``."""
    here = Path(__file__).resolve()
    for root in (Path.cwd().parent / "shared", here.parents[3] / "shared"):
        sample = root / "data" / "gnhk" / "sample_line.jpg"
        if sample.is_file():
            hooker = sorted((root / "data" / "hooker" / "lines").glob("*.jpg"))[:CHECK_LINES]
            return [sample, *hooker]
    import cv2
    import numpy as np

    line = np.full((64, 640), 255, np.uint8)
    cv2.putText(line, "Picture ID. and Passport photo", (8, 44),
                cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.1, 0, 2, cv2.LINE_AA)
    path = tmp / "synthetic_line.png"
    cv2.imwrite(str(path), line)
    return [path]
