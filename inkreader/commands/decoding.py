"""The decoding options shared by ``inkreader read``, ``evaluate``, ``read-page`` and ``serve``
(docs/decoding.md): greedy by default (the reference), CTC prefix beam search with a character
LM and a lexicon, test-time augmentation."""

from __future__ import annotations

from ..decode import DEFAULT_BEAM_WIDTH, DEFAULT_BONUS, DEFAULT_LM_WEIGHT, DEFAULT_OOV_PENALTY
from ..errors import InkreaderError


def add_decoding_arguments(p):
    """Add the decoding group to ``p`` and return it (commands add their own options to it)."""
    g = p.add_argument_group("decoding (docs/decoding.md)")
    g.add_argument("--beam-width", type=int, metavar="N",
                   help=f"CTC prefix beam search with N prefixes (default: greedy; "
                   f"{DEFAULT_BEAM_WIDTH} when --lm or --lexicon is given)")
    g.add_argument("--lm", metavar="FILE", help="character n-gram LM (ARPA, see 'inkreader lm "
                   "build'); 'default' is the packaged English one")
    g.add_argument("--lm-weight", type=float, default=DEFAULT_LM_WEIGHT, metavar="W",
                   help=f"weight of the LM's log-probability (default {DEFAULT_LM_WEIGHT})")
    g.add_argument("--lm-bonus", type=float, default=DEFAULT_BONUS, metavar="B",
                   help=f"score added per character read with an LM (default {DEFAULT_BONUS})")
    g.add_argument("--lexicon", metavar="FILE", help="word list, one a line: words outside it "
                   "cost the beam a penalty (case-insensitive); 'default' is the packaged "
                   "English one")
    g.add_argument("--lexicon-penalty", type=float, default=DEFAULT_OOV_PENALTY, metavar="P",
                   help=f"cost of a word outside the lexicon (default {DEFAULT_OOV_PENALTY})")
    g.add_argument("--tta", action="store_true",
                   help="test-time augmentation: read each line also shifted 3 px up and down "
                   "and decode the mean posteriors (about 3x the model time)")
    return g


def wants_beam(args) -> bool:
    return args.beam_width is not None or bool(args.lm) or bool(args.lexicon)


def apply_decoding(rec, args, designated=None):
    """Give the recognizer ``rec`` the beam decoder the options ask for (greedy: unchanged)."""
    if wants_beam(args):
        rec.decoder = beam_decoder(args, rec.charset, designated)
    return rec


def beam_decoder(args, charset, designated=None):
    """The BeamDecoder the decoding options ask for."""
    from ..decode import BeamDecoder
    from ..lexicon import Lexicon
    from ..lm import CharLM, resolve_lm_path

    width = DEFAULT_BEAM_WIDTH if args.beam_width is None else args.beam_width
    if width < 1:
        raise InkreaderError(f"--beam-width must be at least 1, got {width}")
    lm = CharLM.load(resolve_lm_path(args.lm)) if args.lm else None
    lexicon = Lexicon.load(args.lexicon) if args.lexicon else None
    return BeamDecoder(charset, width, lm=lm, lm_weight=args.lm_weight if lm else 0.0,
                       bonus=args.lm_bonus if lm else 0.0, lexicon=lexicon,
                       oov_penalty=args.lexicon_penalty,
                       designated=designated)
