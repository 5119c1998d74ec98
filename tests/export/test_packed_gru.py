"""PaddedBiGRU computes what a bidirectional GRU computes on packed sequences."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from e2elab.export.packed_gru import PaddedBiGRU


@pytest.mark.parametrize("layers", [1, 2])
def test_padded_batches_give_the_packed_result(layers):
    torch.manual_seed(0)
    gru = nn.GRU(5, 7, num_layers=layers, batch_first=True, bidirectional=True).eval()
    x = torch.randn(3, 9, 5)
    lengths = torch.tensor([9, 4, 1])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        expected, _ = nn.utils.rnn.pad_packed_sequence(gru(packed)[0], batch_first=True, total_length=9)
        got = PaddedBiGRU(gru)(x, lengths)
    assert got.shape == (3, 9, 14)
    assert torch.allclose(got, expected, atol=1e-6)  # the backward direction starts at each sequence's own end
    assert not got[1, 4:].any() and not got[2, 1:].any()  # padding comes out as zeros


def test_a_unidirectional_gru_is_refused():
    with pytest.raises(ValueError, match="bidirectional"):
        PaddedBiGRU(nn.GRU(5, 7, batch_first=True))
