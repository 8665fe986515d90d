"""Whole pages: find the lines, read them, write PAGE-XML / ALTO / text, draw the result."""
