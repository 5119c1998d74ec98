"""Input files of predict, explain and evaluate, checked against the model's task before any work.

An image handed to a speech model fails deep inside an audio decoder with the decoder's words;
telling from the name (or, failing that, the first bytes) what a file holds lets the error say
what went wrong: which file, what it is, and what the model expects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError

# What each task's models read, in the words of an error message.
EXPECTS = {"speech": "audio", "image": "image"}


def input_kind(path: Path) -> str | None:
    """"audio" or "image" from the file's extension, else from its first bytes; None when neither."""
    from ..data.audio import AUDIO_EXTENSIONS
    from ..data.image import IMAGE_EXTENSIONS
    from ..data.sniff import sniff_format

    suffix = path.suffix.lower()
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    found = sniff_format(path) or ""
    return next((kind for kind in ("audio", "image") if found.endswith(kind)), None)


def check_inputs(paths: list[str], model, model_dir: str) -> None:
    """Refuse a missing file, or one of another kind than the model reads, naming both."""
    from ..data.audio import AUDIO_EXTENSIONS
    from ..data.image import IMAGE_EXTENSIONS

    expected = EXPECTS[model.task]
    extensions = AUDIO_EXTENSIONS if expected == "audio" else IMAGE_EXTENSIONS
    for text in paths:
        path = Path(text)
        if not path.is_file():
            raise DataError(path, "no such file")
        kind = input_kind(path)
        if kind is not None and kind != expected:
            raise DataError(path, f"{_a(kind)} {kind} file, but {model_dir} is {_a(model.task)} {model.task} model, "
                                  f"which expects {expected} files ({', '.join(extensions)})")


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def readable_items(X, task: str) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """(indices of the items of `X` that can be read, [(item, reason)] for the others).

    Reading every item once more costs a pass over the data; it is done only where the user asked
    to skip unreadable items, which the pipelines' predict and score do not do themselves.
    """
    from ..data.audio import as_waveform
    from ..data.image import as_image

    read = as_waveform if task == "speech" else as_image
    kept, skipped = [], []
    for i, item in enumerate(X):
        try:
            read(item)
        except DataError as err:
            skipped.append((str(item) if isinstance(item, (str, Path)) else f"item {i}", err.reason))
        else:
            kept.append(i)
    return np.asarray(kept, dtype=int), skipped


def drop_unreadable(dataset, task: str, purpose: str):
    """`dataset` without the items that cannot be read, and those items, announced on stderr.

    For held-out data under ``--on-error skip``: the pipelines skip unreadable items in fit, but
    predict and score read every item they are given.
    """
    import sys

    kept, skipped = readable_items(dataset.X, task)
    if skipped:
        print(f"skipped {len(skipped)} unreadable {purpose} item(s), e.g. {skipped[0][0]}: {skipped[0][1]}", file=sys.stderr)
    return dataset.subset(kept), skipped
