"""The numbers the tables compare: the paper's (``paper_results.yaml``) and this pipeline's measured ones.

Our side is read from the files the earlier stages write, one per training seed of a trained model:
``reports/metrics/<dataset>/eval/<model>/seed_<s>.json`` (test metrics, composition utilization, and the
evaluation protocol: ``protocol``, ``max_history``, ``beam_size``) and the per-user ranks
``data/<dataset>/ranks/<model>/seed_<s>.parquet``, for the seeds in params ``seeds`` only (files of
other seeds, left by older runs, are ignored). Unseeded outputs have one file: the popularity floor
(``eval/popularity.json``, ``ranks/popularity.parquet``), ``tokenizer.json`` (the RQ-VAE's code
utilization) and ``dataset_stats.json``.
A file that does not exist is simply absent from the result (the tables mark the run missing, or list
the missing seeds of a run that has some); a file that exists but is malformed raises
``PipelineInputError`` naming it. An evidence campaign's folder (``reports/<name>/``) holds the same files under
its ``metrics/``, without ranks (``pipeline_lib.paths.ResultFiles``), and :func:`read_results` reads either.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_json
from pipeline_lib.paths import DatasetPaths, ResultFiles, run_name
from pipeline_lib.protocol import PROTOCOLS
from pipeline_lib.schema.reports import PAPER_VERSIONS

PAPER_RESULTS = Path(__file__).with_name("paper_results.yaml")
TABLE_NAMES = ("table1", "table2", "table3", "table4")
TOKENIZER_RUN = "tokenizer"  # Table 3's TIGER row: utilization of the static RQ-VAE codes
STATS_RUN = "filter"  # Table 4: the filter stage's dataset statistics
RANK_COLUMNS = ("user_id", "target", "rank")
UNSEEDED_RUNS = frozenset({"popularity"})  # deterministic: one eval json and one ranks file, no seeds
CUSTOM = "custom"  # our setting when the history or beam differs from the named protocol's (pipeline_lib.protocol)


@dataclass(frozen=True)
class PaperRow:
    """One row of a paper table: ``values[paper_dataset][column]``; ``run`` = our output reproducing it;
    ``protocol`` = the evaluation protocol (a key of ``PROTOCOLS``) its numbers were measured under,
    ``None`` where the numbers do not depend on one (utilization, dataset statistics)."""

    method: str
    run: str | None
    group: str
    values: dict[str, dict[str, float]]
    significant: dict[str, frozenset[str]] = field(default_factory=dict)
    protocol: str | None = None


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
class Measured:
    """One measured number: ``per_seed[seed]`` = its value for each training seed present, or
    ``{None: value}`` for an unseeded output (popularity, tokenizer, dataset statistics)."""

    per_seed: dict[int | None, float]

    @property
    def seeded(self) -> bool:
        return None not in self.per_seed

    @property
    def n(self) -> int:
        return len(self.per_seed)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.per_seed.values())

    @property
    def sd(self) -> float | None:
        """Sample standard deviation over the seeds (ddof = 1); ``None`` with fewer than two."""
        return statistics.stdev(self.per_seed.values()) if self.n > 1 else None


@dataclass(frozen=True)
class EvalProtocol:
    """How a run was evaluated (its eval jsons): the configured protocol ``name`` (a key of ``PROTOCOLS``),
    the history cap in items and the beam width (``None``: a sequential model scoring every item)."""

    name: str
    max_history: int
    beam_size: int | None

    @property
    def setting(self) -> str:
        """``name`` when the history (and the beam, where there is one) are that protocol's, else ``custom``."""
        spec = PROTOCOLS[self.name]
        beam_ok = self.beam_size is None or self.beam_size == spec.beam_size
        return self.name if beam_ok and self.max_history == spec.max_history else CUSTOM

    def describe(self) -> str:
        """E.g. ``decor (history ≤ 20, beam 20)`` or ``etegrec (history ≤ 50, full ranking)``."""
        beam = "full ranking" if self.beam_size is None else f"beam {self.beam_size}"
        return f"{self.name} (history \u2264 {self.max_history}, {beam})"


