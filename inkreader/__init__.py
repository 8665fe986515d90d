"""inkreader: reads handwritten English lines and pages (a trainable re-implementation of
Open Model Zoo's handwritten-english-recognition-0001)."""

from .errors import InkreaderError

__version__ = "0.1.0"
__all__ = ["InkreaderError", "__version__"]
