"""SASRec (Kang & McAuley 2018): causal self-attention over the item history, scored against the item table.

Pre-LN Transformer blocks (``torch.nn.TransformerEncoderLayer(norm_first=True)``, ReLU feed-forward)
and a final LayerNorm. Neither reference's block: the authors' code normalises only the queries (keys and values
read the un-normalised input) and scales item embeddings by √d; RecBole's (what ETEGRec ran) is post-LN with
GELU (docs/deviations.md, Baselines). Positions are learned and counted from the
most recent item (position 0 = the last item): for a history of exactly ``max_len`` items that is
the original left-padded layout, and it makes every real position's output independent of how much
left padding its row carries. Item scores are the last position's output dotted with the (tied)
item embedding table.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pipeline_lib.models.config import SASRecConfig


class SASRec(nn.Module):
    def __init__(self, config: SASRecConfig):
        super().__init__()
        self.config = config
        self.item_embedding = nn.Embedding(config.n_items + 1, config.dim, padding_idx=config.n_items)
        self.position_embedding = nn.Embedding(config.max_len, config.dim)
        self.dropout = nn.Dropout(config.dropout)
        block = nn.TransformerEncoderLayer(
            config.dim, config.heads, config.ffn_dim, config.dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(
            block, config.blocks, norm=nn.LayerNorm(config.dim), enable_nested_tensor=False
        )
        for table in (self.item_embedding, self.position_embedding):
            nn.init.normal_(table.weight, std=0.02)
        with torch.no_grad():
            self.item_embedding.weight[config.n_items].zero_()

    def item_embeddings(self) -> Tensor:
        """The ``[n_items, dim]`` item table (the padding row left out): scoring weights and ETEGRec's input."""
        return self.item_embedding.weight[:-1]

    def _attention_mask(self, padding: Tensor) -> Tensor:
        """``[B * heads, L, L]``, True = blocked: no attending to later positions nor to padding.

        A padding query may still attend to itself, so no softmax row is empty (no NaN), and no real
        position ever reads a padding one.
        """
        width = padding.shape[1]
        own = torch.eye(width, dtype=torch.bool, device=padding.device)
        future = torch.ones(width, width, dtype=torch.bool, device=padding.device).triu(1)
        blocked = future | (padding[:, None, :] & ~own)
        return blocked.repeat_interleave(self.config.heads, dim=0)

    def encode(self, histories: Tensor) -> Tensor:
        """``[B, L, dim]`` representations of right-aligned ``histories`` [B, L] (-1 = padding), L <= max_len.

        Position t only sees items at positions <= t.
        """
        width = histories.shape[1]
        if width > self.config.max_len:
            raise ValueError(f"history width {width} exceeds max_len {self.config.max_len}")
        padding = histories < 0
        items = self.item_embedding(histories.masked_fill(padding, self.config.n_items))
        recency = torch.arange(width - 1, -1, -1, device=histories.device)
        hidden = self.dropout(items + self.position_embedding(recency))
        return self.encoder(hidden, mask=self._attention_mask(padding))

    def forward(self, histories: Tensor) -> Tensor:
        """``[B, dim]``: the representation at the last (most recent) position."""
        return self.encode(histories)[:, -1]
