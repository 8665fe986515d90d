"""Text for synthetic lines: real English phrases, with GNHK-like lengths and character classes.

Sources (each optional except the word list, which ships inside the ``wordfreq`` package):
- GNHK train word labels (``train_words.csv``): runs of consecutive words of one page, glued
  into phrases, so the casing, digits and punctuation of real notes come with them;
- line texts of a TSV in training splits (``../shared/data/hooker/lines.tsv``, split ``train``
  only): 19th-century letter English;
- ``wordfreq``'s English word list, drawn by frequency, with punctuation and casing added;
- English prose shipped with Python itself (``pydoc_data.topics``, the language reference
  text): the prose lines only, no code;
- templates: dates, times, money (``£``), percentages, sums, letter openings and closings.

Line lengths follow the character-length histogram of the 2,189 GNHK test lines (statistics
only; their text is never used). Every text is normalised to the charset; a text with a
character outside it is dropped and another one drawn.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..charset import Charset
from ..errors import DatasetError, InkreaderError

log = logging.getLogger(__name__)

# GNHK labels that are not text (SPEC.md: math, special characters, unreadable words).
GNHK_SKIP = frozenset({"%math%", "%SC%", "%NA%", "SPECIAL_CHARACTER"})

# Character-length histogram of GNHK test_line_labels.txt (2,189 lines; mean 21.7 characters,
# median 20, 95th percentile 49): lower bin edges and counts. Statistics only.
LENGTH_EDGES = (1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70, 80, 100)
LENGTH_COUNTS = (150, 345, 298, 297, 304, 235, 168, 117, 103, 72, 53, 19, 18, 7, 3)

# Mixture of sources (renormalised over the sources that are available).
SOURCE_WEIGHTS = {"gnhk": 0.40, "lines": 0.25, "words": 0.12, "prose": 0.08, "template": 0.15}

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "June", "July", "Aug", "Sept", "Oct", "Nov", "Dec",
          "January", "February", "March", "April", "August", "September", "October",
          "November", "December")
NAMES = ("Dyer", "Thiselton-Dyer", "Harriet", "Gray", "Darwin", "Huxley", "Bentham", "Oliver",
         "Baker", "Smith", "Jones", "Brown", "Taylor", "Wilson", "Sarah", "James", "Emma", "Tom")
OPENINGS = ("My dear {n}", "Dear {n}", "Dear Mr {n}", "Dear Dr {n}", "My dear Mrs {n}",
            "Dear Sir", "Dear Madam", "Hi {n},", "Dear {n},")
CLOSINGS = ("Ever yours", "Ever yrs affly", "Yours sincerely", "Yours very truly", "Evr affy yrs",
            "With love", "Yours faithfully", "Best wishes,", "Kind regards,", "Thanks, {n}",
            "Most truly yours", "Believe me", "J. D. Hooker", "JDHooker")
PLACES = ("Kew", "THE CAMP.", "SUNNINGDALE.", "London", "Royal Gardens, Kew", "Manchester",
          "Oxford", "Cambridge", "Leeds", "Bristol", "Edinburgh")


@dataclass
class TextCorpus:
    """Everything the sampler draws from; lists are kept in file order (determinism)."""

    runs: list[list[str]] = field(default_factory=list)  # GNHK words, one list per page
    lines: list[str] = field(default_factory=list)  # whole real lines
    prose: list[str] = field(default_factory=list)  # sentences of printed English
    words: list[str] = field(default_factory=list)  # word list ...
    word_p: np.ndarray | None = None  # ... and its draw probabilities


def load_gnhk_words(path: str | Path) -> list[list[str]]:
    """``image_filename,text`` word labels -> runs of words, one run per page, in reading order.

    Skips the non-text tags and starts a new run where one was skipped, so no phrase glues words
    that were not neighbours.
    """
    path = Path(path)
    runs: list[list[str]] = []
    page, run = None, []
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = csv.reader(f)
            next(rows, None)
            for row in rows:
                if len(row) < 2:
                    continue
                name, word = row[0], row[1].strip()
                p = name.rsplit("_", 1)[0]
                if p != page or not word or word in GNHK_SKIP:
                    if run:
                        runs.append(run)
                    run, page = [], p
                    if not word or word in GNHK_SKIP:
                        continue
                run.append(word)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read GNHK word labels ({exc})") from None
    if run:
        runs.append(run)
    return runs


def load_line_texts(path: str | Path, split: str = "train") -> list[str]:
    """The ``text`` column of a TSV's lines in ``split`` (never the test split of a benchmark)."""
    from ..data.datasets import load_tsv

    return [s.text for s in load_tsv(Path(path)) if s.split == split and s.text.strip()]


