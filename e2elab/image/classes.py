"""Which classes an image classifier can be trained on: at least two, each with at least two images.

A class with a single image cannot be both learned and validated (and breaks stratified splits);
both image pipelines refuse it, or leave it out under on_error="skip".
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..errors import DataError


def drop_single_image_classes(y: np.ndarray, skipped: list, on_error: str) -> tuple[np.ndarray, list]:
    """Indices of the items to keep, and `skipped` extended with the classes left out.

    Raises DataError for a single-image class (unless on_error="skip") and when fewer than two
    classes remain.
    """
    counts = Counter(y.tolist())
    single = sorted(label for label, n in counts.items() if n < 2)
    if single and on_error != "skip":
        raise DataError(None, f"class {', '.join(map(repr, single))} has a single image; training needs at least "
                              "two per class (add images, or fit with on_error='skip' to leave them out)")
    keep = np.array([i for i, label in enumerate(y.tolist()) if label not in single], dtype=int)
    skipped = skipped + [(f"class {label!r}", "a single image") for label in single]
    classes = sorted({str(label) for label in y[keep].tolist()})
    if len(classes) < 2:
        raise DataError(None, f"need images of at least two classes to train a classifier, got {len(classes)}"
                              f" ({', '.join(classes) or 'none'})")
    return keep, skipped
