"""Character and word n-gram language models: built here (interpolated Kneser-Ney), stored as
ARPA.

Why our own: KenLM's ``lmplz`` (the usual builder) is not in the ``kenlm`` wheel, and a model
over ~100 symbols is small, so counting in Python takes seconds. The file is a standard ARPA
file (optionally gzipped) whose "words" are characters, the space written ``<sp>``; KenLM and
pyctcdecode can load it as it is, and ``CharLM`` reads it without either.

    lm = CharLM.load("english-char-6gram.arpa.gz")
    state = lm.begin()
    lp, state = lm.score(state, "T")   # natural-log P("T" | <s>), the next state

Smoothing: interpolated Kneser-Ney, one discount per order D = n1 / (n1 + 2 n2) (Chen and
Goodman 1998); lower orders use continuation counts; the unigram interpolates with a uniform
distribution over the vocabulary, so every charset symbol has a probability even when the
text never shows it. ``min_count`` drops rare n-grams of order >= 3 and renormalises the
back-off weights (the model stays a distribution).

The same code estimates a word model (``build_lm(..., unit="word")``, a ``WordLM``): an n-gram
is then a tuple of tokens instead of a string of characters. A line's tokens are its lower-cased
words (runs of letters, apostrophes inside) and each other character on its own (digits,
punctuation): ``word_tokens``. The ARPA file's words are those tokens, as KenLM and
flashlight-text's ``LexiconDecoder`` expect of a word LM (``decode/words.py``).
"""

from __future__ import annotations

import gzip
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ..errors import InkreaderError

log = logging.getLogger(__name__)

BOS, EOS, UNK = "\x02", "\x03", "\x1a"  # one character each, so an n-gram is a plain str
_TOKENS = {BOS: "<s>", EOS: "</s>", UNK: "<unk>", " ": "<sp>"}
_CHARS = {v: k for k, v in _TOKENS.items()}


def lm_token(ch: str) -> str:
    """How an ARPA file of ours spells a character (the space as ``<sp>``)."""
    return _TOKENS.get(ch, ch)


class _TokenChars(dict):
    """ARPA token -> character: the special tokens mapped, any other token as it is."""

    def __missing__(self, token: str) -> str:
        return token


_TOKEN_CHARS = _TokenChars(_CHARS)
LN10 = math.log(10.0)
NO_PROB = -99.0  # ARPA's log10 for "never predicted" (<s>)
UNITS = ("char", "word")

# An n-gram: a str of characters (character model) or a tuple of tokens (word model). Both
# slice and concatenate alike, so the estimation below serves either.
Gram = str | tuple[str, ...]

_WORD_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\S")


def word_tokens(text: str) -> list[str]:
    """The tokens of a word model: lower-cased words (runs of letters with apostrophes inside,
    as the word list delimits them) and every other non-space character on its own."""
    return [t.lower() for t in _WORD_TOKEN.findall(text)]


def _unigram(words: bool):
    """token -> its 1-gram: the character itself, or a 1-tuple of the word."""
    return (lambda t: (t,)) if words else (lambda t: t)


def _is_words(grams) -> bool:
    return isinstance(next(iter(grams), ""), tuple)


class LMError(InkreaderError):
    """A language model file that cannot be read or built."""


# --- building --------------------------------------------------------------------------------

def count_ngrams(lines: Iterable[Gram], order: int) -> list[Counter]:
    """Kneser-Ney counts: ``counts[n][g]`` for n-grams of length n (1..order). The top order
    holds raw counts; lower orders hold continuation counts (distinct left neighbours), except
    n-grams that start with <s>, which cannot be extended to the left and keep raw counts.
    A line is a str (its characters are the tokens) or a tuple of tokens (words)."""
    counts = [Counter() for _ in range(order + 1)]
    for line in lines:
        seq = BOS + line + EOS if isinstance(line, str) else (BOS, *line, EOS)
        for i in range(1, len(seq)):
            start = max(0, i - order + 1)
            counts[i + 1 - start][seq[start:i + 1]] += 1  # top order, or short at <s>
    for n in range(order - 1, 0, -1):
        for g in counts[n + 1]:
            counts[n][g[1:]] += 1  # one more distinct left neighbour of g[1:]
    return counts


def _discount(counter: Counter) -> float:
    n1 = sum(1 for c in counter.values() if c == 1)
    n2 = sum(1 for c in counter.values() if c == 2)
    d = n1 / (n1 + 2 * n2) if n1 and n2 else 0.5
    return min(max(d, 0.05), 0.95)


