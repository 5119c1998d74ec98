"""A bidirectional GRU over a padded batch that computes what the packed-sequence GRU computes.

The speech model runs its GRU on a PackedSequence, so that the backward direction of every clip
starts at the clip's own last frame rather than in the padding. Packing is data-dependent control
flow, which torch.export cannot trace; this module gets the same numbers with operations it can.
The forward direction runs over the padded batch as it is: the padding comes after the valid
frames, so it changes none of their outputs. The backward direction runs forwards over each clip
reversed within its own length (the padding stays at the end), and its output is put back in
order. Padded frames come out as zeros, as pad_packed_sequence gives them.
"""

from __future__ import annotations

import torch
from torch import nn

_WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # of each layer and direction, in this order


class PaddedBiGRU(nn.Module):
    """The layers of a bidirectional, batch-first `gru`, as one unidirectional GRU per layer and direction.

    Input (B, T, C) and the valid frame counts (B,); output (B, T, 2 * hidden), zero past each count.
    """

    def __init__(self, gru: nn.GRU):
        super().__init__()
        if not (gru.bidirectional and gru.batch_first):
            raise ValueError("PaddedBiGRU copies a bidirectional, batch-first GRU")
        layers = []
        for layer in range(gru.num_layers):
            size = gru.input_size if layer == 0 else 2 * gru.hidden_size
            directions = nn.ModuleList()
            for suffix in ("", "_reverse"):
                single = nn.GRU(size, gru.hidden_size, batch_first=True, bias=gru.bias)
                single.load_state_dict({f"{name}_l0": getattr(gru, f"{name}_l{layer}{suffix}").detach().clone()
                                        for name in _WEIGHT_NAMES[: 4 if gru.bias else 2]})
                directions.append(single)
            layers.append(directions)
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        steps = torch.arange(x.shape[1], device=x.device)[None, :]  # (1, T)
        valid = steps < lengths[:, None]  # (B, T)
        # Frame t of a clip of n frames swaps with frame n - 1 - t; padded frames stay in place.
        reversal = torch.where(valid, lengths[:, None] - 1 - steps, steps)  # (B, T), its own inverse
        for forwards, backwards in self.layers:
            ahead, _ = forwards(x)  # (B, T, H)
            behind, _ = backwards(_reorder(x, reversal))  # (B, T, H), in reversed order
            x = torch.cat([ahead, _reorder(behind, reversal)], dim=-1)  # (B, T, 2H)
        return x * valid[..., None]


def _reorder(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """x[b, order[b, t]] for every b and t. (B, T, C), (B, T) -> (B, T, C)"""
    return torch.gather(x, 1, order[..., None].expand(-1, -1, x.shape[-1]))
