"""The decoding defaults, in one place: the tuned beam search settings and the default LM and
word list. ``DecodingOptions``, ``BeamDecoder`` and the CLI's help all read them."""

# The tuned defaults: the one place to change after re-tuning. Chosen with the shipped model and
# LM on the two val sets (Hooker val and IAM-OnDB val, plain pen), by their mean CER: the LM
# weight x blank penalty with the word list at the default beam, then the word-list penalty,
# then the width x token beam x threshold of the least decoding time within 0.05 points of the
# best (`bench/decoding.py --tune`; docs/decoding.md, "Tuning"). Then, with the shipped model of
# 41d4036, `bench/decoding.py --sweep` jointly over the speed settings and the LM weight: the LM
# weight 0.6 reads better than 0.75 (mean 11.889 against 11.945 % at 64/8, sure blank 0.999), and
# token beam 6 with sure blank 0.99 spends that gain on speed: 11.940 %, 17 % less decoding CPU
# than 64/8, 0.999 at 0.75 (docs/decoding.md, "The speed settings on the current model").
DEFAULT_BEAM_WIDTH = 64  # hypotheses kept per frame
DEFAULT_TOKEN_BEAM = 6  # characters tried per frame (the frame's most probable ones)
DEFAULT_BEAM_THRESHOLD = 8.0  # hypotheses this far (log units) below a frame's best are dropped
DEFAULT_LM_WEIGHT = 0.6  # times the LM's natural-log probability of each character
DEFAULT_BLANK_PENALTY = 2.0  # natural-log cost of each blank frame (offsets the LM's cost)
DEFAULT_LEXICON_PENALTY = 3.0  # natural-log cost of each word outside the word list
# frames whose blank posterior is at least this are searched as blank only, a run of them as one
# frame (decode/frames.py); chosen with the sweep above (docs/decoding.md, "Frame pruning")
DEFAULT_SURE_BLANK = 0.99
DEFAULT_LM = "default"  # inkreader/models/english-char-6gram.arpa.gz
DEFAULT_LEXICON = "default"  # inkreader/models/english-words.txt.gz
