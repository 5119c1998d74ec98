"""The traditional image classifier: the three steps the end-to-end CNN replaced, then an SVM.

    pixels -> interest points (a dense grid or a detector) -> hand-crafted descriptors (SIFT,
    ORB, HSV, LBP, or whole-image HOG) -> bag of visual words over a spatial pyramid ->
    feature selection -> SVM (linear, RBF, chi-squared) or logistic regression

Everything after the descriptors is a scikit-learn Pipeline (``pipeline_``), so the codebook,
the selection and the classifier are refit on every training fold.

Sizing rules (``descriptor="auto"``, ``classifier="auto"``): when the training images are small
(median shorter side <= 32 pixels, e.g. 16x16 digits) a keypoint detector has nothing to find
and a bag of words has too few patches to count, so the pipeline uses whole-image HOG with an RBF
SVM on images resized to 32x32. Otherwise it uses dense SIFT words over a 1x1 + 2x2 pyramid
plus HSV colour histograms per cell, with the chi-squared-kernel SVM. For local descriptors,
images with a shorter side under 64 pixels are upsampled to 64 first, and photographs larger than
512 pixels are shrunk.

Memory: descriptors are computed `chunk_size` images at a time, and each chunk is encoded to its
vectors before the next is described, so only the encoded matrix (N, F) grows with the data. The
codebook sample is drawn chunk by chunk too (:meth:`FeatureEncoder.fit_chunks`), the same sample as
with all descriptors at once, so the chunk size changes memory, never the model.
"""

from __future__ import annotations

import copy
import logging
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from ..base import ModelState, PipelineMixin, Stage
from ..data.image import MAX_PIXELS, as_image
from ..errors import DataError
from ..params import Choice, Int, Real
from ..registry import register_pipeline
from .descriptors import GLOBAL_DESCRIPTORS, parse_descriptors
from .encoding import ENCODINGS, FeatureEncoder
from .extraction import DescriptorExtractor, describe_in_chunks, summary
from .keypoints import DETECTORS
from .selection import FeatureSelector
from ..nn.pseudo_labels import labelled_mask
from .semi_supervised import labelled_only

log = logging.getLogger(__name__)

CLASSIFIERS = ("auto", "linear", "rbf", "chi2", "logistic")
SMALL_IMAGE_SIDE = 32
PHOTO_DESCRIPTOR = "sift+hsv-global"


