"""From the network's per-frame log-probabilities to text: greedy, a beam search with a character
LM and a word list, and a word search with a word LM, on what base.py gives them all."""
