"""Training ETEGRec: RQ-VAE pretraining, then alternating optimisation of tokenizer and recommender (3.4).

Epochs come in cycles of C: the first epoch of a cycle trains the tokenizer on eq. 17 with the
recommender frozen, the other C − 1 train the recommender on eq. 18 with the tokenizer frozen.
After every epoch that trained the tokenizer, every item is re-tokenized (with TIGER's collision
token) and the prefix trie is rebuilt. Validation runs at the end of each cycle, so the recommender
is always scored after it has trained on the current tokens. Two ablation schedules: ``joint``
(Table 4's "w/o AT": every epoch trains both components on the sum of all losses, tokens re-derived
after each epoch) and ``frozen`` (the pretrained tokenizer and its tokens are kept throughout).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
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
from pipeline_lib.training.loop import LoopConfig, LoopResult, fit
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
    are ``device``, :class:`AlignmentConfig`'s and :class:`JointOptimConfig`'s.
    """
    section = stopping_rule(params, spec, params_path).applied(stage_section(params, spec, "etegrec"))
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
        "level_softmax": alignment.rec_softmax == "level",
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


def rank_items(model: ETEGRec, histories: Tensor, decode: DecodeConfig, bf16: bool) -> Tensor:
    """Top-``max(ks)`` items [U, k] by trie-constrained beam search over the model's current IDs."""
    return rank_generative(model.recommender, histories, model.item_tokens(), model.trie(), decode, bf16)


class JointTrainer:
    """One AdamW optimizer and warmup + cosine schedule per component; ``run_epoch`` trains what the
    epoch's phase trains (3.4) and re-tokenizes every item after an epoch that trained the tokenizer."""

    COMPONENTS = ("tokenizer", "recommender")

    def __init__(
        self, model: ETEGRec, data: JointData, optim: JointOptimConfig, alignment: AlignmentConfig, seed: int
    ):
        self.model, self.data, self.optim, self.alignment, self.seed = model, data, optim, alignment, seed
        self.device = data.embeddings.device
        self.n_batches = -(-len(data.train) // optim.batch_size)
        self.lengths = history_lengths(data.train.histories)
        self.params = {
            "tokenizer": list(model.tokenizer.parameters()),
            "recommender": [p for m in model.recommender_side() for p in m.parameters()],
        }
        lrs = {"tokenizer": optim.tokenizer_lr, "recommender": optim.recommender_lr}
        self.optimizers = {
            name: torch.optim.AdamW(
                self.params[name], lr=lrs[name], weight_decay=optim.weight_decay, fused=self.device.type == "cuda"
            )
            for name in self.COMPONENTS
        }
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
        """One pass over the training prefixes in shuffled, length-bucketed batches (as TIGER trains), each cut
        to its longest history; returns the curve row (mean losses, learning rates)."""
        phase = epoch_phase(epoch, self.optim.schedule, self.optim.cycle_epochs)
        trained = [name for name in self.COMPONENTS if getattr(phase, f"trains_{name}")]
        model, data = self.model, self.data
        model.set_phase(phase)
        item_tokens = model.item_tokens()
        generator = torch.Generator().manual_seed(self.seed + epoch)
        batches = bucketed_batches(self.lengths, self.optim.batch_size, generator)
        sums: dict[str, Tensor] = {}
        for index, width in tqdm(batches, desc=f"epoch {epoch} ({phase.value})", leave=False):
            batch = data.train.select(index.to(self.device))
            with autocast(self.device, self.optim.bf16):
                losses = model.losses(
                    history_tokens(item_tokens, batch.histories[:, -width:]),
                    item_tokens[batch.targets],
                    batch.targets,
                    data.embeddings[batch.targets],
                    phase,
                    self.alignment,
                )
            loss = losses.objective(self.alignment)
            for name in trained:
                self.optimizers[name].zero_grad(set_to_none=True)
            loss.backward()
            for name in trained:
                torch.nn.utils.clip_grad_norm_(self.params[name], self.optim.grad_clip)
                self.optimizers[name].step()
                self.schedulers[name].step()
            for key, value in _parts(losses, loss).items():
                sums[key] = sums.get(key, 0.0) + value.detach()
        row = {key: float(total) / len(batches) for key, total in sums.items()}
        row.update({f"lr_{name}": self.schedulers[name].get_last_lr()[0] for name in trained})
        row["trains_tokenizer"] = float(phase.trains_tokenizer)
        if phase.trains_tokenizer:
            row["ids_changed"] = float(model.refresh_semantic_ids(data.embeddings))
        return row


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
) -> LoopResult:
    """Alternating (or joint / frozen-tokenizer) optimisation with early stopping on validation NDCG@10,
    validated once per cycle.

    ``model`` must hold the pretrained tokenizer and the semantic IDs it gives. The model (with its
    IDs), both optimizers and both schedulers are checkpointed after every epoch, so a run resumes exactly;
    ``checkpoint`` is resumed only if it holds ``fingerprint``, the run's identity
    (``pipeline_lib.training.fingerprint.run_fingerprint`` of its settings and inputs).
    """
    trainer = JointTrainer(model, data, optim, alignment, seed)

    def validate() -> dict[str, float]:
        ranked = rank_items(model, data.valid.histories, decode, optim.bf16)
        return ranking_metrics(ranked, data.valid.targets, decode.ks)

    loop = LoopConfig(optim.max_epochs, optim.patience, eval_every=optim.eval_every or optim.cycle_epochs, monitor="ndcg@10")
    return fit(
        loop, {"model": model}, trainer.stateful(), trainer.run_epoch, validate, checkpoint, fingerprint, curve_path
    )


def _parts(losses: JointLosses, total: Tensor) -> dict[str, Tensor]:
    """The batch's loss terms for the curve (those the phase computed)."""
    parts = {"train_loss": total, "rec_loss": losses.rec, "sia_loss": losses.sia, "psa_loss": losses.psa}
    if losses.sq is not None:
        parts.update(sq_loss=losses.sq.total, recon_loss=losses.sq.recon)
    return {key: value for key, value in parts.items() if value is not None}
