"""Synthetic training lines: rendered fonts on paper, pen strokes, lines stitched from real
words."""
