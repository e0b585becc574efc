"""One early-stopping rule for every trained model (the ``stopping`` params section, e.g. profile ``converge``).

Each training section (``train``, ``baselines``, ``etegrec``) has its own ``max_epochs`` / ``patience`` /
``eval_every``; a value set in ``stopping`` replaces that key in all of them, so every model validates every
E epochs and stops after P validations without a better validation NDCG@10, then tests its best-validation
weights (:func:`pipeline_lib.training.loop.fit`). A run stopped by the ``max_epochs`` cap is not converged
(train metrics ``stopped_by``; the tables mark it). ``valid_users`` validates on a fixed subset of the
validation users, drawn once from the data seed, the same for every model; the test is always on all users.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from pipeline_lib.data.samples import Samples
from pipeline_lib.params import DatasetSpec, make_config, stage_section

RULE_KEYS = ("eval_every", "patience", "max_epochs")


@dataclass(frozen=True)
class StoppingRule:
    """``stopping``: the rule's values (None = each section's own) and the validation subset's size and seed."""

    eval_every: int | None = None  # epochs between validations
    patience: int | None = None  # validations without a better NDCG@10 before stopping
    max_epochs: int | None = None  # the cap; a run that reaches it is marked "not converged"
    valid_users: int | None = None  # validate on this many validation users (a seeded subset); None = all
    seed: int = 2025  # the subset's seed (params.yaml's data seed)

    def __post_init__(self) -> None:
        for key in (*RULE_KEYS, "valid_users"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ValueError(f"{key} must be ≥ 1 or null, got {value}")

    def applied(self, section: dict[str, Any]) -> dict[str, Any]:
        """``section`` with the rule's set keys in place of its own (other keys untouched)."""
        return section | {key: getattr(self, key) for key in RULE_KEYS if getattr(self, key) is not None}

    def validation(self, samples: Samples) -> Samples:
        """The validation samples early stopping reads: all of them, or ``valid_users`` drawn without
        replacement by ``seed`` (kept in their original order)."""
        if self.valid_users is None or self.valid_users >= len(samples):
            return samples
        generator = torch.Generator().manual_seed(self.seed)
        index = torch.randperm(len(samples), generator=generator)[: self.valid_users].sort().values
        return samples.select(index.to(samples.targets.device))

    def record(self) -> dict[str, Any]:
        """What the train metrics and the run's fingerprint hold of the rule beyond the section's own keys."""
        return {"valid_users": self.valid_users, "valid_subset_seed": self.seed if self.valid_users else None}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stopping_rule(params: dict[str, Any], spec: DatasetSpec, params_path: str | Path) -> StoppingRule:
    """The dataset's ``stopping`` section (its profile and overrides applied), seeded by the data seed."""
    values = stage_section(params, spec, "stopping") | {"seed": int(params.get("seed", 2025))}
    return make_config(StoppingRule, values, params_path, "stopping")
