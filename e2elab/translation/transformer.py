"""A pre-norm Transformer encoder-decoder over subword ids (Vaswani et al. 2017).

Pre-norm (layer norm before each sub-layer, one more after the last layer) trains stably without
a long warm-up, which matters for the short runs a CPU affords. The target embedding doubles as
the output projection (Press & Wolf 2017), and with a joint vocabulary the source embedding is the
same matrix too: fewer parameters, and a word copied from source to target (a name, a number) has
one vector. Positions are sinusoidal, so no length is learned and any sentence length works.

The decoder runs either on a whole target prefix (training, scoring, attention maps) or one token
at a time with a cache of each layer's past inputs (beam search), which gives the same numbers
(tests check it) at a fraction of the cost.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .subwords import PAD


def sinusoidal_positions(length: int, dim: int, device=None) -> torch.Tensor:
    """(length, dim) position encodings: sines and cosines of geometrically spaced frequencies."""
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)  # (L, 1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10_000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


def causal_mask(length: int, device=None) -> torch.Tensor:
    """(length, length) bool mask, True above the diagonal: position t may not see t+1, t+2, ..."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


class FeedForward(nn.Sequential):
    def __init__(self, d_model: int, d_ff: int, dropout: float):
        super().__init__(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model))


class EncoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.self_norm = nn.LayerNorm(d_model)
        self.self_attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.ff_norm = nn.LayerNorm(d_model)
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        h = self.self_norm(x)  # (B, S, D)
        x = x + self.dropout(self.self_attention(h, h, h, key_padding_mask=padding, need_weights=False)[0])
        return x + self.dropout(self.feed_forward(self.ff_norm(x)))


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.self_norm = nn.LayerNorm(d_model)
        self.self_attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.cross_norm = nn.LayerNorm(d_model)
        self.cross_attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.ff_norm = nn.LayerNorm(d_model)
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, memory, memory_padding, self_keys=None, self_mask=None, self_padding=None,
                need_weights: bool = False):
        """x (B, T, D) attends to `self_keys` (B, T', D; default: its own normed self) and to `memory`.

        Returns the layer output (B, T, D) and the cross-attention weights averaged over heads
        (B, T, S), or None unless `need_weights`.
        """
        h = self.self_norm(x)
        keys = h if self_keys is None else self_keys
        x = x + self.dropout(self.self_attention(h, keys, keys, attn_mask=self_mask, key_padding_mask=self_padding,
                                                 need_weights=False)[0])
        attended, weights = self.cross_attention(self.cross_norm(x), memory, memory, key_padding_mask=memory_padding,
                                                 need_weights=need_weights, average_attn_weights=True)
        x = x + self.dropout(attended)
        return x + self.dropout(self.feed_forward(self.ff_norm(x))), weights


