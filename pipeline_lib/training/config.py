"""The optimisation configs, each params key declared once (:func:`pipeline_lib.declare.param`): the
generative variants (``train``), the sequential baselines (``baselines``) and ETEGRec (``etegrec``). No torch
here: :mod:`pipeline_lib.schema` reads these cheaply."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from pipeline_lib.declare import check_declared, param

BaselineLoss = Literal["ce", "bce"]
EtegrecSchedule = Literal["alternate", "joint", "frozen"]
RULE_KEYS = ("eval_every", "patience", "max_epochs")  # the stopping keys that replace a section's own
LOSSES: tuple[str, ...] = get_args(BaselineLoss)
SCHEDULES: tuple[str, ...] = get_args(EtegrecSchedule)


@dataclass(frozen=True)
class OptimConfig:
    """``train``: DECOR Table 5 (AdamW, lr 3e-3, wd 0.05, 10k warmup, cosine, clip 1.0, batch 256)."""

    batch_size: int = param(256, ge=1, description="training samples per step")
    lr: float = param(3e-3, gt=0, description="AdamW peak learning rate")
    weight_decay: float = param(0.05, ge=0, description="AdamW weight decay")
    warmup_steps: int = param(10_000, ge=0, description="linear warmup, optimizer steps (then cosine decay)")
    warmup_epochs: float | None = param(
        None, gt=0, description="linear warmup, epochs; when set it replaces warmup_steps (the CPU profile: 1)"
    )
    max_epochs: int = param(200, ge=1, description="epochs")
    patience: int = param(20, ge=1, description="validations without a better NDCG@10 before stopping")
    eval_every: int = param(1, ge=1, description="epochs between validation runs")
    grad_clip: float = param(1.0, gt=0, description="gradient norm clip")
    bf16: bool = param(True, description="bf16 autocast on a GPU (CPU runs stay float32)")
    compile: bool = param(False, description="torch.compile the training loss (forward + backward)")
    cuda_graphs: bool = param(
        False, description="compile in mode reduce-overhead: on CUDA one CUDA graph per bucket shape, replayed (implies compile)"
    )
    diagnostics_every: int = param(
        0, ge=0, description="optimiser steps between composition diagnostics (reports/curves/<ds>/<variant>.steps.tsv); 0 = off"
    )
    time_budget_s: float | None = param(
        None, gt=0, description="seconds of training after which the first validation ends the run (best weights kept); null = no limit"
    )

    def __post_init__(self) -> None:
        check_declared(self)

    def warmup(self, steps_per_epoch: int) -> int:
        """Linear warm-up length in optimiser steps: ``warmup_epochs`` × steps per epoch when set, else ``warmup_steps``."""
        if self.warmup_epochs is None:
            return self.warmup_steps
        return max(1, round(self.warmup_epochs * steps_per_epoch))


@dataclass(frozen=True)
class BaselineConfig:
    """The shared keys of ``baselines``: AdamW at a constant rate (weight decay 0 = RecBole's Adam)."""

    batch_size: int = param(256, ge=1, description="training samples per step; also users per ranking batch")
    lr: float = param(1e-3, gt=0, description="Adam(W) learning rate, constant")
    weight_decay: float = param(0.0, ge=0, description="0 = plain Adam")
    max_epochs: int = param(200, ge=1, description="epochs")
    patience: int = param(10, ge=1, description="validations without a better NDCG@10 before stopping")
    eval_every: int = param(1, ge=1, description="epochs between validation runs")
    loss: BaselineLoss = param("ce", description="ce = full softmax | bce = 1 sampled negative + binary CE")
    exclude_history: bool = param(False, description="true = history items scored -inf")

    def __post_init__(self) -> None:
        check_declared(self)
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")


@dataclass(frozen=True)
class JointOptimConfig:
    """``etegrec``'s optimisation: AdamW (weight decay 0.05, 4.1.5) per component, each with its own learning rate
    and warmup + cosine schedule; an epoch counts toward a component's schedule only if it trains it. ``patience``
    counts validations, which happen once per cycle of ``cycle_epochs``, or every ``eval_every`` epochs when set
    (``stopping.eval_every``: one rule for every model), rounded up to whole cycles. Then the fine-tuning (the
    authors' ``Trainer.finetune``): the recommender alone on L_REC for at most ``finetune_epochs`` epochs at
    ``finetune_lr`` (cosine, no warm-up), validated every ``eval_every`` epochs (null: every epoch), stopped after
    ``finetune_patience`` validations without a better NDCG@10 (``stopping.patience`` replaces it)."""

    schedule: EtegrecSchedule = param(
        "alternate", description="alternate (3.4) | joint (w/o AT) | frozen tokenizer"
    )
    cycle_epochs: int = param(
        2, ge=2, description="C: epochs per cycle (one tokenizer epoch, then recommender epochs)"
    )
    recommender_lr: float = param(5e-3, gt=0, description="AdamW learning rate of the recommender")
    tokenizer_lr: float = param(1e-4, gt=0, description="AdamW learning rate of the tokenizer")
    weight_decay: float = param(0.05, ge=0, description="AdamW weight decay (both)")
    recommender_warmup_steps: int = param(8000, ge=0, description="linear warmup, recommender steps")
    tokenizer_warmup_steps: int = param(4000, ge=0, description="linear warmup, tokenizer steps")
    recommender_warmup_epochs: float | None = param(
        None, gt=0, description="linear warmup in recommender epochs; when set it replaces recommender_warmup_steps"
    )
    tokenizer_warmup_epochs: float | None = param(
        None, gt=0, description="linear warmup in tokenizer epochs; when set it replaces tokenizer_warmup_steps"
    )
    batch_size: int = param(512, ge=1, description="training samples per step")
    max_epochs: int = param(400, ge=1, description="epochs")
    patience: int = param(15, ge=1, description="validations (= cycles) without a better NDCG@10")
    eval_every: int | None = param(
        None, ge=1, description="epochs between validations; null = once per cycle, every epoch in the fine-tuning"
    )
    finetune_epochs: int = param(
        100, ge=0, description="epoch cap of the final fine-tuning on L_REC alone (tokenizer frozen); 0 = none"
    )
    finetune_lr: float = param(5e-4, gt=0, description="AdamW learning rate of the fine-tuning (cosine, no warm-up)")
    finetune_patience: int = param(
        10, ge=1, description="fine-tuning validations without a better NDCG@10 (stopping.patience replaces it)"
    )
    grad_clip: float = param(1.0, gt=0, description="gradient norm clip")
    bf16: bool = param(True, description="bf16 autocast on a GPU")

    def __post_init__(self) -> None:
        check_declared(self)
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")

    def warmup(self, component: str, steps_per_epoch: int) -> int:
        """Linear warm-up of ``component`` (tokenizer | recommender) in optimiser steps: its ``*_warmup_epochs`` ×
        steps per epoch when set (counted in the epochs that train it), else its ``*_warmup_steps``."""
        epochs = getattr(self, f"{component}_warmup_epochs")
        if epochs is None:
            return getattr(self, f"{component}_warmup_steps")
        return max(1, round(epochs * steps_per_epoch))


@dataclass(frozen=True)
class StoppingRule:
    """``stopping``: the rule's values (None = each section's own) and the validation subset's size and seed."""

    eval_every: int | None = param(None, ge=1, description="epochs between validations, for every model")
    patience: int | None = param(
        None, ge=1, description="validations without a better NDCG@10, for every model"
    )
    max_epochs: int | None = param(
        None, ge=1, description="epoch cap for every model; reaching it = not converged"
    )
    valid_users: int | None = param(
        None, ge=1, description="validate on a fixed subset of this many users (data seed); null = all"
    )
    seed: int = 2025  # the subset's seed (params.yaml's data seed)

    def __post_init__(self) -> None:
        check_declared(self)

    def applied(self, section: dict[str, Any]) -> dict[str, Any]:
        """``section`` with the rule's set keys in place of its own (other keys untouched)."""
        return section | {key: getattr(self, key) for key in RULE_KEYS if getattr(self, key) is not None}

    def record(self) -> dict[str, Any]:
        """What the train metrics and the run's fingerprint hold of the rule beyond the section's own keys."""
        return {"valid_users": self.valid_users, "valid_subset_seed": self.seed if self.valid_users else None}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
