"""FDSA (Zhang et al., IJCAI 2019, "Feature-level Deeper Self-Attention Network"), as RecBole builds it.

Two causal self-attention streams over the same right-aligned history:

- item level (paper §3, "item-based self-attention block"): item embedding + position → LayerNorm →
  dropout → post-LN Transformer;
- feature level ("vanilla attention layer" + "feature-based self-attention block"): each item's
  attribute embeddings (category levels and brand, ``pipeline_lib.data.attributes``) are combined by
  vanilla attention, α = softmax_k(w₂ᵀ ReLU(W₁ a_k + b₁)) over the item's attributes, f = Σ_k α_k a_k;
  f + position → LayerNorm → dropout → a second Transformer of the same shape.

At each position the two outputs are concatenated, projected back to ``dim``, layer-normalised and
dropped out ("fully-connected layer"); the last position is scored against the item table, as in
RecBole's full-softmax (CE) training. RecBole pools the levels of one multi-token field by mean
before attending over fields; here every attribute of an item is one candidate of the attention.
An item without attributes gets a zero feature vector.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pipeline_lib.models.config import FDSAConfig
from pipeline_lib.models.encoder_blocks import (
    LAYER_NORM_EPS,
    attention_mask,
    init_linear_weights_,
    padded_attribute_rows,
    post_ln_encoder,
    recency_positions,
)


class VanillaAttention(nn.Module):
    """Weighted sum of a set of vectors, weights from a one-hidden-layer scorer (FDSA's "vanilla attention")."""

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 1))

    def forward(self, vectors: Tensor, padding: Tensor) -> Tensor:
        """``[..., dim]`` from ``vectors`` [..., K, dim] and ``padding`` [..., K] (True = absent); all absent → 0."""
        logits = self.score(vectors).squeeze(-1).masked_fill(padding, float("-inf"))
        weights = torch.softmax(logits, dim=-1).nan_to_num(0.0)
        return (weights.unsqueeze(-1) * vectors).sum(dim=-2)


class FDSA(nn.Module):
    def __init__(self, config: FDSAConfig, item_attributes: Tensor):
        """``item_attributes`` [n_items, W]: attribute ids 1…n_attributes per item, 0 = padding."""
        super().__init__()
        self.config = config
        dim = config.dim
        rows = padded_attribute_rows(item_attributes, config.n_items, config.n_attributes, extra_rows=1)
        self.register_buffer("item_attributes", rows)  # row n_items: the padding item
        self.item_embedding = nn.Embedding(config.n_items + 1, dim, padding_idx=config.n_items)
        self.attribute_embedding = nn.Embedding(config.n_attributes + 1, dim, padding_idx=0)
        self.position_embedding = nn.Embedding(config.max_len, dim)
        self.attribute_attention = VanillaAttention(dim)
        self.item_norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.feature_norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.output_norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.dropout)
        stream = (dim, config.heads, config.ffn_dim, config.blocks, config.dropout)
        self.item_encoder = post_ln_encoder(*stream)
        self.feature_encoder = post_ln_encoder(*stream)
        self.concat = nn.Linear(2 * dim, dim)
        init_linear_weights_(self)
        for table in (self.item_embedding, self.attribute_embedding, self.position_embedding):
            nn.init.normal_(table.weight, std=0.02)
        with torch.no_grad():
            self.item_embedding.weight[config.n_items].zero_()
            self.attribute_embedding.weight[0].zero_()

    def item_embeddings(self) -> Tensor:
        """The ``[n_items, dim]`` item table (padding row left out): the scoring weights."""
        return self.item_embedding.weight[:-1]

    def item_features(self, items: Tensor) -> Tensor:
        """``[..., dim]``: vanilla attention over the attribute embeddings of ``items`` (n_items = padding item)."""
        attributes = self.item_attributes[items]
        return self.attribute_attention(self.attribute_embedding(attributes), attributes == 0)

    def encode(self, histories: Tensor) -> Tensor:
        """``[B, L, dim]`` for right-aligned ``histories`` [B, L] (-1 = padding); position t sees positions <= t."""
        width = histories.shape[1]
        if width > self.config.max_len:
            raise ValueError(f"history width {width} exceeds max_len {self.config.max_len}")
        padding = histories < 0
        items = histories.masked_fill(padding, self.config.n_items)
        positions = self.position_embedding(recency_positions(width, histories.device))
        mask = attention_mask(padding, self.config.heads, causal=True)
        item_input = self.dropout(self.item_norm(self.item_embedding(items) + positions))
        feature_input = self.dropout(self.feature_norm(self.item_features(items) + positions))
        both = torch.cat([self.item_encoder(item_input, mask=mask), self.feature_encoder(feature_input, mask=mask)], -1)
        return self.dropout(self.output_norm(self.concat(both)))

    def forward(self, histories: Tensor) -> Tensor:
        """``[B, dim]``: the representation at the last (most recent) position."""
        return self.encode(histories)[:, -1]
