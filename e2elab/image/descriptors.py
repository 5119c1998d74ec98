"""Hand-crafted descriptors: what domain knowledge says matters in a patch, or in a whole image.

Local descriptors (one vector per interest point, later quantised into visual words):

* ``sift``: 4x4 cells of 8-bin gradient orientation histograms, 128 values (Lowe 2004).
* ``rootsift``: SIFT, L1-normalised then square-rooted, so that Euclidean distance between
  descriptors becomes the Hellinger kernel (Arandjelovic & Zisserman 2012).
* ``opponent-sift``: SIFT on the three opponent colour channels, 384 values (van de Sande 2010).
* ``orb``: 256 binary intensity comparisons (Rublee 2011), as 0/1 values.
* ``hsv``: a joint hue-saturation-value histogram (8x3x3 bins) of the patch.
* ``lbp``: a histogram of uniform local binary patterns (8 neighbours, radius 1) in the patch.

Whole-image descriptors (one vector per image, no codebook):

* ``hog-global``: histograms of oriented gradients over the whole image resized to a fixed
  square (Dalal & Triggs 2005), the classic baseline for digits and pedestrians.
* ``hsv-global``: HSV histograms per cell of a 1x1 + 2x2 grid.
* ``lbp-global``: uniform LBP histograms per cell of a 4x4 grid.

Names combine with ``+`` (``"sift+hsv-global"``). Descriptors are stored compactly (uint8
where the values are small integers, float16 otherwise) because a data set's worth of dense
descriptors is kept in memory between the codebook and the encoding passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .keypoints import detect, prepare_image, to_cv_keypoints, to_gray

LOCAL_DESCRIPTORS = ("sift", "rootsift", "opponent-sift", "orb", "hsv", "lbp")
GLOBAL_DESCRIPTORS = ("hog-global", "hsv-global", "lbp-global")
HSV_BINS = (8, 3, 3)
LBP_POINTS = 8


def parse_descriptors(spec: str) -> tuple[str, ...]:
    """``"sift+hsv"`` -> ``("sift", "hsv")``, checking every name."""
    names = tuple(part.strip().lower() for part in str(spec).split("+") if part.strip())
    known = LOCAL_DESCRIPTORS + GLOBAL_DESCRIPTORS
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise ValueError(f"unknown descriptor {', '.join(unknown) or repr(spec)}; choose from {', '.join(known)} "
                         "(combine with '+', e.g. 'sift+hsv-global')")
    if len(set(names)) != len(names):
        raise ValueError(f"descriptor {spec!r} names a descriptor twice")
    return names


@dataclass(frozen=True)
class ExtractionParams:
    """Everything that decides one image's descriptors; hashable, so it keys the cache."""

    descriptors: tuple[str, ...] = ("sift",)
    detector: str = "dense"
    step: int = 8
    sizes: tuple[int, ...] = (16, 32)
    min_side: int = 64
    max_side: int = 512
    max_points: int = 500
    min_points: int = 5
    global_size: int = 64
    hog_cells: int = 4

    @property
    def local(self) -> tuple[str, ...]:
        return tuple(name for name in self.descriptors if name in LOCAL_DESCRIPTORS)

    @property
    def global_(self) -> tuple[str, ...]:
        return tuple(name for name in self.descriptors if name in GLOBAL_DESCRIPTORS)


def extract(image: np.ndarray, params: ExtractionParams) -> dict:
    """All descriptors of one uint8 image (H, W) or (H, W, 3).

    Returns a dict: ``points`` (N, 4) in the prepared image, ``positions`` (N, 2) in [0, 1)
    (x, y relative to the width and height, for the spatial pyramid), ``local`` {name: (N, D)},
    ``global`` {name: (D,)}, and the facts a report counts: ``detector``, ``fallback``,
    ``upsampled``, ``scale``, ``shape`` (of the prepared image).
    """
    out: dict = {"local": {}, "global": {}, "points": np.zeros((0, 4), np.float32),
                 "positions": np.zeros((0, 2), np.float32), "detector": params.detector,
                 "fallback": False, "upsampled": False, "scale": 1.0, "shape": image.shape[:2]}
    if params.local:
        prepared, scale = prepare_image(image, params.min_side, params.max_side)
        gray = to_gray(prepared)
        keypoints = detect(gray, params.detector, step=params.step, sizes=params.sizes,
                           max_points=params.max_points, min_points=params.min_points)
        points = keypoints.points
        height, width = gray.shape
        positions = np.stack([points[:, 0] / width, points[:, 1] / height], axis=1) if len(points) else out["positions"]
        out.update(points=points, positions=np.clip(positions, 0, 0.999999).astype(np.float32),
                   detector=keypoints.detector, fallback=keypoints.fallback, upsampled=scale > 1.0,
                   scale=scale, shape=gray.shape)
        for name in params.local:
            out["local"][name] = local_descriptor(name, prepared, gray, points)
    for name in params.global_:
        out["global"][name] = global_descriptor(name, image, params)
    return out


