"""One early-stopping rule for every trained model (the ``stopping`` params section, e.g. profile ``converge``).

Each training section (``train``, ``baselines``, ``etegrec``) has its own ``max_epochs`` / ``patience`` /
``eval_every``; a value set in ``stopping`` replaces that key in all of them, so every model validates every
E epochs and stops after P validations without a better validation NDCG@10, then tests its best-validation
weights (:func:`pipeline_lib.training.loop.fit`). A run stopped by the ``max_epochs`` cap is not converged
(train metrics ``stopped_by``; the tables mark it). ``valid_users`` validates on a fixed subset of the
validation users, drawn once from the data seed, the same for every model; the test is always on all users.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pipeline_lib.data.samples import Samples
from pipeline_lib.params import DatasetSpec, make_config, stage_section
from pipeline_lib.training.config import StoppingRule


def validation_subset(rule: StoppingRule, samples: Samples) -> Samples:
    """The validation samples early stopping reads: all of them, or ``rule.valid_users`` drawn without
    replacement by ``rule.seed`` (kept in their original order)."""
    if rule.valid_users is None or rule.valid_users >= len(samples):
        return samples
    generator = torch.Generator().manual_seed(rule.seed)
    index = torch.randperm(len(samples), generator=generator)[: rule.valid_users].sort().values
    return samples.select(index.to(samples.targets.device))


def stopping_rule(params: dict[str, Any], spec: DatasetSpec, params_path: str | Path) -> StoppingRule:
    """The dataset's ``stopping`` section (its profile and overrides applied), seeded by the data seed."""
    values = stage_section(params, spec, "stopping") | {"seed": int(params.get("seed", 2025))}
    return make_config(StoppingRule, values, params_path, "stopping")
