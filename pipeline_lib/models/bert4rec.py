"""BERT4Rec (Sun et al. 2019): bidirectional self-attention over the item history, trained by the cloze task.

Post-LN Transformer blocks with GELU feed-forward layers (§3.3, as BERT and RecBole:
:func:`~pipeline_lib.models.encoder_blocks.post_ln_encoder`, LayerNorm eps 1e-12, linear layers N(0, 0.02)) over
item + learned position embeddings (§3.4), LayerNorm'd and dropped out. Positions are counted from the most
recent slot (position 0 = the last one), as in our SASRec, so every real position's output is the
same whatever left padding its row carries; padding is never attended to. The output layer is the
paper's eq. 7 (§3.5): P(v) = softmax(GELU(h W^P + b^P) E^T + b^O), E the (tied) item embedding table, with a
LayerNorm after the GELU as in the authors' code and RecBole.

Training (§3.6): each (history, target) prefix sample becomes the sequence ``history + [target]``;
each real item is replaced by the [MASK] token with probability ``mask_prob`` and the model predicts
the original items at the masked positions (cross-entropy over all items). With probability
``last_only_prob`` a sample instead masks only its last item (the paper's samples that "only mask the
last item", RecBole's ``ft_ratio``), and a sample whose draw masked nothing also masks its last item,
so no sample is wasted. Prediction (§3.6): [MASK] appended after the history; its output scores the
next item.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pipeline_lib.models.config import BERT4RecConfig
from pipeline_lib.models.encoder_blocks import LAYER_NORM_EPS, init_linear_weights_, post_ln_encoder


class BERT4Rec(nn.Module):
    def __init__(self, config: BERT4RecConfig):
        super().__init__()
        self.config = config
        self.pad_token, self.mask_token = config.n_items, config.n_items + 1
        self.item_embedding = nn.Embedding(config.n_items + 2, config.dim, padding_idx=self.pad_token)
        self.position_embedding = nn.Embedding(config.max_len + 1, config.dim)  # the history + one [MASK]/target
        self.input_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = post_ln_encoder(config.dim, config.heads, config.ffn_dim, config.blocks, config.dropout)
        self.projection = nn.Linear(config.dim, config.dim)  # W^P, b^P of eq. 7
        self.head_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)  # the authors' and RecBole's, not in eq. 7
        self.output_bias = nn.Parameter(torch.zeros(config.n_items))  # b^O of eq. 7
        init_linear_weights_(self)
        for table in (self.item_embedding, self.position_embedding):
            nn.init.normal_(table.weight, std=0.02)
        with torch.no_grad():
            self.item_embedding.weight[self.pad_token].zero_()

    def item_embeddings(self) -> Tensor:
        """The ``[n_items, dim]`` item table E (padding and [MASK] rows left out), the tied scoring weights."""
        return self.item_embedding.weight[: self.config.n_items]

    def encode(self, tokens: Tensor) -> Tensor:
        """``[B, W, dim]`` for right-aligned ``tokens`` [B, W] (items, ``mask_token``, -1 = padding), W <= max_len + 1.

        Attention is bidirectional over the real positions; padding positions are keys nobody reads.
        """
        width = tokens.shape[1]
        if width > self.config.max_len + 1:
            raise ValueError(f"sequence width {width} exceeds max_len + 1 = {self.config.max_len + 1}")
        padding = tokens < 0
        items = self.item_embedding(tokens.masked_fill(padding, self.pad_token))
        recency = torch.arange(width - 1, -1, -1, device=tokens.device)
        hidden = self.dropout(self.input_norm(items + self.position_embedding(recency)))
        return self.encoder(hidden, src_key_padding_mask=padding)

    def head(self, hidden: Tensor) -> Tensor:
        """LayerNorm(GELU(h W^P + b^P)), eq. 7's projection with the LayerNorm the authors' code and RecBole apply:
        ``[..., dim]`` → ``[..., dim]``, to be dotted with E."""
        return self.head_norm(F.gelu(self.projection(hidden)))

    def forward(self, histories: Tensor) -> Tensor:
        """``[B, dim]``: the output-layer vector at a [MASK] appended after ``histories`` [B, L] (L <= max_len).

        Item scores are this · E^T + ``output_bias``.
        """
        mask = torch.full_like(histories[:, :1], self.mask_token)
        return self.head(self.encode(torch.cat([histories, mask], dim=1))[:, -1])

    def cloze_mask(self, sequences: Tensor) -> Tensor:
        """``[B, W]`` bool, True = replaced by [MASK], for right-aligned ``sequences`` whose last column is real.

        Real items are masked independently with ``mask_prob``; a row drawn as last-only (``last_only_prob``)
        or left with nothing masked masks its last item alone. Draws from the global RNG on the device.
        """
        real = sequences >= 0
        masked = (torch.rand(sequences.shape, device=sequences.device) < self.config.mask_prob) & real
        last_only = torch.rand(sequences.shape[0], device=sequences.device) < self.config.last_only_prob
        last_only |= ~masked.any(dim=1)
        masked[last_only] = False
        masked[last_only, -1] = True
        return masked

    def training_loss(self, histories: Tensor, targets: Tensor) -> Tensor:
        """Cloze loss (§3.6, eq. 8) of the sequences ``histories`` [B, L] + ``targets`` [B]: mean over
        the masked positions of −log P(original item), P the softmax of eq. 7 over all items."""
        sequences = torch.cat([histories, targets[:, None]], dim=1)
        masked = self.cloze_mask(sequences)
        hidden = self.encode(sequences.masked_fill(masked, self.mask_token))[masked]  # [M, dim]
        scores = self.head(hidden) @ self.item_embeddings().T + self.output_bias
        return F.cross_entropy(scores, sequences[masked])
