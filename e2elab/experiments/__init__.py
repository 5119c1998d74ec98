"""Experiments over the pipelines: `compare` (same splits, several seeds, paired tests) and
`curve` (learning curves, fitted laws, crossover, data needed for a target error)."""

from .compare import compare
from .curve import curve

__all__ = ["compare", "curve"]
