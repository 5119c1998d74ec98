"""The traditional face detector (Dalal & Triggs): image pyramid -> HOG -> linear SVM over sliding
windows -> non-maximum suppression.

    photo -> grayscale pyramid (finest level upsampled so that `min_face`-pixel faces fill the
    window) -> HOG block grid per level -> SVM score of every window (a correlation of the grid
    with the SVM weights) -> windows above `score_threshold` as boxes -> greedy NMS -> boxes

Training: every annotated face (and its mirror image) is a positive, cut at the scale where it
fills the window; negatives are random windows whose face box overlaps no annotated face (IoU <
0.3), then `mining_rounds` times the detector runs over the training photos and its
highest-scoring false detections join the negatives (hard-negative mining) before the SVM is
refit. Faces smaller than `min_face / pyramid_step` cannot be found at any level and are not
used as positives; they still count as misses when scoring.
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.base import BaseEstimator

from ..base import ModelState, Stage
from ..data.image import as_image
from ..errors import DataError
from ..params import Choice, Int, Real
from ..registry import register_pipeline
from .boxes import iou, nms
from .detector import DetectorMixin
from .hog import block_contributions_to_cells, score_map, window_features
from .metrics import MAX_DETECTIONS
from .windows import WindowGeometry, face_descriptors, pyramid, pyramid_scales, to_gray, window_boxes

NEGATIVE_IOU = 0.3  # a window overlapping a face less than this is background
HARD_NEGATIVE_MARGIN = -1.0  # windows scoring above this (inside the SVM margin) are worth learning from
CANDIDATES_PER_IMAGE = 5000  # best-scoring windows kept for NMS: bounds its time on cluttered photos


@register_pipeline("detection", "traditional")
class SlidingWindowDetector(DetectorMixin, BaseEstimator):
    """HOG + linear SVM sliding-window face detector (see the module docstring).

    Window: window (side in pixels, a multiple of cell_size), cell_size, n_bins, face_fraction
    (face side over window side). Pyramid: min_face (smallest face side to find, pixels; sets the
    upsampling of the finest level), max_face (None: up to the image size), pyramid_step.
    Training: C (SVM regularisation), negatives_per_image (random background windows),
    mining_rounds and hard_negatives_per_image (hard-negative mining), seed. Detection:
    score_threshold (SVM score), nms_threshold (IoU), max_detections per image. Run: progress
    (tqdm bars over the photos; None: where someone watches), on_error ("raise", or "skip"
    unreadable photos while fitting, counted in `n_skipped_`).

    `y` holds per photo its face boxes (n, 4) as x, y, w, h pixels (or a dict with "boxes");
    `predict` returns per photo {"boxes": (n, 4), "scores": (n,)}; `score` is AP at IoU 0.5.
    """

    _parameter_constraints = {
        "window": [Int(8)], "cell_size": [Int(2)], "n_bins": [Int(2)], "face_fraction": [Real(0, 1, closed="right")],
        "min_face": [Real(1, None)], "max_face": [Real(1, None), None], "pyramid_step": [Real(1, None, closed="neither")],
        "C": [Real(0, None, closed="neither")], "negatives_per_image": [Int(1)], "mining_rounds": [Int(0)],
        "hard_negatives_per_image": [Int(1)], "score_threshold": [Real()], "nms_threshold": [Real(0, 1, closed="right")],
        "max_detections": [Int(1)], "progress": ["boolean", None], "on_error": [Choice("raise", "skip")],
        "seed": [Int(0)],
    }

    def __init__(self, window=32, cell_size=4, n_bins=9, face_fraction=0.75, min_face=12, max_face=None,
                 pyramid_step=1.2, C=0.1, negatives_per_image=10, mining_rounds=3, hard_negatives_per_image=25,
                 score_threshold=-0.5, nms_threshold=0.3, max_detections=MAX_DETECTIONS, progress=None,
                 on_error="raise", seed=0):
        self.window = window
        self.cell_size = cell_size
        self.n_bins = n_bins
        self.face_fraction = face_fraction
        self.min_face = min_face
        self.max_face = max_face
        self.pyramid_step = pyramid_step
        self.C = C
        self.negatives_per_image = negatives_per_image
        self.mining_rounds = mining_rounds
        self.hard_negatives_per_image = hard_negatives_per_image
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_detections = max_detections
        self.progress = progress
        self.on_error = on_error
        self.seed = seed

    # ---- fitting -------------------------------------------------------------------------------

    def fit(self, X, y):
        self._validate_params()
        X, y = list(X), list(y)
        if len(X) != len(y):
            raise DataError(None, f"{len(X)} photos but {len(y)} box lists")
        rng = np.random.default_rng(self.seed)
        photos, faces = self._read_training_set(X, y, lambda image, boxes: (to_gray(image), boxes))
        all_faces = np.concatenate(faces)  # (N, 4)
        smallest = self.min_face / self.pyramid_step  # no pyramid level finds a smaller face
        usable = [b[np.sqrt(b[:, 2] * b[:, 3]) >= smallest] for b in faces]
        positives = np.concatenate([face_descriptors(g, b, self._geometry) for g, b in
                                    self._bar(list(zip(photos, usable)), "describing faces")])
        if len(positives) == 0:
            raise DataError(None, f"no annotated face of at least {smallest:.0f} px (min_face / pyramid_step) "
                                  f"among {len(photos)} photos: nothing to learn a face from")
        self.aspect_ = float(np.median(all_faces[:, 3] / all_faces[:, 2]))
        negatives = [self._random_negatives(g, b, rng) for g, b in
                     self._bar(list(zip(photos, faces)), "sampling background")]
        negatives = np.concatenate([n for n in negatives if len(n)] or [np.zeros((0, self._geometry.n_features))])
        if len(negatives) == 0:
            raise DataError(None, "no background window found in the training photos: the faces cover them entirely")
        self._fit_svm(positives, negatives)
        self.history_ = [{"round": 0, "positives": len(positives), "negatives": len(negatives)}]
        for round_ in range(1, int(self.mining_rounds) + 1):
            hard = [self._hard_negatives(g, b) for g, b in
                    self._bar(list(zip(photos, faces)), f"hard-negative mining, round {round_}")]
            hard = [h for h in hard if len(h)]
            if not hard:
                break
            negatives = np.concatenate([negatives] + hard)
            self._fit_svm(positives, negatives)
            self.history_.append({"round": round_, "positives": len(positives), "negatives": len(negatives),
                                  "hard_negatives": int(sum(len(h) for h in hard))})
        self.n_positives_, self.n_negatives_ = len(positives), len(negatives)
        self.n_training_faces_ = len(all_faces)
        self.n_unusable_faces_ = len(all_faces) - int(sum(len(u) for u in usable))
        return self

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.window % self.cell_size or self.window // self.cell_size < 3:
            raise self._invalid_param("window", f"a multiple of cell_size ({self.cell_size}) spanning at least 3 cells")

    @property
    def _geometry(self) -> WindowGeometry:
        return WindowGeometry(int(self.window), int(self.cell_size), int(self.n_bins), float(self.face_fraction))

    def _fit_svm(self, positives: np.ndarray, negatives: np.ndarray):
        from sklearn.svm import LinearSVC

        features = np.concatenate([positives, negatives])
        labels = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
        svm = LinearSVC(C=self.C, class_weight="balanced", dual="auto", max_iter=5000, random_state=self.seed)
        svm.fit(features, labels)
        geometry = self._geometry
        self.weights_ = svm.coef_[0].reshape(geometry.blocks, geometry.blocks, -1).astype(np.float32)
        self.bias_ = float(svm.intercept_[0])

    def _scales(self, gray: np.ndarray) -> list[float]:
        return pyramid_scales(*gray.shape, self._geometry, self.min_face, self.pyramid_step, self.max_face)

    def _random_negatives(self, gray, faces, rng) -> np.ndarray:
        """Descriptors of random windows whose face box overlaps no annotated face. Only the
        pyramid levels drawn are computed."""
        scales = self._scales(gray)
        k, found = self._geometry.blocks, []
        if not scales:
            return np.zeros((0, self._geometry.n_features), np.float32)
        drawn = rng.integers(len(scales), size=int(self.negatives_per_image))
        for scale, wanted in zip(scales, np.bincount(drawn, minlength=len(scales))):
            if not wanted:
                continue
            level = next(pyramid(gray, [scale], self._geometry))
            rows, cols = level.blocks.shape[0] - k + 1, level.blocks.shape[1] - k + 1
            if rows <= 0 or cols <= 0:
                continue
            # A few tries per wanted window, for photos crowded with faces.
            row, col = rng.integers(rows, size=4 * wanted), rng.integers(cols, size=4 * wanted)
            boxes = window_boxes(row, col, level, self._geometry, self.aspect_)
            free = iou(boxes, faces).max(axis=1) < NEGATIVE_IOU if len(faces) else np.ones(len(boxes), bool)
            row, col = row[free][:wanted], col[free][:wanted]
            found.append(window_features(level.blocks, row, col, k))
        return np.concatenate(found or [np.zeros((0, self._geometry.n_features), np.float32)])

    def _hard_negatives(self, gray, faces) -> np.ndarray:
        """Descriptors of the best-scoring windows that are not faces (after NMS, so they differ)."""
        levels, _, boxes, scores, origins = self._candidates(gray, HARD_NEGATIVE_MARGIN)
        if len(faces) and len(boxes):
            false = iou(boxes, faces).max(axis=1) < NEGATIVE_IOU
            boxes, scores, origins = boxes[false], scores[false], origins[false]
        keep = nms(boxes, scores, self.nms_threshold)[: self.hard_negatives_per_image]
        k = self._geometry.blocks
        return np.asarray([window_features(levels[lv].blocks, [row], [col], k)[0] for lv, row, col in origins[keep]],
                          dtype=np.float32).reshape(-1, self._geometry.n_features)

    # ---- detection -----------------------------------------------------------------------------

    def _candidates(self, gray: np.ndarray, threshold: float):
        """Score every window of every level; the best windows above `threshold` (at most
        CANDIDATES_PER_IMAGE) as face boxes with their scores and the (level, row, column) each
        came from. Returns (levels, score maps, boxes, scores, origins)."""
        levels, maps, scores, origins = [], [], [], []
        for index, level in enumerate(pyramid(gray, self._scales(gray), self._geometry)):
            scores_here = score_map(level.blocks, self.weights_, self.bias_)  # (rows, cols)
            rows, cols = np.nonzero(scores_here > threshold)
            levels.append(level)
            maps.append(scores_here)
            scores.append(scores_here[rows, cols])
            origins.append(np.stack([np.full_like(rows, index), rows, cols], axis=1))
        scores = np.concatenate(scores or [np.zeros(0)])
        origins = np.concatenate(origins or [np.zeros((0, 3), dtype=np.int64)])
        best = _top(scores, CANDIDATES_PER_IMAGE)
        scores, origins = scores[best], origins[best]
        boxes = np.zeros((len(best), 4))
        for index, level in enumerate(levels):
            here = origins[:, 0] == index
            boxes[here] = window_boxes(origins[here, 1], origins[here, 2], level, self._geometry, self.aspect_)
        return levels, maps, boxes, scores, origins

    def _detect(self, image: np.ndarray) -> dict:
        """Every stage of one photo's detection: the levels, their score maps, the candidate windows
        and the boxes kept by NMS (with the level, row and column each came from)."""
        levels, maps, boxes, scores, origins = self._candidates(to_gray(image), self.score_threshold)
        keep = nms(boxes, scores, self.nms_threshold)[: self.max_detections]
        return {"levels": levels, "maps": maps, "candidates": {"boxes": boxes, "scores": scores},
                "origins": origins[keep],
                "detections": {"boxes": boxes[keep], "scores": scores[keep].astype(np.float64)}}

    def predict(self, X) -> list[dict]:
        self._check_fitted()
        return [self._detect(as_image(item))["detections"] for item in self._bar(list(X), "detecting faces")]

    def _bar(self, items: list, description: str):
        from tqdm.auto import tqdm

        return tqdm(items, desc=description, disable=not self._show_progress() or len(items) < 20, leave=False,
                    file=sys.stderr)

    # ---- stages and explanations ---------------------------------------------------------------

    @property
    def stages(self) -> list[Stage]:
        return [Stage("input", "input", "pixels, (H, W) or (H, W, 3)"),
                Stage("pyramid", "fixed", f"grayscale levels, each {self.pyramid_step}x smaller, the finest "
                                          f"finding {self.min_face}-px faces"),
                Stage("features", "hand-crafted", f"HOG block grid per level, {self.cell_size}-px cells, "
                                                  f"{self.n_bins} orientations, (rows, cols, {4 * self.n_bins})"),
                Stage("window_scores", "learned", "linear SVM score of every window, a heat map (H, W)"),
                Stage("candidates", "fixed", f"windows scoring above {self.score_threshold} as boxes, (n, 4)"),
                Stage("suppression", "fixed", f"non-maximum suppression at IoU {self.nms_threshold}, (m, 4)"),
                Stage("output", "output", "face boxes x, y, w, h with scores")]

    def stage_outputs(self, item) -> dict:
        """Each stage's output for one photo. The heat map holds, per pixel, the best score of any
        window (over all levels) whose face box is centred there; NaN where none is."""
        self._check_fitted()
        image = as_image(item)
        result = self._detect(image)
        heat = np.full(image.shape[:2], np.nan, dtype=np.float32)
        for level, scores in zip(result["levels"], result["maps"]):
            rows, cols = np.indices(scores.shape).reshape(2, -1)
            boxes = window_boxes(rows, cols, level, self._geometry)
            x = np.clip((boxes[:, 0] + boxes[:, 2] / 2).astype(int), 0, image.shape[1] - 1)
            y = np.clip((boxes[:, 1] + boxes[:, 3] / 2).astype(int), 0, image.shape[0] - 1)
            np.fmax.at(heat, (y, x), scores.ravel())
        return {"input": image,
                "pyramid": [{"scale": float(np.sqrt(lv.scale_x * lv.scale_y)),
                             "shape": (round(image.shape[0] * lv.scale_y), round(image.shape[1] * lv.scale_x))}
                            for lv in result["levels"]],
                "features": [lv.blocks for lv in result["levels"]],
                "window_scores": heat,
                "candidates": result["candidates"],
                "suppression": result["detections"],
                "output": result["detections"]}

    def explain_boxes(self, image) -> list[dict]:
        """Per detection in `image`: its box, score, and the map (cells, cells) of each HOG cell's
        contribution to the SVM score (weights x features, each block's share split over its four
        cells); the map sums to the score minus `bias`."""
        self._check_fitted()
        result = self._detect(as_image(image))
        k = self._geometry.blocks
        out = []
        for box, score, (level, row, col) in zip(result["detections"]["boxes"], result["detections"]["scores"],
                                                 result["origins"]):
            window = result["levels"][level].blocks[row:row + k, col:col + k]  # (k, k, D)
            contributions = (window * self.weights_).sum(axis=2)  # (k, k)
            out.append({"box": box, "score": float(score), "bias": self.bias_,
                        "cell_contributions": block_contributions_to_cells(contributions)})
        return out

    # ---- saving --------------------------------------------------------------------------------

    def _get_state(self) -> ModelState:
        self._check_fitted()
        meta = {"bias": self.bias_, "aspect": self.aspect_, "history": self.history_,
                "n_positives": self.n_positives_, "n_negatives": self.n_negatives_,
                "n_training_faces": self.n_training_faces_, "n_unusable_faces": self.n_unusable_faces_,
                "skipped": [list(s) for s in self.skipped_]}
        return ModelState(meta=meta, arrays={"svm_weights": np.ascontiguousarray(self.weights_)})

    @classmethod
    def _from_state(cls, params, state: ModelState):
        model = cls(**params)
        meta = state.meta
        model.weights_ = np.asarray(state.arrays["svm_weights"], dtype=np.float32)
        model.bias_, model.aspect_, model.history_ = float(meta["bias"]), float(meta["aspect"]), meta["history"]
        model.n_positives_, model.n_negatives_ = meta["n_positives"], meta["n_negatives"]
        model.n_training_faces_, model.n_unusable_faces_ = meta["n_training_faces"], meta["n_unusable_faces"]
        model.skipped_ = [tuple(s) for s in meta["skipped"]]
        model.n_skipped_ = len(model.skipped_)
        return model


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the `n` highest scores (all when there are fewer), in no particular order."""
    return np.arange(len(scores)) if len(scores) <= n else np.argpartition(-scores, n)[:n]
