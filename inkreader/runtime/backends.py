"""Inference backends behind one call: ``run((B, 1, H, W) float32 raw pixels) -> (T, B, C) logits``.

PyTorch runs a checkpoint eagerly; ONNX Runtime and OpenVINO run an ONNX graph (exported from
a checkpoint once, and kept in the export cache for the next start) or a file (.onnx; OpenVINO
also .xml IR, official OMZ ones included). Each backend reads its geometry from the model: input
height, a static width or batch if the model has one, and the class count.

Throughput comes from ``streams``: that many ``run`` calls may be in flight at once, each with
``threads // streams`` threads. The LSTMs are sequential over time and parallelise poorly inside
one request, so one single-threaded request per core is the default; bench/inference.py
--variants measures it against one request with all the threads (docs/inference.md).

First calls run alone (issue 38): the first call into OpenVINO's or ONNX Runtime's Python
bindings initialises C++ statics (OpenVINO's data dispatcher, pybind11's NumPy API) inside a
static guard that waits for the GIL; two threads making their first call at once could deadlock,
one holding the guard and waiting for the GIL, the other holding the GIL and waiting for the
guard. So each backend's first call (for OpenVINO: each infer request's first call) takes the
process-wide ``FIRST_CALLS`` lock; every later call runs in parallel as before.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Hashable
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .graph import CHARSET_KEY, CONFIG_KEY, WIDTHS_NAME, is_quantized

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "openvino")
# Held by every backend's first call of each request (see the module docstring): one process-wide
# lock, since the statics are the process's, whichever backend or recognizer makes the call.
FIRST_CALLS = threading.Lock()


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Backend:
    """Common description of a loaded model; subclasses implement ``run``.

    ``takes_widths``: the model has the lines' widths as a second input (``graph.WIDTHS_NAME``:
    inkreader's dynamic graphs) and reads each line over its own frames. ``mixed_lengths``: it
    does so in a batch of lines of different widths too; a backend without it is given batches
    of equal widths only (``Recognizer``), so that no line is read over another's padding.
    """

    name = "?"
    honours_lengths = True  # whether the runtime applies per-line LSTM lengths within a batch

    def __init__(self, source: str, input_shape: list, num_classes: int | None, streams: int,
                 takes_widths: bool = False):
        self.source = source  # for messages: a path or "<checkpoint> (exported in memory)"
        if len(input_shape) != 4:
            raise ModelError(f"{source}: expected a (B, 1, H, W) input, found rank "
                             f"{len(input_shape)}")
        batch, _, height, width = (d if isinstance(d, int) and d > 0 else None
                                   for d in input_shape)
        self.height: int | None = height
        self.static_width: int | None = width
        self.static_batch: int | None = batch
        self.num_classes = num_classes
        self.streams = streams
        self.takes_widths = takes_widths
        self.mixed_lengths = takes_widths and self.honours_lengths
        self.metadata: dict[str, str] = {}
        self.precision = "f32"  # what the kernels compute in (OpenVINO may run bf16)
        self._cold: set[Hashable] = {None}  # requests not called yet (None: the only one)

    def run(self, batch: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
        """(B, 1, H, W) float32 raw 0..255 -> (T, B, C) float32 logits. Thread-safe.

        ``widths`` (B,) int64, the lines' own widths (multiples of 8), for a model that
        ``takes_widths``: T is then the largest width / 8, and line b's frames are its first
        widths[b] / 8. Without it, T = W / 8."""
        raise NotImplementedError

    def _widths(self, batch: np.ndarray, widths: np.ndarray | None) -> np.ndarray:
        """The widths input: ``widths``, or every line the batch's full width."""
        if widths is None:
            return np.full(batch.shape[0], batch.shape[3], dtype=np.int64)
        return np.asarray(widths, dtype=np.int64)

    def _call(self, call: Callable[[], np.ndarray], request: Hashable = None) -> np.ndarray:
        """``call()``, alone in the process (under ``FIRST_CALLS``) if it is ``request``'s first
        call; in parallel with any other call after that."""
        if request in self._cold:
            with FIRST_CALLS:
                if request in self._cold:  # not done by another thread while this one waited
                    out = call()
                    self._cold.discard(request)
                    return out
        return call()

    def describe(self) -> str:
        shape = [self.static_batch or "B", 1, self.height or "H", self.static_width or "W"]
        return f"{self.name} {self.source} input {shape} classes {self.num_classes}"


