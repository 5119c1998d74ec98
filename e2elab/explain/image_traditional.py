"""Explain the traditional image classifier (keypoints -> descriptors -> visual words -> SVM).

Where the pipeline describes keypoints (bag of visual words), each keypoint is coloured by how
much its visual word pushed the decision for the explained class:

* ``weight_x_count`` -- for a linear classifier with one weight per class and feature (logistic
  regression) over bag-of-words histograms: weight times the (normalised) count of the word in
  each pyramid cell, shared equally among the keypoints that make up the count;
* ``word_occlusion`` -- for any classifier (kernel SVMs included): every keypoint of a visual
  word is removed at once, the image re-encoded and re-classified; the drop in the class
  probability is shared equally among that word's keypoints.

Where it describes only the whole image (e.g. HOG of a 16x16 digit), there are no keypoints, and
the map is ``occlusion`` of image patches (each replaced by a blurred copy) through the whole
pipeline.

Scores: deletion / insertion over keypoints (removed from the image's descriptors) or over
patches; the randomisation check re-draws the classifier's weights (dual coefficients or
coefficients), then the codebook, on a copy of the pipeline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .progress import StepProgress
from .render import render_image_map, render_keypoints
from .sanity import THRESHOLD, cascading_randomisation
from .scores import deletion_insertion, masked_inputs, patch_units, summarise

KEYPOINT_METHODS = ("word_occlusion", "weight_x_count")
IMAGE_METHODS = ("occlusion",)


def _steps(estimator):
    return estimator.pipeline_.named_steps


def classify_features(estimator, features: list[dict]) -> np.ndarray:
    """Class probabilities (N, K) of feature dicts (keypoints + descriptors), through encode/select/classify."""
    steps = _steps(estimator)
    encoded = np.stack([steps["encode"].encode_one(f) for f in features])
    return steps["classify"].predict_proba(steps["select"].transform(encoded))


def keep_keypoints(features: dict, keep: np.ndarray) -> dict:
    """A copy of an image's feature dict with only the keypoints flagged in `keep`."""
    out = dict(features)
    out["points"] = features["points"][keep]
    out["positions"] = features["positions"][keep]
    out["local"] = {name: d[keep] for name, d in features["local"].items()}
    return out


def visual_words(estimator, features: dict) -> np.ndarray:
    """The visual word of every keypoint under the first local descriptor's codebook.  # (N,)"""
    from ..image.encoding import as_float, assign

    encoder = _steps(estimator)["encode"]
    name = encoder.local_names_[0]
    codebook = encoder.codebooks_[name]
    centres = codebook["centres"] if "centres" in codebook else codebook["means"]
    return assign(as_float(features["local"][name]), centres)


def word_occlusion(estimator, features: dict, target: int) -> np.ndarray:
    """Per keypoint: the target probability lost when its whole visual word is removed, shared.  # (N,)"""
    words = visual_words(estimator, features)
    full = classify_features(estimator, [features])[0, target]
    present = np.unique(words)
    variants = [keep_keypoints(features, words != w) for w in present]
    dropped = classify_features(estimator, variants)[:, target]  # (W,)
    share = np.zeros(len(words))
    for w, p in zip(present, dropped):
        members = words == w
        share[members] = (full - p) / members.sum()
    return share


def weight_x_count(estimator, features: dict, target: int) -> np.ndarray:
    """Per keypoint: sum over its pyramid cells of weight x feature value / count, for a linear model.  # (N,)"""
    steps = _steps(estimator)
    encoder, classifier = steps["encode"], steps["classify"]
    inner = innermost(classifier)
    coef = getattr(inner, "coef_", None) if not hasattr(inner, "_dual_coef_") or len(classifier.classes_) == 2 else None
    if encoder.encoding != "bovw" or coef is None or coef.shape[0] not in (1, len(classifier.classes_)):
        raise ValueError("weight_x_count needs bag-of-words histograms and a linear classifier with one weight "
                         "vector per class (logistic regression, or a binary linear SVM); use word_occlusion")
    if coef.shape[0] == 1:  # binary: the one weight vector favours classes_[1]
        weights_selected = coef[0] * (1.0 if target == 1 else -1.0)
    else:
        weights_selected = coef[target]
    support = steps["select"].get_support(indices=True)
    weights = np.zeros(encoder.n_features_out_)
    weights[support] = weights_selected
    encoded = encoder.encode_one(features)
    name = encoder.local_names_[0]
    start = encoder.block_of(name).start
    n_words = len(encoder.codebooks_[name]["centres"])
    words = visual_words(estimator, features)
    positions = features["positions"]
    contribution = np.zeros(len(words))
    offset = start
    for grid in (int(g) for g in encoder.pyramid):
        column = np.minimum((positions[:, 0] * grid).astype(int), grid - 1)
        row = np.minimum((positions[:, 1] * grid).astype(int), grid - 1)
        index = offset + (row * grid + column) * n_words + words  # (N,) feature of each keypoint at this level
        counts = np.bincount(index, minlength=encoder.n_features_out_)
        contribution += weights[index] * encoded[index] / counts[index]
        offset += grid * grid * n_words
    return contribution


