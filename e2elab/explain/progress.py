"""Progress of an explanation, one tick per step (a map, its sanity check, its deletion / insertion).

An explanation re-runs the model hundreds of times per input, so a long clip or many inputs can
take minutes. The bar goes to stderr and appears only once the work has run for a few seconds
(``progress=None``), at once (``True``) or never (``False``), so quick explanations stay quiet.
"""

from __future__ import annotations

import contextlib
import sys

SHOW_AFTER_SECONDS = 3.0


class StepProgress:
    """A tqdm bar over the steps of explaining `n_items` inputs by `n_methods` methods each."""

    def __init__(self, n_items: int, n_methods: int, sanity: bool, faithfulness: bool, progress: bool | None = None):
        from tqdm.auto import tqdm

        total = n_items * n_methods * (1 + bool(sanity) + bool(faithfulness))
        self.bar = tqdm(total=total, desc="explaining", unit="step", file=sys.stderr, leave=False,
                        disable=progress is False, delay=0.0 if progress else SHOW_AFTER_SECONDS)

    @contextlib.contextmanager
    def step(self, name: str, what: str, count: int = 1):
        """Tick when the step `what` ("map", "sanity check", ...) of input `name` is done; `count`
        ticks for a step done for that many inputs at once."""
        self.bar.set_postfix_str(f"{name}: {what}", refresh=False)
        yield
        self.bar.update(count)

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> StepProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
