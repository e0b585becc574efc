"""The paper's Tables 1–4 rebuilt from this pipeline's metrics, beside the paper's numbers.

Each table is first a tidy long frame (one row per cell: column dataset × table row × metric, with our
value, the paper's, their relative difference and a status), which is also the CSV; Markdown and
LaTeX are rendered from it (:mod:`pipeline_lib.reporting.table_rendering`). The names and texts the
tables share (statuses, run names, ``MEASURES``, ``LAYOUTS``, the notes) are in
:mod:`pipeline_lib.reporting.table_vocabulary`.

Our value of a trained model is the mean over the training seeds present (params ``seeds``), shown
with the sample sd (``0.0295 ± 0.0012``; one seed: the value and ``n=1``); the frame keeps ``ours``
(the mean), ``ours_sd``, ``n_seeds`` and one ``seed_<s>`` column per seed. Unseeded outputs (the
popularity floor, the tokenizer, the dataset statistics) show their one value.

Protocols: each paper row records the evaluation protocol its numbers come from (``decor``: history
≤ 20, beam 50; ``etegrec``: history ≤ 50, beam 20 — every baseline row of the DECOR paper's Table 1),
each run of ours the one it was evaluated with (its eval jsons; ``custom`` when the history or beam
differs from the named protocol's). The relative difference is computed only where the two agree (or
the paper row has none); elsewhere the cell tags the paper's number with its protocol (``[E]``, ``[D]``).

Cell status: ``measured`` (our output exists), ``missing`` (the run is expected — its dataset is in
``datasets`` and the model is a listed variant or one of the baselines every dataset runs — but its
output is absent; never filled in), ``reported`` (a paper number with no run of ours: a model this
pipeline does not implement, or a paper dataset not in ``datasets``), ``not run`` (neither).

Marks (Tables 1 and 2, as in the paper): in each column, the best value is bold and the second best
underlined, over the values the column shows (our mean where measured, the paper's where reported), the rows
of ours alone (the popularity floor) left out;
values are compared at display precision and ranked densely, so all tied values share a mark and the
next distinct value is second.

Significance (Table 1): DECOR against the measured non-DECOR row with the highest mean, per column and
metric, by Welch's t-test over the per-seed values (``*S``) and by the paired t-test over test users on
the seed-averaged per-user metrics (``*U``); see ``pipeline_lib.reporting.significance``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.reporting.results import (
    CUSTOM,
    STATS_RUN,
    TOKENIZER_RUN,
    DatasetResults,
    Measured,
    PaperResults,
    PaperRow,
    PaperTable,
    collect_results,
    load_paper_results,
    read_ranks,
)
from pipeline_lib.reporting.significance import TTest, WelchTest, compare_runs, welch_t_test
from pipeline_lib.reporting.table_vocabulary import (
    BASELINE_RUNS,
    DECOR_RUN,
    EXTRA_COLUMNS,
    EXTRA_ROWS,
    EXTRA_RUNS,
    FIGURE3_NOTE,
    LAYOUTS,
    MEASURED,
    MEASURES,
    MISSING,
    NOT_CONVERGED_NOTE,
    NOT_RUN,
    NOT_RUN_NOTE,
    OURS_ONLY_COLUMNS,
    PAPER_VERSION_NOTES,
    PROTOCOL_TABLES,
    REPORTED,
    SEQUENTIAL_RUNS,
    SIGNIFICANCE_LEGEND,
    TABLE1_PROTOCOL,
    TITLES,
    Layout,
)
from pipeline_lib.schema import TablesSection, validated


@dataclass(frozen=True)
class Column:
    """A dataset column group: ``dataset`` = ours (when in ``datasets``), ``paper`` = the paper's."""

    label: str
    dataset: str | None
    paper: str | None


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    caption: str
    frame: pd.DataFrame
    layout: Layout
    legend: str = ""
    notes: tuple[str, ...] = ()


def tables_config(params: dict[str, Any], params_path: str | Path) -> TablesSection:
    return validated(TablesSection, params.get("tables") or {}, params_path, "tables")


def table_columns(
    paper_datasets: Sequence[str], datasets: Sequence[str], paper_columns: dict[str, str], params_path: str | Path
) -> list[Column]:
    """The paper's dataset columns (always, in the paper's order), then our datasets that have none."""
    ours_for: dict[str, str] = {}
    for dataset in datasets:
        paper = paper_columns.get(dataset)
        if paper is None:
            continue
        if paper not in paper_datasets:
            raise PipelineInputError(params_path, f"{paper!r} is not a paper dataset", field="tables.paper_columns")
        if paper in ours_for:
            raise PipelineInputError(
                params_path, f"{ours_for[paper]} and {dataset} both map to {paper}", field="tables.paper_columns"
            )
        ours_for[paper] = dataset
    columns = [Column(paper, ours_for.get(paper), paper) for paper in paper_datasets]
    return columns + [Column(d, d, None) for d in datasets if d not in paper_columns]


