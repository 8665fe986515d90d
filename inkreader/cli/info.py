"""``inkreader info [--model M]``: what a model is: config, charset, parameter totals (the model
card's convention and the true ones), training meta. Also describes .onnx and OpenVINO .xml
files (names, shapes, classes, parameters)."""

from __future__ import annotations

from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("-m", "--model", help="a .pt checkpoint, .onnx or OpenVINO .xml "
                   "(default: the packaged model)")


def run(args) -> int:
    from ..errors import ModelError
    from ..paths import resolve_model_path

    path = resolve_model_path(args.model)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    lines = _describe_file(path) if path.suffix.lower() in (".onnx", ".xml") else \
        _describe_checkpoint(path)
    print("\n".join(lines))
    return 0


def _describe_checkpoint(path: Path) -> list[str]:
    from ..model import load_checkpoint

    model, charset, meta = load_checkpoint(path)
    cfg = model.config
    every = sum(p.numel() for p in model.parameters())
    symbols = "".join(charset.symbols)
    lines = [
        f"model {path} (inkreader checkpoint)",
        "config " + ", ".join(f"{k}={v}" for k, v in vars(cfg).items()),
        _network(cfg),
        f"charset {len(charset)} symbols + blank = {charset.num_classes} classes: "
        f"{symbols[:100]!r}{' ...' if len(symbols) > 100 else ''}",
        "parameters",
        f"  card convention (convs with BN folded, height collapse, classifier): "
        f"{model.card_parameters():,}",
        f"  true total of the exported graph (BN folded, LSTMs included): "
        f"{model.exported_parameters():,}",
        f"  PyTorch parameters (BatchNorm scale and shift not folded): {every:,}",
        f"frames per line: width / {cfg.stride} ({cfg.fixed_width // cfg.stride} at the "
        f"reference width {cfg.fixed_width})",
    ]
    lines += [f"meta {k}: {v}" for k, v in sorted(meta.items())] or ["meta (none)"]
    return lines


def _network(cfg) -> str:
    diff = cfg.architecture_differences()
    if not diff:
        return "network: the reference's (handwritten-english-recognition-0001, SPEC.md)"
    return "network: NOT the reference's: " + ", ".join(
        f"{k} {mine} (reference {ref})" for k, (mine, ref) in diff.items())


def _describe_file(path: Path) -> list[str]:
    from ..export.convert import ir_parameter_count, onnx_parameter_count
    from ..runtime.loading import embedded_charset, file_backend

    openvino = path.suffix.lower() == ".xml"
    engine = file_backend(path, "openvino" if openvino else "onnx", "CPU", 1, 1, "f32")
    if openvino:
        import openvino as ov

        params = ir_parameter_count(ov.Core().read_model(str(path)))
    else:
        params = onnx_parameter_count(path)
    embedded = embedded_charset(engine)
    return [
        f"model {path} ({'OpenVINO IR' if openvino else 'ONNX'})",
        f"input [{engine.static_batch or 'B'}, 1, {engine.height or 'H'}, "
        f"{engine.static_width or 'W'}] (B, C, H, W); classes {engine.num_classes}",
        f"parameters (layer weights and biases): {params:,}"
        + (" (OpenVINO keeps each LSTM's two biases summed into one)" if openvino else ""),
        f"charset: {len(embedded)} symbols embedded by inkreader" if embedded else
        "charset: none embedded (read with --charlist; default GNHK, 94 symbols)",
    ]
