"""The numbers the tables compare: the paper's (``paper_results.yaml``) and this pipeline's measured ones.

Our side is read from the files the earlier stages write: ``reports/metrics/<dataset>/eval/<model>.json``
(test metrics, composition utilization), ``tokenizer.json`` (the RQ-VAE's code utilization),
``dataset_stats.json`` and the per-user ranks ``data/<dataset>/ranks/<model>.parquet``.
A file that does not exist is simply absent from the result (the tables mark the run missing);
a file that exists but is malformed raises ``PipelineInputError`` naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_json
from pipeline_lib.paths import DatasetPaths

PAPER_RESULTS = Path(__file__).with_name("paper_results.yaml")
TABLE_NAMES = ("table1", "table2", "table3", "table4")
TOKENIZER_RUN = "tokenizer"  # Table 3's TIGER row: utilization of the static RQ-VAE codes
STATS_RUN = "filter"  # Table 4: the filter stage's dataset statistics
RANK_COLUMNS = ("user_id", "target", "rank")


@dataclass(frozen=True)
class PaperRow:
    """One row of a paper table: ``values[paper_dataset][column]``; ``run`` = our output reproducing it."""

    method: str
    run: str | None
    group: str
    values: dict[str, dict[str, float]]
    significant: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PaperTable:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[PaperRow, ...]


@dataclass(frozen=True)
class PaperResults:
    datasets: tuple[str, ...]
    tables: dict[str, PaperTable]


@dataclass(frozen=True)
class DatasetResults:
    """What the pipeline measured on one dataset; ``values[run][column]`` in the paper's units.

    Runs are model names (test metrics and, for generative variants, ``utilization_*``), ``tokenizer``
    (``utilization_*`` of the RQ-VAE codes) and ``filter`` (dataset statistics, sparsity in %).
    Utilization is in % like the paper's Table 3.
    """

    name: str
    values: dict[str, dict[str, float]]
    ranks: dict[str, Path]


def _paper_row(raw: Any, columns: tuple[str, ...], datasets: tuple[str, ...], where: str, path: Path) -> PaperRow:
    if not isinstance(raw, dict) or "method" not in raw or "values" not in raw:
        raise PipelineInputError(path, "a row needs `method` and `values`", field=where)
    values: dict[str, dict[str, float]] = {}
    for dataset, numbers in raw["values"].items():
        if dataset not in datasets:
            raise PipelineInputError(path, f"unknown dataset {dataset!r}", field=f"{where}.values")
        if not isinstance(numbers, list) or len(numbers) != len(columns):
            raise PipelineInputError(path, f"need {len(columns)} numbers", field=f"{where}.values.{dataset}")
        values[dataset] = {column: float(number) for column, number in zip(columns, numbers)}
    significant = {d: frozenset(cols) for d, cols in (raw.get("significant") or {}).items()}
    for dataset, cols in significant.items():
        if dataset not in values or not cols <= set(columns):
            problem = f"marks a cell that has no value: {sorted(cols)}"
            raise PipelineInputError(path, problem, field=f"{where}.significant")
    return PaperRow(raw["method"], raw.get("run"), raw.get("group", ""), values, significant)


def load_paper_results(path: str | Path = PAPER_RESULTS) -> PaperResults:
    """Parse ``paper_results.yaml`` (every number of the paper's Tables 1–4)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise PipelineInputError(path, f"cannot read the paper's results ({err.__class__.__name__})") from None
    datasets = tuple(raw.get("datasets") or ())
    tables = {}
    for name in TABLE_NAMES:
        if name not in raw:
            raise PipelineInputError(path, "table missing", field=name)
        columns = tuple(raw[name]["columns"])
        rows = tuple(
            _paper_row(row, columns, datasets, f"{name}.rows[{i}]", path) for i, row in enumerate(raw[name]["rows"])
        )
        tables[name] = PaperTable(" ".join(raw[name].get("caption", "").split()), columns, rows)
    return PaperResults(datasets, tables)


def _numbers(obj: Any, keys: Iterable[str], path: Path, section: str) -> dict[str, float]:
    if not isinstance(obj, dict):
        raise PipelineInputError(path, "expected a mapping", field=section)
    out = {}
    for key in keys:
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PipelineInputError(path, f"expected a number, got {value!r}", field=f"{section}.{key}")
        out[key] = float(value)
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        obj = read_json(path)
    except ValueError as err:
        raise PipelineInputError(path, f"not valid JSON ({err})") from None
    if not isinstance(obj, dict):
        raise PipelineInputError(path, "expected a JSON object")
    return obj


COMPOSITION_STATS = ("entropy", "max_weight", "distinct_argmax")  # per layer, beside Table 3's utilization


def read_eval_metrics(path: str | Path, metrics: Iterable[str], layers: int = 3) -> dict[str, float]:
    """Test ``metrics`` of one eval json, plus when the run reports them: ``layer_1..`` utilization in %,
    ``const_<metric>`` (the context ablation, ``test_constant_context``) and ``<stat>_<layer>`` for the
    ``COMPOSITION_STATS`` of ``composition.layer_<layer>`` (entropy in nats, max weight, distinct argmax codes)."""
    path = Path(path)
    obj = _read(path)
    metrics = tuple(metrics)
    values = _numbers(obj.get("test"), metrics, path, "test")
    if "utilization" in obj:
        keys = [f"layer_{i}" for i in range(1, layers + 1)]
        values |= {k: 100.0 * v for k, v in _numbers(obj["utilization"], keys, path, "utilization").items()}
    if "test_constant_context" in obj:
        constant = _numbers(obj["test_constant_context"], metrics, path, "test_constant_context")
        values |= {f"const_{k}": v for k, v in constant.items()}
    if "composition" in obj:
        for i in range(1, layers + 1):
            layer = obj["composition"].get(f"layer_{i}") if isinstance(obj["composition"], dict) else None
            stats = _numbers(layer, COMPOSITION_STATS, path, f"composition.layer_{i}")
            values |= {f"{k}_{i}": v for k, v in stats.items()}
    return values


def read_tokenizer_utilization(path: str | Path, layers: int = 3) -> dict[str, float]:
    """``layer_1..`` = the tokenizer's ``utilization_l1..`` in %."""
    path = Path(path)
    shares = _numbers(_read(path), [f"utilization_l{i}" for i in range(1, layers + 1)], path, "utilization")
    return {f"layer_{i}": 100.0 * shares[f"utilization_l{i}"] for i in range(1, layers + 1)}


def read_dataset_stats(path: str | Path) -> dict[str, float]:
    """``users``, ``items``, ``interactions`` and ``sparsity`` (in %) of the filtered dataset."""
    path = Path(path)
    stats = _numbers(_read(path), ("users", "items", "interactions", "sparsity"), path, "stats")
    return stats | {"sparsity": 100.0 * stats["sparsity"]}


def read_ranks(path: str | Path) -> pd.DataFrame:
    """Per-user ranks (``user_id``, ``target``, ``rank``; rank 0 = not retrieved), validated."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise PipelineInputError(path, f"cannot read parquet ({err.__class__.__name__})") from None
    for column in RANK_COLUMNS:
        if column not in frame.columns:
            raise PipelineInputError(path, "column missing", field=column)
        if not pd.api.types.is_integer_dtype(frame[column]):
            raise PipelineInputError(path, f"expected integers, got {frame[column].dtype}", field=column)
    bad = frame.index[frame["rank"] < 0]
    if len(bad):
        raise PipelineInputError(path, "negative rank", row=int(bad[0]), field="rank")
    if frame["user_id"].duplicated().any():
        row = int(frame.index[frame["user_id"].duplicated()][0])
        raise PipelineInputError(path, "user listed twice", row=row, field="user_id")
    return frame.loc[:, list(RANK_COLUMNS)]


def collect_results(
    dataset: str, runs: Iterable[str], metrics: Iterable[str], root: str | Path = "."
) -> DatasetResults:
    """Every measured value of ``dataset`` for the model ``runs`` expected there (absent files are skipped)."""
    paths = DatasetPaths(dataset, Path(root))
    metrics = tuple(metrics)
    values: dict[str, dict[str, float]] = {}
    ranks: dict[str, Path] = {}
    for run in runs:
        if paths.eval_metrics(run).is_file():
            values[run] = read_eval_metrics(paths.eval_metrics(run), metrics)
        if paths.user_ranks(run).is_file():
            ranks[run] = paths.user_ranks(run)
    if paths.tokenizer_metrics.is_file():
        values[TOKENIZER_RUN] = read_tokenizer_utilization(paths.tokenizer_metrics)
    if paths.dataset_stats.is_file():
        values[STATS_RUN] = read_dataset_stats(paths.dataset_stats)
    return DatasetResults(dataset, values, ranks)
