"""Measuring a model: evaluate on a line dataset, compare two models (paired bootstrap), error
analysis."""