def relative_difference(ours: float, paper: float) -> float | None:
    """``(ours - paper) / paper``; ``None`` when the paper's value is 0."""
    return None if paper == 0 else (ours - paper) / paper


def best_marks(values: Sequence[float | None], decimals: int) -> list[str]:
    """``"best"`` / ``"second"`` / ``""`` per value: dense ranking, higher is better, at ``decimals``."""
    shown = [None if v is None else round(v, decimals) for v in values]
    distinct = sorted({v for v in shown if v is not None}, reverse=True)
    names = dict(zip(distinct, ("best", "second")))
    return ["" if v is None else names.get(v, "") for v in shown]


def _cell(
    row: PaperRow, column: Column, metric: str, results: dict[str, DatasetResults], expected: set[str],
    seeds: Sequence[int],
) -> dict:
    paper = row.values.get(column.paper, {}).get(metric) if column.paper else None
    measured = results.get(column.dataset) if column.dataset else None
    ours: Measured | None = measured.values.get(row.run, {}).get(metric) if measured is not None and row.run else None
    protocol = measured.protocols.get(row.run) if ours is not None and row.run else None
    if ours is not None:
        status = MEASURED
    elif metric in OURS_ONLY_COLUMNS:  # measured by composition variants only: "—" elsewhere
        status = NOT_RUN
    elif column.dataset is not None and row.run in expected:
        status = MISSING
    else:
        status = REPORTED if paper is not None else NOT_RUN
    setting = protocol.setting if protocol is not None else None
    comparable = ours is not None and paper is not None and row.protocol in (None, setting)
    return {
        "dataset": column.label,
        "our_dataset": column.dataset,
        "paper_dataset": column.paper,
        "group": row.group,
        "method": row.method,
        "run": row.run,
        "metric": metric,
        "status": status,
        "ours": ours.mean if ours is not None else None,
        "ours_sd": ours.sd if ours is not None else None,
        "n_seeds": ours.n if ours is not None and ours.seeded else None,
        "not_converged": len(measured.not_converged.get(row.run, ())) if ours is not None and ours.seeded else None,
        **{f"seed_{seed}": ours.per_seed.get(seed) if ours is not None else None for seed in seeds},
        "paper": paper,
        "rel_diff": relative_difference(ours.mean, paper) if comparable else None,
        "protocol": protocol.describe() if protocol is not None else None,
        "setting": setting,
        "paper_protocol": row.protocol if paper is not None else None,
        "paper_significant": metric in row.significant.get(column.paper, ()) if paper is not None else None,
        "p_seeds": None,
        "significant_seeds": None,
        "p_users": None,
        "significant_users": None,
        "compared_to": None,
    }


def build_frame(
    name: str, paper: PaperTable, columns: Sequence[Column], results: dict[str, DatasetResults], expected: set[str],
    seeds: Sequence[int] = (),
) -> pd.DataFrame:
    """The long frame of one table (see the module docstring), with ``mark`` when the layout ranks columns."""
    rows = paper.rows + EXTRA_ROWS.get(name, ())
    metrics = paper.columns + EXTRA_COLUMNS.get(name, ())
    records = [_cell(row, col, m, results, expected, seeds) for row in rows for col in columns for m in metrics]
    floats = ["ours", "ours_sd", *(f"seed_{seed}" for seed in seeds), "paper", "rel_diff", "p_seeds", "p_users"]
    frame = pd.DataFrame(records).astype({**dict.fromkeys(floats, "float64"), "n_seeds": "Int64"})
    frame.insert(0, "table", name)
    shown = frame["ours"].where(frame["status"] == MEASURED, frame["paper"].where(frame["status"] == REPORTED))
    shown = shown.where(~frame["run"].isin(EXTRA_RUNS))  # a floor is no contender
    frame["mark"] = ""
    if LAYOUTS[name].marks:
        for (_, metric), cells in shown.groupby([frame["dataset"], frame["metric"]], sort=False):
            if metric in OURS_ONLY_COLUMNS:
                continue
            values = [None if pd.isna(v) else float(v) for v in cells]
            frame.loc[cells.index, "mark"] = best_marks(values, MEASURES[metric].decimals)
    return frame


