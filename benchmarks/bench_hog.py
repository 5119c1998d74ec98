"""e2elab's HOG (e2elab/detection/hog.py) against scikit-image's `skimage.feature.hog` on the same windows.

Both take the detector's defaults: 32 x 32 windows, centred [-1, 0, 1] gradients, 9 unsigned
orientation bins over 4-pixel cells, 2 x 2-cell blocks at a one-cell stride, L2-Hys normalised,
the blocks laid out the same way. They differ by design in one place: e2elab splits each pixel's
vote between the two nearest orientation bins (the interpolation of Dalal & Triggs), scikit-image
gives it whole to the bin its angle falls in. So the values are compared twice:

- on windows of horizontal stripes (random row profiles), where every gradient is vertical, at
  90 degrees, the centre of a bin: there both votes are the same, and so must the descriptors be
  (to float32 precision; scikit-image averages a cell where e2elab sums it, and their epsilons
  differ, which the normalisation removes to about 1e-6);
- on photo-like windows (crops of the synthetic face photos), where the difference printed is
  that of the interpolation, with the correlation of the two descriptors beside it.

Speed, on photo-like windows: scikit-image window by window against e2elab window by window (like
for like), and against e2elab as the detector computes them (HOG once per 640 x 480 frame, every
window at a one-cell stride sliced from the block grid). Prints one JSON line.

    python benchmarks/bench_hog.py [--windows 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

WINDOW, CELL, BINS = 32, 4, 9


def skimage_hog(window: np.ndarray) -> np.ndarray:
    from skimage.feature import hog

    return hog(window, orientations=BINS, pixels_per_cell=(CELL, CELL), cells_per_block=(2, 2), block_norm="L2-Hys",
               feature_vector=False)  # (blocks down, blocks across, 2, 2, BINS)


def e2elab_hog(window: np.ndarray) -> np.ndarray:
    from e2elab.detection.hog import hog_blocks

    blocks = hog_blocks(window, CELL, BINS)  # (blocks down, blocks across, 4 * BINS): cells row by row
    return blocks.reshape(blocks.shape[0], blocks.shape[1], 2, 2, BINS)


def stripe_windows(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Horizontal stripes whose contrast changes by orders of magnitude from one band of cells to the next
    (with equal cells every normalised block would hold 0.5 only)."""
    windows = []
    for _ in range(n):
        contrast = np.repeat(10 ** rng.uniform(-2, 0, WINDOW // CELL), CELL)
        windows.append(np.repeat((rng.random(WINDOW) * contrast)[:, None], WINDOW, axis=1).astype(np.float32))
    return windows


def photo_windows(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    from e2elab.detection.synthetic import face_photos

    photos, _ = face_photos(max(1, n // 20), seed=0)
    out = []
    for _ in range(n):
        photo = photos[rng.integers(len(photos))]
        y, x = rng.integers(0, photo.shape[0] - WINDOW + 1, 2)
        out.append(photo[y:y + WINDOW, x:x + WINDOW].astype(np.float32) / 255)
    return out


def frame_windows_per_s(repeats: int, rng: np.random.Generator) -> tuple[float, int]:
    """(windows/s, windows per frame) of e2elab's HOG as the detector computes it on a 640 x 480 frame."""
    from e2elab.detection.hog import hog_blocks, window_features

    frame = rng.random((480, 640)).astype(np.float32)
    k = WINDOW // CELL - 1  # blocks per window side
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        blocks = hog_blocks(frame, CELL, BINS)
        rows, cols = np.mgrid[:blocks.shape[0] - k + 1, :blocks.shape[1] - k + 1]
        features = window_features(blocks, rows.ravel(), cols.ravel(), k)
        best = min(best, time.perf_counter() - started)
    return len(features) / best, len(features)


def best_seconds(function, windows: list[np.ndarray], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for window in windows:
            function(window)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    stripes = stripe_windows(50, rng)
    at_centres = max(float(np.abs(e2elab_hog(w) - skimage_hog(w)).max()) for w in stripes)
    windows = photo_windows(args.windows, rng)
    ours = np.stack([e2elab_hog(w).ravel() for w in windows[:200]])
    reference = np.stack([skimage_hog(w).ravel() for w in windows[:200]])

    skimage_s = best_seconds(skimage_hog, windows, args.repeats)
    e2elab_s = best_seconds(e2elab_hog, windows, args.repeats)
    frame_rate, per_frame = frame_windows_per_s(args.repeats, rng)
    skimage_rate = len(windows) / skimage_s
    print(json.dumps({
        "benchmark": "hog", "window": WINDOW, "cell": CELL, "bins": BINS, "windows": len(windows),
        "max_abs_difference_gradients_at_bin_centres": at_centres,
        "max_abs_difference_photo_windows": float(np.abs(ours - reference).max()),
        "correlation_photo_windows": round(float(np.corrcoef(ours.ravel(), reference.ravel())[0, 1]), 4),
        "skimage_windows_per_s": round(skimage_rate, 1), "e2elab_windows_per_s": round(len(windows) / e2elab_s, 1),
        "ratio": round(skimage_s / e2elab_s, 2), "reference": "skimage.feature.hog, window by window",
        "e2elab_frame_windows_per_s": round(frame_rate, 1), "windows_per_640x480_frame": per_frame,
        "frame_ratio": round(frame_rate / skimage_rate, 1),
    }))


if __name__ == "__main__":
    main()
