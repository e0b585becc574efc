"""FDSA (Zhang et al., IJCAI 2019, "Feature-level Deeper Self-Attention Network"), as RecBole builds it.

Two causal self-attention streams over the same right-aligned history:

- item level (paper §3, "item-based self-attention block"): item embedding + position → LayerNorm →
  dropout → post-LN Transformer;
- feature level ("vanilla attention layer" + "feature-based self-attention block"): each item's
  attribute fields (``pipeline_lib.data.attributes``), as RecBole's ``FeatureSeqEmbLayer`` embeds them,
  are combined by vanilla attention across the fields, α = softmax_f(w₂ᵀ ReLU(W₁ a_f + b₁)),
  f = Σ_f α_f a_f; f + position → LayerNorm → dropout → a second Transformer of the same shape.
  The fields: ``category`` (every category level, a token-sequence field in RecBole's Amazon atomic
  files: the mean of its levels' embeddings, a zero vector for an item without one) and ``brand`` (a
  single-token field: its embedding, or the learned row 0 for an item without a brand, as RecBole embeds
  the ``[PAD]`` token it fills a missing value with).

At each position the two outputs are concatenated, projected back to ``dim``, layer-normalised and
dropped out ("fully-connected layer"); the last position is scored against the item table, as in
RecBole's full-softmax (CE) training. One LayerNorm serves the two stream inputs and the output, as in
RecBole.
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

    def forward(self, vectors: Tensor) -> Tensor:
        """``[..., dim]`` from ``vectors`` [..., F, dim]: Σ_f softmax_f(score(v_f)) v_f (every vector takes part)."""
        weights = torch.softmax(self.score(vectors).squeeze(-1), dim=-1)
        return (weights.unsqueeze(-1) * vectors).sum(dim=-2)


class FDSA(nn.Module):
    def __init__(self, config: FDSAConfig, categories: Tensor, brands: Tensor):
        """``categories`` [n_items, W] and ``brands`` [n_items, 1]: each item's attribute ids of that kind
        (:meth:`~pipeline_lib.data.attributes.AttributeTable.of_kind`; 1…n_attributes, 0 = none). Raises
        ``ValueError`` for a table of another shape or with an id outside 0…n_attributes."""
        super().__init__()
        self.config = config
        dim = config.dim
        fields = {"categories": categories, "brands": brands}
        rows = {name: padded_attribute_rows(table, config.n_items, config.n_attributes, 1, name)
                for name, table in fields.items()}  # row n_items: the padding item
        if rows["brands"].shape[1] != 1:
            raise ValueError(f"brands must be [n_items, 1] (one brand id per item), got {tuple(brands.shape)}")
        self.register_buffer("item_categories", rows["categories"])
        self.register_buffer("item_brands", rows["brands"][:, 0])
        self.item_embedding = nn.Embedding(config.n_items + 1, dim, padding_idx=config.n_items)
        # row 0: a missing brand (RecBole's [PAD] token, trained); category padding never reaches the mean
        self.attribute_embedding = nn.Embedding(config.n_attributes + 1, dim)
        self.position_embedding = nn.Embedding(config.max_len, dim)
        self.field_attention = VanillaAttention(dim)
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)  # RecBole's one LayerNorm: both stream inputs, the output
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

    def item_embeddings(self) -> Tensor:
        """The ``[n_items, dim]`` item table (padding row left out): the scoring weights."""
        return self.item_embedding.weight[:-1]

    def field_embeddings(self, items: Tensor) -> Tensor:
        """``[..., 2, dim]`` for ``items`` [...] (n_items = the padding item): the ``category`` field, the mean of
        the item's category embeddings (0 without any), and the ``brand`` field, its brand's embedding (row 0
        without one)."""
        categories = self.item_categories[items]
        present = (categories != 0).unsqueeze(-1)
        category = (self.attribute_embedding(categories) * present).sum(-2) / present.sum(-2).clamp(min=1)
        return torch.stack([category, self.attribute_embedding(self.item_brands[items])], dim=-2)

    def item_features(self, items: Tensor) -> Tensor:
        """``[..., dim]``: vanilla attention across the fields of ``items`` [...] (:meth:`field_embeddings`)."""
        return self.field_attention(self.field_embeddings(items))

    def encode(self, histories: Tensor) -> Tensor:
        """``[B, L, dim]`` for right-aligned ``histories`` [B, L] (-1 = padding); position t sees positions <= t."""
        width = histories.shape[1]
        if width > self.config.max_len:
            raise ValueError(f"history width {width} exceeds max_len {self.config.max_len}")
        padding = histories < 0
        items = histories.masked_fill(padding, self.config.n_items)
        positions = self.position_embedding(recency_positions(width, histories.device))
        mask = attention_mask(padding, self.config.heads, causal=True)
        item_input = self.dropout(self.norm(self.item_embedding(items) + positions))
        feature_input = self.dropout(self.norm(self.item_features(items) + positions))
        both = torch.cat([self.item_encoder(item_input, mask=mask), self.feature_encoder(feature_input, mask=mask)], -1)
        return self.dropout(self.norm(self.concat(both)))

    def forward(self, histories: Tensor) -> Tensor:
        """``[B, dim]``: the representation at the last (most recent) position."""
        return self.encode(histories)[:, -1]
