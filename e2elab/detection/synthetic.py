"""Synthetic face photos: a bright disc with two dark eyes and a mouth, pasted into noise.

Small, exact and instant: what the tests, the contract check and the benchmarks train and
measure the detectors on when the real photos are not at hand.
"""

from __future__ import annotations

import numpy as np


def draw_face(image: np.ndarray, x: int, y: int, side: int, eyes: bool = True):
    """Paint a face (or, with eyes=False, a plain disc: a distractor) whose box is (x, y, side, side)."""
    rows, cols = np.indices(image.shape)
    centre_x, centre_y, radius = x + side / 2, y + side / 2, side / 2
    image[(cols + 0.5 - centre_x) ** 2 + (rows + 0.5 - centre_y) ** 2 <= radius ** 2] = 210
    if eyes:
        eye = max(1.5, side / 9)
        for dx in (-side / 5, side / 5):
            image[(cols + 0.5 - centre_x - dx) ** 2 + (rows + 0.5 - centre_y + side / 8) ** 2 <= eye ** 2] = 30
        mouth_rows = np.abs(rows + 0.5 - centre_y - side / 4) <= max(1, side / 16)
        image[mouth_rows & (np.abs(cols + 0.5 - centre_x) <= side / 5)] = 60


def face_photos(n: int, seed: int, size: int = 96, faces: int = 2, distractors: int = 1):
    """n gray photos (size, size) uint8 with `faces` faces of 16-28 px each (non-overlapping) and
    `distractors` eyeless discs, and the face boxes per photo (faces, 4)."""
    rng = np.random.default_rng(seed)
    photos, targets = [], []
    for _ in range(n):
        image = rng.normal(110, 25, (size, size)).clip(0, 255).astype(np.uint8)
        placed = []
        while len(placed) < faces + distractors:
            side = int(rng.integers(16, 29))
            x, y = (int(v) for v in rng.integers(2, size - side - 2, 2))
            apart = (x + side + 4 < px or px + ps + 4 < x or y + side + 4 < py or py + ps + 4 < y for px, py, ps in placed)
            if all(apart):
                placed.append((x, y, side))
        for number, (x, y, side) in enumerate(placed):
            draw_face(image, x, y, side, eyes=number < faces)
        photos.append(image)
        targets.append(np.array([[x, y, s, s] for x, y, s in placed[:faces]], dtype=float))
    return photos, targets
