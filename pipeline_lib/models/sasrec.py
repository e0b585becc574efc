"""SASRec (Kang & McAuley 2018): causal self-attention over the item history, scored against the item table.

Built as RecBole builds it (what ETEGRec ran, so what the DECOR paper's baseline row measured): item +
position embedding → LayerNorm (eps 1e-12) → dropout → post-LN Transformer blocks with a GELU feed-forward
(:func:`~pipeline_lib.models.encoder_blocks.post_ln_encoder`) under a causal mask, every linear layer and
embedding table drawn from N(0, 0.02) with zero biases. The authors' code differs (LayerNorm on the queries
only, items × √d, eps 1e-8; docs/deviations.md, Baselines). Positions are learned and counted from the most
recent item (position 0 = the last item): for a history of exactly ``max_len`` items that is the original
left-padded layout, and it makes every real position's output independent of how much left padding its row
carries. Item scores are the last position's output dotted with the (tied) item embedding table.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pipeline_lib.models.config import SASRecConfig
from pipeline_lib.models.encoder_blocks import (
    LAYER_NORM_EPS,
    attention_mask,
    init_linear_weights_,
    post_ln_encoder,
    recency_positions,
)


class SASRec(nn.Module):
    def __init__(self, config: SASRecConfig):
        super().__init__()
        self.config = config
        self.item_embedding = nn.Embedding(config.n_items + 1, config.dim, padding_idx=config.n_items)
        self.position_embedding = nn.Embedding(config.max_len, config.dim)
        self.input_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = post_ln_encoder(config.dim, config.heads, config.ffn_dim, config.blocks, config.dropout)
        init_linear_weights_(self)
        for table in (self.item_embedding, self.position_embedding):
            nn.init.normal_(table.weight, std=0.02)
        with torch.no_grad():
            self.item_embedding.weight[config.n_items].zero_()

    def item_embeddings(self) -> Tensor:
        """The ``[n_items, dim]`` item table (the padding row left out): scoring weights and ETEGRec's input."""
        return self.item_embedding.weight[:-1]

    def encode(self, histories: Tensor) -> Tensor:
        """``[B, L, dim]`` representations of right-aligned ``histories`` [B, L] (-1 = padding), L <= max_len.

        Position t only sees the real items at positions <= t. Raises ``ValueError`` if L > max_len.
        """
        width = histories.shape[1]
        if width > self.config.max_len:
            raise ValueError(f"history width {width} exceeds max_len {self.config.max_len}")
        padding = histories < 0
        items = self.item_embedding(histories.masked_fill(padding, self.config.n_items))
        positions = self.position_embedding(recency_positions(width, histories.device))
        hidden = self.dropout(self.input_norm(items + positions))
        return self.encoder(hidden, mask=attention_mask(padding, self.config.heads, causal=True))

    def forward(self, histories: Tensor) -> Tensor:
        """``[B, dim]``: the representation at the last (most recent) position."""
        return self.encode(histories)[:, -1]
