"""Training ETEGRec: RQ-VAE pretraining, alternating optimisation of tokenizer and recommender (3.4), then
fine-tuning of the recommender alone (the authors' final stage).

Epochs come in cycles of C: the first epoch of a cycle trains the tokenizer on eq. 17 with the
recommender frozen, the other C − 1 train the recommender on eq. 18 with the tokenizer frozen.
After every epoch that trained the tokenizer, every item is re-tokenized (with TIGER's collision
token) and the prefix trie is rebuilt. Validation runs at cycle ends only (every ⌈E / C⌉ cycles for
an interval of E epochs, and the epoch cap rounded down to whole cycles), so the recommender is always scored
after it has trained on the current tokens. μ and λ are 0 for the first ``alignment_warmup_epochs`` epochs. Two ablation schedules:
``joint`` (Table 4's "w/o AT": every epoch trains both components on the sum of all losses, tokens
re-derived after each epoch) and ``frozen`` (the pretrained tokenizer and its tokens are kept throughout).

From the alternation's best weights, the fine-tuning trains the recommender on L_REC alone with the
tokenizer and the IDs frozen (``Trainer.finetune`` of the authors' code: AdamW at 5e-4, cosine decay
without warm-up, up to 100 epochs, validation every epoch, patience 10), under the same plateau rule
(``stopping``) as the alternation; the test reads the fine-tuning's best weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup

from pipeline_lib.data.samples import (
    Samples,
    bucketed_batches,
    evaluation_samples,
    history_lengths,
    prefix_samples,
)
from pipeline_lib.data.split import SplitData, leave_one_out
from pipeline_lib.device import autocast, resolve_device
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.evaluation import DecodeConfig, rank_generative
from pipeline_lib.metrics import ranking_metrics
from pipeline_lib.models.config import AlignmentConfig, GenRecConfig
from pipeline_lib.models.etegrec import ETEGRec, JointLosses, Phase
from pipeline_lib.params import DatasetSpec, make_config, stage_section
from pipeline_lib.protocol import Protocol, decode_settings
from pipeline_lib.tokenizer.config import RQVAEConfig, TrainConfig
from pipeline_lib.tokenizer.vocab import history_tokens
from pipeline_lib.training.config import JointOptimConfig
from pipeline_lib.training.etegrec_result import JointResult
from pipeline_lib.training.fingerprint import run_fingerprint
from pipeline_lib.training.loop import LoopConfig, fit, write_curve
from pipeline_lib.training.stopping import stopping_rule


def epoch_phase(epoch: int, schedule: str, cycle_epochs: int) -> Phase:
    """What epoch ``epoch`` (0-based) trains under ``schedule``."""
    if schedule == "joint":
        return Phase.JOINT
    if schedule == "alternate" and epoch % cycle_epochs == 0:
        return Phase.TOKENIZER
    return Phase.RECOMMENDER


@dataclass(frozen=True)
class ETEGRecSettings:
    """The ``etegrec`` params section as typed configs."""

    rqvae: RQVAEConfig
    pretrain: TrainConfig
    recommender: GenRecConfig  # TIGER's backbone, reading the tokenizer's L levels plus the collision token
    alignment: AlignmentConfig
    optim: JointOptimConfig
    protocol: Protocol  # history length and beam width (params ``protocol``, ``evaluate.beam_size``)
    decode: DecodeConfig  # the protocol's beam width, the ``evaluate`` section's batch size and cut-offs
    device: torch.device

    @property
    def max_history(self) -> int:
        return self.protocol.max_history

    def resume_settings(self) -> dict[str, Any]:
        """The settings a run's identity includes: all but the device, which changes where, not what, is computed."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "device"}