class TorchBackend(Backend):
    """A ``HandwritingRecognizer`` run eagerly (the reference implementation of the others)."""

    name = "torch"

    def __init__(self, model, source: str = "<model>", threads: int | None = None):
        import torch

        if threads:
            torch.set_num_threads(threads)  # process-wide: only when the caller asks
        cfg = model.config
        super().__init__(source, [0, 1, cfg.height, 0], cfg.num_classes, streams=1,
                         takes_widths=True)
        self.model = model.eval()

    def run(self, batch: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
        import torch

        def call() -> np.ndarray:
            with torch.inference_mode():
                if widths is None:  # every line fills the batch (--fixed-width): as the IR
                    return self.model(torch.from_numpy(batch)).numpy()
                return self.model(torch.from_numpy(batch), torch.from_numpy(widths)).numpy()

        return self._call(call)


class OnnxBackend(Backend):
    """ONNX Runtime on the CPU. ``source`` is a .onnx path or the bytes of an ONNX graph."""

    name = "onnx"

    def __init__(self, source: str | Path | bytes, threads: int, streams: int,
                 label: str | None = None):
        import onnxruntime as ort

        label = label or str(source)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads // streams)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # warnings about unused initializers etc. are noise here
        src = source if isinstance(source, bytes) else str(source)
        try:
            self.session = ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"{label}: cannot load the ONNX model ({exc})") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        image, takes_widths = _image_input(inputs, [i.name for i in inputs], label)
        out = next((o for o in outputs if o.name == "output"), outputs[0])
        self.input_name, self.output_name = image.name, out.name
        classes = out.shape[-1] if out.shape and isinstance(out.shape[-1], int) else None
        super().__init__(label, list(image.shape), classes, streams, takes_widths)
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, batch: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
        feed = {self.input_name: batch}
        if self.takes_widths:
            feed[WIDTHS_NAME] = self._widths(batch, widths)
        return self._call(lambda: self.session.run([self.output_name], feed)[0])


def _image_input(inputs: list, names: list[set[str] | str], label: str):
    """The image input of a model's ``inputs`` (their ``names``), and whether the others are
    exactly the widths input: one input, or the image and ``WIDTHS_NAME``."""
    has = [WIDTHS_NAME in (n if isinstance(n, set) else {n}) for n in names]
    if len(inputs) == 1 or (len(inputs) == 2 and sum(has) == 1):
        return inputs[has.index(False)], len(inputs) == 2
    raise ModelError(f"{label}: expected one image input (and optionally {WIDTHS_NAME!r}), "
                     f"found {len(inputs)} inputs")


