"""The decoding options shared by ``inkreader read``, ``evaluate``, ``read-page`` and ``serve``
(docs/decoding.md): by default CTC beam search with the shipped character LM and word list;
``--greedy`` for the reference's greedy decoding; test-time augmentation. The parsed options
become one ``DecodingOptions`` value (``decoding_options``)."""

from __future__ import annotations

from ..decode.defaults import (
    DEFAULT_BEAM_THRESHOLD,
    DEFAULT_BEAM_WIDTH,
    DEFAULT_BLANK_PENALTY,
    DEFAULT_LEXICON_PENALTY,
    DEFAULT_LM_WEIGHT,
    DEFAULT_SURE_BLANK,
    DEFAULT_TOKEN_BEAM,
    DEFAULT_UNK_SCORE,
    DEFAULT_WORD_LM_WEIGHT,
    DEFAULT_WORD_SCORE,
)
from ..decode.options import GREEDY, DecodingOptions
from ..errors import InkreaderError

# The beam options: given on the command line, they ask for the beam search even on the
# reference contract (argparse leaves them None when they are not given).
BEAM_OPTIONS = ("beam_width", "token_beam", "beam_threshold", "sure_blank", "lm", "lm_weight",
                "blank_penalty", "lexicon", "lexicon_penalty", "word_lm", "word_lm_weight",
                "word_score", "unk_score")


def add_decoding_arguments(p):
    """Add the decoding group to ``p`` and return it (commands add their own options to it)."""
    g = p.add_argument_group("decoding (docs/decoding.md)")
    g.add_argument("--greedy", action="store_true",
                   help="the reference's greedy decoding (best path) instead of the beam search "
                   "with the language model and word list")
    g.add_argument("--beam-width", type=int, metavar="N",
                   help="hypotheses the beam search keeps per frame (default "
                   f"{DEFAULT_BEAM_WIDTH})")
    g.add_argument("--token-beam", type=int, metavar="N",
                   help="characters the beam search tries per frame, the frame's most probable "
                   f"(default {DEFAULT_TOKEN_BEAM})")
    g.add_argument("--beam-threshold", type=float, metavar="T",
                   help="hypotheses more than T (log-probability) below a frame's best are "
                   f"dropped; larger is slower (default {DEFAULT_BEAM_THRESHOLD:g})")
    g.add_argument("--sure-blank", type=probability, metavar="P",
                   help="frames whose blank posterior is at least P are searched as blank "
                   "only, a run of them as one frame; 'none' searches every frame in full "
                   f"(default {DEFAULT_SURE_BLANK:g})")
    g.add_argument("--lm", metavar="FILE", help="character n-gram LM, KenLM-readable (ARPA, "
                   ".arpa.gz or KenLM binary; see 'inkreader lm build'); 'default' (the default) "
                   "is the packaged English one, 'none' searches without an LM")
    g.add_argument("--lm-weight", type=float, metavar="W",
                   help=f"weight of the LM's log-probability (default {DEFAULT_LM_WEIGHT})")
    g.add_argument("--blank-penalty", type=float, metavar="P",
                   help=f"cost of each blank frame; offsets the LM's cost per character "
                   f"(default {DEFAULT_BLANK_PENALTY})")
    g.add_argument("--lexicon", metavar="FILE", help="word list, one a line: words outside it "
                   "cost a penalty (case-insensitive); 'default' (the default) is the packaged "
                   "English one, 'none' uses no word list")
    g.add_argument("--lexicon-penalty", type=float, metavar="P",
                   help=f"cost of a word outside the word list (default {DEFAULT_LEXICON_PENALTY})")
    g.add_argument("--word-lm", metavar="FILE",
                   help="word n-gram LM (see 'inkreader lm build --unit word'): search over the "
                   "word list's spellings scored by it instead (words outside the list are "
                   "spelt letter by letter); --lm and the blank and word-list penalties are "
                   "then unused")
    g.add_argument("--word-lm-weight", type=float, metavar="W",
                   help=f"with --word-lm: weight of its log-probability (default "
                   f"{DEFAULT_WORD_LM_WEIGHT})")
    g.add_argument("--word-score", type=float, metavar="S",
                   help=f"with --word-lm: score of each word read (default {DEFAULT_WORD_SCORE})")
    g.add_argument("--unk-score", type=float, metavar="U",
                   help="with --word-lm: score of a prefix of a listed word read as a word "
                   f"(default {DEFAULT_UNK_SCORE}; --unk-score=-inf: never)")
    g.add_argument("--tta", action="store_true",
                   help="test-time augmentation: read each line also shifted 3 px up and down "
                   "and decode the mean posteriors (about 3x the model time)")
    return g


def probability(text: str) -> float | str:
    """argparse type of --sure-blank: a number, or 'none' (kept as it is, then None)."""
    return "none" if text == "none" else float(text)


def decoding_options(args) -> DecodingOptions | None:
    """The ``DecodingOptions`` the parsed command line asks for; None when it asks for no
    decoding (``--tta`` alone included: the reader's ``tta`` adds it to any decoding), and the
    reader then takes the default for its model (``LoadedModel.default_decoding``). Beam
    options ask for the beam search even on the reference contract."""
    given = {name: getattr(args, name, None) for name in BEAM_OPTIONS}
    given = {k: v for k, v in given.items() if v is not None}
    tta = bool(getattr(args, "tta", False))
    if getattr(args, "greedy", False):
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise InkreaderError(f"--greedy cannot be combined with beam options ({flags})")
        return GREEDY.with_(tta=tta)
    if not given:
        return None
    for name in ("lm", "lexicon", "word_lm", "sure_blank"):
        if given.get(name) == "none":
            given[name] = None
    return DecodingOptions(tta=tta, **given)
