"""An evidence campaign's folder read back (``reports/<name>/``, written by :mod:`pipeline_lib.campaign`): its job
list, its ledger of finished runs and its measured results as the tables' ``DatasetResults``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline_lib.campaign import JobList
from pipeline_lib.paths import ResultFiles
from pipeline_lib.reporting.results import (
    STATS_RUN,
    TOKENIZER_RUN,
    UNSEEDED_RUNS,
    DatasetResults,
    Measured,
    read_results,
)
from pipeline_lib.reporting.seed_comparison import TEST_METRICS


def seed_of(path: Path) -> int:
    """``seed_<s>.json`` / ``seed_<s>.tsv`` → ``s``."""
    return int(path.stem.removeprefix("seed_"))


def eval_files(folder: Path) -> dict[str, dict[int, Path]]:
    """model → seed → its eval json in the folder."""
    runs: dict[str, dict[int, Path]] = {}
    for path in sorted((ResultFiles.of_campaign(folder).metrics / "eval").glob("*/seed_*.json")):
        runs.setdefault(path.parent.name, {})[seed_of(path)] = path
    return runs


def read_ledger(folder: Path) -> dict[tuple[str, int], dict[str, str]]:
    """``runs.tsv``: (model, seed) → its row (``wall_s``, ``finished_utc`` …); empty when absent."""
    path = folder / "runs.tsv"
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        return {(row["model"], int(row["seed"])): row for row in csv.DictReader(fh, delimiter="\t")}


def planned_seeds(jobs: JobList) -> dict[str, list[int]]:
    """model → its seeds, in the job list's order (a model listed twice gets both lists' seeds)."""
    planned: dict[str, list[int]] = {}
    for run in jobs.runs:
        seeds = planned.setdefault(run.model, [])
        seeds += [seed for seed in run.seeds if seed not in seeds]
    return planned


def campaign_results(folder: Path, jobs: JobList | None = None) -> DatasetResults:
    """The folder's test metrics (with utilization, composition and the context ablation where the eval jsons hold
    them), protocols and stopping per model and seed, and its tokenizer metrics and dataset statistics when copied
    there (:func:`pipeline_lib.reporting.results.read_results`). With ``jobs`` (the folder's job list), every
    planned model is expected, and its planned seeds without an eval json are listed as missing; without, the
    models and seeds found. No ranks: a campaign keeps none."""
    expected = planned_seeds(jobs) if jobs is not None else {}
    expected.update({run: [] for run in sorted(UNSEEDED_RUNS)})  # the popularity floor, when the campaign copied it
    for model, seeds in eval_files(folder).items():
        expected[model] = list(dict.fromkeys([*expected.get(model, ()), *seeds]))
    name = jobs.dataset if jobs is not None else folder.name
    return read_results(name, ResultFiles.of_campaign(folder), expected, TEST_METRICS)


def trained(results: DatasetResults) -> dict[str, dict[str, Measured]]:
    """The trained models' values: without the tokenizer's and the dataset statistics' rows and the popularity
    floor's (Table 1's floor row shows it)."""
    return {run: values for run, values in results.values.items()
            if run not in (TOKENIZER_RUN, STATS_RUN, *UNSEEDED_RUNS)}

