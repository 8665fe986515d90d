"""The report of bench/inference.py: the machine, the table, the targets and the FLOPs.

FLOPs are counted analytically from the model config (``model_flops``): every multiply-add of
the convolutions, the height collapse, the four LSTM layers (both directions, input and
recurrent matmuls of the four gates) and the classifier, as 2 FLOPs each; biases, activations,
pooling and the LSTM cell's element-wise work (under 1%) are left out. All of it is linear in
the input width, so a batch costs ``flops_per_column * lines * padded width``.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import platform
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
FMA_UNITS, FP32_LANES = 2, 16  # AVX-512: two 512-bit FMA pipes, 16 fp32 lanes each
CARD_GFLOPS = 1.3182  # model card: conv + collapse + classifier at W=2000 (SPEC.md)


@dataclass
class Row:
    key: str
    name: str
    config: str = ""
    lines: int = 0
    errors: int = 0
    lines_per_s: float = 0.0
    median_ms: float = float("nan")
    p95_ms: float = float("nan")
    read_s: float = 0.0
    cpu_s: float = 0.0
    load_s: float = float("nan")
    peak_rss_mb: float = 0.0
    columns: int = 0  # input columns run through the network (padding included)
    cer_common: float = float("nan")  # % on the lines row a reads
    cer_all: float = float("nan")  # % on all the lines this row read


def model_flops(width: int, config=None) -> dict[str, float]:
    """FLOPs of one line of input width ``width`` (a multiple of the stride), by part."""
    from inkreader.model import ModelConfig

    cfg = config or ModelConfig()
    h, w, cin, conv = cfg.height, width, 1, 0.0
    for cout, pooled in zip(cfg.channels, cfg.pooled, strict=True):
        conv += 2 * h * w * cout * cin * 9  # 3x3, padding 1: output = input size
        cin = cout
        if pooled:
            h, w = h // 2, w // 2
    frames, hidden = w, cfg.lstm_hidden
    collapse = 2 * cin * frames * h
    layer_inputs = [cin] + [2 * hidden] * (2 * cfg.lstm_layers - 1)  # LSTM A then LSTM B
    lstm = sum(2 * 2 * 4 * hidden * (i + hidden) for i in layer_inputs) * frames
    classifier = 2 * frames * 2 * hidden * cfg.num_classes
    return {"conv": conv, "collapse": collapse, "lstm": lstm, "classifier": classifier,
            "total": conv + collapse + lstm + classifier}


def machine_info() -> dict[str, str]:
    """CPU model, usable and online cores, clock, RAM, load, library versions."""
    lscpu = _run(["lscpu"])
    field = lambda name: (re.search(rf"^{name}:\s*(.+)$", lscpu, re.M) or [None, "?"])[1]  # noqa: E731
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = re.search(r"^cpu MHz\s*:\s*([\d.]+)", cpuinfo, re.M)
    mem = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()) \
        if Path("/proc/meminfo").exists() else None
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, re.M)
    flags = set(flags[1].split()) if flags else set()
    per_core = field(r"Thread\(s\) per core")
    return {
        "cpu": field("Model name"),
        "cores": f"{len(os.sched_getaffinity(0))} usable by this run of {os.cpu_count()} online "
                 f"({per_core} thread per core)",
        "clock_mhz": mhz[1] if mhz else "?",
        "max_mhz": field("CPU max MHz"),
        "simd": " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")
                         if f in flags),
        "ram": f"{int(mem[1]) / 2**20:.1f} GiB" if mem else "?",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": _versions(),
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = [f"Python {platform.python_version()}"]
    for name in ("torch", "onnxruntime", "openvino", "nncf", "numpy", "opencv-python-headless"):
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{name} {version(name)}")
    return ", ".join(out)


def render(rows: list[Row], info: dict, command: str, widths: list[int], label: str,
           ceiling: dict[str, float]) -> str:
    """The markdown section: command, machine, table, targets, FLOPs."""
    ref = next((r for r in rows if r.key == "a"), None)
    usable, online = len(os.sched_getaffinity(0)), os.cpu_count() or 0
    caution = ([f"**Caution: this run could use only {usable} of the {online} cores (the "
                "others were taken); its timings are not this machine's.**", ""]
               if usable < online else [])
    out = [*caution, f"Command: `.venv/bin/python {command.strip()}` ({info['date']})", "",
           f"Lines: {label}; mean width {sum(widths) / max(1, len(widths)):.0f} px at height "
           f"96.", "", "Machine: " + machine_line(info), "",
           "| row | pipeline | configuration | lines | lines/s | x (a) | ms/line median | "
           "ms/line p95 | CPU s | load s | peak RSS MB | CER % on (a)'s lines | CER % all |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r.lines_per_s / ref.lines_per_s:.2f}" if ref and ref.lines_per_s else "-"
        out.append(f"| {r.key} | {r.name} | {r.config} | {r.lines}"
                   f"{f' ({r.errors} unreadable)' if r.errors else ''} | {r.lines_per_s:.1f} | "
                   f"{ratio} | {_num(r.median_ms)} | {_num(r.p95_ms)} | {r.cpu_s:.1f} | "
                   f"{_num(r.load_s, 2)} | {r.peak_rss_mb:.0f} | {_num(r.cer_common, 2)} | "
                   f"{_num(r.cer_all, 2)} |")
    out += ["", *targets(rows), "", *flops_section(rows, info, ceiling)]
    return "\n".join(out)


def machine_line(info: dict) -> str:
    clock = f"{info['clock_mhz']} MHz as reported"
    if info["max_mhz"] != "?":
        clock += f", max {info['max_mhz']} MHz"
    return (f"{info['cpu']}, {info['cores']}, {clock}, {info['simd']}; RAM {info['ram']}; "
            f"load average at the end {info['load']}; {info['versions']}.")


def _num(x: float, digits: int = 1) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def targets(rows: list[Row]) -> list[str]:
    """The issue's targets: (c) >= 3x the lines/s of (a), CER within 0.5 point of (a)'s; and
    the bf16 check (the default's CER within 0.5 point of OpenVINO f32) when variants ran."""
    by = {r.key: r for r in rows}
    lines = []
    a = by.get("a")
    for key in ("c", "cli-cold", "cli", "d"):
        r = by.get(key)
        if not (a and r and a.lines_per_s):
            continue
        ratio, gap = r.lines_per_s / a.lines_per_s, r.cer_common - a.cer_common
        ok = ratio >= 3 and gap <= 0.5
        lines.append(f"- Target ({key} vs a): {ratio:.2f}x the lines/s (>= 3), CER "
                     f"{gap:+.2f} points on the same lines (<= +0.5): "
                     f"**{'met' if ok else 'NOT met'}**.")
    f32 = next((r for r in rows if r.key.startswith("v") and "OpenVINO f32" in r.name), None)
    if f32 and "c" in by:
        gap = by["c"].cer_all - f32.cer_all
        lines.append(f"- Default precision ({by['c'].config.split(',')[0]}) against OpenVINO "
                     f"f32: CER {gap:+.2f} points (must be <= +0.5).")
    return lines


def flops_section(rows: list[Row], info: dict, ceiling: dict[str, float]) -> list[str]:
    """FLOPs per line x lines/s against the peak of the cores used: the formula's (at the
    reported clock) and the measured GEMM ceiling (f32 and bf16)."""
    per_col = model_flops(2000)["total"] / 2000
    parts = model_flops(2000)
    card = (parts["conv"] + parts["collapse"] + parts["classifier"]) / 1e9
    cores = len(os.sched_getaffinity(0))
    try:
        clock = float(info["clock_mhz"]) / 1000
    except ValueError:
        clock = float("nan")
    peak = cores * FMA_UNITS * FP32_LANES * 2 * clock  # GFLOP/s
    out = [f"FLOPs (counted analytically, `bench/inference_report.py`): {per_col / 1e6:.3f} "
           f"MFLOP per input column; at W=2000 {parts['total'] / 1e9:.3f} GFLOP, of which "
           f"LSTMs {parts['lstm'] / 1e9:.3f} and conv + collapse + classifier {card:.3f} (the "
           f"card's convention; the card says {CARD_GFLOPS}).",
           f"Peak of the {cores} cores used: {cores} x {FMA_UNITS} FMA x {FP32_LANES} fp32 "
           f"lanes x 2 x {clock:.3f} GHz = {peak:.0f} GFLOP/s fp32 (the reported clock; turbo "
           "unknown). bf16 dot products (vdpbf16ps) do twice the FLOPs per instruction."]
    f32, bf16 = ceiling.get("f32", float("nan")), ceiling.get("bf16", float("nan"))
    if ceiling:
        out.append(f"Measured ceiling, same cores, this run: OpenVINO f32 GEMM {f32:.0f} GFLOP/s,"
                   f" bf16 GEMM {bf16:.0f} GFLOP/s (8 chained 1024^3 matmuls, one request per "
                   f"core, best of 10 by wall time; `run_ceiling` in bench/inference_workers.py)"
                   + (f". Above the formula's {peak:.0f}: the cores run faster than the "
                      "reported clock." if f32 > peak else ". Wall time: on a loaded machine "
                      "this ceiling is low too."))
    out += ["", "| row | input columns per line (padding included) | GFLOP per line | "
            "GFLOP/s achieved | % of formula peak | % of measured f32 GEMM | "
            "% of measured bf16 GEMM |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r.columns or not r.lines:
            continue
        read = r.lines - r.errors
        gflop = per_col * r.columns / max(1, read) / 1e9
        rate = per_col * r.columns / r.read_s / 1e9
        out.append(f"| {r.key} | {r.columns / max(1, read):.0f} | {gflop:.3f} | {rate:.0f} | "
                   f"{100 * rate / peak:.0f} | {_num(100 * rate / f32, 0)} | "
                   f"{_num(100 * rate / bf16, 0)} |")
    return out


def update_doc(path: Path, text: str) -> None:
    """Replace what lies between the bench markers of ``path``; a file without them is an
    error (never overwritten)."""
    doc = path.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{path}: no {BEGIN} ... {END} section to replace")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")
