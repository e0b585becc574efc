"""Transformer pieces the self-attention baselines (SASRec, BERT4Rec, FDSA, S³Rec) share, built as RecBole builds them.

RecBole's ``TransformerEncoder`` is BERT-style: post-LN blocks (LayerNorm after each residual, eps
1e-12), GELU feed-forward without an inner dropout, one dropout rate for attention and hidden states, every
linear layer drawn from N(0, 0.02) with zero biases. Positions are counted
from the most recent item (:func:`recency_positions`), so a row's real positions do not
depend on how much left padding it carries.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

LAYER_NORM_EPS = 1e-12  # RecBole's layer_norm_eps


def post_ln_encoder(dim: int, heads: int, ffn_dim: int, blocks: int, dropout: float) -> nn.TransformerEncoder:
    """``blocks`` post-LN self-attention blocks over ``[B, L, dim]`` (batch first), with dropout where RecBole's
    ``TransformerLayer`` (and the BERT4Rec / S³-Rec authors' BERT blocks) have it: on the attention
    probabilities, the attention output and the feed-forward output — not between the two feed-forward linears,
    where torch's layer adds one."""
    block = nn.TransformerEncoderLayer(
        dim, heads, ffn_dim, dropout, activation="gelu", layer_norm_eps=LAYER_NORM_EPS, batch_first=True
    )
    block.dropout = nn.Identity()  # torch's dropout inside the feed-forward block; none in RecBole or BERT
    return nn.TransformerEncoder(block, blocks, enable_nested_tensor=False)


def init_linear_weights_(module: nn.Module) -> None:
    """RecBole's ``_init_weights`` (and the BERT4Rec / S³-Rec authors'): every linear layer and attention
    projection of ``module`` drawn from N(0, 0.02) with zero biases, in place (embedding tables are each model's)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, std=0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.MultiheadAttention) and layer.in_proj_weight is not None:
            nn.init.normal_(layer.in_proj_weight, std=0.02)
            if layer.in_proj_bias is not None:
                nn.init.zeros_(layer.in_proj_bias)


def attention_mask(padding: Tensor, heads: int, causal: bool) -> Tensor:
    """``[B * heads, L, L]`` from ``padding`` [B, L] (True = padding), True = blocked.

    No query attends to a padding key (a padding query may attend to itself, so no softmax row is
    empty); ``causal`` also blocks every later position.
    """
    width = padding.shape[1]
    own = torch.eye(width, dtype=torch.bool, device=padding.device)
    blocked = padding[:, None, :] & ~own
    if causal:
        blocked = blocked | torch.ones(width, width, dtype=torch.bool, device=padding.device).triu(1)
    return blocked.repeat_interleave(heads, dim=0)


def recency_positions(width: int, device: torch.device) -> Tensor:
    """``[width]`` position ids, 0 = the last (most recent) column."""
    return torch.arange(width - 1, -1, -1, device=device)


def padded_attribute_rows(
    item_attributes: Tensor, n_items: int, n_attributes: int, extra_rows: int, name: str = "item_attributes"
) -> Tensor:
    """``[n_items + extra_rows, W]``: the item → attribute-id table (ids 1…n_attributes, 0 = padding) with
    ``extra_rows`` all-padding rows appended for the model's special item rows (padding, mask). Raises
    ``ValueError`` naming the table (``name``) if it is not ``[n_items, W]`` or holds an id outside 0…n_attributes."""
    if item_attributes.ndim != 2 or item_attributes.shape[0] != n_items:
        raise ValueError(f"{name} must be [n_items={n_items}, W], got {tuple(item_attributes.shape)}")
    if item_attributes.numel() and not 0 <= int(item_attributes.min()) <= int(item_attributes.max()) <= n_attributes:
        raise ValueError(f"{name} ids must lie in 0 … n_attributes={n_attributes}")
    padding = torch.zeros(extra_rows, item_attributes.shape[1], dtype=torch.long)
    return torch.cat([item_attributes.long(), padding])
