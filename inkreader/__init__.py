"""inkreader: reads handwritten English lines and pages (a trainable re-implementation of
Open Model Zoo's handwritten-english-recognition-0001)."""

import os

# Shared machines (issue 38, docs/shared-cpu.md): torch's OpenMP threads spin while they wait
# for work, and beside any other busy process the spinning thread takes the core from the one
# that has work (the smoke training config: 0.43 s a step on a quiet 2-core machine, 5.18 s
# beside one busy loop, 1.01 s with PASSIVE). PASSIVE threads sleep instead. It must be in the
# environment before torch loads its OpenMP runtime, hence here, before any submodule imports
# torch; a value the user set is kept (OMP_WAIT_POLICY=ACTIVE restores the spinning).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import InkreaderError  # noqa: E402  (after the environment is set)

__version__ = "0.1.0"

# The Python API (inkreader.api), imported when first used so that `import inkreader` stays
# light (the CLI imports only what a command needs).
_API = {"load": ".api", "Reader": ".api", "DecodingOptions": ".decode.options",
        "GREEDY": ".decode.options", "LineResult": ".results", "CharResult": ".results",
        "PageResult": ".results", "ReaderSpec": ".runtime.spec", "render": ".api"}


def __getattr__(name: str):
    if name in _API:
        import importlib
        return getattr(importlib.import_module(_API[name], __name__), name)
    raise AttributeError(f"module 'inkreader' has no attribute {name!r}")


__all__ = ["CharResult", "DecodingOptions", "GREEDY", "InkreaderError", "LineResult",
           "PageResult", "Reader", "ReaderSpec", "__version__", "load", "render"]
