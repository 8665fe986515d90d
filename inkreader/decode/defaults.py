"""The decoding defaults, in one place: the tuned settings of the beam search and the word
search, the shipped line confidence, and the default LM, word LM and word list.
``DecodingOptions``, the decoders and the CLI's help all read them."""

# The tuned defaults: the one place to change after re-tuning. Chosen on the two val sets (Hooker
# val and IAM-OnDB val, plain pen) by their mean CER: the LM weight x blank penalty with the word
# list, then the word-list penalty (`bench/decoding.py --tune`), then, jointly, the speed settings
# and the LM weight: the fastest setting that reads no worse (`bench/decoding.py --sweep`;
# docs/decoding.md, "Tuning" and "The speed settings").
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
# the shipped files that "default" names, in inkreader/models/
DEFAULT_LM_NAME = "english-char-6gram.arpa.gz"
DEFAULT_LEXICON_NAME = "english-words.txt.gz"

# The word search's settings (``--word-lm``), tuned on the Hooker val split (docs/decoding.md,
# "Word-level LM").
DEFAULT_WORD_LM_WEIGHT = 0.5  # times the word LM's natural-log probability of each word
DEFAULT_WORD_SCORE = 1.0  # natural-log bonus of each word (offsets the LM's cost per word)
DEFAULT_UNK_SCORE = -2.0  # score of a prefix of a listed word read as a word (-inf: never)
DEFAULT_SPACE_SCORE = 0.0  # natural-log score of each space (flashlight's sil_score)
WORD_BEAM_THRESHOLD = 25.0  # hypotheses this far (log units) below a frame's best are dropped
# A listed word ends with one of these (each spelling once per end): the word is complete, and
# scored, when its end is read; a line's last word is ended by a space frame added after it.
# Chosen among the trie designs on Hooker val (docs/decoding.md, "Which trie").
WORD_ENDS = " ,.-;:"

# The shipped line confidence (one of ``base.LINE_CONFIDENCES``): the geometric mean of the
# characters' posteriors ranks the Hooker val lines by their CER best of the four, tied with
# `mean` (bench/reliability.py; figures of the shipped model in docs/confidence.md).
LINE_CONFIDENCE = "geomean"