def _best_baseline(cells: pd.DataFrame) -> pd.Series | None:
    """The measured non-DECOR row with the highest mean (the first in table order on ties), not a row of ours alone."""
    rivals = cells[(cells["status"] == MEASURED) & (cells["run"] != DECOR_RUN) & ~cells["run"].isin(EXTRA_RUNS)]
    return None if rivals.empty else rivals.loc[rivals["ours"].idxmax()]


def seeds_test(ours: Measured, other: Measured) -> WelchTest | None:
    """Welch's t-test of two runs' per-seed values; ``None`` (not tested) unless both have ≥ 2 seeds."""
    if not (ours.seeded and other.seeded and ours.n >= 2 and other.n >= 2):
        return None
    return welch_t_test(list(ours.per_seed.values()), list(other.per_seed.values()))


def _p(test: TTest | None) -> str:
    return "not tested" if test is None else f"{test.p_value:.3g}"


class _RanksCache:
    """Ranks files read once per table build (``read_ranks``), as ``path → frame`` per run's seeds."""

    def __init__(self) -> None:
        self._frames: dict[Path, pd.DataFrame] = {}

    def of(self, results: DatasetResults, run: str) -> dict[Path, pd.DataFrame]:
        paths = results.ranks.get(run, {}).values()
        for path in paths:
            if path not in self._frames:
                self._frames[path] = read_ranks(path)
        return {path: self._frames[path] for path in paths}


def _test_cell(frame: pd.DataFrame, decor: pd.Series, rival: pd.Series, results: DatasetResults,
               ranks: _RanksCache, level: float) -> str:
    """Run both tests for one DECOR cell, store them in ``frame``; returns the cell's part of the note."""
    metric = decor["metric"]
    ours, other = results.values[DECOR_RUN][metric], results.values[rival["run"]][metric]
    over_seeds = seeds_test(ours, other)
    ours_ranks, other_ranks = ranks.of(results, DECOR_RUN), ranks.of(results, rival["run"])
    over_users = compare_runs(ours_ranks, other_ranks, metric) if ours_ranks and other_ranks else None
    frame.loc[decor.name, ["p_seeds", "significant_seeds", "p_users", "significant_users", "compared_to"]] = [
        None if over_seeds is None else over_seeds.p_value,
        None if over_seeds is None else over_seeds.significant(level),
        None if over_users is None else over_users.p_value,
        None if over_users is None else over_users.significant(level),
        rival["method"],
    ]
    n_other = f"{other.n} seeds" if other.seeded else "unseeded"
    users = f"{over_users.n} users" if over_users is not None else "no ranks files"
    return (
        f"{MEASURES[metric].label} vs {rival['method']}: DECOR {ours.mean - other.mean:+.4f}, "
        f"p_seeds {_p(over_seeds)} ({ours.n} vs {n_other}), "
        f"p_users {_p(over_users)} ({users})"
    )


def add_significance(
    frame: pd.DataFrame, columns: Sequence[Column], results: dict[str, DatasetResults], level: float
) -> tuple[str, ...]:
    """Test DECOR against the best other model per dataset and metric, in place; returns the notes for the table."""
    notes: list[str] = []
    ranks = _RanksCache()
    for column in columns:
        if column.dataset not in results:
            continue
        measured, tested, rivals = results[column.dataset], [], set()
        for _, cells in frame[frame["dataset"] == column.label].groupby("metric", sort=False):
            decor = cells[(cells["run"] == DECOR_RUN) & (cells["status"] == MEASURED)]
            rival = _best_baseline(cells)
            if decor.empty or rival is None:
                continue
            tested.append(_test_cell(frame, decor.iloc[0], rival, measured, ranks, level))
            rivals.add(rival["run"])
        if not tested:
            continue
        notes.append(f"{column.label}, DECOR vs the best other model: " + "; ".join(tested) + ".")
        absent = [path for run in (DECOR_RUN, *sorted(rivals)) for path in measured.missing_ranks.get(run, ())]
        if absent:
            notes.append(
                f"{column.label}: ranks files missing, so the test over users averages the other seeds "
                f"(none: not tested): {', '.join(map(str, absent))}."
            )
    return tuple(notes)


def missing_seed_notes(frame: pd.DataFrame, columns: Sequence[Column], results: dict[str, DatasetResults]) -> list[str]:
    """One note per run of the table measured with some but not all of its seeds, naming the absent files."""
    notes = []
    for column in columns:
        if column.dataset not in results:
            continue
        shown = frame[(frame["dataset"] == column.label) & (frame["status"] == MEASURED)]
        for run in dict.fromkeys(shown["run"]):
            absent = results[column.dataset].missing_evals.get(run, ())
            if absent:
                notes.append(
                    f"{column.label}, {run}: mean over the seeds present; missing {', '.join(map(str, absent))}."
                )
    return notes