def kneser_ney(counts: list[Counter], vocab: set[str]) -> tuple[dict[Gram, float],
                                                                 dict[Gram, float]]:
    """Counts -> (prob, bow): natural-log P(g[-1] | g[:-1]) for every counted n-gram and the
    interpolation (back-off) weight of every context, in ARPA's back-off form. ``vocab``:
    tokens that get a unigram even if never counted."""
    order = len(counts) - 1
    prob: dict[Gram, float] = {}
    bow: dict[Gram, float] = {}
    one = _unigram(_is_words(counts[1]))
    vocab = {one(t) for t in set(vocab) | {EOS, UNK}}
    for n in range(1, order + 1):
        d = _discount(counts[n])
        totals: dict[Gram, int] = defaultdict(int)
        types: dict[Gram, int] = defaultdict(int)
        for g, c in counts[n].items():
            totals[g[:-1]] += c
            types[g[:-1]] += 1
        words = counts[n] if n > 1 else {**dict.fromkeys(vocab, 0), **counts[1]}
        for g in words:
            c, h = counts[n].get(g, 0), g[:-1]
            gamma = d * types[h] / totals[h]
            lower = math.exp(prob[g[1:]]) if n > 1 else 1.0 / len(vocab)
            prob[g] = math.log(max(c - d, 0.0) / totals[h] + gamma * lower)
        for h in totals:
            if h:
                bow[h] = math.log(d * types[h] / totals[h])
    prob.pop(one(BOS), None)
    return prob, bow


def prune(prob: dict[str, float], bow: dict[str, float], counts: list[Counter],
          min_count: int) -> None:
    """Drop n-grams of order >= 3 counted fewer than ``min_count`` times (a context that a kept
    n-gram needs is kept), then recompute each pruned context's back-off weight so that its
    probabilities still sum to one. In place."""
    if min_count <= 1:
        return
    order = len(counts) - 1
    keep = {g for n in range(3, order + 1) for g, c in counts[n].items() if c >= min_count}
    for g in list(keep):  # prefix closure: every kept n-gram's context stays
        for k in range(3, len(g)):
            keep.add(g[:k])
    dropped = [g for n in range(3, order + 1) for g in counts[n] if g not in keep]
    for g in dropped:
        del prob[g]
        bow.pop(g, None)
    touched = {g[:-1] for g in dropped}
    children: dict[Gram, list[Gram]] = defaultdict(list)
    for g in prob:
        if g[:-1] in touched:
            children[g[:-1]].append(g)
    set_backoff_weights(prob, bow, order, touched, children)


def set_backoff_weights(prob: dict[str, float], bow: dict[str, float], order: int,
                        contexts, children: dict[Gram, list[Gram]]) -> None:
    """Give each of ``contexts`` the back-off weight that makes its probabilities sum to one:
    (1 - its stored children's mass) / (1 - the mass the shorter context gives them). A
    context with no stored child backs off with weight 1. In place."""
    scorer = _BackoffScorer(prob, bow, order, _is_words(prob))
    # Shorter contexts first: a weight uses only shorter, already final contexts, so the
    # scorer's cache never holds a stale value.
    for h in sorted(contexts, key=len):
        kids = children.get(h, [])
        num = 1.0 - sum(math.exp(prob[g]) for g in kids)
        den = 1.0 - sum(math.exp(scorer.logp(h[1:], g[-1])) for g in kids)
        if kids:
            bow[h] = math.log(max(num, 1e-12) / max(den, 1e-12))
        else:
            bow.pop(h, None)


def build_lm(lines: Iterable[str], order: int, vocab: Iterable[str] = (),
             min_count: int = 1, unit: str = "char") -> CharLM:
    """Estimate an interpolated Kneser-Ney model of ``order`` from text lines: of characters,
    or with ``unit="word"`` of ``word_tokens`` (a ``WordLM``; ``vocab`` then lists tokens)."""
    if order < 1:
        raise LMError(f"order must be at least 1, got {order}")
    if unit not in UNITS:
        raise LMError(f"unknown LM unit {unit!r} (one of {', '.join(UNITS)})")
    lines = [ln for ln in lines if ln]
    if not lines:
        raise LMError("no text to build a language model from")
    bad = {c for ln in lines for c in ln if c in _TOKENS and c != " "}
    if bad:
        raise LMError(f"text holds control characters {sorted(bad)!r}")
    if unit == "word":
        seqs = [tuple(t) for t in map(word_tokens, lines) if t]
        counts = count_ngrams(seqs, order)
        vocab = set(vocab) | {t for s in seqs for t in s}
    else:
        counts = count_ngrams(lines, order)
        vocab = set(vocab) | {c for ln in lines for c in ln}
    prob, bow = kneser_ney(counts, vocab)
    prune(prob, bow, counts, min_count)
    log.info("%s %d-gram: %d lines, %d characters, %d n-grams", unit, order, len(lines),
             sum(map(len, lines)), len(prob))
    return (WordLM if unit == "word" else CharLM)(prob, bow, order)


