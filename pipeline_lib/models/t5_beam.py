"""One-token-at-a-time T5 decoder pass for beam search, with one cross-attention key/value copy per user.

Hugging Face's cached T5 decoding gives every beam its own copy of the user's encoder keys and values
(the encoder output repeated ``n`` times, then re-indexed as beams are re-ranked). T5's cross-attention
has no position bias, so all ``n`` beams of a user can instead attend as ``n`` queries to one shared copy:
``[B, H, n, d_kv] × [B, H, S, d_kv]``. The arithmetic is the same; only the copies go. Self-attention keeps
a per-beam cache that is re-indexed to the surviving beams. Runs on the weights of a ``T5Stack`` decoder
(eval mode: no dropout), so it needs no weights of its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from transformers.models.t5.modeling_t5 import T5Stack


def _heads(x: Tensor, rows: int, heads: int) -> Tensor:
    """``[rows, q, H·d_kv]`` → ``[rows, H, q, d_kv]``."""
    return x.view(rows, x.shape[1], heads, -1).transpose(1, 2)


class SharedCrossAttentionDecoder:
    """Incremental decoder state of ``B`` users × ``n`` beams over a T5 decoder stack.

    ``encoder_hidden`` [B, S, d] and ``encoder_mask`` [B, S] (bool, True = real token) are projected to
    each layer's cross-attention keys/values once. ``step`` takes the newest decoder input [B·n, 1, d]
    (rows user-major: user b's beams are rows b·n … b·n + n − 1) and returns the decoder's output state
    [B·n, d] after the final layer norm, equal (to float tolerance) to ``T5Stack`` with a key/value cache.
    ``reorder`` keeps the self-attention cache of the beams that survive.
    """

    def __init__(self, stack: T5Stack, encoder_hidden: Tensor, encoder_mask: Tensor):
        self.stack = stack
        self.heads = stack.config.num_heads
        batch = encoder_hidden.shape[0]
        self.cross = [
            (_heads(att.k(encoder_hidden), batch, self.heads), _heads(att.v(encoder_hidden), batch, self.heads))
            for att in (block.layer[1].EncDecAttention for block in stack.block)
        ]
        blocked = torch.finfo(self.cross[0][0].dtype).min
        self.cross_mask = torch.zeros(encoder_mask.shape, dtype=self.cross[0][0].dtype, device=encoder_mask.device)
        self.cross_mask = self.cross_mask.masked_fill(~encoder_mask, blocked)[:, None, None, :]  # [B, 1, 1, S]
        self.batch = batch
        self.self_cache: list[tuple[Tensor, Tensor]] = []

    @property
    def length(self) -> int:
        """Decoder positions already run (the next position's index)."""
        return self.self_cache[0][0].shape[2] if self.self_cache else 0

    def reorder(self, rows: Tensor) -> None:
        """Keep self-attention cache rows ``rows`` [B·n'] (int64) in this order, for the next ``step``."""
        self.self_cache = [(k.index_select(0, rows), v.index_select(0, rows)) for k, v in self.self_cache]

    def step(self, inputs: Tensor) -> Tensor:
        """Decoder input embeddings of the newest position [B·n, 1, d] → output states [B·n, d]."""
        rows = inputs.shape[0]
        beams = rows // self.batch
        past = self.length
        first = self.stack.block[0].layer[0].SelfAttention
        position_bias = first.compute_bias(1, past + 1, device=inputs.device, past_seen_tokens=past)
        hidden = inputs
        cache = []
        for index, block in enumerate(self.stack.block):
            self_layer, cross_layer, feed_forward = block.layer
            att = self_layer.SelfAttention
            normed = self_layer.layer_norm(hidden)
            query = _heads(att.q(normed), rows, self.heads)
            key, value = _heads(att.k(normed), rows, self.heads), _heads(att.v(normed), rows, self.heads)
            if self.self_cache:
                past_key, past_value = self.self_cache[index]
                key, value = torch.cat([past_key, key], dim=2), torch.cat([past_value, value], dim=2)
            cache.append((key, value))
            attended = F.scaled_dot_product_attention(query, key, value, attn_mask=position_bias.to(query.dtype), scale=1.0)
            hidden = hidden + att.o(attended.transpose(1, 2).reshape(rows, 1, -1))

            att = cross_layer.EncDecAttention
            normed = cross_layer.layer_norm(hidden)
            query = att.q(normed).view(self.batch, beams, self.heads, -1).transpose(1, 2)  # [B, H, n, d_kv]
            shared_key, shared_value = self.cross[index]
            attended = F.scaled_dot_product_attention(
                query, shared_key, shared_value, attn_mask=self.cross_mask.to(query.dtype), scale=1.0
            )
            hidden = hidden + att.o(attended.transpose(1, 2).reshape(rows, 1, -1))
            hidden = feed_forward(hidden)
        self.self_cache = cache
        return self.stack.final_layer_norm(hidden)[:, 0]
