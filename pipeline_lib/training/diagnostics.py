"""Composition diagnostics every N training steps (``train.diagnostics_every``), as a TSV beside the curve.

Answers whether a schedule avoids the collapse of the composition weights (eq. 16) to one code per
layer, step by step rather than once per validation: each row is one optimiser step's
``composition_diagnostics`` (pipeline_lib/evaluation.py) on a fixed set of validation contexts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from pipeline_lib.evaluation import composition_diagnostics, flat_diagnostics
from pipeline_lib.io import atomic_path
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.training.loop import write_curve

MAX_USERS = 2048  # the first validation users: enough contexts for the statistics, cheap every N steps


def write_empty_steps(path: Path) -> None:
    """A header-only steps TSV: the train stage declares the file, so it exists even when nothing is logged."""
    with atomic_path(path) as tmp:
        tmp.write_text("step\n")


class StepDiagnostics:
    """``__call__(step)`` after each optimiser step: every ``every`` steps, one row (``step`` = optimiser
    steps done, then the ``comp_<site>_<statistic>`` columns) rewritten to ``path``.

    The first call (after this process's first optimiser step) keeps only the existing rows of
    earlier steps: none in a fresh run, those before the resumed epoch after a resume — so the file
    ends as an uninterrupted run's would.
    """

    def __init__(
        self,
        model: GenerativeRecommender,
        histories: torch.Tensor,
        targets: torch.Tensor,
        item_tokens: torch.Tensor,
        every: int,
        path: Path,
        batch_size: int = 256,
        max_users: int = MAX_USERS,
    ):
        if every < 1:
            raise ValueError(f"diagnostics every {every} steps: need ≥ 1")
        self.model, self.item_tokens, self.every, self.path, self.batch_size = model, item_tokens, every, path, batch_size
        self.histories, self.targets = histories[:max_users], targets[:max_users]
        self.rows: list[dict[str, float]] | None = None

    def __call__(self, step: int) -> None:
        if self.rows is None:
            old = pd.read_csv(self.path, sep="\t").to_dict("records") if self.path.is_file() else []
            self.rows = [row for row in old if row["step"] < step]
        if step % self.every:
            return
        was_training = self.model.training
        stats = composition_diagnostics(self.model, self.histories, self.targets, self.item_tokens, self.batch_size)
        self.model.train(was_training)
        self.rows.append({"step": step, **flat_diagnostics(stats)})
        write_curve(self.path, self.rows)