class OpenVinoBackend(Backend):
    """OpenVINO on ``device``. ``source`` is an .xml IR, a .onnx path or ONNX bytes.

    ``precision`` is the CPU's inference precision: "f32" by default, so the text is the same as
    on the other backends; "auto" leaves it to OpenVINO (bf16 on CPUs with native bf16, as
    AVX512-BF16 or AMX, else f32). ``self.precision`` is what the compiled model runs.

    Its CPU plugin ignores the LSTMs' sequence lengths (OpenVINO 2026.4, measured: outputs and
    final states as if every line filled the batch), so ``mixed_lengths`` is off and lines are
    batched with lines of their own width only. A graph that honours the lengths (each
    bidirectional LSTM split in two, converted to TensorIterators) read the 64 first Hooker test
    lines correctly but took 30 ms of CPU a line in batches of 16 and 64 ms one by one, against
    26 and 35 ms for the plain graph in batches of equal widths (one core; shared machine).
    """

    name = "openvino"
    honours_lengths = False

    def __init__(self, source: str | Path | bytes, device: str, threads: int, streams: int,
                 precision: str = "f32", label: str | None = None):
        import openvino as ov

        label = label or str(source)
        core = ov.Core()
        try:
            model = core.read_model(source if isinstance(source, bytes) else str(source))
        except Exception as exc:
            raise ModelError(f"{label}: cannot load the model with OpenVINO ({exc})") from None
        if isinstance(source, bytes) or Path(source).suffix.lower() == ".onnx":
            _optimize_onnx_graph(model, label)
        image, takes_widths = _image_input(list(model.inputs),
                                           [i.get_names() for i in model.inputs], label)
        self.image_index = list(model.inputs).index(image)
        out = next((o for o in model.outputs if "output" in o.get_names()), model.outputs[0])
        self.output_index = list(model.outputs).index(out)
        last = out.get_partial_shape()[-1] if out.get_partial_shape().rank.is_static else None
        classes = last.get_length() if last is not None and last.is_static else None
        dims = [d.get_length() if d.is_static else 0 for d in image.get_partial_shape()]
        super().__init__(label, dims, classes, streams, takes_widths)
        # An IR keeps inkreader's keys at the top of its rt_info; an ONNX file read by OpenVINO
        # shows its metadata_props under "framework".
        self.metadata = {key: str(model.get_rt_info(where).astype(str))
                         for key in (CHARSET_KEY, CONFIG_KEY)
                         for where in ([key], ["framework", key]) if model.has_rt_info(where)}
        if precision == "auto":
            # INT8 runs best beside f32: with bf16, reorders surround every quantised op
            # (quantize.py has the figures). Otherwise OpenVINO's own choice.
            precision = "f32" if is_quantized(model) else "auto"
        config = {} if precision == "auto" else {"INFERENCE_PRECISION_HINT": precision}
        if device.upper() == "CPU":
            config.update({"NUM_STREAMS": streams, "INFERENCE_NUM_THREADS": threads})
        try:
            compiled = core.compile_model(model, device, config)
        except Exception as exc:
            reason = [s for s in str(exc).splitlines() if s.strip()][-1:]  # the cause, last
            raise ModelError(f"{label}: cannot compile for device {device!r} (available: "
                             f"{', '.join(core.available_devices)}): {''.join(reason)}") from None
        self.precision = _compiled_precision(compiled, precision)
        # One infer request per stream, lent to one run() at a time (requests are not reentrant).
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._cold = set(range(streams))
        for k in range(streams):
            self._requests.put((k, compiled.create_infer_request()))

    def run(self, batch: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
        feed = {self.image_index: batch}
        if self.takes_widths:
            feed[1 - self.image_index] = self._widths(batch, widths)
        k, request = self._requests.get()
        try:
            return self._call(lambda: self._infer(request, feed), k)
        finally:
            self._requests.put((k, request))

    def _infer(self, request, feed: dict) -> np.ndarray:
        request.infer(feed)
        return request.get_output_tensor(self.output_index).data.copy()


def _optimize_onnx_graph(model, label: str) -> None:
    """The graph rewrites that OpenVINO's converter (ovc, ``convert_model``) applies and
    ``read_model`` of an ONNX graph does not; among them the convolution bias is fused, which the
    CPU plugin otherwise leaves as a separate pass over the first conv's output when the batch is
    dynamic. Measured here: 8% less time per batch in bf16, 5% in f32, the same f32 logits, 0.1 s
    at load. (``convert_model`` itself takes seconds.) Skipped if this OpenVINO lacks it."""
    try:
        from openvino._offline_transformations import apply_moc_transformations
    except ImportError:
        log.debug("%s: OpenVINO's MOC transformations not available; graph left as read", label)
        return
    apply_moc_transformations(model, cf=False)


def _compiled_precision(compiled, asked: str) -> str:
    """The inference precision a compiled model runs ("f32", "bf16", ...), else ``asked``."""
    try:
        return compiled.get_property("INFERENCE_PRECISION_HINT").to_string()  # "bf16", "f32"
    except Exception:  # a device without the property (not the CPU)
        return asked
