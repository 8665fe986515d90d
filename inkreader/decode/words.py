"""CTC beam search over words: flashlight-text's ``LexiconDecoder`` with a word n-gram LM.

The search walks a trie of the word list's spellings, as character classes: a hypothesis is
always inside a listed spelling or between words. When a spelling is complete its word is
scored by the word LM (KenLM: an ARPA file whose words are ``word_tokens``, as ``inkreader lm
build --unit word`` writes), so a hypothesis' score is

    log P_ctc(path) + W * ln P_lm(words) + S * (words) + U * (unknown words)
        + space_score * (spaces)

What the trie holds (``WordModel``): every listed word (lower case) also capitalised and in
capitals, all three scored as the lower-case word, each followed by one of ``WORD_ENDS`` (a
space or a punctuation mark: the word is scored when its end is read, and a line's last word
is ended by a frame of space added after the line); every other symbol of the charset (digits,
punctuation) as a word of its own that may touch its neighbours, so numbers are read digit by
digit; with ``letters`` every letter as a one-letter word too, the only way to spell a word
outside the list (letter by letter, each letter scored by the word LM). The space is also
flashlight's silence: any number of them between words. flashlight's ``unk_score`` is not a
fallback to free spelling: it scores a hypothesis that stops on a trie node holding no word,
i.e. a *prefix* of a listed spelling read as a word ("Hook" of "Hooker", scored as <unk>);
``-inf`` forbids it. Such a prefix may touch the next word.

Spans and confidences come from the Viterbi alignment of the text read and the model's own
posteriors, as for the other decoders (docs/decoding.md).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..charset import BLANK, Charset
from .base import Designated
from .beam import LOG_FLOOR, FlashlightSearch, collapse, quiet_stderr
from .defaults import (
    DEFAULT_BEAM_WIDTH,
    DEFAULT_SPACE_SCORE,
    DEFAULT_TOKEN_BEAM,
    DEFAULT_UNK_SCORE,
    DEFAULT_WORD_LM_WEIGHT,
    DEFAULT_WORD_SCORE,
    LINE_CONFIDENCE,
    WORD_BEAM_THRESHOLD,
    WORD_ENDS,
)
from .lexicon import Lexicon, is_word_char
from .lm import LMError

UNK = "<unk>"


class WordModel:
    """What a word search reads: the word LM (flashlight's KenLM, queried by word index), the
    word dictionary and the trie of spellings (class indices of ``charset``). Read-only once
    built: one model serves every thread's search. ``load_word_model`` caches them."""

    def __init__(self, lm_path: str | Path, lexicon: Lexicon, charset: Charset,
                 letters: bool = True, ends: str = WORD_ENDS):
        from flashlight.lib.text.decoder import SmearingMode, Trie
        from flashlight.lib.text.decoder.kenlm import KenLM
        from flashlight.lib.text.dictionary import Dictionary

        lm_path = Path(lm_path)
        if not lm_path.is_file():
            raise LMError(f"{lm_path}: word language model file not found")
        if " " not in charset.index:
            raise LMError("the word search needs a charset with the space (the word boundary)")
        self.charset, self.letters, self.ends = charset, letters, ends
        spellings = word_spellings(lexicon, charset, letters, ends)
        words = sorted({w for w, _ in spellings})
        self.words = Dictionary([UNK, *words])
        try:
            with quiet_stderr():  # KenLM draws a progress bar on stderr while it reads an ARPA
                self.lm = KenLM(str(lm_path), self.words)
        except Exception as exc:  # KenLM's loader raises a bare RuntimeError naming the problem
            raise LMError(f"{lm_path}: cannot read the word language model ({exc})") from None
        self.space = charset.index[" "]
        self.unk = self.words.get_index(UNK)
        self.trie = Trie(charset.num_classes, self.space)
        start = self.lm.start(False)
        index = {w: self.words.get_index(w) for w in words}
        for word, spelling in spellings:
            label = index[word]
            _, unigram = self.lm.score(start, label)
            self.trie.insert([charset.index[c] for c in spelling], label, unigram)
        # a node's look-ahead score is the best unigram below it (flashlight's smearing)
        self.trie.smear(SmearingMode.MAX)
        self.spellings = len(spellings)


@lru_cache(maxsize=4)
def load_word_model(lm: str, lexicon: str, charset: Charset, letters: bool = True,
                    ends: str = WORD_ENDS) -> WordModel:
    """The ``WordModel`` of a word LM file and a word list (``"default"``: the shipped one),
    built once per process and shared."""
    return WordModel(lm, Lexicon.load(lexicon), charset, letters, ends)


def word_spellings(lexicon: Lexicon, charset: Charset, letters: bool,
                   ends: str = "") -> list[tuple[str, str]]:
    """(LM word, spelling) pairs for the trie: every listed word as it is, capitalised and in
    capitals (spellings outside the charset left out), followed by each of ``ends`` (none when
    ``ends`` is empty); every symbol that is not a letter or a space as itself; with
    ``letters`` every letter (either case) as a one-letter word. Symbols and letters take no
    end: they may touch what comes before and after them ("(1900)", "J.D.")."""
    allowed = set(charset.symbols)
    ends = "".join(e for e in ends if e in allowed)
    pairs = set()
    for word in lexicon.words:
        for spelling in (word, word[:1].upper() + word[1:], word.upper()):
            if spelling and set(spelling) <= allowed:
                if ends:
                    pairs.update((word, spelling + e) for e in ends)
                else:
                    pairs.add((word, spelling))
    for s in charset.symbols:
        if s == " ":
            continue
        if not is_word_char(s):
            pairs.add((s, s))
        elif letters and s.isalpha():
            pairs.add((s.lower(), s))
    return sorted(pairs)


class WordDecoder(FlashlightSearch):
    """CTC beam search (flashlight-text's ``LexiconDecoder``) over the spellings of a word list,
    scored by a word n-gram LM (module docstring). ``model``: a ``WordModel``. Safe to call
    from several threads: each has its own search; the model is shared (read-only)."""

    def __init__(self, charset: Charset, model: WordModel, width: int = DEFAULT_BEAM_WIDTH,
                 lm_weight: float = DEFAULT_WORD_LM_WEIGHT,
                 word_score: float = DEFAULT_WORD_SCORE, unk_score: float = DEFAULT_UNK_SCORE,
                 space_score: float = DEFAULT_SPACE_SCORE,
                 designated: Designated | None = None, confidence: str = LINE_CONFIDENCE,
                 token_beam: int = DEFAULT_TOKEN_BEAM):
        super().__init__(charset, width, token_beam, designated, confidence)
        if model.charset != charset:
            raise ValueError("the word model was built for another charset")
        self.model = model
        self.lm_weight, self.word_score = lm_weight, word_score
        self.unk_score, self.space_score = unk_score, space_score

    def _new_search(self):
        from flashlight.lib.text.decoder import (
            CriterionType,
            LexiconDecoder,
            LexiconDecoderOptions,
        )

        opts = LexiconDecoderOptions(
            beam_size=self.width, beam_size_token=self.token_beam,
            beam_threshold=WORD_BEAM_THRESHOLD,
            # flashlight's KenLM answers log10 probabilities; our weight is per natural log
            lm_weight=self.lm_weight * math.log(10.0), word_score=self.word_score,
            unk_score=self.unk_score, sil_score=self.space_score,
            log_add=True, criterion_type=CriterionType.CTC)
        m = self.model
        return LexiconDecoder(opts, m.trie, m.lm, m.space, BLANK, m.unk, [], False)

    def search(self, logp: np.ndarray, blank_only: np.ndarray | None = None) -> np.ndarray:
        """(T, C) float32 log posteriors -> the best hypothesis' classes, without spaces at
        either end or two in a row (``blank_only``: frames where only the blank may be
        read)."""
        if self.model.ends:  # a last frame of space ends the line's last word
            end = np.full((1, logp.shape[1]), LOG_FLOOR, np.float32)
            end[0, self.model.space] = 0.0
            logp = np.concatenate([logp, end])
            if blank_only is not None:
                blank_only = np.append(blank_only, False)
        hyps = self._hypotheses(logp, blank_only)
        if not hyps:
            return np.zeros(0, np.int64)
        label = self._inner(collapse(max(hyps, key=lambda h: h.score).tokens))
        space = self.model.space
        keep = np.ones(len(label), bool)
        keep[1:] = ~((label[1:] == space) & (label[:-1] == space))
        return label[keep]
