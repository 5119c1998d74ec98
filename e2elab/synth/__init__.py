"""Synthetic speech: the espeak-ng binding and the corpora generated with it (offline, reproducible)."""
