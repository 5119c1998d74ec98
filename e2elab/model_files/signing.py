"""HMAC-SHA256 signatures of model folders, the way to trust a model that comes from elsewhere.

The SHA-256 list in ``e2elab.json`` catches accidental damage only: whoever can edit a file can
edit the list too. A signature cannot be redone without the key. It covers ``e2elab.json``'s
whole content except the signature itself, serialised canonically (sorted keys, no spaces,
ASCII), and since that content holds every file's SHA-256 it covers every file of the model.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from ..errors import ParameterError, UnsafeModelError

ALGORITHM = "hmac-sha256"
SIGNATURE_FIELD = "signature"
VERIFY_KEY_VARIABLE = "E2ELAB_VERIFY_KEY"


def signature(meta: dict, key: bytes | str) -> dict:
    """The ``signature`` entry of `meta` under `key`."""
    return {"alg": ALGORITHM, "value": _digest(meta, key)}


def verify(meta: dict, key: bytes | str, source: Path) -> None:
    """Refuse `meta` (read from `source`) unless it carries a valid signature under `key`."""
    signed = meta.get(SIGNATURE_FIELD)
    if signed is None:
        raise UnsafeModelError(f"{source}: the model is not signed, but a verify key was given "
                               f"(verify_key or ${VERIFY_KEY_VARIABLE}); refusing it")
    if signed.get("alg") != ALGORITHM:
        raise UnsafeModelError(f"{source}: signed with {str(signed.get('alg'))[:40]!r}; "
                               f"e2elab verifies {ALGORITHM} only")
    if not hmac.compare_digest(signed["value"], _digest(meta, key)):
        raise UnsafeModelError(f"{source}: the signature does not match; the model was changed after it was signed, "
                               "or signed with another key")


def key_from_environment() -> str | None:
    """The verify key in $E2ELAB_VERIFY_KEY, or None where it is unset or empty."""
    return os.environ.get(VERIFY_KEY_VARIABLE) or None


def _digest(meta: dict, key: bytes | str) -> str:
    unsigned = {name: value for name, value in meta.items() if name != SIGNATURE_FIELD}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return hmac.new(_key_bytes(key), canonical, hashlib.sha256).hexdigest()


def _key_bytes(key: bytes | str) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes):
        raise ParameterError(f"a signing key must be bytes or str, not {type(key).__name__}")
    if not key:
        raise ParameterError("a signing key must not be empty")
    return key
