"""Progress bars for the long steps of training (alignment, extraction, tuning, decoding)."""

from __future__ import annotations

import sys

from ..base import progress_wanted


def progress_bar(total: int, description: str, progress: bool | None, unit: str = "it"):
    """A tqdm bar on stderr; `progress` None shows it when someone watches (see base.progress_wanted)."""
    from tqdm.auto import tqdm

    show = progress_wanted(progress)
    return tqdm(total=total, desc=description, unit=unit, disable=not show, leave=False, file=sys.stderr,
                dynamic_ncols=True)
