"""S³Rec's pre-training phase: masked and segmented copies of the training sequences, and the loop
that fits the four self-supervised objectives before the shared fine-tuning loop (``train_sequential``).

Pre-training instances are S³Rec's: every prefix ``s[:i+1]`` of each training sequence (cut to
``max_len``), i.e. each fine-tuning sample's history followed by its target. Masking, negative
items and segments are drawn afresh for every batch from one seeded CPU generator.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from pipeline_lib.data.samples import Samples
from pipeline_lib.loss_terms import LossTermLog
from pipeline_lib.models.s3rec import PretrainBatch, S3Rec
from pipeline_lib.training.config import BaselineConfig


def pretraining_sequences(train: Samples) -> Tensor:
    """``[N, L]`` on the CPU: each training prefix with its next item appended, the oldest column dropped."""
    return torch.cat([train.histories[:, 1:], train.targets[:, None]], dim=1).cpu()


def pretrain_batch(
    sequences: Tensor, n_items: int, mask_ratio: float, generator: torch.Generator, mask_last: bool
) -> PretrainBatch:
    """MIP/MAP masking (each real position with probability ``mask_ratio``, and with ``mask_last`` always the
    last one, as the authors' loader does; a uniform other item as its negative) and one segment per row of >= 2 items (length uniform in 1 … len // 2, start uniform),
    whose negative is the same-length run starting uniformly in the batch's concatenated items.
    ``sequences`` [B, L] on the CPU, right-aligned, -1 = padding; [MASK] = ``n_items + 1``."""
    if n_items < 2:
        raise ValueError("S3Rec pre-training needs at least 2 items (one to mask, one negative)")
    rows, width = sequences.shape
    mask_token, real = n_items + 1, sequences >= 0
    lengths = real.sum(dim=1)
    masked_positions = (torch.rand(rows, width, generator=generator) < mask_ratio) & real
    if mask_last:
        masked_positions[:, -1] = real[:, -1]
    offsets = torch.randint(1, n_items, (rows, width), generator=generator)
    negatives = (sequences.clamp(min=0) + offsets) % n_items

    has_segment = lengths >= 2
    span = 1 + (torch.rand(rows, generator=generator) * (lengths // 2).clamp(min=1)).long()
    start = width - lengths + (torch.rand(rows, generator=generator) * (lengths - span + 1).clamp(min=1)).long()
    columns = torch.arange(width)[None, :]
    in_segment = (columns >= start[:, None]) & (columns < (start + span)[:, None]) & has_segment[:, None]
    elsewhere = torch.where(real, mask_token, -1)
    flat = sequences[real]
    other_start = (torch.rand(rows, generator=generator) * (len(flat) - span + 1).clamp(min=1)).long()
    other = flat[(other_start[:, None] + columns - start[:, None]).clamp(0, max(len(flat) - 1, 0))]
    return PretrainBatch(
        sequences=sequences,
        masked=sequences.masked_fill(masked_positions, mask_token),
        negatives=negatives,
        segment_context=sequences.masked_fill(in_segment, mask_token),
        positive_segment=torch.where(in_segment, sequences, elsewhere),
        negative_segment=torch.where(in_segment, other, elsewhere),
        has_segment=has_segment,
    )


def pretrain_s3rec(model: S3Rec, sequences: Tensor, optim: BaselineConfig, seed: int) -> dict[str, Any]:
    """``model.config.pretrain_epochs`` epochs of AdamW at ``model.config.pretrain_lr`` (the shared ``baselines``
    weight decay; batches of ``model.config.pretrain_batch_size``, else the shared batch size) on the weighted sum
    of the four objectives. Returns ``{"epochs": n, "loss_terms": …}``: each objective's mean per sequence, raw and
    weighted, at the first and the last epoch (:class:`pipeline_lib.loss_terms.LossTermLog`; no ``loss_terms``
    when ``n`` is 0)."""
    device = next(model.parameters()).device
    config = model.config
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.pretrain_lr, weight_decay=optim.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    terms_log = LossTermLog(config.weights())
    for epoch in range(config.pretrain_epochs):
        model.train()
        batches = torch.randperm(len(sequences), generator=generator).split(config.pretrain_batch_size or optim.batch_size)
        for index in tqdm(batches, desc=f"pretrain {epoch}", leave=False):
            batch = pretrain_batch(
                sequences[index], config.n_items, config.mask_ratio, generator, config.mask_last
            ).to(device)
            loss, parts = model.pretrain_loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            terms_log.add(parts, len(index))
        terms_log.end_epoch()
    return {"epochs": terms_log.epochs, **({"loss_terms": terms_log.record()} if terms_log.epochs else {})}
