"""`fsdd`: the Free Spoken Digit Dataset, read from its ``recordings/`` folder."""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import ManifestError
from ..builtin import Builtin
from ..dataset import Dataset
from ..download import RemoteFile
from ..text import DIGIT_WORDS

COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
ARCHIVE_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{COMMIT}.zip"

_CLIP_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)$")


def keep_recording(member: str) -> str | None:
    """Keep only ``<repo>/recordings/*.wav`` from the FSDD archive, as ``recordings/<name>``."""
    parts = member.split("/")
    if len(parts) == 3 and parts[1] == "recordings" and parts[2].endswith(".wav"):
        return f"recordings/{parts[2]}"
    return None


def read_fsdd(folder: Path) -> Dataset:
    """FSDD clips as paths; transcript = the digit's word, group = the speaker in the file name."""
    items, skipped = [], []
    for path in (folder / "recordings").iterdir():
        if path.name.startswith("."):
            continue
        match = _CLIP_NAME.match(path.stem) if path.suffix.lower() == ".wav" else None
        if match is None:
            skipped.append((str(path), "not named {digit}_{speaker}_{index}.wav"))
            continue
        digit, speaker, index = match.groups()
        items.append((speaker, int(digit), int(index), str(path)))
    if not items:
        raise ManifestError(folder / "recordings", "no {digit}_{speaker}_{index}.wav recordings found")
    items.sort()
    return Dataset(X=[p for *_, p in items], y=[DIGIT_WORDS[d] for _, d, _, _ in items], groups=[s for s, *_ in items],
                   task="speech", source=str(folder), skipped=skipped)


FSDD = Builtin(
    "fsdd", "speech", "Free Spoken Digit Dataset: 3,000 isolated English digits, 6 speakers, 8 kHz", "CC BY-SA 4.0",
    "download", read_fsdd, "fsdd", ("recordings",),
    # GitHub builds commit archives on request and does not promise stable bytes: no digest.
    (RemoteFile("fsdd.zip", (ARCHIVE_URL,)),), unpack=keep_recording)
