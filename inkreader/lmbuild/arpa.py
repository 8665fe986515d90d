"""An n-gram language model in memory, as ``inkreader lm`` builds and mixes it: back-off scoring
(``CharLM`` of characters, ``WordLM`` of word tokens), perplexity, and the ARPA file it is
written as and read back from (log10 values, the space spelt ``<sp>``). KenLM and
flashlight-text read the same files on the reading path (``decode/beam.py``, ``decode/words.py``).

    lm = CharLM.load("english-char-6gram.arpa.gz")
    state = lm.begin()
    lp, state = lm.score(state, "T")   # natural-log P("T" | <s>), the next state

A word model's tokens (``word_tokens``) are a line's lower-cased words (runs of letters,
apostrophes inside) and each other character on its own (digits, punctuation): the words
flashlight-text's ``LexiconDecoder`` looks up in it.
"""

from __future__ import annotations

import gzip
import math
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from ..decode.lm import BOS, EOS, LM_TOKENS, UNK, LMError


class _TokenChars(dict):
    """ARPA token -> character: the special tokens mapped, any other token as it is."""

    def __missing__(self, token: str) -> str:
        return token


TOKEN_CHARS = _TokenChars({v: k for k, v in LM_TOKENS.items()})
LN10 = math.log(10.0)
NO_PROB = -99.0  # ARPA's log10 for "never predicted" (<s>)

# An n-gram: a str of characters (character model) or a tuple of tokens (word model). Both
# slice and concatenate alike, so estimation and scoring serve either.
Gram = str | tuple[str, ...]

_WORD_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\S")


def word_tokens(text: str) -> list[str]:
    """The tokens of a word model: lower-cased words (runs of letters with apostrophes inside,
    as the word list delimits them) and every other non-space character on its own."""
    return [t.lower() for t in _WORD_TOKEN.findall(text)]


def unigram(words: bool):
    """token -> its 1-gram: the character itself, or a 1-tuple of the word."""
    return (lambda t: (t,)) if words else (lambda t: t)


def is_words(grams) -> bool:
    return isinstance(next(iter(grams), ""), tuple)


class BackoffScorer:
    """ARPA back-off: the longest stored n-gram ending in the token (a character, or a word of
    a word model), plus the weights of the longer contexts it backed off from."""

    def __init__(self, prob: dict[Gram, float], bow: dict[Gram, float], order: int,
                 words: bool = False):
        self.prob, self.bow, self.order, self.words = prob, bow, order, words
        self.unk = prob.get(unigram(words)(UNK), NO_PROB * LN10)
        self.logp = lru_cache(maxsize=1 << 18)(self._logp)

    def _logp(self, context: Gram, ch: str) -> float:
        h = context[-(self.order - 1):] if self.order > 1 else context[:0]
        if self.words:
            ch = (ch,)
        total = 0.0
        while True:
            lp = self.prob.get(h + ch)
            if lp is not None:
                return total + lp
            if not h:
                return total + self.unk
            total += self.bow.get(h, 0.0)
            h = h[1:]