def load_wordfreq(n: int = 40000) -> tuple[list[str], np.ndarray]:
    """The ``n`` most frequent English words of wordfreq and draw probabilities (tempered, so
    rarer words are seen more often than in running text)."""
    try:
        import wordfreq
    except ImportError:
        raise InkreaderError("synth needs wordfreq: pip install 'inkreader[synth]'") from None

    words = [w for w in wordfreq.top_n_list("en", n, wordlist="large") if w.isascii()]
    freq = np.array([wordfreq.word_frequency(w, "en", wordlist="large") for w in words])
    p = freq ** 0.5
    return words, p / p.sum()


_PROSE = re.compile(r"[A-Za-z0-9 ,.;:'\"()!?%&/-]+")


def load_prose() -> list[str]:
    """Prose lines of the Python language reference that ships with every Python (pydoc's
    topics): printed English with its casing and punctuation. Code lines are left out."""
    from pydoc_data.topics import topics

    lines = (ln.strip() for text in topics.values() for ln in text.splitlines())
    return [ln for ln in lines if len(ln) > 25 and _PROSE.fullmatch(ln)
            and sum(c.isalpha() or c == " " for c in ln) > 0.9 * len(ln)]


def load_corpus(gnhk_words: str | Path | None = None, lines_tsv: str | Path | None = None,
                use_packages: bool = True) -> TextCorpus:
    """Load the available sources; missing optional files are logged and skipped."""
    corpus = TextCorpus()
    if gnhk_words is not None:
        if Path(gnhk_words).is_file():
            corpus.runs = load_gnhk_words(gnhk_words)
        else:
            log.warning("%s: not found, synthetic text without GNHK words", gnhk_words)
    if lines_tsv is not None:
        if Path(lines_tsv).is_file():
            corpus.lines = load_line_texts(lines_tsv, "train")
        else:
            log.warning("%s: not found, synthetic text without letter lines", lines_tsv)
    if use_packages:
        corpus.words, corpus.word_p = load_wordfreq()
        corpus.prose = load_prose()
    log.info("text sources: %d GNHK runs (%d words), %d lines, %d prose lines, %d dictionary "
             "words", len(corpus.runs), sum(map(len, corpus.runs)), len(corpus.lines),
             len(corpus.prose), len(corpus.words))
    return corpus


def sample_length(rng: np.random.Generator) -> int:
    """A target character count drawn from the GNHK test-line length histogram."""
    counts = np.asarray(LENGTH_COUNTS, dtype=float)
    b = rng.choice(len(counts), p=counts / counts.sum())
    return int(rng.integers(LENGTH_EDGES[b], LENGTH_EDGES[b + 1]))


def _fit(words: list[str], target: int) -> str:
    """The shortest prefix of ``words`` at least ``target`` characters long."""
    out, n = [], 0
    for w in words:
        if out and n + 1 + len(w) > target + 6:
            break
        out.append(w)
        n += len(w) + (len(out) > 1)
        if n >= target:
            break
    return " ".join(out)


def _from_runs(runs: list[list[str]], target: int, rng: np.random.Generator) -> str:
    run = runs[int(rng.integers(len(runs)))]
    start = int(rng.integers(len(run)))
    return _fit(run[start:] + run[:start], target)


def _from_lines(lines: list[str], target: int, rng: np.random.Generator) -> str:
    i = int(rng.integers(len(lines)))
    if rng.random() < 0.5:  # the line as written: real line breaks, real lengths
        return lines[i]
    words = " ".join(lines[i:i + 4]).split()
    start = int(rng.integers(max(1, len(words) - 1)))
    return _fit(words[start:], target)


