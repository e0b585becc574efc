"""What every training stage (train, baseline, etegrec) sets up before its runs: the training seeds, how runs use
the CPU, and the one stopping rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from pipeline_lib.parallel import CpuConfig, cpu_config
from pipeline_lib.params import DatasetSpec
from pipeline_lib.protocol import training_seeds
from pipeline_lib.training.config import StoppingRule
from pipeline_lib.training.stopping import stopping_rule


class TrainingRuns(NamedTuple):
    """The seeds a training stage runs (``--seed`` or params ``seeds``), the ``cpu`` section, the ``stopping`` rule."""

    seeds: list[int]
    cpu: CpuConfig
    rule: StoppingRule


def training_runs(params: dict[str, Any], spec: DatasetSpec, seed: str | None, params_path: str | Path) -> TrainingRuns:
    """A training stage's seeds, CPU use and stopping rule for dataset ``spec``.

    Raises:
        PipelineInputError: ``--seed`` is not an integer ≥ 0, or a ``cpu`` / ``stopping`` value is out of range.
    """
    return TrainingRuns(
        training_seeds(params, seed, params_path), cpu_config(params, params_path), stopping_rule(params, spec, params_path)
    )
