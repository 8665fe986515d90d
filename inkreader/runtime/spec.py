"""What to read with, as one frozen value: ``ReaderSpec``. ``inkreader.load``, the command
line (``cli/model_options.py``), the service (``ServeConfig.reader``) and ``batch``
(``BatchSpec.reader``) all open their model through it."""

from __future__ import annotations

from dataclasses import dataclass

from ..decode.options import DecodingOptions
from .recognizer import DEFAULT_BATCH, Recognizer


@dataclass(frozen=True)
class ReaderSpec:
    """What to read with, as one value (it pickles, so ``batch`` sends it to its workers).

    ``model``: a .pt checkpoint, an .onnx or an OpenVINO .xml (None: the shipped default);
    ``backend``: "auto", "openvino", "onnx" or "torch"; ``threads``: the cores it may use
    (default: all); ``decoding``: a ``DecodingOptions`` (None: the default for the model, the
    tuned beam search with the shipped LM and word list, or greedy decoding on the reference
    contract: ``LoadedModel.default_decoding``); ``tta``: test-time augmentation with any
    decoding. The reference demo's options: ``device`` (OpenVINO's), ``fixed_width`` (pad every
    line to the reference's width), ``charlist`` (a charset file instead of the model's own),
    ``designated`` (a file of the allowed characters, chosen among each frame's ``top_k``);
    ``batch_size``: lines per inference request."""

    model: str | None = None
    backend: str = "auto"
    threads: int | None = None
    decoding: DecodingOptions | None = None
    tta: bool = False
    device: str = "CPU"
    fixed_width: bool = False
    charlist: str | None = None
    designated: str | None = None
    top_k: int = 20
    batch_size: int = DEFAULT_BATCH

    def recognizer(self) -> Recognizer:
        """The model loaded as this spec says."""
        from ..decode.base import Designated

        designated = Designated.load(self.designated, self.top_k) if self.designated else None
        return Recognizer.load(self.model, backend=self.backend, device=self.device,
                               threads=self.threads, fixed_width=self.fixed_width,
                               charlist=self.charlist, designated=designated,
                               decoding=self.decoding, tta=self.tta,
                               batch_size=self.batch_size)
