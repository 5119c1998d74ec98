"""What a training run trains, as one digest: the key a checkpoint folder is resumed under.

A checkpoint folder must be resumed only by the run that wrote it. Two runs are the same run when
they see the same data (every array, byte for byte), the same labels (vocabulary, class names),
the same seed and every parameter that shapes training; settings that only say where or how
visibly it runs (device, threads, the folder itself, progress) do not count.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

import numpy as np


def run_fingerprint(arrays: Iterable[np.ndarray], meta: dict, params: dict, ignore: set[str] = frozenset()) -> str:
    """A hex SHA-256 of `arrays`, the JSON of `meta` and of `params` less the names in `ignore`.

    Each array's dtype and shape are hashed before its bytes, so splitting the same bytes into
    other arrays ([a, b] + [c] against [a] + [b, c]) gives another digest.
    """
    digest = hashlib.sha256()
    count = 0
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(json.dumps([str(array.dtype), list(array.shape)]).encode())
        digest.update(array.tobytes())
        count += 1
    digest.update(f"{count} arrays".encode())
    digest.update(json.dumps(meta, sort_keys=True, default=str).encode())
    kept = {name: value for name, value in params.items() if name not in ignore}
    digest.update(json.dumps(kept, sort_keys=True, default=str).encode())
    return digest.hexdigest()