def _number(rng: np.random.Generator) -> str:
    kind = rng.integers(10)
    if kind == 0:
        return f"£{rng.integers(1, 2000)}" + (f".{rng.integers(100):02d}" if rng.random() < .5
                                               else "")
    if kind == 1:
        return f"{rng.integers(1, 100)}%"
    if kind == 2:
        return f"{rng.integers(1, 13)}:{rng.integers(60):02d}" + ("pm" if rng.random() < .3
                                                                   else "")
    if kind == 3:
        return f"{rng.integers(1, 29)}/{rng.integers(1, 13)}/{rng.integers(0, 100):02d}"
    if kind == 4:
        return f"${rng.integers(1, 500)}.{rng.integers(100):02d}"
    if kind == 5:
        a, b = rng.integers(1, 50, 2)
        op = "+-x*/"[int(rng.integers(5))]
        return f"{a}{op}{b}={rng.integers(1, 200)}"
    if kind == 6:
        return f"({rng.integers(1, 20)})"
    if kind == 7:
        return str(int(rng.integers(1800, 2030)))
    return str(int(rng.integers(0, 10 ** int(rng.integers(1, 5)))))


def _template(rng: np.random.Generator) -> str:
    name = NAMES[int(rng.integers(len(NAMES)))]
    kind = rng.integers(6)
    if kind == 0:  # "Dec 21/95", "March 3rd 1887"
        m = MONTHS[int(rng.integers(len(MONTHS)))]
        d = int(rng.integers(1, 32))
        if rng.random() < 0.5:
            return f"{m} {d}/{rng.integers(60, 100)}"
        suf = "th" if d in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
        return f"{m} {d}{suf} {rng.integers(1850, 2025)}" + ("." if rng.random() < .3 else "")
    if kind == 1:
        return OPENINGS[int(rng.integers(len(OPENINGS)))].format(n=name)
    if kind == 2:
        return CLOSINGS[int(rng.integers(len(CLOSINGS)))].format(n=name)
    if kind == 3:
        return PLACES[int(rng.integers(len(PLACES)))]
    if kind == 4:
        return f"{_number(rng)} {_number(rng)}"
    return _number(rng)


def _from_words(corpus: TextCorpus, target: int, rng: np.random.Generator) -> str:
    """Dictionary words with sentence casing, punctuation and now and then a number."""
    out: list[str] = []
    n, cap = 0, rng.random() < 0.4
    upper = rng.random() < 0.05
    while n < target:
        if rng.random() < 0.08:
            w = _number(rng)
        else:
            w = corpus.words[int(rng.choice(len(corpus.words), p=corpus.word_p))]
            if cap or rng.random() < 0.06:
                w = w[:1].upper() + w[1:]
        cap = False
        r = rng.random()
        if r < 0.05:
            w += "."
            cap = True
        elif r < 0.10:
            w += ","
        elif r < 0.12:
            w += "!?:;"[int(rng.integers(4))]
        elif r < 0.13:
            w = f'"{w}"' if rng.random() < .5 else f"({w})"
        elif r < 0.14 and out:
            out.append("-")
        out.append(w)
        n += len(w) + 1
    text = " ".join(out)
    return text.upper() if upper else text


class TextSampler:
    """Draws one normalised line of text per call from a ``TextCorpus``; all randomness comes
    from the ``rng`` argument, so the same generator state gives the same text."""

    def __init__(self, corpus: TextCorpus, charset: Charset | None = None):
        self.corpus = corpus
        self.charset = charset or Charset.gnhk()
        have = {"gnhk": bool(corpus.runs), "lines": bool(corpus.lines),
                "words": bool(corpus.words), "prose": bool(corpus.prose), "template": True}
        self.sources = [s for s in SOURCE_WEIGHTS if have[s]]
        w = np.array([SOURCE_WEIGHTS[s] for s in self.sources])
        self.source_p = w / w.sum()

    def raw(self, rng: np.random.Generator) -> str:
        target = sample_length(rng)
        source = self.sources[int(rng.choice(len(self.sources), p=self.source_p))]
        if source == "gnhk":
            return _from_runs(self.corpus.runs, target, rng)
        if source == "lines":
            return _from_lines(self.corpus.lines, target, rng)
        if source == "words":
            return _from_words(self.corpus, target, rng)
        if source == "prose":
            return _from_lines(self.corpus.prose, target, rng)
        return _template(rng)

    def sample(self, rng: np.random.Generator, avoid: frozenset[str] = frozenset()) -> str:
        """A non-empty line within the charset, preferring lines without ``avoid`` characters
        (glyphs the chosen font lacks); they are deleted as a last resort."""
        text = ""
        for _ in range(20):
            text = self.charset.normalize(self.raw(rng))
            if text and not self.charset.unknown(text) and not (avoid & set(text)):
                return text
        text = "".join(c for c in text if c not in avoid and c in self.charset.index)
        return " ".join(text.split()) or "the"


