"""GRU4Rec (Hidasi et al. 2016) in RecBole's next-item form (what ETEGRec ran; the authors' code trains
session-parallel with sampled softmax and Adagrad instead).

Item embedding → dropout → GRU → linear projection of the state after the most recent item back to
the embedding size; item scores are that projection dotted with the (tied) item embedding table.
Right-aligned histories are shifted to the left edge before the GRU, so the recurrence starts at the
first real item and the padding never enters the state that is read out.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pipeline_lib.models.config import GRU4RecConfig


class GRU4Rec(nn.Module):
    def __init__(self, config: GRU4RecConfig):
        super().__init__()
        self.config = config
        self.item_embedding = nn.Embedding(config.n_items + 1, config.embedding_dim, padding_idx=config.n_items)
        self.dropout = nn.Dropout(config.dropout)
        self.gru = nn.GRU(config.embedding_dim, config.hidden_size, config.layers, batch_first=True)
        self.projection = nn.Linear(config.hidden_size, config.embedding_dim)
        nn.init.xavier_normal_(self.item_embedding.weight)
        with torch.no_grad():
            self.item_embedding.weight[config.n_items].zero_()

    def item_embeddings(self) -> Tensor:
        """The ``[n_items, embedding_dim]`` item table (the padding row left out), also the scoring weights."""
        return self.item_embedding.weight[:-1]

    def forward(self, histories: Tensor) -> Tensor:
        """``[B, embedding_dim]`` for right-aligned ``histories`` [B, L] (-1 = padding on the left).

        Row r is rotated so its items start at column 0; the GRU output at column ``length - 1`` has
        seen exactly those items (an empty history reads the state after one padding step).
        """
        width = histories.shape[1]
        lengths = (histories >= 0).sum(dim=1).clamp(min=1)
        columns = torch.arange(width, device=histories.device)
        left_aligned = histories.gather(1, (columns[None, :] + width - lengths[:, None]) % width)
        items = self.item_embedding(left_aligned.masked_fill(left_aligned < 0, self.config.n_items))
        states, _ = self.gru(self.dropout(items))
        last = states[torch.arange(histories.shape[0], device=histories.device), lengths - 1]
        return self.projection(last)