class CharLM:
    """A character n-gram model: ``score(state, ch)`` -> (natural-log probability, next state),
    cached. A state is the text's last characters (at most order - 1, shortened to what the
    model stores); ``begin()`` is the start of a line. Thread-safe (read-only once loaded)."""

    words = False  # n-grams are strings of characters

    def __init__(self, prob: dict[Gram, float], bow: dict[Gram, float], order: int):
        self.prob, self.bow, self.order = prob, bow, order
        self.scorer = BackoffScorer(prob, bow, order, self.words)
        self._one = unigram(self.words)
        self.score = lru_cache(maxsize=1 << 18)(self._score)

    def begin(self) -> Gram:
        return self._one(BOS)

    def tokens(self, text: str):
        """The tokens the model scores ``text`` as: its characters."""
        return text

    def _score(self, state: Gram, ch: str) -> tuple[float, Gram]:
        """ln P(ch | state) and the state after ch (``score``, cached)."""
        lp = self.scorer.logp(state, ch)
        return lp, self._next_state(state + self._one(ch)) if self.order > 1 else state[:0]

    def end(self, state: str) -> float:
        """ln P(</s> | state)."""
        return self.scorer.logp(state, EOS)

    def text_logprob(self, text: str, eos: bool = True) -> float:
        """ln P(text) from the start of a line (and its end when ``eos``)."""
        state, total = self.begin(), 0.0
        for ch in self.tokens(text):
            lp, state = self.score(state, ch)
            total += lp
        return total + (self.end(state) if eos else 0.0)

    def _next_state(self, text: str) -> str:
        # A context that is not stored has no stored extension (prefix closure), so dropping
        # its oldest characters changes no score and lets the beam share cached scores.
        h = text[-(self.order - 1):]
        while h and h not in self.prob:
            h = h[1:]
        return h

    # --- files --------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write ARPA (gzipped when the name ends in .gz): log10 values, the tokens (characters
        or words) as ARPA's words."""
        path = Path(path)
        bos = self._one(BOS)
        by_order: dict[int, list[Gram]] = defaultdict(list)
        for g in self.prob:
            by_order[len(g)].append(g)
        by_order[1].append(bos)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "wt", encoding="utf-8", newline="\n") as f:
            f.write("\\data\\\n")
            for n in range(1, self.order + 1):
                f.write(f"ngram {n}={len(by_order[n])}\n")
            for n in range(1, self.order + 1):
                f.write(f"\n\\{n}-grams:\n")
                for g in sorted(by_order[n]):
                    lp = NO_PROB if g == bos else self.prob[g] / LN10
                    words = " ".join(LM_TOKENS.get(c, c) for c in g)
                    b = self.bow.get(g)
                    f.write(f"{lp:.6f}\t{words}" + (f"\t{b / LN10:.6f}\n" if b is not None
                                                    and n < self.order else "\n"))
            f.write("\n\\end\\\n")

    @classmethod
    def load(cls, path: str | Path) -> CharLM:
        """Read an ARPA file (plain or .gz) whose words are single characters (``<sp>`` for
        the space); ``WordLM.load``: whose words are tokens."""
        path = Path(path)
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as f:
                return cls._parse(f, path)
        except FileNotFoundError:
            raise LMError(f"{path}: language model file not found") from None
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise LMError(f"{path}: cannot read the language model ({exc})") from None

    @classmethod
    def _parse(cls, lines, path: Path) -> CharLM:
        prob: dict[Gram, float] = {}
        bow: dict[Gram, float] = {}
        bos = unigram(cls.words)(BOS)
        order, section = 0, 0
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line == "\\data\\" or line.startswith("ngram "):
                if line.startswith("ngram "):
                    order = max(order, int(line[6:].split("=")[0]))
                continue
            if line == "\\end\\":
                break
            if line.startswith("\\") and line.endswith("-grams:"):
                section = int(line[1:].split("-")[0])
                continue
            parts = line.split()
            if section == 0 or len(parts) not in (section + 1, section + 2):
                raise LMError(f"{path}:{number}: not an ARPA n-gram line: {line[:60]!r}")
            words = parts[1:section + 1]
            if cls.words:
                g = tuple(map(TOKEN_CHARS.__getitem__, words))
            else:
                g = "".join(words)
                if len(g) != section:  # a token of several characters: <sp>, <s>, </s>, <unk>
                    g = "".join(map(TOKEN_CHARS.__getitem__, words))
                    if len(g) != section:
                        raise LMError(f"{path}:{number}: not a character model (word "
                                      f"{words!r})")
            if g != bos:
                prob[g] = float(parts[0]) * LN10
            if len(parts) == section + 2:
                bow[g] = float(parts[-1]) * LN10
        if not prob or order == 0:
            raise LMError(f"{path}: no n-grams (not an ARPA file?)")
        return cls(prob, bow, order)


class WordLM(CharLM):
    """A word n-gram model (``build_lm(..., unit="word")``): ``score(state, word)``, states and
    n-grams are tuples of ``word_tokens``; ``text_logprob`` scores a line's tokens. Written as
    ARPA by ``save`` for KenLM (read by ``decode/words.py``)."""

    words = True

    def tokens(self, text: str):
        """The tokens the model scores ``text`` as (``word_tokens``)."""
        return word_tokens(text)


def perplexity(lm: CharLM, lines: list[str]) -> float:
    """Per-token perplexity of ``lm`` on text lines (per character, or per word of a
    ``WordLM``; each line's end counts as a token)."""
    total = sum(lm.text_logprob(t) for t in lines)
    tokens = sum(len(lm.tokens(t)) + 1 for t in lines)
    return math.exp(-total / max(1, tokens))
