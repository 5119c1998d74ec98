"""Explain a torch image classifier: maps, their scores and their figures, for a batch of images.

Model-agnostic: anything that maps a normalised batch (B, C, H, W) to logits (B, K) is explained
the same way; the end-to-end image pipeline's adapter only supplies its network, its
preprocessing and the images as a person sees them.

For every method the maps of the whole batch are computed at once (bounded by
``internal_batch_size``), then each map is scored:

* deletion / insertion AUC over square patches (1/16 of the side; single pixels for small
  images), removed patches replaced by a strongly blurred copy of the image, against random order;
* the cascading model-randomisation check (maps recomputed on a copy of the network whose layers
  are re-initialised from the output layer down).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .attribution import DEFAULT_INTERNAL_BATCH_SIZE, METHODS, attribute, predict_logits, to_map
from .progress import StepProgress
from .render import render_image_map
from .sanity import THRESHOLD, cascading_randomisation, torch_randomisers
from .scores import blurred, deletion_insertion, image_score_fn, patch_units, pool_to_units, summarise

DEFAULT_IMAGE_METHODS = ("integrated_gradients", "smoothgrad", "occlusion", "gradcam")


def explain_torch_images(module: torch.nn.Module, inputs: torch.Tensor, images: list[np.ndarray], names: list[str],
                         classes: list, out_dir: str | Path | None, methods=None, target=None,
                         internal_batch_size: int = DEFAULT_INTERNAL_BATCH_SIZE, n_steps: int = 50,
                         sanity: bool = True, faithfulness: bool = True, seed: int = 0,
                         threshold: float = THRESHOLD, layer=None, file_prefix: str = "",
                         progress: bool | None = None) -> list[dict]:
    """One record per (image, method): prediction, target, map, scores and the PNG's path.

    inputs: (B, C, H, W) normalised as the network takes them; images: the same images as uint8
    (H, W[, 3]) for drawing; names: how each input is called in files and records;
    classes: the label of each logit; target: a class label (for all) or None for the predicted one;
    progress: see :class:`e2elab.explain.progress.StepProgress`.
    Each record also carries the map itself under "map" (H, W) for callers that draw elsewhere.
    """
    methods = list(methods or DEFAULT_IMAGE_METHODS)
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r} for an end-to-end image model; choose from {METHODS}")
    module = module.eval()
    classes = list(classes)
    inputs = inputs.detach().float()
    probabilities = torch.softmax(predict_logits(module, inputs, internal_batch_size), dim=1).numpy()  # (B, K)
    predicted = probabilities.argmax(axis=1)
    targets = predicted.copy() if target is None else np.full(len(inputs), _class_index(classes, target))
    target_tensor = torch.as_tensor(targets, dtype=torch.long)
    side = min(inputs.shape[-2:])
    units, n_units = patch_units(tuple(inputs.shape[-2:]), max(1, round(side / 16)) if side > 32 else 1)
    x_numpy = inputs.numpy()

    def predict_proba(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(module(torch.from_numpy(np.asarray(batch, dtype=np.float32))), dim=1).numpy()

    records = []
    steps = StepProgress(len(inputs), len(methods), sanity, faithfulness, progress)
    for method in methods:
        options = dict(target=target_tensor, internal_batch_size=internal_batch_size, n_steps=n_steps,
                       layer=layer, seed=seed)
        with steps.step("all images", method, count=len(inputs)):
            maps = to_map(attribute(module, inputs, method, **options))  # (B, H, W)
        spearman = [None] * len(inputs)
        cascade = None
        if sanity:
            with steps.step("all images", f"{method} sanity check", count=len(inputs)):
                check = cascading_randomisation(module, lambda m: to_map(attribute(m, inputs, method, **options)),
                                                torch_randomisers, seed=seed, reference=maps, threshold=threshold)
            spearman = check["spearman"].tolist()
            cascade = check["cascade"]
        for i in range(len(inputs)):
            faithful = None
            if faithfulness:
                replacement = blurred(x_numpy[i], sigma=max(1.0, side / 8))
                score = image_score_fn(predict_proba, x_numpy[i], int(targets[i]), units, replacement,
                                       batch_size=internal_batch_size)
                with steps.step(names[i], f"{method} deletion / insertion"):
                    faithful = deletion_insertion(score, pool_to_units(maps[i], units, n_units), seed=seed)
            scores = summarise(faithful, spearman[i], threshold)
            if cascade is not None:
                scores["randomisation_cascade"] = [{"layer": c["layer"], "layers_randomised": c["layers_randomised"],
                                                    "spearman": round(float(c["spearman"][i]), 4)} for c in cascade]
            record = {
                "input": names[i],
                "method": method,
                "prediction": _plain(classes[predicted[i]]),
                "probability": round(float(probabilities[i, predicted[i]]), 5),
                "target": _plain(classes[targets[i]]),
                "target_probability": round(float(probabilities[i, targets[i]]), 5),
                "scores": scores,
                "map": maps[i],
            }
            if out_dir is not None:
                title = _title(record)
                png = Path(out_dir) / f"{file_prefix}{_safe(names[i])}.{method}.png"
                render_image_map(png, _display(images[i], maps[i].shape), maps[i], title, method, scores)
                record["png"] = str(png)
            records.append(record)
    steps.close()
    return records


def _title(record: dict) -> str:
    title = f"{record['input']}: predicted {record['prediction']!s} (p = {record['probability']:.2f})"
    if record["target"] != record["prediction"]:
        title += f"; explaining {record['target']!s} (p = {record['target_probability']:.2f})"
    return title


def _display(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The image as drawn, at the map's size (the network may see a resized copy)."""
    image = np.asarray(image)
    if image.shape[:2] == tuple(shape):
        return image
    import cv2

    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _class_index(classes: list, label) -> int:
    for i, c in enumerate(classes):
        if c == label or str(c) == str(label):
            return i
    raise ValueError(f"target {label!r} is not one of the model's classes {classes}")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _safe(name: str) -> str:
    """A file-name-safe version of an input's name."""
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name))
    return keep.strip("._") or "input"