class Seq2SeqTransformer(nn.Module):
    """Source ids (B, S) and target prefix ids (B, T) -> next-token logits (B, T, V_target).

    Padding (id PAD) is masked out of every attention, so a sentence gets the same output alone
    or padded in a batch.
    """

    def __init__(self, source_vocab: int, target_vocab: int, d_model: int = 256, heads: int = 4,
                 encoder_layers: int = 3, decoder_layers: int = 3, d_ff: int = 1024, dropout: float = 0.1,
                 share_embeddings: bool = False):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of heads ({heads})")
        if share_embeddings and source_vocab != target_vocab:
            raise ValueError("shared embeddings need one vocabulary for source and target")
        self.d_model = d_model
        self.target_embedding = nn.Embedding(target_vocab, d_model, padding_idx=PAD)
        self.source_embedding = (self.target_embedding if share_embeddings
                                 else nn.Embedding(source_vocab, d_model, padding_idx=PAD))
        self.embedding_dropout = nn.Dropout(dropout)
        self.encoder_layers = nn.ModuleList(EncoderLayer(d_model, heads, d_ff, dropout) for _ in range(encoder_layers))
        self.encoder_norm = nn.LayerNorm(d_model)
        self.decoder_layers = nn.ModuleList(DecoderLayer(d_model, heads, d_ff, dropout) for _ in range(decoder_layers))
        self.decoder_norm = nn.LayerNorm(d_model)
        # Embeddings are scaled by sqrt(d_model) on the way in, so they start at unit scale there
        # while the tied output projection starts with small logits.
        for embedding in {id(m): m for m in (self.source_embedding, self.target_embedding)}.values():
            nn.init.normal_(embedding.weight, std=d_model ** -0.5)
            with torch.no_grad():
                embedding.weight[PAD].zero_()

    # ---- encoder -------------------------------------------------------------------------------

    def embed_source(self, source: torch.Tensor) -> torch.Tensor:
        """Token embeddings of source ids (B, S) -> (B, S, D), before scaling and positions."""
        return self.source_embedding(source)

    def encode_embedded(self, embedded: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """Encoder states (B, S, D) from source token embeddings (B, S, D) and padding (B, S).

        Separate from `encode` so that attributions can be taken with respect to the embeddings.
        """
        x = embedded * math.sqrt(self.d_model) + sinusoidal_positions(embedded.size(1), self.d_model, embedded.device)
        x = self.embedding_dropout(x)
        for layer in self.encoder_layers:
            x = layer(x, padding)
        return self.encoder_norm(x)

    def encode(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states (B, S, D) and the source padding mask (B, S), True at padding."""
        padding = source == PAD
        return self.encode_embedded(self.embed_source(source), padding), padding

    # ---- decoder -------------------------------------------------------------------------------

    def _embed_target(self, target: torch.Tensor, offset: int = 0) -> torch.Tensor:
        positions = sinusoidal_positions(offset + target.size(1), self.d_model, target.device)[offset:]
        return self.embedding_dropout(self.target_embedding(target) * math.sqrt(self.d_model) + positions)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder_norm(x) @ self.target_embedding.weight.t()  # (B, T, V)

    def decode(self, target: torch.Tensor, memory: torch.Tensor, memory_padding: torch.Tensor,
               need_weights: bool = False):
        """Logits (B, T, V) of the token after each prefix of `target` (B, T), and the last layer's
        cross-attention weights averaged over heads (B, T, S) when `need_weights` (else None)."""
        x = self._embed_target(target)
        mask, padding = causal_mask(target.size(1), target.device), target == PAD
        weights = None
        for index, layer in enumerate(self.decoder_layers):
            last = index == len(self.decoder_layers) - 1
            x, weights = layer(x, memory, memory_padding, self_mask=mask, self_padding=padding,
                               need_weights=need_weights and last)
        return self._logits(x), weights

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        memory, padding = self.encode(source)
        return self.decode(target, memory, padding)[0]

    def decode_step(self, token: torch.Tensor, memory: torch.Tensor, memory_padding: torch.Tensor,
                    cache: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits (N, V) after one more token (N,), given each layer's normed past inputs `cache`
        (a list of (N, t, D), empty lists of length 0 at the start); returns the grown cache.

        Exact for a causal decoder: a position's layer inputs never depend on later positions.
        """
        offset = cache[0].size(1) if cache else 0
        x = self._embed_target(token.unsqueeze(1), offset)  # (N, 1, D)
        grown = []
        for index, layer in enumerate(self.decoder_layers):
            normed = layer.self_norm(x)
            keys = normed if not cache else torch.cat([cache[index], normed], dim=1)  # (N, t + 1, D)
            grown.append(keys)
            x, _ = layer(x, memory, memory_padding, self_keys=keys)
        return self._logits(x)[:, 0], grown


class IncrementalDecoder:
    """The network as beam search sees it: next-token log-probabilities, one token at a time, for
    rows that beam search may reorder, duplicate or drop."""

    def __init__(self, network: Seq2SeqTransformer, memory: torch.Tensor, memory_padding: torch.Tensor):
        self.network, self.memory, self.memory_padding = network, memory, memory_padding
        self.cache: list[torch.Tensor] = []

    def log_probs(self, tokens: torch.Tensor) -> torch.Tensor:
        """(N,) last tokens -> (N, V) log-probabilities of the next token."""
        tokens = tokens.to(self.memory.device)
        logits, self.cache = self.network.decode_step(tokens, self.memory, self.memory_padding, self.cache)
        return torch.log_softmax(logits.float(), dim=-1).cpu()

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep rows `rows` (M,) of the current state, in that order."""
        rows = rows.to(self.memory.device)
        self.memory, self.memory_padding = self.memory[rows], self.memory_padding[rows]
        self.cache = [keys[rows] for keys in self.cache]
