import pytest
import torch

from e2elab.translation.subwords import BOS, EOS, PAD
from e2elab.translation.transformer import IncrementalDecoder, Seq2SeqTransformer, causal_mask


@pytest.fixture
def network():
    torch.manual_seed(0)
    return Seq2SeqTransformer(30, 25, d_model=32, heads=4, encoder_layers=2, decoder_layers=2, d_ff=64,
                              dropout=0.1).eval()


def test_causal_mask_hides_the_future():
    assert causal_mask(3).tolist() == [[False, True, True], [False, False, True], [False, False, False]]


def test_padding_does_not_change_the_output(network):
    source = torch.tensor([[5, 6, 7, EOS]])
    target = torch.tensor([[BOS, 8, 9]])
    alone = network(source, target)  # (1, 3, V)
    # The same pair padded in a batch beside a longer one.
    sources = torch.tensor([[5, 6, 7, EOS, PAD, PAD], [4, 5, 6, 7, 8, EOS]])
    targets = torch.tensor([[BOS, 8, 9, PAD, PAD], [BOS, 10, 11, 12, 13]])
    batched = network(sources, targets)
    torch.testing.assert_close(batched[0, :3], alone[0], atol=1e-5, rtol=1e-5)


def test_padding_is_masked_whatever_its_embedding(network):
    sources = torch.tensor([[5, 6, EOS, PAD], [4, 5, 6, EOS]])
    targets = torch.tensor([[BOS, 8], [BOS, 10]])
    before = network(sources, targets)
    with torch.no_grad():
        network.source_embedding.weight[PAD] = 5.0  # were padding attended to, this would show
    torch.testing.assert_close(network(sources, targets), before)


def test_a_later_target_token_does_not_change_earlier_outputs(network):
    source = torch.tensor([[5, 6, EOS]])
    first = network(source, torch.tensor([[BOS, 8, 9, 10]]))
    second = network(source, torch.tensor([[BOS, 8, 9, 11]]))
    torch.testing.assert_close(first[:, :3], second[:, :3])
    assert not torch.allclose(first[:, 3], second[:, 3])


def test_incremental_decoding_matches_the_whole_prefix(network):
    sources = torch.tensor([[5, 6, EOS, PAD], [4, 5, 6, EOS]])
    prefix = torch.tensor([[BOS, 8, 9, 10], [BOS, 11, 12, 13]])
    memory, padding = network.encode(sources)
    whole = torch.log_softmax(network.decode(prefix, memory, padding)[0], dim=-1)  # (2, 4, V)
    decoder = IncrementalDecoder(network, memory, padding)
    for t in range(prefix.size(1)):
        torch.testing.assert_close(decoder.log_probs(prefix[:, t]), whole[:, t], atol=1e-5, rtol=1e-5)


def test_reordering_the_incremental_state_follows_the_rows(network):
    sources = torch.tensor([[5, 6, EOS, PAD], [4, 5, 6, EOS]])
    memory, padding = network.encode(sources)
    decoder = IncrementalDecoder(network, memory, padding)
    decoder.log_probs(torch.tensor([BOS, BOS]))
    decoder.reorder(torch.tensor([1, 1, 0]))
    step = decoder.log_probs(torch.tensor([9, 9, 9]))
    torch.testing.assert_close(step[0], step[1])
    reference = IncrementalDecoder(network, memory[:1], padding[:1])
    reference.log_probs(torch.tensor([BOS]))
    torch.testing.assert_close(step[2], reference.log_probs(torch.tensor([9]))[0], atol=1e-5, rtol=1e-5)


def test_cross_attention_is_a_distribution_over_real_source_tokens(network):
    sources = torch.tensor([[5, 6, EOS, PAD, PAD]])
    memory, padding = network.encode(sources)
    _, weights = network.decode(torch.tensor([[BOS, 8, 9]]), memory, padding, need_weights=True)
    assert weights.shape == (1, 3, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 3))
    assert torch.all(weights[..., 3:] == 0)


def test_shared_embeddings_tie_source_target_and_output():
    network = Seq2SeqTransformer(20, 20, d_model=16, heads=2, encoder_layers=1, decoder_layers=1, d_ff=32,
                                 share_embeddings=True)
    separate = Seq2SeqTransformer(20, 20, d_model=16, heads=2, encoder_layers=1, decoder_layers=1, d_ff=32)
    assert network.source_embedding is network.target_embedding
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(separate) - count(network) == 20 * 16
    with pytest.raises(ValueError, match="one vocabulary"):
        Seq2SeqTransformer(20, 21, d_model=16, heads=2, share_embeddings=True)


def test_dropout_is_active_only_in_training(network):
    source, target = torch.tensor([[5, 6, EOS]]), torch.tensor([[BOS, 8]])
    torch.testing.assert_close(network(source, target), network(source, target))
    network.train()
    assert not torch.allclose(network(source, target), network(source, target))
