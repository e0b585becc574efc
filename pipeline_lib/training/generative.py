"""Training the generative recommender (TIGER / DECOR variants) on device-resident samples.

The whole training set lives on the device; a step indexes it with a batch of sample ids, so no
per-sample Python runs. Under ``accelerate`` each rank trains on its slice of every global batch
and the gradients are summed over the ranks (``pipeline_lib.distributed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup

from pipeline_lib.data.samples import (
    Samples,
    bucketed_batches,
    evaluation_samples,
    history_lengths,
    prefix_samples,
)
from pipeline_lib.data.split import SplitData
from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.device import autocast
from pipeline_lib.distributed import Distributed
from pipeline_lib.evaluation import DecodeConfig, composition_diagnostics, flat_diagnostics, rank_generative
from pipeline_lib.metrics import ranking_metrics
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.models.hf_t5 import HFTiger
from pipeline_lib.models.variants import variant_config
from pipeline_lib.params import DatasetSpec, bos_query_count, composition_alpha, stage_section
from pipeline_lib.tokenizer.vocab import SemanticVocab, history_tokens
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.diagnostics import StepDiagnostics
from pipeline_lib.training.loop import LoopConfig, LoopResult, fit
from pipeline_lib.training.weight_decay import param_groups


@dataclass(frozen=True)
class TrainData:
    """Everything training touches, already on the device."""

    train: Samples
    valid: Samples
    item_tokens: torch.Tensor  # [n_items + 1, levels]; the last row (item -1) is padding
    trie: SemanticIdTrie


class GenerativeTrainer:
    """AdamW (fused on CUDA) with warmup + cosine decay, gradient clipping, optional ``torch.compile``.

    ``batches(epoch)`` are the global batches (sample indices) of an epoch, drawn from the seed
    alone, so every process count sees the same ones; ``inputs`` cuts this rank's slice of one and
    ``update`` takes one optimisation step on it.
    """

    def __init__(
        self,
        model: GenerativeRecommender | HFTiger,
        data: TrainData,
        optim: OptimConfig,
        seed: int,
        dist: Distributed | None = None,
    ):
        self.model, self.data, self.optim, self.seed = model, data, optim, seed
        self.device = data.item_tokens.device
        self.dist = Distributed(self.device) if dist is None else dist
        self.dist.broadcast_module(model)
        self.n_batches = -(-len(data.train) // optim.batch_size)
        groups = param_groups(model, optim.weight_decay, model.config.weight_decay_exclude)
        self.optimizer = torch.optim.AdamW(
            groups, lr=optim.lr, weight_decay=optim.weight_decay, fused=self.device.type == "cuda"
        )
        self.scheduler = get_cosine_schedule_with_warmup(
            self.optimizer, optim.warmup(self.n_batches), optim.max_epochs * self.n_batches
        )
        self.lengths = history_lengths(data.train.histories)
        self.loss = compiled_loss(model.loss, optim)
        self.on_step: Callable[[int], None] | None = None  # called with the optimiser steps done after each step

    def batches(self, epoch: int) -> list[torch.Tensor]:
        """The epoch's global batches of training-sample indices (CPU), bucketed by history length."""
        generator = torch.Generator().manual_seed(self.seed + epoch)
        return [index for index, _ in bucketed_batches(self.lengths, self.optim.batch_size, generator)]

    def inputs(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
        """This rank's encoder tokens and target tokens of a global batch, and its loss weight."""
        part, weight = self.dist.shard(index)
        width = max(int(self.lengths[part].max()), 1)
        batch = self.data.train.select(part.to(self.device))
        histories = history_tokens(self.data.item_tokens, batch.histories[:, -width:])
        return histories, self.data.item_tokens[batch.targets], weight

    def update(self, histories: torch.Tensor, targets: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        """One AdamW step on ``weight`` × the loss (eq. 1) summed over the ranks; returns the weighted loss."""
        if self.optim.cuda_graphs:  # the last step's graph outputs (its loss, already summed) may be overwritten
            torch.compiler.cudagraph_mark_step_begin()
        with autocast(self.device, self.optim.bf16):
            loss = self.loss(histories, targets) * weight
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.dist.sum_gradients(self.model)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.optim.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach()

    def run_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training samples: mean loss over the global batches, and the last learning rate."""
        self.model.train()
        total = torch.zeros((), device=self.device)
        for index in tqdm(self.batches(epoch), desc=f"epoch {epoch}", leave=False, disable=not self.dist.is_main):
            total += self.update(*self.inputs(index))
            if self.on_step is not None:
                self.on_step(self.scheduler.last_epoch)
        if self.dist.world_size > 1 and "composition.context_mean" in self.model.state_dict():
            # each rank's running mean of u saw only its shards: average them, so the replicas stay identical
            mean = self.model.composition.context_mean
            mean.copy_(self.dist.sum(mean) / self.dist.world_size)
        return {"train_loss": float(self.dist.sum(total)) / self.n_batches, "lr": self.scheduler.get_last_lr()[0]}


def compiled_loss(loss: Callable[..., torch.Tensor], optim: OptimConfig) -> Callable[..., torch.Tensor]:
    """``loss`` itself, or ``torch.compile``d (dynamic shapes: one graph serves every bucket width) when
    ``optim.compile``; with ``optim.cuda_graphs`` in mode ``reduce-overhead``, which on a CUDA device records
    one CUDA graph per distinct (batch, width) shape of the length buckets and replays it (on a CPU the mode
    compiles as ``compile`` does)."""
    if optim.compile or optim.cuda_graphs:
        import torch._inductor.config as inductor_config

        inductor_config.deterministic = torch.are_deterministic_algorithms_enabled()  # as use_deterministic_algorithms sets it
    if optim.cuda_graphs:
        return torch.compile(loss, mode="reduce-overhead", dynamic=True)
    return torch.compile(loss, dynamic=True) if optim.compile else loss


def train_generative(
    model: GenerativeRecommender | HFTiger,
    data: TrainData,
    optim: OptimConfig,
    decode: DecodeConfig,
    seed: int,
    checkpoint: Path,
    fingerprint: str,
    curve_path: Path,
    steps_path: Path,
    dist: Distributed | None = None,
) -> LoopResult:
    """Train with early stopping on validation NDCG@10 by constrained beam search (sharded over ``dist``'s ranks).

    ``checkpoint`` is resumed only if it holds ``fingerprint``, the run's identity (:func:`resume_settings`
    and the inputs, by ``pipeline_lib.training.fingerprint.run_fingerprint``). With composition, each
    validation also adds the composition diagnostics on the validation contexts (``comp_<site>_<statistic>``,
    see ``composition_diagnostics``); ``optim.diagnostics_every`` > 0 logs them every that many optimiser
    steps to ``steps_path`` (main process; not part of the run's fingerprint). ``optim.time_budget_s``
    stops training after the first validation that ends past that many seconds (``LoopResult.stopped_by``).
    """
    trainer = GenerativeTrainer(model, data, optim, seed, dist)
    valid = (data.valid.histories, data.valid.targets, data.item_tokens)

    def validate() -> dict[str, float]:
        ranked = rank_generative(model, data.valid.histories, data.item_tokens, data.trie, decode, optim.bf16, dist)
        metrics = ranking_metrics(ranked, data.valid.targets, decode.ks)
        if model.composition is not None:
            metrics |= flat_diagnostics(composition_diagnostics(model, *valid, decode.batch_size))
        return metrics

    if optim.diagnostics_every and model.composition is not None and trainer.dist.is_main:
        every = optim.diagnostics_every
        trainer.on_step = StepDiagnostics(model, *valid, every, steps_path, decode.batch_size)

    def agree(spent: bool) -> bool:  # every rank stops when any rank's clock is past the budget
        return bool(trainer.dist.sum(torch.tensor(float(spent), device=trainer.device)) > 0)

    loop = LoopConfig(optim.max_epochs, optim.patience, optim.eval_every, "ndcg@10", optim.time_budget_s)
    stateful = {"optimizer": trainer.optimizer, "scheduler": trainer.scheduler}
    return fit(loop, {"model": model}, stateful, trainer.run_epoch, validate, checkpoint, fingerprint, curve_path,
               main_process=trainer.dist.is_main, agree=agree)


def resume_settings(optim: OptimConfig) -> dict[str, Any]:
    """The ``train`` settings a run's identity includes: all but ``compile``, ``cuda_graphs``,
    ``diagnostics_every`` and ``time_budget_s``, which change how the run is computed, observed or how long
    this process may run, not what each epoch computes, so an interrupted run resumes with or without them."""
    computed = ("compile", "cuda_graphs", "diagnostics_every", "time_budget_s")
    return {k: v for k, v in asdict(optim).items() if k not in computed}


def generative_data(
    split: SplitData, sids: torch.Tensor, codebook_size: int, max_len: int, device: torch.device
) -> tuple[TrainData, Samples]:
    """Training prefixes, validation and test samples, item token table and trie, all on ``device``."""
    vocab = SemanticVocab(levels=sids.shape[1], codebook_size=codebook_size)
    data = TrainData(
        train=prefix_samples(split.train, max_len).to(device),
        valid=evaluation_samples(split.valid, max_len).to(device),
        item_tokens=vocab.item_token_table(sids).to(device),
        trie=SemanticIdTrie.from_semantic_ids(sids, vocab.codebook_size).to(device),
    )
    return data, evaluation_samples(split.test, max_len).to(device)


def dataset_variant_config(
    variant: str, params: dict[str, Any], spec: DatasetSpec, codebooks: torch.Tensor
) -> GenRecConfig:
    """The variant as params.yaml sets it for one dataset: the ``model`` section with the dataset's
    overrides, α and N from the top level or Table 5, and the tokenizer's codebook shape [L, K, d]."""
    return variant_config(
        variant,
        stage_section(params, spec, "model"),
        composition_alpha(params, spec),
        bos_query_count(params, spec),
        code_dim=codebooks.shape[2],
        codebook_size=codebooks.shape[1],
    )
