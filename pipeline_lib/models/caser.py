"""Caser (Tang & Wang 2018): horizontal and vertical convolutions over the embeddings of the last L items.

§3.1: the ``L × d`` matrix E of the last ``L`` items' embeddings (a history shorter than L is
left-padded with a zero row; the authors pad with a trainable item 0, RecBole right-pads). §3.2: for
every height h = 1 … L, ``n_h`` horizontal filters h × d with ReLU, each max-pooled over its L − h + 1 positions; ``n_v`` vertical filters L × 1
(no activation). §3.3: the concatenation [o; õ] (L·n_h + n_v·d values), dropout, then
z = ReLU(W [o; õ] + b), and item i scores z · W'_i + b'_i with a separate output item table W' and
bias b' (trained here by the shared softmax cross-entropy, as RecBole's ``loss_type: CE``).

Deviation: the user embedding P_u that the paper concatenates to z is left out, so Caser is a pure
sequence model like the other baselines (the shared interface passes histories only); W' is d-wide
accordingly. Only the last L items matter: older history is never read.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pipeline_lib.models.config import CaserConfig


class Caser(nn.Module):
    def __init__(self, config: CaserConfig):
        super().__init__()
        self.config = config
        d, window = config.dim, config.L
        self.item_embedding = nn.Embedding(config.n_items + 1, d, padding_idx=config.n_items)
        self.horizontal = nn.ModuleList(nn.Conv2d(1, config.n_h, (h, d)) for h in range(1, window + 1))
        self.vertical = nn.Conv2d(1, config.n_v, (window, 1))
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(window * config.n_h + config.n_v * d, d)
        self.output_embedding = nn.Embedding(config.n_items, d)  # W'
        self.output_bias = nn.Parameter(torch.zeros(config.n_items))  # b'
        for table in (self.item_embedding, self.output_embedding):  # N(0, 1/d), as RecBole
            nn.init.normal_(table.weight, std=1.0 / d)
        with torch.no_grad():
            self.item_embedding.weight[config.n_items].zero_()

    def item_embeddings(self) -> Tensor:
        """The ``[n_items, dim]`` output item table W' (the scoring weights; the input table is separate)."""
        return self.output_embedding.weight

    def window(self, histories: Tensor) -> Tensor:
        """``[B, L]``: the last L columns of right-aligned ``histories`` [B, W], left-padded with -1 if W < L."""
        window = self.config.L
        return F.pad(histories, (max(window - histories.shape[1], 0), 0), value=-1)[:, -window:]

    def forward(self, histories: Tensor) -> Tensor:
        """``[B, dim]``: z of §3.3 for right-aligned ``histories`` [B, W] (-1 = padding); scores = z · W'^T + b'."""
        items = self.window(histories)
        embedded = self.item_embedding(items.masked_fill(items < 0, self.config.n_items))[:, None]  # [B, 1, L, d]
        pooled = [F.relu(conv(embedded)).squeeze(3).amax(dim=2) for conv in self.horizontal]  # L × [B, n_h]
        vertical = self.vertical(embedded).flatten(1)  # [B, n_v * d]
        return F.relu(self.fc(self.dropout(torch.cat([*pooled, vertical], dim=1))))