@dataclass(frozen=True)
class DatasetResults:
    """What the pipeline measured on one dataset; ``values[run][column]`` in the paper's units.

    Runs are model names (test metrics and, for generative variants, ``utilization_*``), ``tokenizer``
    (``utilization_*`` of the RQ-VAE codes) and ``filter`` (dataset statistics, sparsity in %).
    Utilization is in % like the paper's Table 3. ``ranks[run][seed]``: the ranks files present (seed
    ``None`` for an unseeded run), for the seeds whose eval json is present; ``protocols``: each seeded
    run's evaluation protocol. ``missing_evals`` / ``missing_ranks``: per run with some output, the
    files of its expected seeds that are absent (paths relative to the repository root). ``not_converged``:
    per seeded run, the seeds whose train metrics say the run stopped at its ``max_epochs`` cap or a time
    budget rather than by the patience rule (absent train metrics count as unknown, not listed).
    """

    name: str
    values: dict[str, dict[str, Measured]]
    ranks: dict[str, dict[int | None, Path]]
    protocols: dict[str, EvalProtocol] = field(default_factory=dict)
    missing_evals: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    missing_ranks: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    not_converged: dict[str, tuple[int, ...]] = field(default_factory=dict)


def _paper_row(
    raw: Any, columns: tuple[str, ...], datasets: tuple[str, ...], where: str, path: Path, version: str
) -> PaperRow:
    if not isinstance(raw, dict) or "method" not in raw or "values" not in raw:
        raise PipelineInputError(path, "a row needs `method` and `values`", field=where)
    printed = dict(raw["values"])
    if version == "camera_ready":  # the camera-ready's changed numbers replace the arXiv's, dataset by dataset
        changed = raw.get("camera_ready") or {}
        printed |= changed.get("values") or {}
        raw = {**raw, "significant": {**(raw.get("significant") or {}), **(changed.get("significant") or {})}}
    values: dict[str, dict[str, float]] = {}
    for dataset, numbers in printed.items():
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
    protocol = raw.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        problem = f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)} or null"
        raise PipelineInputError(path, problem, field=f"{where}.protocol")
    return PaperRow(raw["method"], raw.get("run"), raw.get("group", ""), values, significant, protocol)


def load_paper_results(path: str | Path = PAPER_RESULTS, version: str = "camera_ready") -> PaperResults:
    """Parse ``paper_results.yaml`` (every number of the paper's Tables 1–4) as printed in ``version`` of the paper
    (``PAPER_VERSIONS``: a row's ``camera_ready`` entry holds the numbers that version changed)."""
    if version not in PAPER_VERSIONS:
        raise ValueError(f"unknown paper version {version!r}; known: {', '.join(PAPER_VERSIONS)}")
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
            _paper_row(row, columns, datasets, f"{name}.rows[{i}]", path, version)
            for i, row in enumerate(raw[name]["rows"])
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


def read_eval_protocol(path: str | Path, seed: int) -> EvalProtocol:
    """The protocol an eval json of training ``seed`` records (its ``seed`` must be ``seed``)."""
    path = Path(path)
    obj = _read(path)
    if isinstance(obj.get("seed"), bool) or obj.get("seed") != seed:
        raise PipelineInputError(path, f"expected seed {seed}, got {obj.get('seed')!r}", field="seed")
    if obj.get("protocol") not in PROTOCOLS:
        problem = f"expected one of {', '.join(PROTOCOLS)}, got {obj.get('protocol')!r}"
        raise PipelineInputError(path, problem, field="protocol")
    for key, optional in (("max_history", False), ("beam_size", True)):
        value = obj.get(key)
        if not (optional and value is None) and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise PipelineInputError(path, f"expected a positive integer, got {value!r}", field=key)
    return EvalProtocol(obj["protocol"], obj["max_history"], obj.get("beam_size"))


def read_stopped_by(path: Path) -> str | None:
    """A train metrics file's ``stopped_by`` (``patience`` | ``max_epochs`` | ``time_budget``); None when absent."""
    if not path.is_file():
        return None
    stopped = _read(path).get("stopped_by")
    return stopped if isinstance(stopped, str) else None


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


