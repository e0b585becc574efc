"""The tokenizer's DVC metrics: reconstruction error, collisions and per-level code utilisation."""

from __future__ import annotations

import torch
from torch import Tensor

from pipeline_lib.tokenizer.rqvae import RQVAE
from pipeline_lib.tokenizer.semantic_ids import collision_stats, utilization


@torch.no_grad()
def reconstruction_mse(model: RQVAE, x: Tensor, batch_size: int = 8192) -> float:
    """Mean over items and dimensions of ``(x − x̃)²`` with x̃ decoded from the quantized latents (eq. 5, 7)."""
    total = sum(float((xb - model(xb).recon).pow(2).sum()) for xb in x.split(batch_size))
    return total / x.numel()


def tokenizer_metrics(model: RQVAE, x: Tensor, codes: Tensor) -> dict[str, float | int]:
    """``n_items``, ``recon_mse``, ``collision_rate``, ``max_collision_group``, ``utilization_l1`` … ``_lL``."""
    metrics: dict[str, float | int] = {"n_items": x.shape[0], "recon_mse": reconstruction_mse(model, x)}
    metrics.update(collision_stats(codes))
    for level, used in enumerate(utilization(codes, model.config.codebook_size), start=1):
        metrics[f"utilization_l{level}"] = used
    return metrics