def _device(name: str, params_path: str | Path) -> torch.device:
    try:
        device = resolve_device(name)
    except RuntimeError as err:
        raise PipelineInputError(params_path, str(err), field="etegrec.device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PipelineInputError(params_path, "device is cuda but no GPU is available", field="etegrec.device")
    return device


def etegrec_settings(
    params: dict[str, Any], spec: DatasetSpec, input_dim: int, params_path: str | Path
) -> ETEGRecSettings:
    """Parse ``etegrec`` (with the dataset's overrides and the ``stopping`` rule), ``protocol`` and ``evaluate`` (beam, users per batch, cut-offs).

    Sub-sections: ``rqvae`` (:class:`RQVAEConfig` but ``input_dim``, the embeddings' width),
    ``pretrain`` (:class:`TrainConfig`), ``backbone`` (:class:`GenRecConfig`'s T5 keys); top-level keys
    are ``device``, :class:`AlignmentConfig`'s and :class:`JointOptimConfig`'s. ``stopping.patience``, when set,
    replaces ``finetune_patience`` too.
    """
    rule = stopping_rule(params, spec, params_path)
    section = rule.applied(stage_section(params, spec, "etegrec"))
    if rule.patience is not None:  # one patience for every model and phase under the rule
        section["finetune_patience"] = rule.patience
    alignment_keys = [f.name for f in fields(AlignmentConfig)]
    alignment_values = {key: section.pop(key) for key in alignment_keys if key in section}
    alignment = make_config(AlignmentConfig, alignment_values, params_path, "etegrec")
    rqvae_values = {**(section.pop("rqvae", None) or {}), "input_dim": input_dim}
    rqvae = make_config(RQVAEConfig, rqvae_values, params_path, "etegrec.rqvae")
    pretrain = make_config(TrainConfig, dict(section.pop("pretrain", None) or {}), params_path, "etegrec.pretrain")
    backbone = {
        **(section.pop("backbone", None) or {}),
        "levels": rqvae.levels + 1,
        "codebook_size": rqvae.codebook_size,
        "code_dim": rqvae.code_dim,
    }
    recommender = make_config(GenRecConfig, backbone, params_path, "etegrec.backbone")
    device = _device(str(section.pop("device", "auto")), params_path)
    optim = make_config(JointOptimConfig, section, params_path, "etegrec")
    protocol, decode = decode_settings(params, spec, params_path)
    return ETEGRecSettings(rqvae, pretrain, recommender, alignment, optim, protocol, decode, device)


@dataclass(frozen=True)
class JointData:
    """Everything training touches, on the device."""

    train: Samples
    valid: Samples
    embeddings: Tensor  # [n_items, d_s]: z, the tokenizer's input (row i = item i)


def joint_data(
    split: SplitData, embeddings: Tensor, max_history: int, device: torch.device
) -> tuple[JointData, Samples]:
    """Training prefixes and validation / test samples with histories of at most ``max_history`` items,
    cut afresh from the full sequences (the filter stage's tables hold ``filter.max_seq_len`` items)."""
    train, valid, test = leave_one_out(split.sequences, max_history)
    data = JointData(
        train=prefix_samples(train, max_history).to(device),
        valid=evaluation_samples(valid, max_history).to(device),
        embeddings=embeddings.to(device),
    )
    return data, evaluation_samples(test, max_history).to(device)


def _epochs_training(optim: JointOptimConfig, component: str) -> int:
    """How many of the ``max_epochs`` epochs train ``component`` (``tokenizer`` or ``recommender``)."""
    phases = [epoch_phase(e, optim.schedule, optim.cycle_epochs) for e in range(optim.max_epochs)]
    return sum(p.trains_tokenizer if component == "tokenizer" else p.trains_recommender for p in phases)


def validation_interval(optim: JointOptimConfig) -> int:
    """Epochs between the alternation's validations: ``eval_every`` (null: one cycle), rounded up to whole
    cycles under ``schedule: alternate`` so that every validation follows a cycle's last recommender epoch,
    never a re-tokenization the recommender has not trained on (the authors require the cycle to be a
    multiple of their interval)."""
    interval = optim.eval_every or optim.cycle_epochs
    if optim.schedule != "alternate":
        return interval
    return math.ceil(interval / optim.cycle_epochs) * optim.cycle_epochs


def alternation_epochs(optim: JointOptimConfig) -> int:
    """The alternation's epoch cap: ``max_epochs``, rounded down to whole cycles under ``schedule: alternate``
    (when it holds one), so that a run reaching the cap ends, and is validated, after a cycle's last recommender
    epoch rather than after a re-tokenization the recommender has not trained on. The schedules' horizon stays
    ``max_epochs``, so a run stopped by patience trains exactly as without the rounding."""
    if optim.schedule != "alternate" or optim.max_epochs < optim.cycle_epochs:
        return optim.max_epochs
    return optim.max_epochs // optim.cycle_epochs * optim.cycle_epochs


def rank_items(model: ETEGRec, histories: Tensor, decode: DecodeConfig, bf16: bool) -> Tensor:
    """Top-``max(ks)`` items [U, k] by trie-constrained beam search over the model's current IDs."""
    return rank_generative(model.recommender, histories, model.item_tokens(), model.trie(), decode, bf16)


Update = tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler, list[torch.nn.Parameter]]


