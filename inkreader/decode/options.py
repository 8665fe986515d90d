"""How lines are decoded: one frozen value, ``DecodingOptions``, that the CLI, the server, batch
jobs and the library share, with every tuned default in this file (docs/decoding.md).

    Recognizer.load()                                        # the default: beam + LM + words
    Recognizer.load(decoding=GREEDY)                         # the reference's greedy decoding
    Recognizer.load(decoding=DecodingOptions(lm_weight=0.6, tta=True))

The default is the most accurate reading measured: CTC beam search (flashlight-text) with the
shipped character LM (KenLM) and the shipped word list. The reference contract (``fixed_width``,
designated characters or a foreign charlist) keeps the reference demo's greedy decoding unless
options are given (``default_decoding``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from ..errors import InkreaderError
from .defaults import (
    DEFAULT_BEAM_THRESHOLD,
    DEFAULT_BEAM_WIDTH,
    DEFAULT_BLANK_PENALTY,
    DEFAULT_LEXICON,
    DEFAULT_LEXICON_PENALTY,
    DEFAULT_LM,
    DEFAULT_LM_WEIGHT,
    DEFAULT_SURE_BLANK,
    DEFAULT_TOKEN_BEAM,
    DEFAULT_UNK_SCORE,
    DEFAULT_WORD_LM_WEIGHT,
    DEFAULT_WORD_SCORE,
)

# the fields of the word-level search: left out of ``describe`` when no word LM is asked for
WORD_FIELDS = ("word_lm", "word_lm_weight", "word_score", "unk_score", "word_letters")


@dataclass(frozen=True)
class DecodingOptions:
    """How a Recognizer turns CTC output into text.

    ``greedy``: the reference's best-path decoding (every other field but ``tta`` unused).
    Otherwise a CTC beam search of ``beam_width`` hypotheses (``token_beam`` characters tried
    per frame; hypotheses more than ``beam_threshold`` below the frame's best dropped) scored
    as log P_ctc + ``lm_weight`` * ln P_lm - ``blank_penalty`` per blank frame (with an LM
    only); ``lm`` is a KenLM-readable character model (ARPA, .arpa.gz or KenLM binary;
    ``"default"`` the shipped one; None: no LM); ``lexicon`` a word list (``"default"`` the
    shipped one; None: none) whose unlisted words cost ``lexicon_penalty`` each when the
    search's best hypotheses are ranked. ``sure_blank``: frames whose blank posterior is at
    least this are searched as blank only, a run of them as one frame (``decode/frames.py``;
    None: every frame searched in full). ``tta``: read each line also shifted 3 px up and down
    and decode the mean log-posteriors.

    ``word_lm``: a word n-gram LM (KenLM-readable, ``inkreader lm build --unit word``) asks for
    the word-level search instead (``decode/words.py``: flashlight's ``LexiconDecoder``): the
    spellings of ``lexicon`` only (``word_letters``: and one-letter words), scored as
    ``word_lm_weight`` * ln P_lm(word) + ``word_score`` per word, ``unk_score`` per prefix of
    a listed word read as a word; ``lm``, ``blank_penalty``, ``lexicon_penalty``,
    ``beam_threshold`` and ``sure_blank`` are unused (the word search keeps its own threshold,
    ``WORD_BEAM_THRESHOLD``, and searches every frame).
    """

    greedy: bool = False
    beam_width: int = DEFAULT_BEAM_WIDTH
    token_beam: int = DEFAULT_TOKEN_BEAM
    beam_threshold: float = DEFAULT_BEAM_THRESHOLD
    sure_blank: float | None = DEFAULT_SURE_BLANK
    lm: str | None = DEFAULT_LM
    lm_weight: float = DEFAULT_LM_WEIGHT
    blank_penalty: float = DEFAULT_BLANK_PENALTY
    lexicon: str | None = DEFAULT_LEXICON
    lexicon_penalty: float = DEFAULT_LEXICON_PENALTY
    tta: bool = False
    word_lm: str | None = None
    word_lm_weight: float = DEFAULT_WORD_LM_WEIGHT
    word_score: float = DEFAULT_WORD_SCORE
    unk_score: float = DEFAULT_UNK_SCORE
    word_letters: bool = True

    def __post_init__(self):
        for name in ("beam_width", "token_beam"):
            if getattr(self, name) < 1:
                raise InkreaderError(f"{name.replace('_', '-')} must be at least 1, got "
                                     f"{getattr(self, name)}")
        for name in ("lm_weight", "blank_penalty", "lexicon_penalty", "word_lm_weight",
                     "word_score"):
            if not math.isfinite(getattr(self, name)):
                raise InkreaderError(f"{name.replace('_', '-')} must be a finite number")
        if not self.beam_threshold > 0 or not math.isfinite(self.beam_threshold):
            raise InkreaderError(f"beam-threshold must be a positive number, got "
                                 f"{self.beam_threshold}")
        if self.sure_blank is not None and not 0.5 < self.sure_blank <= 1.0:
            raise InkreaderError(f"sure-blank must be a probability above 0.5 and at most 1, "
                                 f"got {self.sure_blank}")
        if math.isnan(self.unk_score) or self.unk_score == math.inf:
            raise InkreaderError("unk-score must be a number or -inf")
        if self.word_lm is not None and self.lexicon is None and not self.greedy:
            raise InkreaderError("the word LM needs a word list (--lexicon): its spellings are "
                                 "the words the search can read")
        # the value is hashable and compared by value: paths are kept as str
        for name in ("lm", "lexicon", "word_lm"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value))

    def with_(self, **changes) -> DecodingOptions:
        """A copy with ``changes`` (checked like a new value)."""
        return replace(self, **changes)

    def describe(self) -> dict:
        """The options as a JSON-ready dict (``greedy`` alone when the rest is unused)."""
        if self.greedy:
            return {"decoder": "greedy", "tta": self.tta}
        if self.word_lm is None:
            return {"decoder": "beam", **{k: v for k, v in asdict(self).items()
                                          if k not in WORD_FIELDS}}
        unused = ("lm", "lm_weight", "blank_penalty", "lexicon_penalty", "beam_threshold",
                  "sure_blank")
        out = {k: v for k, v in asdict(self).items() if k not in unused}
        if out["unk_score"] == -math.inf:  # JSON has no -inf: null says "forbidden"
            out["unk_score"] = None
        return {"decoder": "words", **out}

    def decoder(self, charset, designated=None):
        """The decoder these options ask for, for a model's ``charset`` (``designated``: the
        reference's designated characters, applied by either decoder)."""
        from .greedy import GreedyDecoder

        if self.greedy:
            return GreedyDecoder(charset, designated)
        if self.word_lm is not None:
            from .words import WordDecoder, load_word_model

            model = load_word_model(self.word_lm, self.lexicon, charset, self.word_letters)
            return WordDecoder(charset, model, self.beam_width, lm_weight=self.word_lm_weight,
                               word_score=self.word_score, unk_score=self.unk_score,
                               designated=designated, token_beam=self.token_beam)
        from .beam import BeamDecoder
        from .lexicon import Lexicon

        lexicon = Lexicon.load(self.lexicon) if self.lexicon else None
        return BeamDecoder(charset, self.beam_width, lm=self.lm, lm_weight=self.lm_weight,
                           blank_penalty=self.blank_penalty, lexicon=lexicon,
                           lexicon_penalty=self.lexicon_penalty, designated=designated,
                           token_beam=self.token_beam, threshold=self.beam_threshold,
                           sure=self.sure_blank)


GREEDY = DecodingOptions(greedy=True, lm=None, lexicon=None)


def default_decoding(reference: bool = False) -> DecodingOptions:
    """The decoding used when none is given: the tuned beam search, or on the reference
    contract (``reference``: fixed width, designated characters or a foreign charlist) the
    reference demo's greedy decoding."""
    return GREEDY if reference else DecodingOptions()