def by_column(per_seed: dict[int | None, dict[str, float]]) -> dict[str, Measured]:
    """``{seed: {column: value}}`` → ``{column: Measured}`` (a column gets the seeds that report it)."""
    columns = dict.fromkeys(column for values in per_seed.values() for column in values)
    return {c: Measured({s: values[c] for s, values in per_seed.items() if c in values}) for c in columns}


def run_protocol(protocols: dict[Path, EvalProtocol]) -> EvalProtocol:
    """The one protocol of a run's seed files (``path → protocol``, at least one); disagreeing files raise."""
    (first_path, first), *others = protocols.items()
    for path, protocol in others:
        if protocol != first:
            problem = f"evaluated with {protocol.describe()}, but {first_path} with {first.describe()}"
            raise PipelineInputError(path, problem, field="protocol")
    return first


def read_results(
    name: str, files: ResultFiles, runs: Mapping[str, Sequence[int]], metrics: Iterable[str],
    shown: ResultFiles | None = None,
) -> DatasetResults:
    """Every measured value under ``files`` (a dataset's ``reports/metrics/<dataset>``, or a campaign folder: the
    same layout) for ``runs`` = each model → the training seeds expected of it (ignored for ``UNSEEDED_RUNS``):
    absent files are skipped, and listed when a run has some of its seeds, with their ``shown`` paths (default
    ``files``'). No ranks are read where ``files.ranks`` is ``None``."""
    shown = files if shown is None else shown
    metrics = tuple(metrics)
    values: dict[str, dict[str, Measured]] = {}
    ranks: dict[str, dict[int | None, Path]] = {}
    protocols: dict[str, EvalProtocol] = {}
    missing_evals: dict[str, tuple[Path, ...]] = {}
    missing_ranks: dict[str, tuple[Path, ...]] = {}
    not_converged: dict[str, tuple[int, ...]] = {}
    for run, seeds in runs.items():
        names = {None: run} if run in UNSEEDED_RUNS else {s: run_name(run, s) for s in seeds}
        found = {seed: files.eval_metrics(name) for seed, name in names.items() if files.eval_metrics(name).is_file()}
        if not found:
            continue
        values[run] = by_column({seed: read_eval_metrics(path, metrics) for seed, path in found.items()})
        if run not in UNSEEDED_RUNS:
            protocols[run] = run_protocol({path: read_eval_protocol(path, seed) for seed, path in found.items()})
            not_converged[run] = tuple(s for s in found if read_stopped_by(files.train_metrics(names[s])) not in
                                       (None, "patience"))
        if len(found) < len(names):
            missing_evals[run] = tuple(shown.eval_metrics(name) for s, name in names.items() if s not in found)
        if files.ranks is None:
            continue
        present = {s: files.user_ranks(names[s]) for s in found}
        ranks[run] = {s: path for s, path in present.items() if path is not None and path.is_file()}
        if len(ranks[run]) < len(found):
            missing_ranks[run] = tuple(path for s in found if s not in ranks[run]
                                       if (path := shown.user_ranks(names[s])) is not None)
    if files.tokenizer_metrics_of(None).is_file():
        values[TOKENIZER_RUN] = by_column({None: read_tokenizer_utilization(files.tokenizer_metrics_of(None))})
    if files.dataset_stats.is_file():
        values[STATS_RUN] = by_column({None: read_dataset_stats(files.dataset_stats)})
    return DatasetResults(name, values, ranks, protocols, missing_evals, missing_ranks, not_converged)


def collect_results(
    dataset: str, runs: Iterable[str], metrics: Iterable[str], root: str | Path = ".", seeds: Iterable[int] = ()
) -> DatasetResults:
    """Every measured value of ``dataset`` for the model ``runs`` expected there, trained models read for the
    training ``seeds`` (:func:`read_results` over ``reports/metrics/<dataset>`` and ``data/<dataset>/ranks``;
    missing files named relative to the repository root)."""
    seeds = tuple(seeds)
    files, shown = DatasetPaths(dataset, Path(root)).results, DatasetPaths(dataset).results
    return read_results(dataset, files, dict.fromkeys(runs, seeds), metrics, shown)