def train_pass(
    model: ETEGRec,
    data: JointData,
    optim: JointOptimConfig,
    generator: torch.Generator,
    phase: Phase,
    alignment: AlignmentConfig,
    weights: AlignmentConfig,
    updates: list[Update],
) -> dict[str, float]:
    """One pass over the training prefixes in shuffled, length-bucketed batches (as TIGER trains), each cut to its
    longest history: the losses ``alignment`` switches on, weighted by ``weights`` (μ, λ), each update's
    parameters clipped and stepped. Returns each term's mean over the batches (:func:`_parts`)."""
    model.set_phase(phase)
    item_tokens = model.item_tokens()
    device = data.embeddings.device
    batches = bucketed_batches(history_lengths(data.train.histories), optim.batch_size, generator)
    sums: dict[str, Tensor] = {}
    for index, width in tqdm(batches, desc=phase.value, leave=False):
        batch = data.train.select(index.to(device))
        with autocast(device, optim.bf16):
            losses = model.losses(
                history_tokens(item_tokens, batch.histories[:, -width:]),
                item_tokens[batch.targets],
                batch.targets,
                data.embeddings[batch.targets],
                phase,
                alignment,
            )
        loss = losses.objective(weights)
        for optimizer, _, _ in updates:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer, scheduler, params in updates:
            torch.nn.utils.clip_grad_norm_(params, optim.grad_clip)
            optimizer.step()
            scheduler.step()
        for key, value in _parts(losses, loss, weights).items():
            sums[key] = sums.get(key, 0.0) + value.detach()
    return {key: float(total) / len(batches) for key, total in sums.items()}


def _adamw(params: list[torch.nn.Parameter], lr: float, weight_decay: float, device: torch.device) -> torch.optim.AdamW:
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=device.type == "cuda")


