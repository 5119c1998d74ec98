import pytest
import torch
from torch import nn

from e2elab.translation.seq2seq_training import AveragedNetwork, PairBatches, training_step, validate
from e2elab.translation.subwords import BOS, EOS, PAD
from e2elab.translation.transformer import Seq2SeqTransformer


def test_pairs_become_shifted_padded_batches():
    data = PairBatches([[5, 6], [7]], [[8], [9, 10, 11]])
    source, decoder_input, decoder_output = data.__getitems__([0, 1])
    assert source.tolist() == [[5, 6, EOS], [7, EOS, PAD]]
    assert decoder_input.tolist() == [[BOS, 8, PAD, PAD], [BOS, 9, 10, 11]]
    assert decoder_output.tolist() == [[8, EOS, PAD, PAD], [9, 10, 11, EOS]]


def test_token_batches_stay_under_max_tokens_and_cover_every_pair():
    lengths = [3, 30, 5, 12, 7, 7, 20, 4, 9, 15] * 5
    data = PairBatches([[4] * n for n in lengths], [[4] * (n // 2) for n in lengths])
    batches = data.token_batches(max_tokens=64, seed=0)(0)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert max(lengths[i] + 1 for i in batch) * len(batch) <= 64
    assert data.token_batches(64, seed=0)(3) == data.token_batches(64, seed=0)(3)


def test_the_average_follows_the_network_slowly():
    module = AveragedNetwork(nn.Linear(2, 2), decay=0.9)
    start = module.average.weight.clone()
    with torch.no_grad():
        module.network.weight.add_(1.0)
    module.update()  # the first update's warmed-up decay (1/10) takes most of the new weights
    torch.testing.assert_close(module.average.weight, start + 0.9)
    for _ in range(200):
        module.update()
    torch.testing.assert_close(module.average.weight, module.network.weight)
    assert module.final() is module.average
    assert not any(p.requires_grad for p in module.average.parameters())
    assert {"average.weight", "updates"} <= set(module.state_dict())  # checkpoints carry the average


def test_without_decay_the_network_itself_is_kept():
    module = AveragedNetwork(nn.Linear(2, 2), decay=None)
    module.update()
    assert module.final() is module.network
    assert int(module.updates) == 0


def test_step_updates_the_average_in_training_only_and_validate_reports_nll():
    torch.manual_seed(0)
    module = AveragedNetwork(Seq2SeqTransformer(12, 12, d_model=16, heads=2, encoder_layers=1, decoder_layers=1,
                                                d_ff=32, share_embeddings=True), decay=0.99)
    data = PairBatches([[5, 6], [7]], [[8], [9, 10]])
    batch = data.__getitems__([0, 1])
    step = training_step(label_smoothing=0.1)
    module.train()
    loss = step(module, batch, torch.device("cpu"))
    assert loss.ndim == 0 and loss.requires_grad and int(module.updates) == 1
    module.eval()
    with torch.no_grad():
        step(module, batch, torch.device("cpu"))
        metrics = validate(module, [batch], torch.device("cpu"))
    assert int(module.updates) == 1
    # Untrained: about uniform over the 12 ids, so the per-token NLL is near log 12.
    assert metrics["val_loss"] == pytest.approx(torch.tensor(12.0).log().item(), abs=0.5)
    assert metrics["val_perplexity"] == pytest.approx(torch.tensor(metrics["val_loss"]).exp().item())
