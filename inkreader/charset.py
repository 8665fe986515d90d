"""The CTC alphabet: blank at index 0, symbols at 1..K, in the reference's file form.

A charlist file holds one symbol a line (the GNHK file starts with a line holding a space). The
reference demo reads it as ``''.join(line.strip('\\n') for line in f)``, so a line holding several
characters contributes each of them; we do the same so official OMZ charlists load unchanged.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .errors import CharsetError

BLANK = 0

# SPEC.md: printable ASCII without backslash and backtick, plus the pound sign, in this order.
GNHK_SYMBOLS = (
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_"
    "abcdefghijklmnopqrstuvwxyz{|}~£"
)

# Typographic forms that a writer means as a GNHK symbol (curly quotes, dashes, ...).
_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\t": " ", "`": "'", "\\": "/",
})


@dataclass(frozen=True)
class Charset:
    """An ordered tuple of symbols; class k (k >= 1) is ``symbols[k - 1]``, class 0 is blank."""

    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.symbols:
            raise CharsetError("a charset needs at least one symbol")

    @classmethod
    def gnhk(cls) -> Charset:
        return cls(tuple(GNHK_SYMBOLS))

    @classmethod
    def load(cls, path: str | Path) -> Charset:
        """Read a charlist file exactly as the reference demo does (one symbol a line)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CharsetError(f"{path}: charlist file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CharsetError(f"{path}: cannot read charlist ({exc})") from None
        symbols = "".join(line.rstrip("\r\n") for line in text.splitlines(keepends=True))
        if not symbols:
            raise CharsetError(f"{path}: charlist is empty")
        return cls(tuple(symbols))

    def save(self, path: str | Path) -> None:
        Path(path).write_text("".join(s + "\n" for s in self.symbols), encoding="utf-8")

    @property
    def num_classes(self) -> int:
        """Symbols plus the CTC blank."""
        return len(self.symbols) + 1

    def __len__(self) -> int:
        return len(self.symbols)

    @cached_property
    def whitespace(self) -> np.ndarray:
        """(num_classes,) bool: which classes are whitespace (the blank is not)."""
        return np.array([False] + [s.isspace() for s in self.symbols])

    @property
    def index(self) -> dict[str, int]:
        """Symbol -> class index (first occurrence wins if a charlist repeats a symbol)."""
        table = self.__dict__.get("_index")
        if table is None:
            table = {}
            for k, s in enumerate(self.symbols, start=1):
                table.setdefault(s, k)
            object.__setattr__(self, "_index", table)
        return table

    def encode(self, text: str) -> list[int]:
        """Text -> class indices; a character outside the charset is an error."""
        table = self.index
        try:
            return [table[c] for c in text]
        except KeyError as exc:
            raise CharsetError(f"character {exc.args[0]!r} is not in the charset") from None

    def decode(self, indices) -> str:
        """Class indices (no blanks) -> text."""
        return "".join(self.symbols[k - 1] for k in indices)

    def unknown(self, text: str) -> set[str]:
        """The characters of ``text`` that the charset cannot express."""
        table = self.index
        return {c for c in text if c not in table}

    def normalize(self, text: str) -> str:
        """Map typographic variants to charset symbols, fold whitespace runs, strip the ends.

        Used for training text only; evaluation compares labels exactly as the reference did.
        """
        text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
        return " ".join(text.split())
