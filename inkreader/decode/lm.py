"""The character language model a beam search reads: where the shipped one is, how a symbol is
spelt in an ARPA file of ours (the space as ``<sp>``), and the error for a model file that
cannot be read. The files are built offline by ``inkreader lm`` (``inkreader/lmbuild/``):
standard ARPA (optionally gzipped) whose "words" are characters, which KenLM reads as they are.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InkreaderError
from .defaults import DEFAULT_LM_NAME

# the start, end and unknown symbols as one character each, so an n-gram is a plain str
BOS, EOS, UNK = "\x02", "\x03", "\x1a"
LM_TOKENS = {BOS: "<s>", EOS: "</s>", UNK: "<unk>", " ": "<sp>"}  # character -> ARPA word


def lm_token(ch: str) -> str:
    """How an ARPA file of ours spells a character (the space as ``<sp>``)."""
    return LM_TOKENS.get(ch, ch)


class LMError(InkreaderError):
    """A language model file that cannot be read or built."""


def default_lm_path() -> Path:
    """The character model shipped in the package (``inkreader/models/``)."""
    from importlib.resources import files

    return Path(str(files("inkreader") / "models" / DEFAULT_LM_NAME))


def resolve_lm_path(spec: str | Path) -> Path:
    """``"default"`` -> the shipped model; anything else is a path."""
    return default_lm_path() if str(spec) == "default" else Path(spec)
