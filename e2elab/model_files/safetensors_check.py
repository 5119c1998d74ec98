"""The weights file, checked byte by byte before safetensors parses it.

A safetensors file is an 8-byte little-endian header length, a JSON header (tensor name ->
dtype, shape, data_offsets) and the tensor data. The length is checked against the file and a
bound before the header is read, and every tensor's offsets against the data and its dtype and
shape, so a crafted header can neither make the parser allocate gigabytes nor read outside the
file. A pickle (or a torch.save zip) renamed to ``weights.safetensors`` is named for what it is.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import ModelIntegrityError, UnsafeModelError
from . import one_line

# A header lists tensor names, dtypes and shapes: a few kB even for large networks. safetensors
# itself stops at 100 MB; the same bound here refuses a crafted length before reading anything.
MAX_HEADER_BYTES = 100 * 2**20
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
               "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8}
_PICKLE_OPCODE_PROTO = b"\x80"
_ZIP_MAGIC = b"PK\x03\x04"


def load_safetensors(data: bytes, path: Path) -> dict[str, np.ndarray]:
    """The arrays in `data` (the bytes of `path`), after checking its header."""
    check_safetensors(data, path)
    from safetensors.numpy import load

    try:
        return load(data)
    except Exception as err:  # safetensors' own checks (overlapping tensors, dtypes NumPy lacks, ...)
        raise ModelIntegrityError(f"{path}: not a valid safetensors file ({one_line(err)})") from None


def check_safetensors(data: bytes, path: Path) -> None:
    """Refuse `data` unless its header is bounded, parses and describes tensors inside the file."""
    if data[:1] == _PICKLE_OPCODE_PROTO:
        raise UnsafeModelError(f"{path}: not a safetensors file; looks like a pickle, which e2elab never loads")
    if data[:4] == _ZIP_MAGIC:
        raise UnsafeModelError(f"{path}: not a safetensors file; looks like a zip archive (torch.save writes "
                               "pickles in one), which e2elab never loads")
    if len(data) < 8:
        raise ModelIntegrityError(f"{path}: not a safetensors file ({len(data)} bytes, too short for a header)")
    header_bytes = int.from_bytes(data[:8], "little")
    if header_bytes > len(data) - 8 or header_bytes > MAX_HEADER_BYTES:
        raise ModelIntegrityError(f"{path}: not a valid safetensors file (header length {header_bytes} bytes, but the "
                                  f"file has {len(data) - 8} bytes after it and the limit is {MAX_HEADER_BYTES})")
    try:
        header = json.loads(data[8:8 + header_bytes])
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ModelIntegrityError(f"{path}: not a valid safetensors file (header is not JSON: "
                                  f"{one_line(err)})") from None
    if not isinstance(header, dict):
        raise ModelIntegrityError(f"{path}: not a valid safetensors file (header is not a JSON object)")
    data_bytes = len(data) - 8 - header_bytes
    for name, entry in header.items():
        if name != "__metadata__":
            _check_tensor(name, entry, data_bytes, path)


def _check_tensor(name: str, entry, data_bytes: int, path: Path) -> None:
    def refuse(reason: str):
        raise ModelIntegrityError(f"{path}: not a valid safetensors file (tensor {name[:80]!r}: {reason})")

    if not isinstance(entry, dict):
        refuse("its entry is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        refuse(f"unknown dtype {str(dtype)[:20]!r}")
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        refuse("shape is not a list of non-negative integers")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(n) is int for n in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_bytes):
        refuse(f"data_offsets {str(offsets)[:60]} are not within the {data_bytes} data bytes of the file")
    expected = DTYPE_BYTES[dtype] * math.prod(shape)
    if offsets[1] - offsets[0] != expected:
        refuse(f"{offsets[1] - offsets[0]} data bytes, but {dtype} of shape {str(shape)[:60]} needs {expected}")
