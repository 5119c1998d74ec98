"""The inference graphs of the end-to-end pipelines, as modules that torch.export can trace.

Each wraps a fitted pipeline's network with the steps around it that are tensor arithmetic, so
that the exported file maps what Python hands it straight to log-probabilities: decoding files,
resizing and padding stay in Python, as does CTC decoding. Each module also says what it
exports: an example input (two items, so that the batch axis is not fixed at one), which axes of
it may vary, and which axes of the outputs vary with them.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..image.transforms import normalise, tta_views
from .packed_gru import PaddedBiGRU


class ImageGraph(nn.Module):
    """uint8 pixels (B, C, S, S) -> calibrated class log-probabilities (B, K).

    The same arithmetic as EndToEndImageClassifier.predict_proba: normalisation with the training
    statistics, the CNN (its logits averaged over the test-time views when the pipeline uses
    them), division by the calibration temperature.
    """

    input_names = ("pixels",)
    output_names = ("log_probs",)
    output_axes = {"log_probs": {0: "batch"}}

    def __init__(self, classifier):
        super().__init__()
        self.network = copy.deepcopy(classifier.network_)  # tracing leaves its marks on the modules it traces
        self.mean, self.std = list(classifier.mean_), list(classifier.std_)
        self.tta, self.flip = bool(classifier.tta), bool(classifier.policy_.flip)
        self.temperature = float(classifier.temperature_)
        self.example_shape = (2, classifier.channels_, classifier.input_size_, classifier.input_size_)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = normalise(pixels, self.mean, self.std)  # (B, C, S, S)
        if self.tta:
            logits = torch.stack([self.network(view) for view in tta_views(x, self.flip)]).mean(0)
        else:
            logits = self.network(x)  # (B, K)
        return (logits / self.temperature).log_softmax(-1)

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(self.example_shape, dtype=torch.uint8),)

    def dynamic_shapes(self) -> dict:
        return {"pixels": {0: torch.export.Dim("batch")}}


class SpeechGraph(nn.Module):
    """Waveforms (B, N) and their lengths (B,) -> CTC log-probabilities (B, T', V) and frame counts (B,).

    SpeechCTCModel.forward in inference mode, learned front-end included, with the packed GRU
    replaced by PaddedBiGRU (the same numbers, in operations torch.export can trace).

    N is a whole number of output frames (`samples_per_frame` samples each; the caller pads with
    zeros, and `lengths` say where each clip ends). torch.export maps the GRU to ONNX's GRU only
    when its time axis is a plain symbol; a length of N // hop // 2 made it unroll the GRU over
    the example's frames, and fail.
    """

    input_names = ("waveform", "lengths")
    output_names = ("log_probs", "frames")
    output_axes = {"log_probs": {0: "batch", 1: "frames"}, "frames": {0: "batch"}}

    def __init__(self, model, min_samples: int):
        super().__init__()
        model = copy.deepcopy(model)  # tracing leaves its marks on the modules it traces; the pipeline's stay clean
        # The parts of the model the graph runs; in inference the front-end's output is not masked.
        self.frontend, self.input_norm, self.subsample, self.head = model.frontend, model.input_norm, model.subsample, model.head
        self.rnn = PaddedBiGRU(model.rnn)
        self.samples_per_frame = model.samples_per_frame
        self.min_frames = -(-min_samples // self.samples_per_frame)

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats, frames = self.frontend(waveform, lengths)  # (B, F, T)
        x = self.subsample(self.input_norm(feats)).transpose(1, 2)  # (B, T', C)
        frames = torch.div(frames + 1, 2, rounding_mode="floor").clamp(min=1, max=x.shape[1])
        return self.head(self.rnn(x, frames)).log_softmax(-1), frames  # (B, T', V)

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        shortest = self.min_frames * self.samples_per_frame
        return torch.zeros(2, 2 * shortest), torch.tensor([2 * shortest, shortest])

    def dynamic_shapes(self) -> dict:
        batch, frames = torch.export.Dim("batch"), torch.export.Dim("frames", min=self.min_frames)
        return {"waveform": {0: batch, 1: self.samples_per_frame * frames}, "lengths": {0: batch}}
