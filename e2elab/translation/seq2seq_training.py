"""What the shared training loop needs to train a translator: sentence pairs served as padded
batches of similar length, the per-batch loss, the validation metrics, and a moving average of
the weights.

Batches are cut by tokens, not sentences (`max_tokens` caps longest sentence x sentences on each
side), so a batch of short captions holds many of them and a batch of long ones few, and little
compute goes to padding. The loss is token-level cross-entropy with label smoothing (the
network is never pushed to certainty, which helps beam search and BLEU); validation reports the
plain per-token negative log-likelihood, the quantity early stopping should watch.

The exponential moving average of the weights (Polyak averaging) plays the part of averaging the
last checkpoints: it smooths the noise of the last updates at no cost in extra epochs. It lives
in the module that the loop trains, as frozen parameters, so the loop's checkpoints carry it and
a resumed run continues the same average.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.batching import length_bucketed_batches
from .subwords import BOS, EOS, PAD


class AveragedNetwork(nn.Module):
    """A network trained by the optimizer, and an exponential moving average of its weights.

    decay: the average's weight on its past per update; None keeps no average. The decay is
    warmed up as min(decay, (1 + n) / (10 + n)) after n updates, so that the early, random
    weights are forgotten quickly.
    """

    def __init__(self, network: nn.Module, decay: float | None):
        super().__init__()
        self.network = network
        self.decay = decay
        self.average = copy.deepcopy(network).requires_grad_(False) if decay else None
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update(self) -> None:
        if self.average is None:
            return
        n = int(self.updates)
        decay = min(float(self.decay), (1 + n) / (10 + n))
        for averaged, current in zip(self.average.parameters(), self.network.parameters()):
            averaged.lerp_(current, 1.0 - decay)
        self.updates += 1

    def final(self) -> nn.Module:
        """The network whose weights a translator keeps: the average when there is one."""
        return self.network if self.average is None else self.average


class PairBatches(torch.utils.data.Dataset):
    """Source and target id sequences (no BOS/EOS) served as padded batches.

    A batch is (source (B, S) ending in EOS, decoder input (B, T) starting with BOS, decoder
    output (B, T) ending in EOS), padded with PAD.
    """

    def __init__(self, sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]]):
        self.sources, self.targets = list(sources), list(targets)

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index):
        return self.__getitems__([index])

    def __getitems__(self, indices):
        source = pad_sequences([list(self.sources[i]) + [EOS] for i in indices])
        decoder_input = pad_sequences([[BOS] + list(self.targets[i]) for i in indices])
        decoder_output = pad_sequences([list(self.targets[i]) + [EOS] for i in indices])
        return source, decoder_input, decoder_output

    def lengths(self) -> list[int]:
        """Tokens per pair on its longer side (with BOS/EOS), the unit of `max_tokens`."""
        return [1 + max(len(s), len(t)) for s, t in zip(self.sources, self.targets)]

    def token_batches(self, max_tokens: int, seed: int):
        """A batch sampler (epoch -> index lists) of pairs of similar length, `max_tokens` per side."""
        return length_bucketed_batches(self.lengths(), max_frames=max_tokens, max_batch_size=max_tokens, seed=seed)


def pad_sequences(sequences: Sequence[Sequence[int]]) -> torch.Tensor:
    """(B, longest) long tensor of the id sequences, right-padded with PAD."""
    out = torch.full((len(sequences), max(len(s) for s in sequences)), PAD, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        out[row, :len(sequence)] = torch.as_tensor(sequence, dtype=torch.long)
    return out


def training_step(label_smoothing: float):
    """The loop's `step`: label-smoothed token cross-entropy of one batch; advances the average."""

    def step(module: AveragedNetwork, batch, device):
        if module.training:
            module.update()  # folds in the weights of the previous optimizer step
        source, decoder_input, decoder_output = (t.to(device, non_blocking=True) for t in batch)
        logits = module.network(source, decoder_input).float()  # (B, T, V); the loss in float32
        return F.cross_entropy(logits.flatten(0, 1), decoder_output.flatten(), ignore_index=PAD,
                               label_smoothing=label_smoothing)

    return step


def validate(module: AveragedNetwork, loader, device) -> dict[str, float]:
    """Per-token negative log-likelihood ("val_loss") of the kept network, and its perplexity."""
    network = module.final()
    total, tokens = 0.0, 0
    for source, decoder_input, decoder_output in loader:
        source, decoder_input, decoder_output = source.to(device), decoder_input.to(device), decoder_output.to(device)
        logits = network(source, decoder_input).float()
        total += float(F.cross_entropy(logits.flatten(0, 1), decoder_output.flatten(), ignore_index=PAD,
                                       reduction="sum"))
        tokens += int((decoder_output != PAD).sum())
    loss = total / max(tokens, 1)
    return {"val_loss": loss, "val_perplexity": float(torch.tensor(loss).exp())}


def identity(batch):
    """Collate function for datasets that build whole batches themselves."""
    return batch
