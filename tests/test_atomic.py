"""Atomic writes: the target holds the old content or the new, and no temporary file is left."""

import errno
import json
import os
import stat

import pytest

from e2elab import atomic
from e2elab.atomic import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text


def test_writes_text_bytes_and_json(tmp_path):
    assert atomic_write_text(tmp_path / "a.txt", "héllo").read_text(encoding="utf-8") == "héllo"
    assert atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    path = atomic_write_json(tmp_path / "c.json", {"b": [1, 2], "a": None})
    assert json.loads(path.read_text()) == {"b": [1, 2], "a": None}
    assert path.read_text().startswith('{\n  "b"')  # indent=2, keys in their order
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.json"]


def test_a_failing_writer_leaves_the_previous_version_and_no_temporary_file(tmp_path):
    target = atomic_write_text(tmp_path / "model.pt", "old")
    with pytest.raises(RuntimeError, match="writer crashed"):
        with atomic_path(target) as temporary:
            temporary.write_text("half of the new")
            raise RuntimeError("writer crashed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_a_full_disk_leaves_the_previous_version(tmp_path, monkeypatch):
    target = atomic_write_text(tmp_path / "results.json", "old")

    def disk_full(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_writer_may_replace_the_temporary_file_by_name(tmp_path):
    """Writers such as torch.save open the path themselves; the result still lands on the target."""
    with atomic_path(tmp_path / "w.bin") as temporary:
        assert temporary.parent == tmp_path and temporary.exists()
        replacement = tmp_path / "elsewhere"
        replacement.write_bytes(b"new")
        os.replace(replacement, temporary)
    assert (tmp_path / "w.bin").read_bytes() == b"new"


def test_new_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "shared.json", "{}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
