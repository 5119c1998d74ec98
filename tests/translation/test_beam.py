import math

import pytest
import torch

from e2elab.translation.beam import beam_search, length_penalty
from e2elab.translation.subwords import BOS, EOS
from e2elab.translation.transformer import IncrementalDecoder, Seq2SeqTransformer

A, B, X, Y, VOCAB = 4, 5, 6, 7, 8


class TableDecoder:
    """Next-token probabilities looked up by the prefix (BOS left out); unlisted prefixes favour X."""

    def __init__(self, table: dict, rows: int):
        self.table, self.prefixes = table, [() for _ in range(rows)]

    def log_probs(self, tokens):
        self.prefixes = [p if int(t) == BOS else p + (int(t),) for p, t in zip(self.prefixes, tokens)]
        out = torch.full((len(self.prefixes), VOCAB), 1e-6)
        for row, prefix in enumerate(self.prefixes):
            for token, p in self.table.get(prefix, {X: 1.0}).items():
                out[row, token] = p
        return (out / out.sum(-1, keepdim=True)).log()

    def reorder(self, rows):
        self.prefixes = [self.prefixes[int(r)] for r in rows]


class RandomDecoder(TableDecoder):
    """A fixed random next-token distribution for every (sentence, prefix): varied outputs and lengths."""

    def __init__(self, sentences: int, beam_size: int):
        super().__init__({}, sentences * beam_size)
        self.sentence = [row // beam_size for row in range(sentences * beam_size)]

    def log_probs(self, tokens):
        self.prefixes = [p if int(t) == BOS else p + (int(t),) for p, t in zip(self.prefixes, tokens)]
        rows = []
        for sentence, prefix in zip(self.sentence, self.prefixes):
            generator = torch.Generator().manual_seed(hash((sentence, prefix)) % 2**31)
            rows.append(torch.log_softmax(3 * torch.randn(VOCAB, generator=generator), dim=0))
        return torch.stack(rows)

    def reorder(self, rows):
        super().reorder(rows)
        self.sentence = [self.sentence[int(r)] for r in rows]


# Greedy takes A (0.6), then must spread over X or Y (0.3 each): 0.18 in all. "B </s>" has 0.36.
TRAP = {(): {A: 0.6, B: 0.4}, (A,): {X: 0.3, Y: 0.3, B: 0.4 - 1e-3, EOS: 1e-3}, (B,): {EOS: 0.9, X: 0.1},
        (A, X): {EOS: 1.0}, (A, Y): {EOS: 1.0}, (A, B): {A: 0.5, X: 0.5}}


def greedy(decoder, rows: int, max_length: int) -> list[list[int]]:
    """The obvious greedy decoder, as a reference; `max_length` counts the EOS."""
    out, tokens = [[] for _ in range(rows)], torch.full((rows,), BOS)
    done = [False] * rows
    for _ in range(max_length - 1):
        tokens = decoder.log_probs(tokens).argmax(-1)
        for row, token in enumerate(tokens.tolist()):
            if not done[row]:
                done[row] = token == EOS
                if not done[row]:
                    out[row].append(token)
    return out


def test_a_wider_beam_finds_a_likelier_translation_than_greedy():
    (greedy_best,) = beam_search(TableDecoder(TRAP, 1), [10], BOS, EOS, beam_size=1, alpha=0.0)
    (beam_best,) = beam_search(TableDecoder(TRAP, 3), [10], BOS, EOS, beam_size=3, alpha=0.0)
    assert greedy_best[0].tokens[0] == A
    assert beam_best[0].tokens == [B]
    assert beam_best[0].log_prob == pytest.approx(math.log(0.36), abs=1e-4)
    assert beam_best[0].log_prob > greedy_best[0].log_prob


def test_hypotheses_are_ranked_by_length_normalised_score():
    # "B </s>" has log-probability log 0.36; "A B A </s>" a little less but is twice as long.
    table = {(): {A: 0.6, B: 0.4}, (B,): {EOS: 0.9, X: 0.1}, (A,): {B: 1.0}, (A, B): {A: 1.0},
             (A, B, A): {EOS: 0.5, X: 0.5}}
    (raw,) = beam_search(TableDecoder(table, 4), [10], BOS, EOS, beam_size=4, alpha=0.0)
    (normalised,) = beam_search(TableDecoder(table, 4), [10], BOS, EOS, beam_size=4, alpha=2.0)
    assert raw[0].tokens == [B]
    assert normalised[0].tokens == [A, B, A]
    for hypothesis in normalised:
        length = len(hypothesis.tokens) + 1  # EOS counts
        assert hypothesis.score == pytest.approx(hypothesis.log_prob / length_penalty(length, 2.0))
    assert [h.score for h in normalised] == sorted((h.score for h in normalised), reverse=True)


def test_output_length_is_capped_by_the_limit():
    never_ends = {}
    hypotheses = beam_search(TableDecoder(never_ends, 2 * 3), [3, 5], BOS, EOS, beam_size=3)
    assert [len(h[0].tokens) for h in hypotheses] == [2, 4]  # the limit counts the forced EOS
    assert all(len(h) <= 3 for h in hypotheses)


@pytest.fixture
def network():
    torch.manual_seed(1)
    network = Seq2SeqTransformer(12, 12, d_model=32, heads=2, encoder_layers=1, decoder_layers=2, d_ff=64).eval()
    with torch.no_grad():  # large output weights: peaked, input-dependent choices, as in a trained model
        network.target_embedding.weight.normal_(0.0, 1.0)
    return network


SOURCES = torch.tensor([[5, 6, 7, EOS, 0], [8, 9, 10, 11, EOS], [4, EOS, 0, 0, 0]])


def _decoder(network, sources, beam_size):
    with torch.no_grad():
        memory, padding = network.encode(sources)
        rows = torch.arange(len(sources)).repeat_interleave(beam_size)
        return IncrementalDecoder(network, memory[rows], padding[rows])


def test_beam_of_one_is_greedy():
    found = beam_search(RandomDecoder(20, 1), [12] * 20, BOS, EOS, beam_size=1)
    reference = greedy(RandomDecoder(20, 1), 20, 12)
    assert [h[0].tokens for h in found] == reference
    assert len({len(tokens) for tokens in reference}) > 2  # sentences end at different steps


def test_random_decoder_batched_equals_alone():
    limits = list(range(3, 13))
    batched = beam_search(RandomDecoder(len(limits), 3), limits, BOS, EOS, beam_size=3)
    for index, limit in enumerate(limits):
        decoder = RandomDecoder(1, 3)
        decoder.sentence = [index] * 3
        (alone,) = beam_search(decoder, [limit], BOS, EOS, beam_size=3)
        assert [h.tokens for h in alone] == [h.tokens for h in batched[index]]


def test_batched_search_equals_one_sentence_at_a_time(network):
    limits = [6, 9, 3]
    with torch.no_grad():
        batched = beam_search(_decoder(network, SOURCES, 4), limits, BOS, EOS, beam_size=4)
        for index, limit in enumerate(limits):
            (alone,) = beam_search(_decoder(network, SOURCES[index:index + 1], 4), [limit], BOS, EOS, beam_size=4)
            assert [h.tokens for h in alone] == [h.tokens for h in batched[index]]
            assert [h.score for h in alone] == pytest.approx([h.score for h in batched[index]], abs=1e-4)


def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        beam_search(TableDecoder({}, 1), [0], BOS, EOS, beam_size=1)
    assert beam_search(TableDecoder({}, 0), [], BOS, EOS) == []
