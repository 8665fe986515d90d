"""CTC beam search with a character n-gram LM, on flashlight-text's compiled decoder and KenLM.

flashlight-text's ``LexiconFreeDecoder`` (the decoder behind torchaudio's ``ctc_decoder``) keeps
``width`` hypotheses per frame, tries the frame's ``token_beam`` most probable characters, and
scores each hypothesis as

    log P_ctc + W * ln P_lm(text) - penalty * (blank frames)

where the LM (a KenLM-readable character model: ARPA, ``.arpa.gz`` or KenLM binary, words
being characters and the space ``<sp>``, as ``inkreader lm build`` writes) scores every
character when it is emitted and the end of the line at the end. The blank penalty offsets the
LM's cost per character, which would otherwise favour dropping characters (flashlight's
``sil_score`` on the blank class). A word list, when given, ranks the search's final
hypotheses: each word outside it (case-insensitive) costs ``lexicon_penalty``.

Before the search, runs of near-certain blank frames are searched as one blank-only frame
(``sure``; ``frames.py``). Spans come from the Viterbi alignment of the text read; confidences
from the model's own posteriors, exactly as for ``GreedyDecoder`` (docs/decoding.md,
docs/confidence.md).
"""

from __future__ import annotations

import math
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..charset import BLANK, Charset
from .base import (
    LINE_CONFIDENCES,
    DecodedLine,
    Designated,
    aligned_spans,
    designated_posteriors,
    inner,
    scored_line,
    softmax,
)
from .defaults import (
    DEFAULT_BEAM_THRESHOLD,
    DEFAULT_BEAM_WIDTH,
    DEFAULT_BLANK_PENALTY,
    DEFAULT_LEXICON_PENALTY,
    DEFAULT_LM_WEIGHT,
    DEFAULT_SURE_BLANK,
    DEFAULT_TOKEN_BEAM,
    LINE_CONFIDENCE,
)
from .frames import ctc_align_states, expand_path, kept_frames, search_steps
from .lexicon import text_words
from .lm import LMError, lm_token, resolve_lm_path

LOG_FLOOR = -1e4  # log(0) for the search: flashlight's scores stay finite


def load_kenlm(path: str | Path, charset: Charset):
    """A KenLM model from ``path`` (``"default"``: the shipped one) queried by class index:
    index 0 is the blank (never scored), index k the charset's symbol k as the LM spells it."""
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    path = resolve_lm_path(path)
    if not path.is_file():
        raise LMError(f"{path}: language model file not found")
    tokens = Dictionary(["<blank>", *map(lm_token, charset.symbols)])
    try:
        with quiet_stderr():  # KenLM draws a progress bar on stderr while it reads an ARPA
            return KenLM(str(path), tokens)
    except Exception as exc:  # KenLM's loader raises a bare RuntimeError naming the problem
        raise LMError(f"{path}: cannot read the language model ({exc})") from None


@contextmanager
def quiet_stderr():
    """File descriptor 2 sent to /dev/null for the duration (C++ code writes there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class FlashlightSearch:
    """What the flashlight-text decoders share: one search per thread (flashlight keeps
    per-line state), and ``decode``: softmax, the reference's designated characters, the
    subclass's ``search`` on the log posteriors, then the Viterbi alignment of the text read
    for its spans and the model's own posteriors for its confidences. Subclasses call
    ``__init__`` (it checks and keeps what every search has) and define ``_new_search`` and
    ``search``."""

    def __init__(self, charset: Charset, width: int, token_beam: int,
                 designated: Designated | None, confidence: str, sure: float | None = None):
        if width < 1 or token_beam < 1:
            raise ValueError(f"beam width and token beam must be at least 1, got {width} and "
                             f"{token_beam}")
        if confidence not in LINE_CONFIDENCES:
            raise ValueError(f"unknown line confidence {confidence!r}")
        if sure is not None and not 0.5 < sure <= 1.0:
            raise ValueError(f"a sure frame's posterior must be in (0.5, 1], got {sure}")
        self.charset, self.width, self.token_beam = charset, width, token_beam
        self.designated, self.confidence, self.sure = designated, confidence, sure
        self._local = threading.local()
        self._chars = ["", *charset.symbols]  # a class's text (charset.decode, by lookup)

    def _inner(self, label: np.ndarray) -> np.ndarray:
        """``label`` without whitespace classes at either end (``base.inner``)."""
        return label[inner(label, self.charset)]

    def _search(self):
        """This thread's flashlight decoder."""
        dec = getattr(self._local, "decoder", None)
        if dec is None:
            dec = self._local.decoder = self._new_search()
        return dec

    def decode(self, logits: np.ndarray) -> DecodedLine:
        """(T, C) logits of one line -> DecodedLine."""
        probs = softmax(logits)  # (T, C)
        search = probs if self.designated is None else \
            designated_posteriors(probs, self.charset, self.designated)
        with np.errstate(divide="ignore"):
            logp = np.maximum(np.log(search), LOG_FLOOR).astype(np.float32)  # (T, C)
        # the search and the alignment run on the kept frames only (frames.py)
        kept, blank_only = (np.arange(len(logp)), None) if self.sure is None \
            else kept_frames(logp, self.sure)
        logp = logp[kept]  # (T', C)
        classes = self.search(logp, blank_only) if len(logp) else np.zeros(0, np.int64)
        path = ctc_align_states(logp, classes) if len(logp) else np.zeros(0, np.int64)
        path = expand_path(path, kept, len(probs))  # (T,)
        return scored_line(self.charset.decode(classes), classes, probs, path,
                           aligned_spans(path, len(classes)), self.confidence)

    def _hypotheses(self, logp: np.ndarray, blank_only: np.ndarray | None) -> list:
        """flashlight's final hypotheses for (T, C) log posteriors, the frames of
        ``blank_only`` searched with the blank alone (``frames.search_steps``)."""
        search = self._search()
        steps = search_steps(logp, blank_only)  # kept alive: flashlight reads their memory
        search.decode_begin()
        for block in steps:
            search.decode_step(block.ctypes.data, block.shape[0], block.shape[1])
        search.decode_end()
        return search.get_all_final_hypothesis()