def local_descriptor(name: str, image: np.ndarray, gray: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, D) descriptors of the patches at `points` (x, y, size, angle)."""
    if len(points) == 0:
        return np.zeros((0, local_dimension(name)), dtype=np.float32)
    if name == "sift":
        return _sift(gray, points).astype(np.uint8)
    if name == "rootsift":
        sift = _sift(gray, points).astype(np.float32)
        return np.sqrt(sift / np.maximum(sift.sum(axis=1, keepdims=True), 1e-7)).astype(np.float16)
    if name == "opponent-sift":
        return np.concatenate([_sift(channel, points) for channel in _opponent_channels(image)], axis=1).astype(np.uint8)
    if name == "orb":
        return _orb(gray, points)
    if name == "hsv":
        codes = _hsv_codes(image)
        return _patch_histograms(codes, points, int(np.prod(HSV_BINS))).astype(np.float16)
    if name == "lbp":
        return _patch_histograms(_lbp_codes(gray), points, LBP_POINTS + 2).astype(np.float16)
    raise ValueError(f"unknown local descriptor {name!r}")


def local_dimension(name: str) -> int:
    """The length of one local descriptor."""
    return {"sift": 128, "rootsift": 128, "opponent-sift": 384, "orb": 256,
            "hsv": int(np.prod(HSV_BINS)), "lbp": LBP_POINTS + 2}[name]


# OpenCV's SIFT describes a square of 6 x KeyPoint.size pixels (4 bins of 3 sigma, sigma = size / 2);
# our points carry the side of the patch they describe.
SIFT_SIZE_PER_SIDE = 1.0 / 6.0


def _sift(gray: np.ndarray, points: np.ndarray) -> np.ndarray:
    import cv2

    scaled = points.copy()
    scaled[:, 2] *= SIFT_SIZE_PER_SIDE
    _, values = cv2.SIFT_create().compute(gray, to_cv_keypoints(scaled))
    if values is None or len(values) != len(points):
        raise RuntimeError(f"SIFT described {0 if values is None else len(values)} of {len(points)} points")
    return values  # (N, 128), integers 0..255 stored as float32


def _opponent_channels(image: np.ndarray) -> list[np.ndarray]:
    """The opponent colour space (R-G, R+G-2B, R+G+B), each channel rescaled to uint8."""
    rgb = image.astype(np.float32) if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2).astype(np.float32)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    o1 = (red - green + 255.0) / 2.0
    o2 = (red + green - 2.0 * blue + 510.0) / 4.0
    o3 = (red + green + blue) / 3.0
    return [np.clip(channel + 0.5, 0, 255).astype(np.uint8) for channel in (o1, o2, o3)]


def _orb(gray: np.ndarray, points: np.ndarray) -> np.ndarray:
    """ORB bits (N, 256) as 0/1 uint8. The image is padded so that no border point is dropped."""
    import cv2

    pad = 32
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    shifted = points.copy()
    shifted[:, :2] += pad
    orb = cv2.ORB_create(edgeThreshold=31, patchSize=31)
    kept, values = orb.compute(padded, to_cv_keypoints(shifted))
    if values is None or len(values) != len(points):
        raise RuntimeError(f"ORB described {0 if values is None else len(values)} of {len(points)} points")
    return np.unpackbits(values, axis=1)  # (N, 32 bytes) -> (N, 256)


def _hsv_codes(image: np.ndarray) -> np.ndarray:
    """Each pixel's joint HSV bin, (H, W) int."""
    import cv2

    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)  # H in 0..179, S and V in 0..255
    hue = np.minimum(hsv[..., 0].astype(np.int32) * HSV_BINS[0] // 180, HSV_BINS[0] - 1)
    sat = np.minimum(hsv[..., 1].astype(np.int32) * HSV_BINS[1] // 256, HSV_BINS[1] - 1)
    val = np.minimum(hsv[..., 2].astype(np.int32) * HSV_BINS[2] // 256, HSV_BINS[2] - 1)
    return (hue * HSV_BINS[1] + sat) * HSV_BINS[2] + val


def _lbp_codes(gray: np.ndarray) -> np.ndarray:
    from skimage.feature import local_binary_pattern

    return local_binary_pattern(gray, LBP_POINTS, 1, method="uniform").astype(np.int32)  # values 0..P+1


def _patch_histograms(codes: np.ndarray, points: np.ndarray, bins: int) -> np.ndarray:
    """L1-normalised histograms of `codes` in the square patch of each point: (N, bins)."""
    height, width = codes.shape
    out = np.zeros((len(points), bins), dtype=np.float32)
    for i, (x, y, size, _) in enumerate(points):
        half = max(size / 2.0, 1.0)
        top, bottom = int(max(0, round(y - half))), int(min(height, round(y + half)))
        left, right = int(max(0, round(x - half))), int(min(width, round(x + half)))
        patch = codes[top:max(bottom, top + 1), left:max(right, left + 1)].ravel()
        counts = np.bincount(patch, minlength=bins)[:bins]
        out[i] = counts / max(counts.sum(), 1)
    return out


def _cell_histograms(codes: np.ndarray, bins: int, grids: tuple[int, ...]) -> np.ndarray:
    """L1-normalised histograms of `codes` per cell of each grid (1 = whole image, 2 = 2x2, ...)."""
    height, width = codes.shape
    blocks = []
    for grid in grids:
        rows = np.minimum(np.arange(height) * grid // height, grid - 1)
        cols = np.minimum(np.arange(width) * grid // width, grid - 1)
        cell = rows[:, None] * grid + cols[None, :]
        counts = np.bincount((cell * bins + codes).ravel(), minlength=grid * grid * bins).reshape(grid * grid, bins)
        blocks.append((counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)).ravel() / len(grids))
    return np.concatenate(blocks).astype(np.float32)


def global_descriptor(name: str, image: np.ndarray, params: ExtractionParams) -> np.ndarray:
    """One vector for the whole image."""
    import cv2

    size = params.global_size
    if name == "hog-global":
        from skimage.feature import hog

        gray = to_gray(image)
        if gray.shape != (size, size):
            interpolation = cv2.INTER_AREA if min(gray.shape) > size else cv2.INTER_LINEAR
            gray = cv2.resize(gray, (size, size), interpolation=interpolation)
        cell = max(size // params.hog_cells, 2)
        return hog(gray, orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2),
                   block_norm="L2-Hys", feature_vector=True).astype(np.float32)
    if name == "hsv-global":
        return _cell_histograms(_hsv_codes(image), int(np.prod(HSV_BINS)), (1, 2))
    if name == "lbp-global":
        return _cell_histograms(_lbp_codes(to_gray(image)), LBP_POINTS + 2, (4,))
    raise ValueError(f"unknown global descriptor {name!r}")


def descriptor_patches(image: np.ndarray, features: dict, count: int = 16, side: int = 32) -> np.ndarray:
    """Grey patches that the local descriptors describe, for `count` points spread over the list:
    (n, side, side) uint8."""
    import cv2

    scale = float(features.get("scale", 1.0))
    prepared = image
    if scale != 1.0:
        height, width = image.shape[:2]
        prepared = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                              interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    gray = to_gray(prepared)
    points = features["points"]
    chosen = np.unique(np.linspace(0, len(points) - 1, min(count, len(points))).astype(int))
    patches = np.zeros((len(chosen), side, side), dtype=np.uint8)
    for i, index in enumerate(chosen):
        x, y, size, _ = points[index]
        half = max(size / 2.0, 1.0)
        top, left = int(max(0, round(y - half))), int(max(0, round(x - half)))
        patch = gray[top:int(round(y + half)), left:int(round(x + half))]
        if patch.size:
            patches[i] = cv2.resize(patch, (side, side), interpolation=cv2.INTER_LINEAR)
    return patches


def hog_picture(image: np.ndarray, size: int, cells: int = 4) -> np.ndarray:
    """The whole-image HOG drawn as oriented strokes per cell, (size, size) float in [0, 1]."""
    import cv2
    from skimage.feature import hog

    gray = cv2.resize(to_gray(image), (size, size), interpolation=cv2.INTER_LINEAR)
    cell = max(size // cells, 2)
    _, picture = hog(gray, orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2),
                     block_norm="L2-Hys", visualize=True)
    return (picture / picture.max() if picture.max() > 0 else picture).astype(np.float32)
