"""The decoding defaults, in one place: the tuned beam search settings and the default LM and
word list. ``DecodingOptions``, ``BeamDecoder`` and the CLI's help all read them."""

# The tuned defaults: the one place to change after re-tuning. Chosen on the Hooker val split
# with the shipped model and LM (issue 39): the LM weight, blank penalty and word-list penalty
# at beam 16/6, then the width x token beam of the lowest val CER (`bench/decoding.py --tune
# --width 16 --token-beam 6 --compare`; the grids and the test figures in docs/decoding.md).
DEFAULT_BEAM_WIDTH = 32  # hypotheses kept per frame
DEFAULT_TOKEN_BEAM = 6  # characters tried per frame (the frame's most probable ones)
DEFAULT_BEAM_THRESHOLD = 8.0  # hypotheses this far (log units) below a frame's best are dropped
DEFAULT_LM_WEIGHT = 0.75  # times the LM's natural-log probability of each character
DEFAULT_BLANK_PENALTY = 1.5  # natural-log cost of each blank frame (offsets the LM's cost)
DEFAULT_LEXICON_PENALTY = 5.0  # natural-log cost of each word outside the word list
DEFAULT_LM = "default"  # inkreader/models/english-char-6gram.arpa.gz
DEFAULT_LEXICON = "default"  # inkreader/models/english-words.txt.gz
