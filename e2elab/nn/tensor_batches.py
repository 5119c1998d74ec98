"""Training data held as tensors, served a whole batch at a time.

When every item is already a row of one tensor, building a batch item by item and stacking it
(DataLoader's default) costs more than the network's step on small images. `TensorBatches`
answers a list of indices with one indexing operation, and `whole_batch` is the collate function
that passes that batch on unchanged.
"""

from __future__ import annotations

import torch


class TensorBatches(torch.utils.data.Dataset):
    """Items (N, ...) and labels (N,) served a whole batch at a time (no per-item collate)."""

    def __init__(self, items: torch.Tensor, labels: torch.Tensor):
        self.items, self.labels = items, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.items[index], self.labels[index]

    def __getitems__(self, indices):
        index = torch.as_tensor(indices, dtype=torch.long)
        return self.items[index], self.labels[index]


def whole_batch(batch):
    """The collate function of a dataset that already returns whole batches."""
    return batch
