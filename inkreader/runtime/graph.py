"""The graph a model runs as outside PyTorch: its input/output names (the reference's), the
metadata keys that carry the charset and the model config, tracing a checkpoint's model to ONNX
in memory, and telling an INT8 OpenVINO model. The runtime reads checkpoints through it and the
exporter writes files with it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..charset import Charset

if TYPE_CHECKING:
    from ..model import HandwritingRecognizer

INPUT_NAME = "actual_input"  # the official IR's names (SPEC.md)
OUTPUT_NAME = "output"
# The dynamic graph's second input: each line's own width in input columns, (B,) int64. Its
# LSTMs read line b over widths[b] / stride frames (ONNX LSTM ``sequence_lens``), so a line's
# text does not depend on the lines batched with it. The fixed-width graph has no such input.
WIDTHS_NAME = "widths"
OPSET = 17
CHARSET_KEY = "inkreader.charset"  # ONNX metadata / OpenVINO rt_info: the charset as a JSON list
CONFIG_KEY = "inkreader.config"


def onnx_bytes(model: HandwritingRecognizer, fixed_width: bool,
               charset: Charset | None = None) -> bytes:
    """Trace ``model`` to an ONNX graph in memory.

    The TorchScript exporter (``dynamo=False``) is used on purpose: it emits one ONNX ``LSTM`` node
    per layer with packed weight initializers and folds BatchNorm into the convs, so the graph has
    exactly ``model.exported_parameters()`` parameters, like the reference IR. The torch.export
    exporter (torch 2.13) slices the LSTM weights at run time instead.

    ``fixed_width`` is the reference contract: one input [1, 1, H, fixed width]. Otherwise batch
    and width are dynamic and the graph takes the lines' widths (``WIDTHS_NAME``) as well.
    """
    import torch

    cfg = model.config
    width = cfg.fixed_width if fixed_width else 32 * cfg.stride
    batch = 1 if fixed_width else 2
    dummy = torch.full((batch, 1, cfg.height, width), 255.0)
    if fixed_width:
        args, names, dynamic = (dummy,), [INPUT_NAME], None
    else:  # unequal widths, so that the trace keeps the lengths as data
        args = (dummy, torch.tensor([width, width - 8 * cfg.stride]))
        names = [INPUT_NAME, WIDTHS_NAME]
        dynamic = {INPUT_NAME: {0: "batch", 3: "width"}, WIDTHS_NAME: {0: "batch"},
                   OUTPUT_NAME: {0: "frames", 1: "batch"}}
    buf = io.BytesIO()
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad(), _without_packing_notes():
            warnings.simplefilter("ignore")  # the exporter's deprecation and LSTM-batch notes
            torch.onnx.export(model, args, buf, input_names=names,
                              output_names=[OUTPUT_NAME], dynamic_axes=dynamic,
                              opset_version=OPSET, do_constant_folding=True, dynamo=False)
    finally:
        model.train(was_training)
    if charset is None:
        return buf.getvalue()
    import onnx

    proto = onnx.load_from_string(buf.getvalue())
    _set_metadata(proto, charset, model)
    return proto.SerializeToString()


@contextlib.contextmanager
def _without_packing_notes() -> Iterator[None]:
    """Hold back the exporter's C++ notes that it cannot infer the shapes of its packed-sequence
    placeholders (written straight to file descriptor 2, past Python's warnings; the
    placeholders are gone from the graph it writes). Anything else written meanwhile is
    passed on afterwards."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable descriptor 2: nothing to hold back
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines(True)
                    if not _PACKING_NOTE.search(line)]
            if kept:
                sys.stderr.write("".join(kept))


_PACKING_NOTE = re.compile(r"shape inference of prim::(PackPadded|PadPacked) ")


def _set_metadata(proto, charset: Charset, model: HandwritingRecognizer) -> None:
    from dataclasses import asdict
    for key, value in ((CHARSET_KEY, json.dumps(list(charset.symbols), ensure_ascii=False)),
                       (CONFIG_KEY, json.dumps(asdict(model.config)))):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def is_quantized(ir) -> bool:
    """True if an ``openvino.Model`` holds FakeQuantize ops (an INT8 model)."""
    return any(op.get_type_name() == "FakeQuantize" for op in ir.get_ordered_ops())
