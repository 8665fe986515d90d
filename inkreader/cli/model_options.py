"""The model options of every command that reads (``-m/--model``, ``-b/--backend`` and, for the
reference demo's contract, ``-d``, ``-cl``, ``-dc``, ``-tk``, ``--fixed-width``), with the
decoding options, and the one way from the parsed command line to a reader:
``reader_spec(args)``, an ``inkreader.ReaderSpec``."""

from __future__ import annotations

import argparse

from ..runtime.backends import BACKENDS
from ..runtime.recognizer import DEFAULT_BATCH, Recognizer
from ..runtime.spec import ReaderSpec
from .decoding import add_decoding_arguments, decoding_options

MODEL_HELP = ("a .pt checkpoint, an .onnx, or an OpenVINO .xml IR (official OMZ IRs "
              "included); default: the packaged model")


def add_model_arguments(p: argparse.ArgumentParser, *, model: bool = True,
                        model_help: str = MODEL_HELP, reference: bool = False,
                        fixed_width_help: str | None = None, batch_size: bool = False,
                        decoding: bool = True):
    """Add the model options to ``p`` (``model``: -m/--model too; a command whose model is a
    positional argument leaves it out), the reference demo's with ``reference``,
    ``--fixed-width`` when ``fixed_width_help`` says what it does there, ``--batch-size`` and
    the decoding group (returned, for a command's own options; None without ``decoding``)."""
    if model:
        p.add_argument("-m", "--model", help=model_help)
    p.add_argument("-b", "--backend", default="auto", choices=("auto", *BACKENDS),
                   help="inference backend; auto: OpenVINO (ONNX Runtime for an .onnx)")
    if reference:
        p.add_argument("-d", "--device", default="CPU", help="OpenVINO device (default CPU)")
        p.add_argument("-cl", "--charlist", help="charlist file, one symbol a line (default: "
                       "the model's own; the GNHK charset for .onnx/.xml without one)")
        p.add_argument("-dc", "--designated-characters", metavar="FILE",
                       help="allowed characters, one a line: others are replaced by the best "
                       "allowed class among the frame's top-k")
        p.add_argument("-tk", "--top-k", type=int, default=20,
                       help="top-k for --designated-characters (default 20)")
    if fixed_width_help:
        p.add_argument("--fixed-width", action="store_true", help=fixed_width_help)
    if batch_size:
        p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                       help=f"lines per inference request (default {DEFAULT_BATCH}; 1 for a "
                       "model with a static batch)")
    return add_decoding_arguments(p) if decoding else None


def reader_spec(args: argparse.Namespace, **given) -> ReaderSpec:
    """The ``ReaderSpec`` the parsed options ask for (an option the command does not have
    keeps its default); ``given`` sets fields outright."""
    found = {"model": getattr(args, "model", None), "backend": args.backend,
             "decoding": decoding_options(args), "tta": bool(getattr(args, "tta", False)),
             "device": getattr(args, "device", "CPU"),
             "fixed_width": bool(getattr(args, "fixed_width", False)),
             "charlist": getattr(args, "charlist", None),
             "designated": getattr(args, "designated_characters", None),
             "top_k": getattr(args, "top_k", 20),
             "batch_size": getattr(args, "batch_size", DEFAULT_BATCH)}
    found["model"] = None if found["model"] is None else str(found["model"])
    return ReaderSpec(**{**found, **given})


def load_recognizer(args: argparse.Namespace, **given) -> Recognizer:
    """The recognizer of ``reader_spec(args, **given)``, loaded."""
    from ..preprocess import quiet_opencv

    quiet_opencv()
    return reader_spec(args, **given).recognizer()
