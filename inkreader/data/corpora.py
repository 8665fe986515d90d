"""Real English running text from Debian packages, for the character LM (``inkreader lm
build deb:fortunes deb:gcide``). Nothing is downloaded: the packages are installed with
``scripts/install_lm_text.sh`` (``apt-get download`` + ``dpkg -x`` of fortunes, fortunes-min
and dict-gcide into ``.lmtext/``), and are needed only to rebuild the LM, never to read.

- ``deb:fortunes``: the quotations of fortune-mod's English collections (literature, wisdom,
  people, science, ...; the offensive and ASCII-art files are not read), authors' lines left out.
- ``deb:gcide``: the quotations of the GNU Collaborative International Dictionary of English,
  i.e. Webster's 1913: sentences of 16th- to 19th-century English prose and verse (Shakespeare,
  Milton, Macaulay, Darwin, ...), the English of the letters the default model reads. Only the
  quotations are kept (indented blocks); definitions read as a different language.

Both are reflowed into lines of at most ``LINE_CHARS`` characters, about a handwritten line.
"""

from __future__ import annotations

import gzip
import os
import re
import textwrap
from pathlib import Path

from ..errors import InkreaderError

FORTUNES_DIR = "usr/share/games/fortunes"
GCIDE_FILE = "usr/share/dictd/gcide.dict.dz"
FORTUNE_FILES = ("art", "education", "food", "fortunes", "goedel", "humorists", "kids", "law",
                 "literature", "love", "magic", "medicine", "men-women", "miscellaneous", "news",
                 "people", "pets", "platitudes", "politics", "science", "songs-poems", "sports",
                 "wisdom", "work")
LINE_CHARS = 45
_AUTHOR = re.compile(r"^\s*--")
_GCIDE_AUTHOR = re.compile(r"\s*--\s*[A-Z][\w.&' ]*$")
_GCIDE_MARKUP = re.compile(r"[{}]|\\[^\\]*\\|\[[^\]]*\]")


class CorpusError(InkreaderError):
    """A text package that is not installed or cannot be read."""


def reflow(paragraphs, width: int = LINE_CHARS) -> list[str]:
    """Paragraphs -> lines of at most ``width`` characters (words are never split)."""
    return [line for p in paragraphs
            for line in textwrap.wrap(p, width, break_long_words=False, break_on_hyphens=False)]


def locate(relative: str, package: str) -> Path:
    """A Debian package's file: unpacked by ``scripts/install_lm_text.sh`` into
    ``$INKREADER_LMTEXT`` or ``.lmtext`` (of the working directory or of the source tree), or
    installed system-wide."""
    roots = [Path.cwd() / ".lmtext", Path(__file__).resolve().parents[2] / ".lmtext", Path("/")]
    if os.environ.get("INKREADER_LMTEXT"):
        roots.insert(0, Path(os.environ["INKREADER_LMTEXT"]))
    for root in roots:
        if (root / relative).exists():
            return root / relative
    raise CorpusError(f"/{relative}: not found; install the Debian package {package} "
                      "(scripts/install_lm_text.sh)")


def load_fortunes(root: Path | None = None) -> list[str]:
    """The quotations of fortune-mod's English collections, reflowed into lines."""
    root = root or locate(FORTUNES_DIR, "fortunes")
    paragraphs = []
    for name in FORTUNE_FILES:
        path = root / name
        if not path.is_file():
            continue
        for entry in path.read_text(encoding="latin-1").split("\n%\n"):
            text = " ".join(ln for ln in entry.splitlines() if not _AUTHOR.match(ln))
            text = " ".join(text.split())
            if len(text) > 15:
                paragraphs.append(text)
    if not paragraphs:
        raise CorpusError(f"{root}: no fortune files ({', '.join(FORTUNE_FILES[:3])}, ...)")
    return reflow(paragraphs)


def load_gcide_quotations(path: Path | None = None) -> list[str]:
    """The quotations of GCIDE (Webster's 1913), reflowed into lines. In the dictd file an
    entry's quotation is a block indented by 12 or more spaces, closed by a ``[source]`` line
    or a blank line; its ``--Author.`` is dropped, as are markup and bracketed notes."""
    path = path or locate(GCIDE_FILE, "dict-gcide")
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except (OSError, EOFError) as exc:
        raise CorpusError(f"{path}: cannot read ({exc})") from None
    paragraphs, block = [], []

    def close():
        if block:
            quote = _GCIDE_MARKUP.sub("", _GCIDE_AUTHOR.sub("", " ".join(block)))
            quote = " ".join(quote.split())
            if len(quote) > 20:
                paragraphs.append(quote)
            block.clear()

    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if not stripped or stripped.startswith("[") or indent < 12:
            close()
        else:
            block.append(stripped)
    close()
    return reflow(paragraphs)
