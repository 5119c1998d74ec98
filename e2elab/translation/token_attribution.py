"""Which source words each output word of a translation rests on: integrated gradients.

For output token t, integrated gradients (Sundararajan et al. 2017) integrates the gradient of
log p(y_t | y_<t, x) along the straight path from a baseline source to the real one, taken over
the source token embeddings. The baseline keeps every position but no word (zero token
embeddings), so an attribution measures what the word at a position adds, not its position.
Summing over embedding dimensions gives one number per source token; the numbers of a row add
up to log p(y_t) minus its value at the baseline (completeness), up to the integration error
reported as `convergence_delta`.

Unlike cross-attention weights, attributions are faithful to the whole network: they account
for every layer, including the residual paths attention maps ignore.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .subwords import BOS, EOS
from .transformer import Seq2SeqTransformer

# Interpolated inputs per forward pass: bounds the memory a long sentence takes.
FORWARD_BATCH = 256


@dataclass
class TokenAttributions:
    """matrix[t, s]: how much source token s raised the log-probability of output token t."""

    source_tokens: list[str]
    target_tokens: list[str]
    matrix: np.ndarray  # (T, S)
    convergence_delta: np.ndarray  # (T,) completeness error of each row, in nats


def integrated_gradients(network: Seq2SeqTransformer, source: list[int], output: list[int],
                         steps: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(T, S) attributions of output ids `output` (EOS appended inside) to source ids `source`
    (EOS included by the caller), and the (T,) convergence deltas.

    Every output position is attributed in one Captum call: T x `steps` interpolated inputs, run
    FORWARD_BATCH at a time.
    """
    from captum.attr import IntegratedGradients

    device = next(network.parameters()).device
    source_ids = torch.as_tensor([source], dtype=torch.long, device=device)  # (1, S)
    decoder_input = torch.as_tensor([[BOS] + list(output)], dtype=torch.long, device=device)  # (1, T)
    decoder_output = torch.as_tensor([list(output) + [EOS]], dtype=torch.long, device=device)  # (1, T)
    n_targets = decoder_output.size(1)

    def output_log_probs(embedded: torch.Tensor) -> torch.Tensor:
        """(N, S, D) source token embeddings -> (N, T) log-probabilities of the output tokens."""
        padding = torch.zeros(embedded.shape[:2], dtype=torch.bool, device=device)
        memory = network.encode_embedded(embedded, padding)
        logits, _ = network.decode(decoder_input.expand(len(embedded), -1), memory, padding)
        log_probs = torch.log_softmax(logits.float(), dim=-1)  # (N, T, V)
        return log_probs.gather(-1, decoder_output.expand(len(embedded), -1).unsqueeze(-1)).squeeze(-1)

    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            embedded = network.embed_source(source_ids).expand(n_targets, -1, -1).contiguous()  # (T, S, D)
        attributions, delta = IntegratedGradients(output_log_probs).attribute(
            embedded, baselines=torch.zeros_like(embedded), target=list(range(n_targets)), n_steps=steps,
            internal_batch_size=max(n_targets, FORWARD_BATCH), return_convergence_delta=True)
    finally:
        network.train(was_training)
    return attributions.sum(-1).detach().cpu().numpy(), delta.detach().cpu().numpy()
