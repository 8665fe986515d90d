"""From the network's per-frame log-probabilities to text: greedy, and beam search with a character
LM and a word list."""