def protocol_notes(
    frame: pd.DataFrame, columns: Sequence[Column], results: dict[str, DatasetResults], protocol: str | None
) -> list[str]:
    """Per dataset, the settings our measured runs were evaluated with (and which paper rows they compare to)."""
    notes = []
    for column in columns:
        if column.dataset is None:
            continue
        measured = results.get(column.dataset)
        runs = frame.loc[(frame["dataset"] == column.label) & frame["protocol"].notna()].drop_duplicates("run")
        if measured is None or runs.empty:
            notes.append(f"{column.label}: nothing measured (params protocol: {protocol}).")
            continue
        parts = []
        for (described, setting), group in runs.groupby(["protocol", "setting"], sort=False):
            compared = (
                "no relative differences (the paper's rows use a named protocol)"
                if setting == CUSTOM
                else f"relative differences to the paper's `{setting}` rows only"
            )
            parts.append(f"{described} = `{setting}` ({', '.join(group['method'])}): {compared}")
        notes.append(f"{column.label}, evaluated with " + "; ".join(parts) + ".")
    return notes


def build_tables(
    paper: PaperResults,
    results: dict[str, DatasetResults],
    datasets: Sequence[str],
    variants: Iterable[str],
    config: TablesSection,
    seeds: Sequence[int] = (),
    protocol: str | None = None,
    params_path: str | Path = "params.yaml",
    baselines: Iterable[str] = BASELINE_RUNS,
) -> list[Table]:
    """Tables 1–4 from the paper's numbers and ours (``results`` keyed by our dataset names, read for the
    training ``seeds``; ``protocol``: params' evaluation protocol, named for datasets with nothing measured;
    ``baselines``: the non-generative runs the pipeline ran, a run of the others counts as not run)."""
    columns = table_columns(paper.datasets, datasets, config.paper_columns, params_path)
    expected = set(variants) | set(baselines) | {TOKENIZER_RUN, STATS_RUN}
    tables = []
    for name, spec in paper.tables.items():
        frame = build_frame(name, spec, columns, results, expected, seeds)
        caption, legend, notes = spec.caption, "", []
        if name == "table1":
            caption = f"{caption} {TABLE1_PROTOCOL}"
            notes += add_significance(frame, columns, results, config.significance_level)
            legend = SIGNIFICANCE_LEGEND.format(level=config.significance_level)
            notes.append(NOT_RUN_NOTE)
        if name in PROTOCOL_TABLES:
            notes += protocol_notes(frame, columns, results, protocol)
        if name == "table2":
            notes.append(FIGURE3_NOTE)
        if any(column.paper for column in columns):
            notes.append(PAPER_VERSION_NOTES[config.paper_version])
        notes += missing_seed_notes(frame, columns, results)
        if (frame["not_converged"].fillna(0) > 0).any():
            notes.append(NOT_CONVERGED_NOTE)
        tables.append(Table(name, TITLES[name], caption, frame, LAYOUTS[name], legend, tuple(notes)))
    return tables


def _seeds(params: dict[str, Any], params_path: str | Path) -> list[int]:
    seeds = params.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(type(s) is int for s in seeds):
        problem = f"expected a non-empty list of integer training seeds, got {seeds!r}"
        raise PipelineInputError(params_path, problem, field="seeds")
    return seeds


def report_tables(
    params: dict[str, Any], params_path: str | Path = "params.yaml", root: str | Path = "."
) -> list[Table]:
    """Read everything the tables need (params' ``datasets``/``variants``/``tokenizer_variants``/
    ``baseline_models``/``seeds``/``protocol``, our metrics, the paper's) and build them; runs outside those
    lists are shown as not run, whatever metrics files of theirs are present."""
    datasets = params.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        raise PipelineInputError(params_path, "expected a non-empty list of dataset names", field="datasets")
    variants = [*(params.get("variants") or []), *(params.get("tokenizer_variants") or [])]
    seeds = _seeds(params, params_path)
    config = tables_config(params, params_path)
    paper = load_paper_results(version=config.paper_version)
    metrics = paper.tables["table1"].columns
    chosen = params.get("baseline_models", SEQUENTIAL_RUNS)
    baselines = [run for run in BASELINE_RUNS if run not in SEQUENTIAL_RUNS or run in chosen]
    runs = list(dict.fromkeys([*variants, *baselines]))
    results = {d: collect_results(d, runs, metrics, root, seeds) for d in datasets}
    return build_tables(paper, results, datasets, variants, config, seeds, params.get("protocol"), params_path,
                        baselines)
