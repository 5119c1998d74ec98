"""Manifest text: read as UTF-8, and when it is not, say where the first bad byte is."""

from __future__ import annotations

from pathlib import Path

from ..errors import ManifestError

# A manifest lists files, one short line each; a "manifest" far larger than this is something
# else (a misnamed archive or audio file), and reading it whole would only waste memory.
MAX_MANIFEST_BYTES = 1 << 30
BOM = b"\xef\xbb\xbf"


def read_manifest_text(path: str | Path) -> str:
    """The text of `path`, decoded as UTF-8 (a leading byte-order mark is dropped).

    Raises ManifestError naming the file with the line and byte offset of the first byte that is
    not UTF-8 ("not UTF-8 at line 3, byte 57"), so the user can find it in an editor.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(path, f"{size / 2**30:.1f} GiB is too large for a manifest (limit {MAX_MANIFEST_BYTES >> 30} GiB)")
        data = path.read_bytes()
    except OSError as err:
        raise ManifestError(path, f"cannot read: {err.strerror or err}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # utf-8-sig reports the offset after the byte-order mark it skipped.
        offset = err.start + (len(BOM) if data.startswith(BOM) else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise ManifestError(path, f"not UTF-8 at line {line}, byte {offset} "
                            f"({data[offset:offset + 4]!r}); save the file as UTF-8") from None
