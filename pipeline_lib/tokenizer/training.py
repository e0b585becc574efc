"""Training the RQ-VAE on a whole item-embedding matrix held on the device, batches drawn by index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from pipeline_lib.loss_terms import LossTermLog, weighted_sum
from pipeline_lib.tokenizer.codebooks import kmeans_init, reseed_dead_codes
from pipeline_lib.tokenizer.config import RQVAEConfig, TrainConfig
from pipeline_lib.tokenizer.objectives import Objective
from pipeline_lib.tokenizer.rqvae import RQVAE


@dataclass
class TrainHistory:
    """Per-epoch means over items of the loss, per-level code usage, and each term of the objective at the first
    and the last epoch (:meth:`pipeline_lib.loss_terms.LossTermLog.record`)."""

    loss: list[float] = field(default_factory=list)
    usage: list[list[float]] = field(default_factory=list)  # fraction of the K codes chosen in the epoch
    reseeded: int = 0  # codes moved by dead-code re-seeding, over the whole run
    loss_terms: dict[str, Any] = field(default_factory=dict)


def new_rqvae(config: RQVAEConfig, seed: int, device: torch.device) -> RQVAE:
    """A freshly initialised RQ-VAE; the same seed gives the same weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RQVAE(config)
    return model.to(device)


def train_rqvae(
    model: RQVAE, x: Tensor, config: TrainConfig, seed: int, progress: bool = True, objective: Objective | None = None
) -> TrainHistory:
    """Minimise ``objective`` (default L_SQ, eq. 6–8; LETTER's or CoST's, :mod:`.objectives`) with AdamW
    over shuffled mini-batches of ``x`` [n, D] (on the model's device).

    Deterministic for a fixed seed on a given device: the shuffling and re-seeding draw from a
    generator seeded with ``seed`` and k-means uses ``seed`` as its random state.
    """
    n = x.shape[0]
    levels, size = model.config.levels, model.config.codebook_size
    objective = objective or Objective()
    generator = torch.Generator().manual_seed(seed)
    parameters = [*model.parameters(), *objective.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    history = TrainHistory()
    weights = objective.weights
    terms_log = LossTermLog(weights)
    window_used = torch.zeros(levels, size, dtype=torch.bool, device=x.device)
    bar = tqdm(range(config.epochs), desc="rq-vae", unit="epoch", disable=not progress, mininterval=1.0)
    for epoch in bar:
        order = torch.randperm(n, generator=generator).to(x.device)
        if epoch == 0 and config.kmeans_init:
            kmeans_init(model, x[order[: max(config.batch_size, size)]], seed)
        objective.start_epoch(model, epoch)
        used = torch.zeros_like(window_used)
        for batch in order.split(config.batch_size):
            xb = x[batch]
            terms, out = objective(model, xb, batch)
            total = weighted_sum(terms, weights)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            terms_log.add(terms, len(batch))
            used.scatter_(1, out.quant.codes.T, True)
        mean_loss = terms_log.end_epoch()["total"]
        window_used |= used
        usage = (used.sum(1) / size).tolist()
        history.loss.append(mean_loss)
        history.usage.append(usage)
        window = config.dead_code_window
        if window and (epoch + 1) % window == 0 and epoch + 1 < config.epochs:
            history.reseeded += reseed_dead_codes(model, x, window_used, generator)
            window_used.zero_()
        bar.set_postfix(loss=f"{mean_loss:.4f}", usage="/".join(f"{u:.0%}" for u in usage), refresh=False)
    history.loss_terms = terms_log.record()
    return history