class BeamDecoder(FlashlightSearch):
    """CTC beam search (flashlight-text) with an optional KenLM character LM and word list.

    ``lm``: a path (``"default"``: the shipped LM) or a model from ``load_kenlm``; None: no LM.
    ``lexicon``: a ``Lexicon`` or None. Designated characters: the search runs on
    ``designated_posteriors`` (the reference's rule applied to every frame). Safe to call
    from several threads: each thread has its own search, the LM is shared (read-only).
    """

    def __init__(self, charset: Charset, width: int = DEFAULT_BEAM_WIDTH, lm=None,
                 lm_weight: float = DEFAULT_LM_WEIGHT,
                 blank_penalty: float = DEFAULT_BLANK_PENALTY, lexicon=None,
                 lexicon_penalty: float = DEFAULT_LEXICON_PENALTY,
                 designated: Designated | None = None, confidence: str = LINE_CONFIDENCE,
                 token_beam: int = DEFAULT_TOKEN_BEAM,
                 threshold: float = DEFAULT_BEAM_THRESHOLD,
                 sure: float | None = DEFAULT_SURE_BLANK):
        super().__init__(charset, width, token_beam, designated, confidence, sure)
        from flashlight.lib.text.decoder import ZeroLM

        self.threshold = threshold
        self.lm = load_kenlm(lm, charset) if isinstance(lm, str | Path) else lm
        self._lm = self.lm if self.lm is not None else ZeroLM()
        # flashlight's KenLM answers log10 probabilities; our weight is per natural log
        self.lm_weight = lm_weight if self.lm is not None else 0.0
        # the penalty offsets the LM's cost per character: without an LM there is none
        self.blank_penalty = blank_penalty if self.lm is not None else 0.0
        self.lexicon = lexicon
        self.lexicon_penalty = lexicon_penalty

    def _new_search(self):
        from flashlight.lib.text.decoder import (
            CriterionType,
            LexiconFreeDecoder,
            LexiconFreeDecoderOptions,
        )

        opts = LexiconFreeDecoderOptions(
            beam_size=self.width, beam_size_token=self.token_beam,
            beam_threshold=self.threshold, lm_weight=self.lm_weight * math.log(10.0),
            sil_score=-self.blank_penalty, log_add=True, criterion_type=CriterionType.CTC)
        # the blank doubles as flashlight's silence: its sil_score is the blank penalty
        return LexiconFreeDecoder(opts, self._lm, BLANK, BLANK, [])

    def search(self, logp: np.ndarray, blank_only: np.ndarray | None = None) -> np.ndarray:
        """(T, C) float32 log posteriors -> the best hypothesis' classes, without leading or
        trailing spaces (``blank_only``: frames where only the blank may be read)."""
        hyps = self._hypotheses(logp, blank_only)
        best, best_score = np.zeros(0, np.int64), -math.inf
        for raw, hyp in sorted(((h.score, h) for h in hyps), key=lambda p: -p[0]):
            if raw <= best_score:  # a penalty only lowers a score: none left can win
                break
            classes = self._inner(collapse(hyp.tokens))
            score = raw - self.lexicon_penalty * self._unlisted(classes)
            if score > best_score:
                best, best_score = classes, score
        return best

    def _unlisted(self, classes: np.ndarray) -> int:
        if self.lexicon is None:
            return 0
        words = text_words(["".join(map(self._chars.__getitem__, classes.tolist()))])
        return sum(n for w, n in words.items() if w not in self.lexicon)


def collapse(tokens) -> np.ndarray:
    """A frame path (flashlight's tokens, -1 for none) -> the CTC label: repeats merged,
    blanks dropped."""
    path = np.asarray(tokens, dtype=np.int64)
    path = path[path >= 0]
    keep = path != BLANK
    keep[1:] &= path[1:] != path[:-1]
    return path[keep]

