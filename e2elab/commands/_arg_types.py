"""argparse types that check a setting's range when the command line is read, before any work."""

from __future__ import annotations

import argparse


def int_at_least(low: int):
    """A type for whole numbers of at least `low`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expects a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


positive_int = int_at_least(1)  # steps, batch sizes, resamples


def open_fraction(text: str) -> float:
    """A fraction strictly between 0 and 1 (a held-out share: neither nothing nor everything)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a fraction between 0 and 1, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1 (exclusive), got {value:g}")
    return value


def jobs_count(text: str) -> int:
    """joblib's n_jobs: a positive count, or a negative one counting back from all cores (-1: every core)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a whole number, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 jobs would run nothing; use 1, a larger count, or -1 for every core")
    return value
