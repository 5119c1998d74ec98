"""Synthetic face photos for the detection tests (e2elab.detection.synthetic)."""

from __future__ import annotations

import pytest

from e2elab.detection.synthetic import face_photos


@pytest.fixture(scope="session")
def synthetic_faces():
    """A function (n, seed, **options) -> (photos, boxes): see `face_photos`."""
    return face_photos
