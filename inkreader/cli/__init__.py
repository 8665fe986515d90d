"""The ``inkreader`` command: a thin dispatcher. Each subcommand lives in
``inkreader/cli/<name>.py`` with ``add_arguments(parser)`` and ``run(args) -> int``, and
calls one library function; importing a command's module happens only when it is used."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys

from .. import __version__
from ..errors import BackendStalled, InkreaderError, TrainingStopped
from ..extras import as_missing_extra

# name -> (module under inkreader.cli, one-line help)
COMMANDS = {
    "read": ("read", "read handwritten line images"),
    "read-page": ("read_page", "find and read the lines of whole pages"),
    "batch": ("batch", "read a whole archive into a result store, resumably, here or on a "
              "cluster"),
    "evaluate": ("evaluate", "measure accuracy / CER / WER on a line dataset"),
    "compare": ("compare", "is one model's CER really lower than another's? (two evaluate "
                "reports, paired bootstrap)"),
    "errors": ("error_analysis", "where a model's character errors are (evaluate reports)"),
    "prepare-gnhk": ("prepare_gnhk", "cut GNHK pages into line images as the reference did"),
    "corpus": ("corpus", "build a line dataset from page ground truth (PAGE-XML / ALTO + "
               "images), from pinned git repositories or a folder"),
    "synth": ("synth", "render synthetic handwriting lines"),
    "stitch": ("stitch", "make new lines from the words of real training lines"),
    "strokes": ("strokes", "draw pen strokes (IAM-OnDB) as line images or a sample sheet"),
    "train": ("train", "train or fine-tune a model"),
    "export": ("export", "export a model to ONNX or OpenVINO IR, with verification"),
    "average": ("average", "average checkpoints' weights into one model"),
    "tune-scale": ("tune_scale", "choose the horizontal scale a model reads lines at"),
    "lm": ("lm", "build a character n-gram language model"),
    "serve": ("serve", "run the HTTP service and web page"),
    "info": ("info", "describe a model: config, charset, parameter counts"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inkreader", description="Read handwritten English.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"inkreader {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                help="one of these (inkreader COMMAND -h: its options)")
    for name, (module, helptext) in COMMANDS.items():
        p = sub.add_parser(name, help=helptext, description=helptext)
        if only is None or name == only:
            importlib.import_module(f"inkreader.cli.{module}").add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Only the chosen command's module is imported (torch, openvino, ... load lazily).
    chosen = next((a for a in argv if a in COMMANDS), None)
    try:  # a command's module may import an optional extra (serve: fastapi)
        parser = build_parser(only=chosen)
    except (InkreaderError, ModuleNotFoundError) as exc:
        return _failed(chosen, exc)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    module = importlib.import_module(f"inkreader.cli.{COMMANDS[args.command][0]}")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a polite stop ends as Ctrl-C does
    try:
        return module.run(args)
    except BackendStalled as exc:
        # Its threads are stuck inside the backend and cannot be stopped; an orderly exit could
        # wait on them (in the backend's own clean-up), so the process ends at once.
        _failed(args.command, exc)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(2)
    except (InkreaderError, ModuleNotFoundError) as exc:
        return _failed(args.command, exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, or training stopped before its first step
        signum = getattr(exc, "signum", signal.SIGINT)
        reason = str(exc) or f"interrupted ({signal.Signals(signum).name})"
        print(f"inkreader {args.command}: {reason}", file=sys.stderr)
        if isinstance(exc, TrainingStopped):  # nothing running yet: an orderly return
            return 128 + signum
        # End now: the backends' inference threads may be inside C++ (OpenVINO, ONNX Runtime),
        # and an orderly exit would tear down their runtime under them (std::terminate, exit
        # 134). What the command finished (printed lines, committed shards) is already out.
        _release_multiprocessing()
        _flush()
        os._exit(128 + signum)
    except BrokenPipeError:  # the reader of the output left (`inkreader read ... | head -1`)
        # stop quietly, as a shell tool does; stdout goes nowhere so that its flush at exit
        # cannot fail again (the Python docs' recipe for SIGPIPE)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    finally:
        signal.signal(signal.SIGTERM, previous)


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal; ``signum`` says which (the exit status is 128 + it)."""

    def __init__(self, signum: int):
        super().__init__()
        self.signum = signum


def _interrupt(signum: int, _frame) -> None:
    raise Interrupted(signum)


def _release_multiprocessing() -> None:
    """What a normal exit does for ``multiprocessing`` (batch's worker pool): its semaphores
    released, so that its resource tracker does not warn of leaked ones after ``os._exit``."""
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        with contextlib.suppress(Exception):
            util._run_finalizers(0)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that left, a closed stream
            stream.flush()


def _failed(command: str | None, exc: Exception) -> int:
    """Print ``exc`` as the command's one-line error and return 2; a ModuleNotFoundError is one
    only if an optional extra installs the module (else it is a bug and raised again)."""
    if isinstance(exc, ModuleNotFoundError):
        error = as_missing_extra(exc, "this command")
        if error is exc:
            raise exc
        exc = error
    print(f"inkreader {command}: error: {exc}", file=sys.stderr)
    return 2