class JointTrainer:
    """One AdamW optimizer and warmup + cosine schedule per component; ``run_epoch`` trains what the
    epoch's phase trains (3.4) and re-tokenizes every item after an epoch that trained the tokenizer."""

    COMPONENTS = ("tokenizer", "recommender")

    def __init__(
        self, model: ETEGRec, data: JointData, optim: JointOptimConfig, alignment: AlignmentConfig, seed: int
    ):
        self.model, self.data, self.optim, self.alignment, self.seed = model, data, optim, alignment, seed
        device = data.embeddings.device
        self.n_batches = -(-len(data.train) // optim.batch_size)
        self.params = {
            "tokenizer": list(model.tokenizer.parameters()),
            "recommender": [p for m in model.recommender_side() for p in m.parameters()],
        }
        lrs = {"tokenizer": optim.tokenizer_lr, "recommender": optim.recommender_lr}
        self.optimizers = {name: _adamw(self.params[name], lrs[name], optim.weight_decay, device)
                           for name in self.COMPONENTS}
        self.schedulers = {
            name: get_cosine_schedule_with_warmup(
                self.optimizers[name], optim.warmup(name, self.n_batches),
                max(1, _epochs_training(optim, name) * self.n_batches),
            )
            for name in self.COMPONENTS
        }

    def stateful(self) -> dict[str, Any]:
        """Optimizers and schedulers, for the checkpoint."""
        state: dict[str, Any] = {f"{name}_optimizer": opt for name, opt in self.optimizers.items()}
        state.update({f"{name}_scheduler": sched for name, sched in self.schedulers.items()})
        return state

    def run_epoch(self, epoch: int) -> dict[str, float]:
        """Train epoch ``epoch``'s phase; returns the curve row (mean loss terms, the epoch's μ and λ, learning
        rates, and after a tokenizer epoch the share of items whose ID changed)."""
        phase = epoch_phase(epoch, self.optim.schedule, self.optim.cycle_epochs)
        trained = [name for name in self.COMPONENTS if getattr(phase, f"trains_{name}")]
        weights = self.alignment.at_epoch(epoch)
        updates = [(self.optimizers[name], self.schedulers[name], self.params[name]) for name in trained]
        generator = torch.Generator().manual_seed(self.seed + epoch)
        row = train_pass(self.model, self.data, self.optim, generator, phase, self.alignment, weights, updates)
        row.update({"mu": weights.mu, "lam": weights.lam})
        row.update({f"lr_{name}": self.schedulers[name].get_last_lr()[0] for name in trained})
        row["trains_tokenizer"] = float(phase.trains_tokenizer)
        if phase.trains_tokenizer:
            row["ids_changed"] = float(self.model.refresh_semantic_ids(self.data.embeddings))
        return row


REC_ONLY = AlignmentConfig(sia=False, psa=False)  # the fine-tuning's objective: L_REC alone


class FinetuneTrainer:
    """The recommender on L_REC alone, tokenizer and IDs frozen: one AdamW at ``finetune_lr`` (weight decay and
    clip as the alternation's), cosine decay without warm-up over ``finetune_epochs`` epochs."""

    def __init__(self, model: ETEGRec, data: JointData, optim: JointOptimConfig, seed: int):
        self.model, self.data, self.optim, self.seed = model, data, optim, seed
        self.params = list(model.recommender.parameters())
        self.optimizer = _adamw(self.params, optim.finetune_lr, optim.weight_decay, data.embeddings.device)
        n_batches = -(-len(data.train) // optim.batch_size)
        self.scheduler = get_cosine_schedule_with_warmup(self.optimizer, 0, max(1, optim.finetune_epochs * n_batches))

    def stateful(self) -> dict[str, Any]:
        """Optimizer and scheduler, for the checkpoint."""
        return {"finetune_optimizer": self.optimizer, "finetune_scheduler": self.scheduler}

    def run_epoch(self, epoch: int) -> dict[str, float]:
        """One fine-tuning epoch (its shuffle seeded apart from every alternation epoch's); the curve row."""
        generator = torch.Generator().manual_seed(self.seed + self.optim.max_epochs + epoch)
        update = (self.optimizer, self.scheduler, self.params)
        row = train_pass(self.model, self.data, self.optim, generator, Phase.RECOMMENDER, REC_ONLY, REC_ONLY, [update])
        return {**row, "lr_recommender": self.scheduler.get_last_lr()[0], "trains_tokenizer": 0.0}


def finetune_checkpoint(checkpoint: Path) -> Path:
    """The fine-tuning's resumable checkpoint, beside the alternation's ``checkpoint``."""
    return checkpoint.with_name("finetune.safetensors")


def train_etegrec(
    model: ETEGRec,
    data: JointData,
    optim: JointOptimConfig,
    alignment: AlignmentConfig,
    decode: DecodeConfig,
    seed: int,
    checkpoint: Path,
    fingerprint: str,
    curve_path: Path | None,
) -> JointResult:
    """Alternating (or joint / frozen-tokenizer) optimisation with early stopping on validation NDCG@10 at cycle
    ends (:func:`validation_interval`), then, from its best weights, the fine-tuning (``finetune_epochs`` > 0)
    validated every ``eval_every`` epochs (null: every epoch) with ``finetune_patience``. ``model`` ends holding
    the weights (and IDs) the test reads: the fine-tuning's best, else the alternation's.

    ``model`` must hold the pretrained tokenizer and the semantic IDs it gives. Each phase checkpoints the model
    (with its IDs), its optimizers and schedulers after every epoch, so a run resumes exactly; ``checkpoint`` (and
    the fine-tuning's :func:`finetune_checkpoint`) is resumed only if it holds ``fingerprint``, the run's identity
    (``pipeline_lib.training.fingerprint.run_fingerprint`` of its settings and inputs). ``curve_path`` gets one
    row per epoch of both phases (the fine-tuning's numbered on, ``finetune`` = 1).
    """
    trainer = JointTrainer(model, data, optim, alignment, seed)

    def validate() -> dict[str, float]:
        ranked = rank_items(model, data.valid.histories, decode, optim.bf16)
        return ranking_metrics(ranked, data.valid.targets, decode.ks)

    interval = validation_interval(optim)
    loop = LoopConfig(alternation_epochs(optim), optim.patience, eval_every=interval, monitor="ndcg@10")
    alternation = fit(
        loop, {"model": model}, trainer.stateful(), trainer.run_epoch, validate, checkpoint, fingerprint, curve_path
    )
    model.load_state_dict(alternation.best_weights["model"])
    result = JointResult(alternation, interval, optim.patience, None, optim.eval_every or 1, optim.finetune_patience)
    if optim.finetune_epochs == 0:
        return result
    tuner = FinetuneTrainer(model, data, optim, seed)
    loop = LoopConfig(optim.finetune_epochs, optim.finetune_patience, eval_every=result.finetune_eval_every,
                      monitor="ndcg@10")
    phase_id = run_fingerprint({"run": fingerprint, "phase": "finetune"})
    finetune = fit(loop, {"model": model}, tuner.stateful(), tuner.run_epoch, validate,
                   finetune_checkpoint(checkpoint), phase_id)
    model.load_state_dict(finetune.best_weights["model"])
    result = replace(result, finetune=finetune)
    if curve_path is not None:
        write_curve(curve_path, result.curve())
    return result


def _parts(losses: JointLosses, total: Tensor, weights: AlignmentConfig) -> dict[str, Tensor]:
    """The batch's loss terms for the curve (those the phase computed): each raw term and the weighted
    contributions μ·L_SIA, λ·L_PSA (at the epoch's weights)."""
    parts = {"train_loss": total, "rec_loss": losses.rec, "sia_loss": losses.sia, "psa_loss": losses.psa}
    if losses.sia is not None:
        parts["mu_sia_loss"] = weights.mu * losses.sia
    if losses.psa is not None:
        parts["lam_psa_loss"] = weights.lam * losses.psa
    if losses.sq is not None:
        parts.update(sq_loss=losses.sq.total, recon_loss=losses.sq.recon)
    return {key: value for key, value in parts.items() if value is not None}