def patch_occlusion(predict_proba, image: np.ndarray, target: int, replacement: np.ndarray, window: int,
                    batch_size: int = 64) -> np.ndarray:
    """Per pixel: the mean target-probability drop over sliding windows (stride window/2) covering it.  # (H, W)"""
    corners = window_corners(image.shape[:2], window)
    height, width = image.shape[:2]
    full = predict_proba([image])[0, target]
    total = np.zeros((height, width))
    cover = np.zeros((height, width))
    for start in range(0, len(corners), batch_size):
        batch = []
        for r, c in corners[start:start + batch_size]:
            occluded = image.copy()
            occluded[r:r + window, c:c + window] = replacement[r:r + window, c:c + window]
            batch.append(occluded)
        drops = full - predict_proba(batch)[:, target]
        for (r, c), drop in zip(corners[start:start + batch_size], drops):
            total[r:r + window, c:c + window] += drop
            cover[r:r + window, c:c + window] += 1
    return total / np.maximum(cover, 1)


def window_corners(shape: tuple[int, int], window: int) -> list[tuple[int, int]]:
    """Top-left corners of the occlusion windows (stride window/2) over an (H, W) image."""
    height, width = shape
    stride = max(1, window // 2)
    return [(r, c) for r in range(0, max(1, height - window + 1), stride) for c in range(0, max(1, width - window + 1), stride)]


def innermost(classifier):
    """The estimator holding the weights: Chi2SVC keeps an SVC in ``svc_``, Platt scaling its SVC in ``estimator_``."""
    seen = set()
    while id(classifier) not in seen:
        seen.add(id(classifier))
        for wrapper in ("svc_", "estimator_"):
            if hasattr(classifier, wrapper):
                classifier = getattr(classifier, wrapper)
                break
    return classifier


def traditional_randomisers(estimator):
    """The pipeline's learned parts, output first: the classifier's weights, then the codebook."""
    steps = _steps(estimator)

    def classifier(rng: np.random.Generator):
        model = steps["classify"]
        inner = innermost(model)
        for attribute in ("_dual_coef_", "coef_"):
            value = getattr(inner, attribute, None)
            if isinstance(value, np.ndarray):
                scale = float(np.std(value)) or 1.0
                randomised = rng.normal(0.0, scale, value.shape)
                if attribute == "_dual_coef_":
                    inner._dual_coef_ = randomised
                else:
                    inner.coef_ = randomised
                break
        else:
            raise ValueError(f"do not know how to randomise a {type(model).__name__}")

    def codebook(rng: np.random.Generator):
        encoder = steps["encode"]
        for book in encoder.codebooks_.values():
            for key in ("centres", "means"):
                if key in book:
                    values = book[key]
                    book[key] = rng.normal(values.mean(axis=0), values.std(axis=0) + 1e-6, values.shape).astype(values.dtype)

    layers = [("classifier", classifier)]
    if getattr(steps["encode"], "codebooks_", None):
        layers.append(("codebook", codebook))
    return layers


def explain_image_traditional(estimator, items, names, methods=None, out_dir=None, target=None,
                              internal_batch_size: int = 64, sanity: bool = True, faithfulness: bool = True,
                              seed: int = 0, threshold: float = THRESHOLD, progress: bool | None = None,
                              **_) -> list[dict]:
    """Records (one per image and method) explaining a fitted traditional image pipeline.

    Images over the pipeline's ``max_pixels`` are refused before any work."""
    from ..data.image import as_image
    from .torch_images import _class_index, _plain, _safe

    steps = _steps(estimator)
    has_keypoints = bool(getattr(steps["encode"], "local_names_", []))
    allowed = KEYPOINT_METHODS if has_keypoints else IMAGE_METHODS
    if methods is None:
        methods = ["word_occlusion"] if has_keypoints else ["occlusion"]
    for method in methods:
        if method not in allowed:
            raise ValueError(f"method {method!r} does not apply to this traditional image model "
                             f"({'keypoints' if has_keypoints else 'whole-image descriptors'}); choose from {allowed}")
    classes = list(estimator.classes_)
    images = [as_image(item, max_pixels=estimator.max_pixels) for item in items]  # every image checked first
    records = []
    ticks = StepProgress(len(images), len(methods), sanity, faithfulness, progress)
    for image, name in zip(images, names):
        probabilities = estimator.predict_proba([image])[0]
        predicted = int(np.argmax(probabilities))
        tgt = predicted if target is None else _class_index(classes, target)
        for method in methods:
            if has_keypoints:
                features = steps["extract"].transform([image])[0]

                def map_fn(model, features=features, method=method):
                    fn = word_occlusion if method == "word_occlusion" else weight_x_count
                    return fn(model, features, tgt)[None]

                with ticks.step(name, method):
                    relevance = map_fn(estimator)[0]
                work = {"keypoints": int(len(features["points"]))}

                def score(keep, features=features):
                    return classify_features(estimator, [keep_keypoints(features, k) for k in keep])[:, tgt]
            else:
                from scipy.ndimage import gaussian_filter

                side = min(image.shape[:2])
                sigma = (max(1.0, side / 8),) * 2 + ((0,) if image.ndim == 3 else ())
                replacement = gaussian_filter(image.astype(np.float64), sigma).round().astype(np.uint8)
                window = max(2, side // 8)

                def map_fn(model, image=image, replacement=replacement, window=window):
                    return patch_occlusion(model.predict_proba, image, tgt, replacement, window, internal_batch_size)[None]

                with ticks.step(name, method):
                    relevance = map_fn(estimator)[0]
                work = {"occlusion_windows": len(window_corners(image.shape[:2], window))}
                units, n_units = patch_units(image.shape[:2], max(1, round(side / 16)) if side > 32 else 1)
                chw, repl = _channels_first(image), _channels_first(replacement)

                def score(keep, chw=chw, repl=repl, units=units):
                    batch = masked_inputs(chw, repl, units, keep)  # (K, C, H, W)
                    return estimator.predict_proba([_channels_last(b) for b in batch])[:, tgt]

            spearman = None
            if sanity:
                with ticks.step(name, f"{method} sanity check"):
                    check = cascading_randomisation(estimator, map_fn, traditional_randomisers, seed=seed,
                                                    reference=relevance[None], threshold=threshold)
                spearman = float(check["spearman"][0])
            faithful = None
            if faithfulness:
                unit_relevance = relevance if has_keypoints else _pool(relevance, units, n_units)
                with ticks.step(name, f"{method} deletion / insertion"):
                    faithful = deletion_insertion(score, unit_relevance, seed=seed)
            scores = summarise(faithful, spearman, threshold)
            record = {"input": name, "method": method, "prediction": _plain(classes[predicted]),
                      "probability": round(float(probabilities[predicted]), 5), "target": _plain(classes[tgt]),
                      "target_probability": round(float(probabilities[tgt]), 5), "scores": scores, "map": relevance,
                      "work": work}
            if has_keypoints:
                scale = float(features.get("scale", 1.0)) or 1.0
                record["keypoints"] = (features["points"][:, :2] / scale).round(2)
            if out_dir is not None:
                title = f"{name}: predicted {record['prediction']!s} (p = {record['probability']:.2f})"
                if tgt != predicted:
                    title += f"; explaining {record['target']!s} (p = {record['target_probability']:.2f})"
                png = Path(out_dir) / f"{_safe(name)}.{method}.png"
                if has_keypoints:
                    render_keypoints(png, image, record["keypoints"], relevance, title, method, scores)
                else:
                    render_image_map(png, image, relevance, title, method, scores)
                record["png"] = str(png)
            records.append(record)
    ticks.close()
    return records


def _pool(relevance, units, n_units):
    from .scores import pool_to_units

    return pool_to_units(relevance, units, n_units)


def _channels_first(image: np.ndarray) -> np.ndarray:
    return image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)


def _channels_last(image: np.ndarray) -> np.ndarray:
    return image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)

