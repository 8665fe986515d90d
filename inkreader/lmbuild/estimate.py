"""Estimating n-gram language models for the beam searches: interpolated Kneser-Ney from text,
pruning, and static mixing of models (``inkreader lm build`` / ``mix``).

Why our own: KenLM's ``lmplz`` (the usual builder) is not in the ``kenlm`` wheel, and a model
over ~100 symbols is small, so counting in Python takes seconds.

Smoothing: interpolated Kneser-Ney, one discount per order D = n1 / (n1 + 2 n2) (Chen and
Goodman 1998); lower orders use continuation counts; the unigram interpolates with a uniform
distribution over the vocabulary, so every charset symbol has a probability even when the
text never shows it. ``min_count`` drops rare n-grams of order >= 3 and renormalises the
back-off weights (the model stays a distribution).

The same code estimates a word model (``build_lm(..., unit="word")``, a ``WordLM``): an n-gram
is then a tuple of tokens (``arpa.word_tokens``) instead of a string of characters.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from ..decode.lm import BOS, EOS, LM_TOKENS, UNK, LMError
from .arpa import BackoffScorer, CharLM, Gram, WordLM, is_words, unigram, word_tokens

log = logging.getLogger(__name__)

UNITS = ("char", "word")


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
    one = unigram(is_words(counts[1]))
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
    scorer = BackoffScorer(prob, bow, order, is_words(prob))
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
    bad = {c for ln in lines for c in ln if c in LM_TOKENS and c != " "}
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
    pairs = [(m.scorer, w / total) for m, w in zip(models, weights, strict=True) if w > 0]
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
