"""The optional word lexicon of the beam search: a case-insensitive word list (``--lexicon``),
the words of running text as the search delimits them, and the shipped English list
(``inkreader lm lexicon`` builds one; ``"default"`` names the packaged file)."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from .defaults import DEFAULT_LEXICON_NAME
from .lm import LMError


def is_word_char(ch: str) -> bool:
    """Letters and the apostrophe make words; anything else (space, digit, punctuation) ends
    one."""
    return ch.isalpha() or ch == "'"


class Lexicon:
    """A word list for the beam search, matched case-insensitively: ``is_prefix`` says a word
    can still become a listed word, ``__contains__`` that it is one."""

    def __init__(self, words: Iterable[str]):
        self.words = frozenset(w.lower() for w in words if w)

    @cached_property
    def prefixes(self) -> frozenset[str]:
        """Every non-empty prefix of a listed word (built on first use)."""
        return frozenset(w[:i] for w in self.words for i in range(1, len(w) + 1))

    @classmethod
    def load(cls, path: str | Path) -> Lexicon:
        """One word a line (anything after a tab or space is ignored, so word-count files
        work as they are); a ``.gz`` file is read compressed. ``"default"`` is the shipped
        English list."""
        path = resolve_lexicon_path(path)
        try:
            if path.suffix == ".gz":
                with gzip.open(path, "rt", encoding="utf-8") as f:
                    text = f.read()
            else:
                text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LMError(f"{path}: lexicon file not found") from None
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise LMError(f"{path}: cannot read the lexicon ({exc})") from None
        words = [ln.split()[0] for ln in text.splitlines() if ln.strip()]
        if not words:
            raise LMError(f"{path}: the lexicon holds no words")
        return cls(words)

    def __contains__(self, word: str) -> bool:
        return word in self.words

    def is_prefix(self, word: str) -> bool:
        return word in self.prefixes

    def __len__(self) -> int:
        return len(self.words)

    def save(self, path: str | Path) -> None:
        """Sorted, one word a line; ``.gz`` compresses (byte-identical for the same words)."""
        text = "".join(w + "\n" for w in sorted(self.words)).encode("utf-8")
        path = Path(path)
        with open(path, "wb") as raw:
            if path.suffix == ".gz":
                with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
                    f.write(text)
            else:
                raw.write(text)


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def text_words(lines: Iterable[str]) -> Counter:
    """Lower-cased words of running text as the beam search delimits them (runs of letters,
    with apostrophes inside), counted."""
    return Counter(w.lower() for line in lines for w in _WORD.findall(line))


def frequent_english_words(n: int) -> list[str]:
    """The ``n`` most frequent English words of the wordfreq package that the beam search can
    write as one word (letters and apostrophes only)."""
    try:
        import wordfreq
    except ImportError:
        raise LMError("the English word list needs wordfreq: pip install 'inkreader[synth]'") \
            from None
    return [w for w in wordfreq.top_n_list("en", n)
            if w.isascii() and all(is_word_char(c) for c in w)]


def resolve_lexicon_path(spec: str | Path) -> Path:
    """``"default"`` -> the shipped word list; anything else is a path."""
    from importlib.resources import files

    if str(spec) == "default":
        return Path(str(files("inkreader") / "models" / DEFAULT_LEXICON_NAME))
    return Path(spec)