@register_pipeline("image", "traditional")
class TraditionalImageClassifier(PipelineMixin, ClassifierMixin, BaseEstimator):
    """Interest points + hand-crafted descriptors + bag of visual words + selection + SVM.

    Parameters: detector ("dense" | "sift" | "orb" | "fast"); descriptor ("auto" or names joined
    with "+", see :mod:`e2elab.image.descriptors`); encoding ("bovw" | "vlad" | "fisher");
    codebook_size; pyramid (grid sizes, e.g. (1, 2) or (1, 2, 4)); selection (None | "chi2" |
    "mutual_info" | "l1") keeping `k` features; classifier ("auto" | "linear" | "rbf" | "chi2" |
    "logistic") with regularisation `C`; step and sizes of the dense grid; min_points (a detector
    finding fewer falls back to the dense grid; 0 never falls back, and an image without points
    then encodes to an empty histogram); image_size (side of the square that whole-image
    descriptors see; None = chosen from the data); n_jobs (descriptor extraction workers);
    chunk_size (images whose descriptors are held at once, in fit and predict);
    on_error ("raise" | "skip" unreadable images and single-image classes while fitting);
    max_pixels (largest image accepted, file or array, in pixels); seed.

    `predict` gives the classifier's own decision; `predict_proba` its Platt-scaled
    probabilities. After `predict`, ``prediction_report_`` counts the batch's keypoints, detector
    fallbacks and images without keypoints (which still get a prediction).
    """

    _parameter_constraints = {
        "detector": [Choice(*DETECTORS)], "descriptor": [str], "encoding": [Choice(*ENCODINGS)],
        "codebook_size": [Int(2)], "pyramid": [tuple, list], "selection": [Choice("chi2", "mutual_info", "l1"), None],
        "k": [Int(1), Choice("all")], "classifier": [Choice(*CLASSIFIERS)], "C": [Real(0, closed="neither")],
        "step": [Int(1)], "sizes": [tuple, list], "min_points": [Int(0)], "image_size": [Int(8), None],
        "n_jobs": [Int(1), Int(None, -1), None], "on_error": [Choice("raise", "skip")], "max_pixels": [Int(1)],
        "seed": [Int(0)], "chunk_size": [Int(1)],
    }

    def __init__(self, detector="dense", descriptor="auto", encoding="bovw", codebook_size=200, pyramid=(1, 2),
                 selection=None, k=1000, classifier="auto", C=10.0, step=8, sizes=(16, 32), min_points=5,
                 image_size=None, n_jobs=1, on_error="raise", max_pixels=MAX_PIXELS, seed=0, chunk_size=1000):
        self.detector = detector
        self.descriptor = descriptor
        self.encoding = encoding
        self.codebook_size = codebook_size
        self.pyramid = pyramid
        self.selection = selection
        self.k = k
        self.classifier = classifier
        self.C = C
        self.step = step
        self.sizes = sizes
        self.min_points = min_points
        self.image_size = image_size
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.max_pixels = max_pixels
        self.seed = seed
        self.chunk_size = chunk_size

    # ---- fitting -------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        """The constraints, then what they cannot say: descriptor names, the grid sizes in
        `pyramid` and `sizes`, and that the chi-squared kernel gets histograms."""
        super()._validate_params()
        if self.descriptor != "auto":
            try:
                parse_descriptors(self.descriptor)
            except ValueError as err:
                raise self._invalid_param("descriptor", f"'auto' or descriptor names joined by '+' ({err})") from None
        for name in ("pyramid", "sizes"):
            value = getattr(self, name)
            if not value or not all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in value):
                raise self._invalid_param(name, "a non-empty tuple of ints >= 1")
        if self.classifier == "chi2" and self.encoding != "bovw":
            raise self._invalid_param("classifier", f"not 'chi2' with encoding={self.encoding!r} (the chi-squared "
                                                    "kernel needs histograms; use encoding='bovw' or another classifier)")

    def fit(self, X, y):
        self._validate_params()
        X, y = list(X), np.asarray(y, dtype=object)
        if len(X) != len(y):
            raise DataError(None, f"{len(X)} images but {len(y)} labels")
        X, y = labelled_only(X, y, labelled_mask(y), "the traditional pipeline learns from labelled images only")
        keep, skipped = self._drop_small_classes(y, [], "image")
        X, y = [X[i] for i in keep], y[keep]
        self._resolve(X)
        extractor = self._extractor()
        summaries = {}  # position -> what the report counts, for every readable image
        for positions, features, unreadable in self._chunks(X, extractor, self.on_error):
            summaries.update((i, summary(f)) for i, f in zip(positions, features) if f is not None)
            skipped += unreadable
        if len(summaries) < len(X):
            readable = sorted(summaries)
            X, y = [X[i] for i in readable], y[readable]
            keep, skipped = self._drop_small_classes(y, skipped, "image")
            X, y = [X[i] for i in keep], y[keep]
            summaries = {i: summaries[readable[i]] for i in keep}
        summaries = list(summaries.values())
        self._record_skipped(skipped, "training image")
        encoder = FeatureEncoder(encoding=self.encoding, codebook_size=self.codebook_size, pyramid=tuple(self.pyramid),
                                 normalisation=self.normalisation_, seed=self.seed)
        local_names = summaries[0]["local"] if summaries else {}
        encoder.fit_chunks((features for _, features, _ in self._chunks(X, extractor)),
                           {name: sum(s["local"][name] > 0 for s in summaries) for name in local_names})
        encoded = np.concatenate([encoder.transform(features) for _, features, _ in self._chunks(X, extractor)])
        selector = FeatureSelector(method=self.selection, k=self.k, seed=self.seed).fit(encoded, y)
        classifier = self._classifier().fit(selector.transform(encoded), y)
        self.pipeline_ = Pipeline([("extract", extractor.fit(X)), ("encode", encoder), ("select", selector),
                                   ("classify", classifier)])
        self.classes_ = classifier.classes_
        self.fit_report_ = _report(summaries)
        self.fit_report_["skipped"] = self.n_skipped_
        if self.fit_report_["fallback"]:
            warnings.warn(f"{self.fit_report_['fallback']} of {len(summaries)} training images had too few "
                          f"{self.detector} keypoints and were described on the dense grid instead", stacklevel=2)
        if self.fit_report_["upsampled"]:
            log.info("%d of %d training images were upsampled to a %d-pixel shorter side before description",
                     self.fit_report_["upsampled"], len(summaries), extractor.min_side)
        return self

    def _resolve(self, X):
        """Choose descriptor, classifier, normalisation and whole-image size from the data (see module doc)."""
        small = False
        if self.descriptor == "auto" or self.classifier == "auto" or self.image_size is None:
            sides = []
            for index in range(0, len(X), max(1, len(X) // 50))[:50]:
                try:
                    sides.append(min(as_image(X[index], max_pixels=self.max_pixels).shape[:2]))
                except DataError as err:  # a skipped item is counted when the descriptors are computed
                    self._skip_or_raise(err, [], f"item {index}")
            small = bool(sides) and float(np.median(sides)) <= SMALL_IMAGE_SIDE
        self.descriptor_ = ("hog-global" if small else PHOTO_DESCRIPTOR) if self.descriptor == "auto" else self.descriptor
        names = parse_descriptors(self.descriptor_)
        only_global = all(name in GLOBAL_DESCRIPTORS for name in names)
        if self.classifier == "auto":
            self.classifier_ = "rbf" if only_global else ("chi2" if self.encoding == "bovw" else "linear")
        else:
            self.classifier_ = self.classifier
        self.normalisation_ = "l1" if self.classifier_ == "chi2" else "power-l2"
        self.image_size_ = int(self.image_size) if self.image_size else (32 if small else 128)

    def _chunks(self, X: list, extractor: DescriptorExtractor, on_error: str = "raise"):
        """(positions, feature dicts, skipped) of `chunk_size` images at a time."""
        return describe_in_chunks(X, extractor.params(), int(self.chunk_size), self.n_jobs, on_error, self.max_pixels)

    def _extractor(self) -> DescriptorExtractor:
        return DescriptorExtractor(descriptors=self.descriptor_, detector=self.detector, step=self.step,
                                   sizes=tuple(self.sizes), min_points=self.min_points, global_size=self.image_size_,
                                   n_jobs=self.n_jobs, max_pixels=self.max_pixels)

    def _classifier(self):
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import SVC

        from .kernels import Chi2SVC, PlattScaledClassifier

        if self.classifier_ == "chi2":
            return Chi2SVC(C=self.C, seed=self.seed)
        if self.classifier_ == "logistic":
            return LogisticRegression(C=self.C, max_iter=2000)
        kernel = "linear" if self.classifier_ == "linear" else "rbf"
        return PlattScaledClassifier(SVC(C=self.C, kernel=kernel, gamma="scale", random_state=self.seed))

    # ---- prediction ----------------------------------------------------------------------------

    def _selected(self, X) -> np.ndarray:
        """The selected features (N, K) of raw items, described and encoded a chunk at a time."""
        steps = self.pipeline_.named_steps
        X, chunk, rows, summaries = list(X), int(self.chunk_size), [], []
        for start in range(0, max(len(X), 1), chunk):
            features = steps["extract"].transform(X[start:start + chunk])
            summaries += [summary(f) for f in features]
            rows.append(steps["select"].transform(steps["encode"].transform(features)))
        self.prediction_report_ = _report(summaries)  # diagnostic: counts for the last batch predicted
        return np.concatenate(rows)

    def predict(self, X):
        self._check_fitted()
        return self.pipeline_.named_steps["classify"].predict(self._selected(X))

    def predict_proba(self, X):
        self._check_fitted()
        return self.pipeline_.named_steps["classify"].predict_proba(self._selected(X))

    def predict_details(self, X) -> list[dict]:
        """Per image: the predicted label and the classes ranked by probability."""
        self._check_fitted()
        selected = self._selected(X)
        classifier = self.pipeline_.named_steps["classify"]
        labels = classifier.predict(selected)
        probabilities = classifier.predict_proba(selected)
        out = []
        for label, row in zip(labels, probabilities):
            order = np.argsort(-row)
            top = [{"label": str(self.classes_[j]), "probability": float(row[j])} for j in order]
            out.append({"label": str(label), "top": top})
        return out

    # ---- stages, for reports -------------------------------------------------------------------

    @property
    def stages(self) -> list[Stage]:
        descriptor = getattr(self, "descriptor_", self.descriptor)
        names = parse_descriptors(descriptor) if descriptor != "auto" else ("chosen from the image size",)
        has_local = any(name not in GLOBAL_DESCRIPTORS for name in names)
        stages = [Stage("input", "input", "pixels, (H, W) or (H, W, 3)")]
        if has_local:
            stages.append(Stage("keypoints", "hand-crafted", f"{self.detector} interest points, (N, 4) x, y, size, angle"))
        stages.append(Stage("descriptors", "hand-crafted", f"{'+'.join(names)} descriptors, (N, D) per point or (D,) per image"))
        if has_local:
            stages.append(Stage("encoding", "learned", f"{self.encoding} over a {self.codebook_size}-word codebook and "
                                                       f"a {'+'.join(f'{g}x{g}' for g in self.pyramid)} spatial pyramid, (F,)"))
        else:
            stages.append(Stage("encoding", "fixed", "the whole-image descriptors side by side, (F,)"))
        stages.append(Stage("selection", "learned" if self.selection else "fixed",
                            f"{self.selection} selection of {self.k} features, (K,)" if self.selection else "all features, (F,)"))
        stages.append(Stage("classifier", "learned", f"{getattr(self, 'classifier_', self.classifier)} classifier: "
                                                     "class probabilities, (C,)"))
        stages.append(Stage("output", "output", "class label"))
        return stages

    def stage_outputs(self, item) -> dict:
        """Each stage's output for one image: the image, its keypoints drawn on it, descriptor
        patches, the encoded (visual-word) vector, the selected features, the class scores."""
        from .descriptors import descriptor_patches, hog_picture
        from .keypoints import draw_keypoints

        self._check_fitted()
        steps = self.pipeline_.named_steps
        image = as_image(item, max_pixels=self.max_pixels)
        features = steps["extract"].transform([image])[0]
        encoded = steps["encode"].transform([features])  # (1, F)
        selected = steps["select"].transform(encoded)  # (1, K)
        probabilities = steps["classify"].predict_proba(selected)[0]
        names = [s.name for s in self.stages]
        out = {"input": image}
        if "keypoints" in names:
            out["keypoints"] = {"points": features["points"], "n_points": int(len(features["points"])),
                                "detector": features["detector"], "fallback": bool(features["fallback"]),
                                "upsampled": bool(features["upsampled"]), "image": draw_keypoints(image, features)}
        out["descriptors"] = {"local": {k: np.asarray(v, np.float32) for k, v in features["local"].items()},
                              "global": features["global"],
                              "patches": descriptor_patches(image, features) if len(features["points"]) else None}
        if "hog-global" in features["global"]:
            out["descriptors"]["hog_image"] = hog_picture(image, self.image_size_)
        out["encoding"] = {"vector": encoded[0], "blocks": list(steps["encode"].blocks_)}
        out["selection"] = {"vector": selected[0], "columns": steps["select"].get_support(indices=True)}
        out["classifier"] = {str(c): float(p) for c, p in zip(self.classes_, probabilities)}
        out["output"] = str(self.classes_[int(np.argmax(probabilities))])
        return out

    # ---- saving --------------------------------------------------------------------------------

    def _get_state(self) -> ModelState:
        self._check_fitted()
        arrays, steps = {}, []
        for name, step in self.pipeline_.steps:
            step = copy.copy(step)
            for attr in getattr(step, "_saved_arrays", ()):
                _flatten(getattr(step, attr), f"{name}/{attr}", arrays)
                setattr(step, attr, None)
            steps.append((name, step))
        meta = {"classes": [str(c) for c in self.classes_], "descriptor": self.descriptor_,
                "classifier": self.classifier_, "normalisation": self.normalisation_, "image_size": self.image_size_,
                "fit_report": self.fit_report_, "skipped": [list(s) for s in self.skipped_]}
        return ModelState(meta=meta, arrays=arrays, sklearn={"pipeline": Pipeline(steps)})

    @classmethod
    def _from_state(cls, params, state: ModelState):
        params = dict(params)
        for key in ("pyramid", "sizes"):
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        model = cls(**params)
        pipeline = state.sklearn["pipeline"]
        for name, step in pipeline.steps:
            for attr in getattr(step, "_saved_arrays", ()):
                setattr(step, attr, _unflatten(state.arrays, f"{name}/{attr}"))
        # The extractor follows the pipeline's image limit (models saved before the limit existed have none).
        pipeline.named_steps["extract"].max_pixels = model.max_pixels
        model.pipeline_ = pipeline
        meta = state.meta
        model.classes_ = pipeline.named_steps["classify"].classes_
        model.descriptor_, model.classifier_ = meta["descriptor"], meta["classifier"]
        model.normalisation_, model.image_size_ = meta["normalisation"], meta["image_size"]
        model.fit_report_ = meta["fit_report"]
        model._record_skipped(meta["skipped"])
        return model


def _report(summaries: list[dict]) -> dict:
    """Counts a report shows, from each image's :func:`~e2elab.image.extraction.summary`:
    keypoints per image, detector fallbacks, upsampled and empty images."""
    counts = np.array([s["points"] for s in summaries]) if summaries else np.zeros(0)
    has_local = bool(summaries) and bool(summaries[0]["local"])
    return {"images": len(summaries),
            "keypoints": {"mean": float(counts.mean()) if has_local else 0.0, "min": int(counts.min()) if has_local else 0,
                          "max": int(counts.max()) if has_local else 0},
            "fallback": sum(s["fallback"] for s in summaries),
            "upsampled": sum(s["upsampled"] for s in summaries),
            "no_keypoints": int((counts == 0).sum()) if has_local else 0}


def _flatten(value, prefix: str, out: dict):
    """Nested dicts of arrays -> {"a/b/c": array}."""
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}/{key}", out)
    elif value is not None:
        out[prefix] = np.asarray(value)


def _unflatten(arrays: dict, prefix: str):
    if prefix in arrays:
        return np.asarray(arrays[prefix])
    nested: dict = {}
    for key, value in arrays.items():
        if key.startswith(prefix + "/"):
            parts = key[len(prefix) + 1:].split("/")
            node = nested
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = np.asarray(value)
    return nested
