"""Progress bars for the long steps of training (alignment, extraction, tuning, decoding)."""

from __future__ import annotations

import sys


def progress_bar(total: int, description: str, progress: bool | None, unit: str = "it"):
    """A tqdm bar on stderr; `progress` None shows it only when stderr is a terminal."""
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else bool(progress)
    return tqdm(total=total, desc=description, unit=unit, disable=not show, leave=False, file=sys.stderr,
                dynamic_ncols=True)
