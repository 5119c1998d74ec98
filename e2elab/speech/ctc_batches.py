"""Feeding clips to the CTC network: a dataset of decoded clips, padded batches, the loss of one
batch and the validation metrics of an epoch.
"""

from __future__ import annotations

import numpy as np
import torch

from .augment import SpeechAugmentation
from .ctc import CharVocabulary, ctc_loss, greedy_decode


class ClipDataset(torch.utils.data.Dataset):
    """Decoded clips in memory with their label sequences; augmented when `augment` is set."""

    def __init__(self, waves, targets, augment: SpeechAugmentation | None = None):
        self.waves, self.targets, self.augment = waves, targets, augment

    def __len__(self):
        return len(self.waves)

    def __getitem__(self, i):
        wave = self.waves[i]
        if self.augment is not None:
            # Drawn from torch's generator, which the training loop re-seeds every epoch.
            rng = np.random.default_rng(int(torch.randint(0, 2**62, ())))
            wave = self.augment(wave, rng)
        return wave, self.targets[i]


def pad_batch(items):
    """[(wave, labels)] -> waves (B, N) zero-padded, lengths (B,), label lists."""
    lengths = torch.tensor([len(w) for w, _ in items], dtype=torch.long)
    waves = torch.zeros(len(items), int(lengths.max()))
    for row, (wave, _) in enumerate(items):
        waves[row, : len(wave)] = torch.from_numpy(np.asarray(wave, dtype=np.float32))
    return waves, lengths, [t for _, t in items]


def ctc_step(module, batch, device):
    waves, lengths, targets = batch
    log_probs, frames = module(waves.to(device), lengths.to(device))  # (B, T', V)
    return ctc_loss(log_probs, frames, targets)


def ctc_validation(vocabulary: CharVocabulary):
    """validate(module, loader, device) -> validation CTC loss and greedy word error rate, for the training loop."""
    from ..base import word_error_rate

    def validate(module, loader, device) -> dict[str, float]:
        losses, refs, hyps = [], [], []
        for waves, lengths, targets in loader:
            log_probs, frames = module(waves.to(device), lengths.to(device))  # (B, T', V)
            losses.append(float(ctc_loss(log_probs, frames, targets)))
            for row, target in enumerate(targets):
                refs.append(vocabulary.decode(target))
                hyps.append(vocabulary.decode(greedy_decode(log_probs[row, : int(frames[row])].float().cpu().numpy())))
        return {"val_loss": float(np.mean(losses)), "val_wer": word_error_rate(refs, hyps)}

    return validate
