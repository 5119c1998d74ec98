"""Beam search over any next-token model, batched over sentences.

Each sentence keeps `beam_size` live prefixes. At every step all their one-token extensions are
scored by total log-probability, the best extensions ending in EOS become finished hypotheses,
and the best others become the next live prefixes. A sentence is done once it holds `beam_size`
finished hypotheses (fairseq's rule) or reaches its length limit, where EOS is forced; done
sentences leave the batch, so the remaining work shrinks as sentences finish. Every sentence
has a length limit, so the number of steps, and with it the time, is bounded.

Finished hypotheses are ranked by log-probability divided by GNMT's length penalty
((5 + length) / 6) ** alpha (Wu et al. 2016): without it, every extra token lowers the
log-probability and the search prefers translations that stop too early. alpha=0 ranks by raw
log-probability. A beam of one is greedy decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import torch


class StepDecoder(Protocol):
    """A next-token model holding one row of state per live prefix. Beam search passes and expects
    CPU tensors; a model elsewhere moves them itself."""

    def log_probs(self, tokens: torch.Tensor) -> torch.Tensor:
        """Append `tokens` (N,) to the N prefixes; return log-probabilities of the next token (N, V)."""

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep the prefixes `rows` (M,), in that order (rows may repeat)."""


@dataclass
class Hypothesis:
    """A finished output: token ids without BOS/EOS, their total log-probability, and the
    length-normalised score hypotheses are ranked by."""

    tokens: list[int]
    log_prob: float
    score: float


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's length penalty: ((5 + length) / 6) ** alpha."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def beam_search(decoder: StepDecoder, max_lengths: Sequence[int], bos: int, eos: int, beam_size: int = 4,
                alpha: float = 0.6) -> list[list[Hypothesis]]:
    """The finished hypotheses of each sentence, best first (`beam_size` of them, fewer when the
    length limit cut the search).

    decoder: holds len(max_lengths) * beam_size rows, sentence-major (rows of sentence i are
    i * beam_size ... (i + 1) * beam_size - 1), each starting from the same state.
    max_lengths: the most tokens (EOS included) each sentence's output may have, at least 1.
    """
    limits = torch.as_tensor(list(max_lengths), dtype=torch.long)
    if limits.numel() == 0:
        return []
    if int(limits.min()) < 1:
        raise ValueError(f"every max length must be at least 1, got {int(limits.min())}")
    if beam_size < 1:
        raise ValueError(f"beam_size must be at least 1, not {beam_size}")
    k = beam_size
    active = torch.arange(len(limits))  # sentence of each live group of k rows
    scores = torch.full((len(limits), k), float("-inf"))
    scores[:, 0] = 0.0  # the k rows start identical: expand only the first at step 0
    prefixes = torch.zeros((len(limits) * k, 0), dtype=torch.long)
    last = torch.full((len(limits) * k,), bos, dtype=torch.long)
    finished: list[list[Hypothesis]] = [[] for _ in range(len(limits))]

    for step in range(int(limits.max())):
        log_probs = decoder.log_probs(last).float().cpu()  # (n * k, V)
        n, vocab = len(active), log_probs.size(-1)
        if vocab < 2:
            raise ValueError("beam search needs a vocabulary of at least two tokens")
        at_limit = limits[active] == step + 1  # (n,) these sentences must end with this token
        forced = log_probs.view(n, k, vocab)[at_limit]
        forced[..., :eos] = float("-inf")
        forced[..., eos + 1:] = float("-inf")
        log_probs.view(n, k, vocab)[at_limit] = forced
        candidates = (scores.unsqueeze(-1) + log_probs.view(n, k, vocab)).view(n, k * vocab)
        top_scores, top_index = candidates.topk(min(2 * k, k * vocab), dim=1)  # (n, 2k)
        top_beam, top_token = top_index // vocab, top_index % vocab
        ends = top_token == eos
        # An EOS extension counts only if it ranks among the best k (each beam offers at most one EOS,
        # so the 2k candidates always hold k others to continue with).
        for i, rank in (ends[:, :k] & torch.isfinite(top_scores[:, :k])).nonzero().tolist():
            row = i * k + int(top_beam[i, rank])
            log_prob = float(top_scores[i, rank])
            finished[int(active[i])].append(Hypothesis(prefixes[row].tolist(), log_prob,
                                                       log_prob / length_penalty(step + 1, alpha)))
        done = at_limit | torch.tensor([len(finished[int(s)]) >= k for s in active])
        if bool(done.all()):
            break
        continuing = ~ends & ((~ends).cumsum(dim=1) <= k)  # the best k non-EOS extensions
        next_scores = top_scores[continuing].view(n, k)
        next_beam, next_token = top_beam[continuing].view(n, k), top_token[continuing].view(n, k)
        keep = (~done).nonzero().squeeze(1)  # (n',)
        rows = (keep.unsqueeze(1) * k + next_beam[keep]).reshape(-1)  # (n' * k,)
        decoder.reorder(rows)
        last = next_token[keep].reshape(-1)
        prefixes = torch.cat([prefixes[rows], last.unsqueeze(1)], dim=1)
        scores, active = next_scores[keep], active[keep]

    return [sorted(hypotheses, key=lambda h: h.score, reverse=True)[:k] for hypotheses in finished]

