"""Building the language models of the beam searches, offline: Kneser-Ney estimation, pruning,
mixing, and the ARPA files they are stored as (``inkreader lm``)."""
