"""The end-to-end speech network: the subsampling encoder's frame arithmetic, and padding."""

from __future__ import annotations

import pytest
import torch

from e2elab.speech.model import SpeechCTCModel


@pytest.mark.parametrize("n_filters", [16, 21])
def test_subsampling_halves_the_frame_rate(n_filters):
    torch.manual_seed(0)
    model = SpeechCTCModel(12, n_filters=n_filters, width=16, depth=1).eval()
    lengths = torch.tensor([8000, 5000, 801])
    log_probs, frames = model(torch.randn(3, 8000), lengths)
    assert log_probs.shape == (3, 50, 12)
    assert frames.tolist() == [50, 32, 6]
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(3, 50), atol=1e-5)


def test_padding_does_not_change_a_clip():
    torch.manual_seed(0)
    model = SpeechCTCModel(12, n_filters=16, width=16, depth=1).eval()
    wave = torch.randn(1, 3000)
    alone, frames = model(wave, torch.tensor([3000]))
    padded, _ = model(torch.cat([wave, torch.zeros(1, 1000)], 1), torch.tensor([3000]))
    n = int(frames[0])
    # Only the last frames can see the padding (through the convolutions' edges).
    torch.testing.assert_close(padded[0, : n - 2], alone[0, : n - 2], atol=2e-3, rtol=1e-3)



def test_a_formant_shifted_by_a_band_barely_moves_the_encoder_input():
    """Pooling neighbouring bands: the same vowel from another vocal tract looks nearly the same."""
    torch.manual_seed(0)
    model = SpeechCTCModel(12, n_filters=16, width=16, depth=1).eval()
    feats = torch.zeros(1, 16, 40)
    feats[0, 6] = 3.0
    shifted = torch.roll(feats, 1, dims=1)
    other = torch.roll(feats, 6, dims=1)
    with torch.no_grad():
        base, near, far = (model.subsample(x) for x in (feats, shifted, other))
    assert (near - base).abs().mean() < 0.5 * (far - base).abs().mean()