def mix_lms(models: list[CharLM], weights: list[float]) -> CharLM:
    """Static linear interpolation of back-off models (SRILM's ``ngram -mix-lm``): every
    n-gram stored in any model gets P = sum_i w_i P_i (each P_i with its own back-off), then
    each context's back-off weight is recomputed so that its probabilities sum to one. The
    usual way to join a small in-domain model with a large general one without the large one
    drowning the small one's counts (weights: tune them on held-out text)."""
    if len(models) != len(weights) or not models:
        raise LMError(f"{len(models)} models but {len(weights)} weights")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise LMError(f"weights must be >= 0 with a positive sum, got {weights}")
    if len({m.words for m in models}) > 1:
        raise LMError("cannot mix a character model with a word model")
    if models[0].words and len({frozenset(g for g in m.prob if len(g) == 1)
                                for m in models}) > 1:
        # a word one model lacks would get that model's whole <unk> mass once per word
        raise LMError("word models of different vocabularies cannot be mixed (build them "
                      "with the same vocabulary)")
    total = sum(weights)
    pairs = [(m._scorer, w / total) for m, w in zip(models, weights, strict=True) if w > 0]
    order = max(m.order for m in models)
    grams = set().union(*(m.prob for m in models))
    prob = {g: math.log(sum(w * math.exp(s.logp(g[:-1], g[-1])) for s, w in pairs))
            for g in grams}
    children: dict[Gram, list[Gram]] = defaultdict(list)
    for g in prob:
        if len(g) > 1:
            children[g[:-1]].append(g)
    bow: dict[Gram, float] = {}
    set_backoff_weights(prob, bow, order, list(children), children)
    return type(models[0])(prob, bow, order)


def perplexity(lm: CharLM, lines: list[str]) -> float:
    """Per-token perplexity of ``lm`` on text lines (per character, or per word of a
    ``WordLM``; each line's end counts as a token)."""
    total = sum(lm.text_logprob(t) for t in lines)
    tokens = sum(len(lm.tokens(t)) + 1 for t in lines)
    return math.exp(-total / max(1, tokens))


# --- scoring ---------------------------------------------------------------------------------

class _BackoffScorer:
    """ARPA back-off: the longest stored n-gram ending in the token (a character, or a word of
    a word model), plus the weights of the longer contexts it backed off from."""

    def __init__(self, prob: dict[Gram, float], bow: dict[Gram, float], order: int,
                 words: bool = False):
        self.prob, self.bow, self.order, self.words = prob, bow, order, words
        self.unk = prob.get(_unigram(words)(UNK), NO_PROB * LN10)
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
        self._scorer = _BackoffScorer(prob, bow, order, self.words)
        self._one = _unigram(self.words)
        self.score = lru_cache(maxsize=1 << 18)(self._score)

    def begin(self) -> Gram:
        return self._one(BOS)

    def tokens(self, text: str):
        """The tokens the model scores ``text`` as: its characters."""
        return text

    def _score(self, state: Gram, ch: str) -> tuple[float, Gram]:
        """ln P(ch | state) and the state after ch (``score``, cached)."""
        lp = self._scorer.logp(state, ch)
        return lp, self._next_state(state + self._one(ch)) if self.order > 1 else state[:0]

    def end(self, state: str) -> float:
        """ln P(</s> | state)."""
        return self._scorer.logp(state, EOS)

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
                    words = " ".join(_TOKENS.get(c, c) for c in g)
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
        bos = _unigram(cls.words)(BOS)
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
                g = tuple(map(_TOKEN_CHARS.__getitem__, words))
            else:
                g = "".join(words)
                if len(g) != section:  # a token of several characters: <sp>, <s>, </s>, <unk>
                    g = "".join(map(_TOKEN_CHARS.__getitem__, words))
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


# --- training text ---------------------------------------------------------------------------

def default_lm_path() -> Path:
    """The character model shipped in the package (``inkreader/models/``)."""
    from importlib.resources import files

    return Path(str(files("inkreader") / "models" / DEFAULT_LM_NAME))


DEFAULT_LM_NAME = "english-char-6gram.arpa.gz"


def resolve_lm_path(spec: str | Path) -> Path:
    """``"default"`` -> the shipped model; anything else is a path."""
    return default_lm_path() if str(spec) == "default" else Path(spec)
