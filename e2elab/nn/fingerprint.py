"""What a training run trains, as one digest: the key a checkpoint folder is resumed under.

A checkpoint folder must be resumed only by the run that wrote it. Two runs are the same run when
they see the same data (every array, byte for byte), the same labels (vocabulary, class names),
the same seed and every parameter that shapes training; settings that only say where or how
visibly it runs (device, threads, the folder itself, progress) do not count. A model a run starts
from (`init_from`) counts by its content, not its path: retraining the source under the same name
makes another run, and moving it does not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..model_files.meta import META_FILE

# Parameters that name a saved model folder, hashed by content (`model_digest`) rather than by path.
MODEL_PARAMS = ("init_from",)


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
    kept.update({name: model_digest(kept[name]) for name in MODEL_PARAMS if kept.get(name) is not None})
    digest.update(json.dumps(kept, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def model_digest(directory) -> str:
    """The hex SHA-256 of a model folder's e2elab.json, which holds the SHA-256 of every other file
    of the folder: a digest of the whole model. A missing file hashes as empty (load reports it)."""
    path = Path(directory) / META_FILE
    return hashlib.sha256(path.read_bytes() if path.is_file() else b"").hexdigest()
