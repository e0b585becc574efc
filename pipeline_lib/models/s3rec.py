"""S³Rec (Zhou et al., CIKM 2020): self-supervised pre-training of a Transformer by mutual-information
maximisation between items, attributes, segments and sequences, then next-item fine-tuning (as RecBole).

One encoder (item embedding + position → LayerNorm → dropout → post-LN Transformer) runs
bidirectionally in pre-training and causally in fine-tuning. Each pre-training objective scores a
pair by ``f(x, y) = (W x) · y`` with its own ``W`` (paper §3.3):

- AAP, associated attribute prediction: each unmasked position's output against every attribute,
  binary cross-entropy with the item's own attributes as positives (RecBole's multi-label form);
- MIP, masked item prediction: each masked position's output, the true item against one sampled
  item, pairwise −log σ(σ(f⁺) − σ(f⁻)) (the authors' and RecBole's form);
- MAP, masked attribute prediction: as AAP, at the masked positions (their items' attributes);
- SP, segment prediction: the last output of the sequence whose segment is masked, against the
  segment encoded alone (true) and a same-length segment from elsewhere in the batch, pairwise.

Every loss is summed over the batch's positions or rows as in the references (here divided by the batch size), and
weighted AAP 0.2, MIP 1, MAP 1, SP 0.5 (the authors' ``run_pretrain.py`` and RecBole's ``S3Rec.yaml`` since 2024).
Pre-training always masks each instance's last item for MIP/MAP (the authors' data loader; ``mask_last``).

Fine-tuning (paper §3.4) is SASRec's task: the last position's causal output scored against the
item table (full-softmax CE in the shared loop). Item rows: 0…n−1 items, n = padding, n + 1 = [MASK].
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pipeline_lib.loss_terms import weighted_sum
from pipeline_lib.models.config import S3REC_OBJECTIVES as OBJECTIVES
from pipeline_lib.models.config import S3RecConfig
from pipeline_lib.models.encoder_blocks import (
    LAYER_NORM_EPS,
    attention_mask,
    init_linear_weights_,
    padded_attribute_rows,
    post_ln_encoder,
    recency_positions,
)


@dataclass(frozen=True)
class PretrainBatch:
    """One pre-training batch; every ``[B, L]`` tensor is right-aligned, -1 = padding, ``mask_token`` = [MASK]."""

    sequences: Tensor  # [B, L] the original items
    masked: Tensor  # [B, L] sequences with the MIP/MAP positions replaced by [MASK]
    negatives: Tensor  # [B, L] a sampled item at each masked position (ignored elsewhere)
    segment_context: Tensor  # [B, L] sequences with one segment replaced by [MASK]
    positive_segment: Tensor  # [B, L] that segment in place, every other real position [MASK]
    negative_segment: Tensor  # [B, L] a same-length segment from the batch in its place, others [MASK]
    has_segment: Tensor  # [B] bool: the row has >= 2 items, so a segment was cut

    def to(self, device: torch.device | str) -> PretrainBatch:
        return PretrainBatch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


class S3Rec(nn.Module):
    def __init__(self, config: S3RecConfig, item_attributes: Tensor):
        """``item_attributes`` [n_items, W]: attribute ids 1…n_attributes per item, 0 = padding."""
        super().__init__()
        self.config = config
        dim = config.dim
        rows = padded_attribute_rows(item_attributes, config.n_items, config.n_attributes, extra_rows=2)
        self.register_buffer("item_attributes", rows)  # rows n_items, n_items + 1: padding, [MASK]
        self.item_embedding = nn.Embedding(config.n_items + 2, dim, padding_idx=config.n_items)
        self.attribute_embedding = nn.Embedding(config.n_attributes + 1, dim, padding_idx=0)
        self.position_embedding = nn.Embedding(config.max_len, dim)
        self.input_norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = post_ln_encoder(dim, config.heads, config.ffn_dim, config.blocks, config.dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(dim, dim) for name in OBJECTIVES})
        init_linear_weights_(self)
        for table in (self.item_embedding, self.attribute_embedding, self.position_embedding):
            nn.init.normal_(table.weight, std=0.02)
        with torch.no_grad():
            self.item_embedding.weight[config.n_items].zero_()
            self.attribute_embedding.weight[0].zero_()

    @property
    def mask_token(self) -> int:
        return self.config.n_items + 1

    def item_embeddings(self) -> Tensor:
        """The ``[n_items, dim]`` item table (padding and [MASK] rows left out): the scoring weights."""
        return self.item_embedding.weight[: self.config.n_items]

    def encode(self, tokens: Tensor, causal: bool = True) -> Tensor:
        """``[B, L, dim]`` for right-aligned ``tokens`` [B, L] (-1 = padding, ``mask_token`` = [MASK]).

        ``causal``: position t sees positions <= t (fine-tuning); else every real position (pre-training).
        """
        width = tokens.shape[1]
        if width > self.config.max_len:
            raise ValueError(f"history width {width} exceeds max_len {self.config.max_len}")
        padding = tokens < 0
        items = self.item_embedding(tokens.masked_fill(padding, self.config.n_items))
        hidden = self.dropout(self.input_norm(items + self.position_embedding(recency_positions(width, tokens.device))))
        return self.encoder(hidden, mask=attention_mask(padding, self.config.heads, causal))

    def forward(self, histories: Tensor) -> Tensor:
        """``[B, dim]``: the causal representation at the last (most recent) position."""
        return self.encode(histories, causal=True)[:, -1]

    def _attribute_loss(self, head: str, outputs: Tensor, items: Tensor, where: Tensor) -> Tensor:
        """Multi-label BCE of ``outputs`` [B, L, dim] against every attribute, positives = the attributes of
        ``items`` [B, L]; summed over attributes and the positions in ``where`` [B, L], divided by B."""
        logits = self.heads[head](outputs[where]) @ self.attribute_embedding.weight[1:].T  # [P, n_attributes]
        labels = torch.zeros(logits.shape[0], self.config.n_attributes + 1, device=logits.device)
        labels.scatter_(1, self.item_attributes[items[where]], 1.0)
        return F.binary_cross_entropy_with_logits(logits, labels[:, 1:], reduction="sum") / where.shape[0]

    def pretrain_losses(self, batch: PretrainBatch) -> dict[str, Tensor]:
        """The four unweighted objectives (paper §3.3) as the authors and RecBole reduce them: summed over the
        batch's positions (AAP, MIP, MAP) or rows (SP), here divided by the batch size B (one scale for all four,
        so their weights balance them as in the references); the pairwise ones on sigmoid scores,
        −log σ(σ(f⁺) − σ(f⁻))."""
        real = batch.sequences >= 0
        masked = batch.masked == self.mask_token
        items = batch.sequences.masked_fill(~real, self.config.n_items)
        outputs = self.encode(batch.masked, causal=False)
        mip = self.heads["mip"](outputs[masked])
        table = self.item_embedding.weight
        margin = _sigmoid_margin(mip, table[items[masked]], table[batch.negatives[masked]])
        sp_rows = batch.has_segment
        context = self.heads["sp"](self.encode(batch.segment_context[sp_rows], causal=False)[:, -1])
        positive = self.encode(batch.positive_segment[sp_rows], causal=False)[:, -1]
        negative = self.encode(batch.negative_segment[sp_rows], causal=False)[:, -1]
        sp_margin = _sigmoid_margin(context, positive, negative)
        rows = batch.sequences.shape[0]
        return {
            "aap": self._attribute_loss("aap", outputs, items, real & ~masked),
            "mip": F.softplus(-margin).sum() / rows,
            "map": self._attribute_loss("map", outputs, items, masked),
            "sp": F.softplus(-sp_margin).sum() / rows,
        }

    def pretrain_loss(self, batch: PretrainBatch) -> tuple[Tensor, dict[str, Tensor]]:
        """Σ weight · objective (the authors' and RecBole's weights), and the objectives themselves."""
        losses = self.pretrain_losses(batch)
        return weighted_sum(losses, self.config.weights()), losses


def _sigmoid_margin(query: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
    """σ(f⁺) − σ(f⁻) with f = query · key per row ([N, dim] each → [N]): the S³-Rec authors' and RecBole's pairwise
    score, whose −log σ is MIP's and SP's loss."""
    return torch.sigmoid((query * positive).sum(dim=-1)) - torch.sigmoid((query * negative).sum(dim=-1))