# --- text sources of the character LM (`inkreader lm build`) -------------------------------

PACKAGE_SOURCES = ("pkg:wordfreq", "pkg:pydoc", "deb:fortunes", "deb:gcide", "words:FILE")
WORD_LIST_LINE = 6  # words of a word list (words:FILE) per line, in a seeded random order
WORDFREQ_LINES = 6000  # pseudo-lines of words drawn by frequency (about 150 k characters)
GNHK_RUN_WORDS = 8  # GNHK words are glued into lines of at most this many neighbours


def word_list_lines(path: str) -> list[str]:
    """A word list (``Lexicon.load``: a file or ``default``, the shipped one) as text lines:
    every word in lower case and capitalised, each once, in a seeded random order,
    ``WORD_LIST_LINE`` to a line, so that a character LM built from them learns every listed
    spelling after a space as running text has it (docs/decoding.md, "The word list inside
    the LM")."""
    import random

    from ..decode.lexicon import Lexicon

    words = sorted(Lexicon.load(path).words)
    items = words + [w[:1].upper() + w[1:] for w in words]
    random.Random(0).shuffle(items)
    return [" ".join(items[i:i + WORD_LIST_LINE]) for i in range(0, len(items), WORD_LIST_LINE)]


def load_text(spec: str, split: str = "train") -> list[str]:
    """One text source -> lines. ``spec`` is a ``.txt`` file (a line is a line), a GNHK
    ``image_filename,text`` word CSV (neighbouring words of a page glued into lines), a line
    TSV with a ``split`` column (only ``split``'s lines), ``pkg:wordfreq`` (English words drawn
    by frequency, from the wordfreq package), ``pkg:pydoc`` (the prose of Python's own
    language reference), ``deb:fortunes`` or ``deb:gcide`` (quotations from Debian packages,
    ``inkreader.data.corpora``), ``words:FILE`` (a word list's words, ``word_list_lines``;
    ``words:default`` the shipped one). Nothing is downloaded."""
    from ..data import corpora
    from ..decode.lm import LMError

    if spec == "pkg:wordfreq":
        import numpy as np

        words, tempered = load_wordfreq()
        p = tempered ** 2  # undo its tempering (p ~ frequency ** 0.5): running-text frequencies
        p /= p.sum()
        rng = np.random.default_rng(0)
        draws = rng.choice(len(words), size=(WORDFREQ_LINES, 5), p=p)
        return [" ".join(words[i] for i in row) for row in draws]
    if spec == "pkg:pydoc":
        return load_prose()
    if spec.startswith("words:"):
        return word_list_lines(spec.removeprefix("words:"))
    try:
        if spec == "deb:fortunes":
            return corpora.load_fortunes()
        if spec == "deb:gcide":
            return corpora.load_gcide_quotations()
    except corpora.CorpusError as exc:
        raise LMError(str(exc)) from None
    path = Path(spec)
    if not path.is_file():
        raise LMError(f"{path}: no such text file (or package source {PACKAGE_SOURCES})")
    try:
        if path.suffix.lower() == ".csv":
            runs = load_gnhk_words(path)
            return [" ".join(run[i:i + GNHK_RUN_WORDS])
                    for run in runs for i in range(0, len(run), GNHK_RUN_WORDS)]
        if path.suffix.lower() == ".tsv":
            return load_line_texts(path, split)
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LMError(f"{path}: cannot read text ({exc})") from None


def clean_lines(lines: Iterable[str], charset: Charset) -> tuple[list[str], int]:
    """Normalise as training labels are (``Charset.normalize``) and keep the lines the charset
    can write; returns (lines, how many were dropped)."""
    kept, dropped = [], 0
    for raw in lines:
        line = charset.normalize(raw)
        if not line:
            continue
        if charset.unknown(line):
            dropped += 1
        else:
            kept.append(line)
    return kept, dropped
