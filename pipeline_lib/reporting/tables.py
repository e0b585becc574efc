"""The paper's Tables 1–4 rebuilt from this pipeline's metrics, beside the paper's numbers.

Each table is first a tidy long frame (one row per cell: column dataset × table row × metric, with our
value, the paper's, their relative difference and a status), which is also the CSV; Markdown and
LaTeX are rendered from it.

Cell status: ``measured`` (our output exists), ``missing`` (the run is expected — its dataset is in
``datasets`` and the model is a listed variant or one of the baselines every dataset runs — but its
output is absent; never filled in), ``reported`` (a paper number with no run of ours: a model this
pipeline does not implement, or a paper dataset not in ``datasets``), ``not run`` (neither).

Marks (Tables 1 and 2, as in the paper): in each column, the best value is bold and the second best
underlined, over the values the column shows (ours where measured, the paper's where reported);
values are compared at display precision and ranked densely, so all tied values share a mark and the
next distinct value is second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import atomic_path
from pipeline_lib.params import make_config
from pipeline_lib.paths import DatasetPaths
from pipeline_lib.reporting.results import (
    STATS_RUN,
    TOKENIZER_RUN,
    DatasetResults,
    PaperResults,
    PaperRow,
    PaperTable,
    collect_results,
    load_paper_results,
    read_ranks,
)
from pipeline_lib.reporting.significance import compare_runs

MEASURED, MISSING, REPORTED, NOT_RUN = "measured", "missing", "reported", "not run"
BASELINE_RUNS = ("sasrec", "gru4rec", "etegrec", "popularity")  # dvc.yaml runs these on every dataset
DECOR_RUN = "decor"
FORMATS = ("md", "tex", "csv")
DEFAULT_PAPER_COLUMNS = {"scientific": "Scientific", "instrument": "Instrument", "game": "Game"}
# Rows of ours with no paper counterpart, appended to a paper table.
EXTRA_ROWS = {"table1": (PaperRow("Popularity", "popularity", "Floor (ours only)", {}),)}
# Columns of ours with no paper counterpart, appended to a paper table (composition variants only; no marks).
# Table 2: the context ablation (each user's composition context u replaced by the mean u over the test
# users); Table 3: per layer, the eq. 16 weights' mean entropy (nats), mean max weight and the number of
# distinct argmax codes over the test contexts, which tell a contextual composition from a constant one.
EXTRA_COLUMNS = {
    "table2": ("const_recall@10", "const_ndcg@10"),
    "table3": tuple(f"{stat}_{layer}" for layer in (1, 2, 3) for stat in ("entropy", "max_weight", "distinct_argmax")),
}
TITLES = {
    "table1": "Table 1: Performance comparison",
    "table2": "Table 2: Ablation of DECOR",
    "table3": "Table 3: Embedding utilization per quantization layer",
    "table4": "Table 4: Dataset statistics",
}
OURS_ONLY_COLUMNS = frozenset(c for columns in EXTRA_COLUMNS.values() for c in columns)


@dataclass(frozen=True)
class Measure:
    """How one column's numbers are shown: label, decimals, a % sign, thousands separators."""

    label: str
    decimals: int
    percent: bool = False
    thousands: bool = False

    def show(self, value: float, tex: bool = False) -> str:
        text = f"{value:{',' if self.thousands else ''}.{self.decimals}f}"
        return text + ("\\%" if tex else "%") * self.percent


MEASURES = {
    "recall@5": Measure("R@5", 4),
    "recall@10": Measure("R@10", 4),
    "ndcg@5": Measure("N@5", 4),
    "ndcg@10": Measure("N@10", 4),
    "layer_1": Measure("Layer-1", 2, percent=True),
    "layer_2": Measure("Layer-2", 2, percent=True),
    "layer_3": Measure("Layer-3", 2, percent=True),
    "users": Measure("#Users", 0, thousands=True),
    "items": Measure("#Items", 0, thousands=True),
    "interactions": Measure("#Interactions", 0, thousands=True),
    "sparsity": Measure("Sparsity", 3, percent=True),
    "const_recall@10": Measure("R@10 const. u", 4),
    "const_ndcg@10": Measure("N@10 const. u", 4),
    **{f"entropy_{i}": Measure(f"H-{i} (nats)", 2) for i in (1, 2, 3)},
    **{f"max_weight_{i}": Measure(f"max α-{i}", 3) for i in (1, 2, 3)},
    **{f"distinct_argmax_{i}": Measure(f"#argmax-{i}", 0) for i in (1, 2, 3)},
}


@dataclass(frozen=True)
class Layout:
    """LaTeX row / column index (frame columns); ``blocks``: Markdown gets one table per dataset column."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    blocks: bool
    marks: bool


LAYOUTS = {
    "table1": Layout(("group", "method"), ("dataset", "metric"), blocks=True, marks=True),
    "table2": Layout(("method",), ("dataset", "metric"), blocks=True, marks=True),
    "table3": Layout(("dataset", "method"), ("metric",), blocks=True, marks=False),
    "table4": Layout(("dataset",), ("metric",), blocks=False, marks=False),
}


@dataclass(frozen=True)
class TablesConfig:
    """params.yaml ``tables``: our dataset → paper column, the t-test level, the formats written."""

    paper_columns: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PAPER_COLUMNS))
    significance_level: float = 0.05
    formats: tuple[str, ...] = FORMATS

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", tuple(self.formats))
        unknown = set(self.formats) - set(FORMATS)
        if unknown:
            raise ValueError(f"unknown formats {sorted(unknown)}; known: {', '.join(FORMATS)}")
        if not 0 < self.significance_level < 1:
            raise ValueError(f"significance_level must be in (0, 1), got {self.significance_level}")


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


def tables_config(params: dict[str, Any], params_path: str | Path) -> TablesConfig:
    return make_config(TablesConfig, params.get("tables") or {}, params_path, "tables")


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


def _cell(row: PaperRow, column: Column, metric: str, results: dict[str, DatasetResults], expected: set[str]) -> dict:
    paper = row.values.get(column.paper, {}).get(metric) if column.paper else None
    measured = results.get(column.dataset) if column.dataset else None
    ours = measured.values.get(row.run, {}).get(metric) if measured is not None and row.run else None
    if ours is not None:
        status = MEASURED
    elif metric in OURS_ONLY_COLUMNS:  # measured by composition variants only: "—" elsewhere
        status = NOT_RUN
    elif column.dataset is not None and row.run in expected:
        status = MISSING
    else:
        status = REPORTED if paper is not None else NOT_RUN
    both = ours is not None and paper is not None
    return {
        "dataset": column.label,
        "our_dataset": column.dataset,
        "paper_dataset": column.paper,
        "group": row.group,
        "method": row.method,
        "run": row.run,
        "metric": metric,
        "status": status,
        "ours": ours,
        "paper": paper,
        "rel_diff": relative_difference(ours, paper) if both else None,
        "paper_significant": metric in row.significant.get(column.paper, ()) if paper is not None else None,
        "significant": None,
        "p_value": None,
        "compared_to": None,
    }


def build_frame(
    name: str, paper: PaperTable, columns: Sequence[Column], results: dict[str, DatasetResults], expected: set[str]
) -> pd.DataFrame:
    """The long frame of one table (see the module docstring), with ``mark`` when the layout ranks columns."""
    rows = paper.rows + EXTRA_ROWS.get(name, ())
    metrics = paper.columns + EXTRA_COLUMNS.get(name, ())
    frame = pd.DataFrame(
        [_cell(row, col, metric, results, expected) for row in rows for col in columns for metric in metrics]
    ).astype({"ours": "float64", "paper": "float64", "rel_diff": "float64", "p_value": "float64"})
    frame.insert(0, "table", name)
    shown = frame["ours"].where(frame["status"] == MEASURED, frame["paper"].where(frame["status"] == REPORTED))
    frame["mark"] = ""
    if LAYOUTS[name].marks:
        for (_, metric), cells in shown.groupby([frame["dataset"], frame["metric"]], sort=False):
            if metric in OURS_ONLY_COLUMNS:
                continue
            values = [None if pd.isna(v) else float(v) for v in cells]
            frame.loc[cells.index, "mark"] = best_marks(values, MEASURES[metric].decimals)
    return frame


def _best_baseline(cells: pd.DataFrame) -> pd.Series | None:
    """The measured non-DECOR row with the highest mean (the first in table order on ties)."""
    rivals = cells[(cells["status"] == MEASURED) & (cells["run"] != DECOR_RUN)]
    return None if rivals.empty else rivals.loc[rivals["ours"].idxmax()]


def add_significance(frame: pd.DataFrame, columns: Sequence[Column], level: float, root: Path) -> tuple[str, ...]:
    """Test DECOR against the best baseline per dataset and metric, in place; returns the notes for the table."""
    notes: list[str] = []
    ranks: dict[tuple[str, str], pd.DataFrame] = {}
    for column in columns:
        if column.dataset is None:
            continue
        paths = DatasetPaths(column.dataset, root)
        tested: list[str] = []
        for metric, cells in frame[frame["dataset"] == column.label].groupby("metric", sort=False):
            decor = cells[(cells["run"] == DECOR_RUN) & (cells["status"] == MEASURED)]
            rival = _best_baseline(cells)
            if decor.empty or rival is None:
                continue
            absent = [run for run in (DECOR_RUN, rival["run"]) if not paths.user_ranks(run).is_file()]
            if absent:
                missing = ", ".join(str(DatasetPaths(column.dataset).user_ranks(run)) for run in absent)
                notes.append(f"{column.label} {MEASURES[metric].label}: no significance test, {missing} missing.")
                continue
            for run in (DECOR_RUN, rival["run"]):
                if (column.dataset, run) not in ranks:
                    ranks[column.dataset, run] = read_ranks(paths.user_ranks(run))
            test = compare_runs(
                ranks[column.dataset, DECOR_RUN],
                ranks[column.dataset, rival["run"]],
                metric,
                paths.user_ranks(DECOR_RUN),
                paths.user_ranks(rival["run"]),
            )
            index = decor.index[0]
            frame.loc[index, ["significant", "p_value", "compared_to"]] = [
                test.significant(level), test.p_value, rival["method"]
            ]
            tested.append(f"{MEASURES[metric].label} vs {rival['method']} p={test.p_value:.3g}")
        if tested:
            n_users = len(ranks[column.dataset, DECOR_RUN])
            notes.append(f"{column.label}, DECOR vs best baseline over {n_users} users: " + "; ".join(tested) + ".")
    return tuple(notes)


def build_tables(
    paper: PaperResults,
    results: dict[str, DatasetResults],
    datasets: Sequence[str],
    variants: Iterable[str],
    config: TablesConfig,
    params_path: str | Path = "params.yaml",
    root: str | Path = ".",
) -> list[Table]:
    """Tables 1–4 from the paper's numbers and ours (``results`` keyed by our dataset names)."""
    columns = table_columns(paper.datasets, datasets, config.paper_columns, params_path)
    expected = set(variants) | set(BASELINE_RUNS) | {TOKENIZER_RUN, STATS_RUN}
    tables = []
    for name, spec in paper.tables.items():
        frame = build_frame(name, spec, columns, results, expected)
        legend, notes = "", ()
        if name == "table1":
            notes = add_significance(frame, columns, config.significance_level, Path(root))
            legend = SIGNIFICANCE_LEGEND.format(level=config.significance_level)
        tables.append(Table(name, TITLES[name], spec.caption, frame, LAYOUTS[name], legend, notes))
    return tables


def report_tables(
    params: dict[str, Any], params_path: str | Path = "params.yaml", root: str | Path = "."
) -> list[Table]:
    """Read everything the tables need (params' ``datasets``/``variants``, our metrics, the paper's) and build them."""
    datasets = params.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        raise PipelineInputError(params_path, "expected a non-empty list of dataset names", field="datasets")
    variants = params.get("variants") or []
    config = tables_config(params, params_path)
    paper = load_paper_results()
    metrics = paper.tables["table1"].columns
    runs = list(dict.fromkeys([*variants, *BASELINE_RUNS]))
    results = {d: collect_results(d, runs, metrics, root) for d in datasets}
    return build_tables(paper, results, datasets, variants, config, params_path, root)


def _flag(value: Any) -> bool:
    """A significance flag of the frame: ``None`` / NaN (not tested) count as not set."""
    return not pd.isna(value) and bool(value)


def _percent(rel: float, tex: bool) -> str:
    text = f"{100 * rel:+.1f}"
    return f"${text}\\%$" if tex else text.replace("-", "\u2212") + "%"


def markdown_cell(cell: pd.Series) -> str:
    """``0.0295 (paper 0.0301, −2.0%)``, ``0.0172 (reported)``, ``missing (paper …)`` or ``—``.

    Best bold, second italic; ``\\*`` (escaped for Markdown) after a significant value.
    """
    measure = MEASURES[cell["metric"]]
    wrap = {"best": "**", "second": "_"}.get(cell["mark"], "")
    paper = None
    if not pd.isna(cell["paper"]):
        paper = measure.show(cell["paper"]) + ("\\*" if _flag(cell["paper_significant"]) else "")
    if cell["status"] == MEASURED:
        text = wrap + measure.show(cell["ours"]) + wrap + ("\\*" if _flag(cell["significant"]) else "")
        if paper is None:
            return text
        rel = "" if pd.isna(cell["rel_diff"]) else ", " + _percent(cell["rel_diff"], False)
        return f"{text} (paper {paper}{rel})"
    if cell["status"] == REPORTED:
        return f"{wrap}{paper}{wrap} (reported)"
    if cell["status"] == MISSING:
        return "missing" + (f" (paper {paper})" if paper else "")
    return "\u2014"


def _superscript(*marks: str) -> str:
    marks = tuple(m for m in marks if m)
    return f"$^{{{','.join(marks)}}}$" if marks else ""


def latex_cell(cell: pd.Series) -> str:
    """The LaTeX form of a cell: bold best, underlined second, ``*`` significant, ``\\dagger`` reported."""
    measure = MEASURES[cell["metric"]]
    marked = {"best": "\\textbf{{{}}}", "second": "\\underline{{{}}}"}.get(cell["mark"], "{}")
    if cell["status"] == MEASURED:
        text = marked.format(measure.show(cell["ours"], tex=True)) + _superscript("*" * _flag(cell["significant"]))
        if pd.isna(cell["paper"]):
            return text
        paper = measure.show(cell["paper"], tex=True) + _superscript("*" * _flag(cell["paper_significant"]))
        rel = "" if pd.isna(cell["rel_diff"]) else ", " + _percent(cell["rel_diff"], True)
        return f"{text} {{\\scriptsize ({paper}{rel})}}"
    if cell["status"] == REPORTED:
        paper = marked.format(measure.show(cell["paper"], tex=True))
        return paper + _superscript("*" * _flag(cell["paper_significant"]), "\\dagger")
    return "missing" if cell["status"] == MISSING else "--"


def _labelled(frame: pd.DataFrame, render: Any) -> pd.DataFrame:
    shown = frame.assign(text=frame.apply(render, axis=1))
    return shown.assign(metric=shown["metric"].map(lambda m: MEASURES[m].label))


def _grid(frame: pd.DataFrame, index: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """``frame.text`` pivoted to ``index`` × ``columns``, nested level by level in order of first appearance."""

    def ordered(keys: Sequence[str]) -> pd.Index:
        unique = frame.loc[:, list(keys)].drop_duplicates()
        first_seen = [{value: i for i, value in enumerate(pd.unique(frame[key]))} for key in keys]
        unique = unique.sort_values(list(keys), key=lambda col: col.map(first_seen[keys.index(col.name)]))
        return pd.MultiIndex.from_frame(unique) if len(keys) > 1 else pd.Index(unique[keys[0]], name=keys[0])

    wide = frame.pivot(index=list(index), columns=list(columns), values="text")
    return wide.reindex(index=ordered(index), columns=ordered(columns))


SIGNIFICANCE_LEGEND = (
    "*: DECOR significantly better than the best measured non-DECOR model of the column (highest mean), "
    "paired t-test over test users, p < {level}."
)
LEGEND = (
    "Cells: ours (paper value, relative difference of ours to the paper). `reported`: the paper's number, "
    "not run here; `missing`: an expected run without output; \u2014: neither."
)


def _block_heading(column: pd.Series) -> str:
    if pd.isna(column["our_dataset"]):
        return f"{column['dataset']} (paper only: not in `datasets`)"
    if pd.isna(column["paper_dataset"]):
        return f"{column['dataset']} (ours only: no paper column)"
    return f"{column['dataset']} (ours: `{column['our_dataset']}`)"


def _markdown_grid(grid: pd.DataFrame) -> str:
    grid.index.names = [name.capitalize() for name in grid.index.names]
    return grid.reset_index().to_markdown(index=False)


def render_markdown(table: Table) -> str:
    frame = _labelled(table.frame, markdown_cell)
    legend = LEGEND
    if table.layout.marks:
        legend += " **Bold**: best, _italic_: second best per column (ties share a mark)."
    if table.legend:
        legend += " " + table.legend.replace("*", "\\*", 1)
    parts = [f"# {table.title}", "", table.caption, "", legend, ""]
    if table.layout.blocks:
        index = [key for key in table.layout.rows if key != "dataset" and (frame[key] != "").any()]
        for _, column in frame.drop_duplicates("dataset").iterrows():
            block = _grid(frame[frame["dataset"] == column["dataset"]], index, ["metric"])
            parts += [f"## {_block_heading(column)}", "", _markdown_grid(block), ""]
    else:
        parts += [_markdown_grid(_grid(frame, table.layout.rows, ["metric"])), ""]
    if table.notes:
        parts += ["Notes:", "", *[f"- {note}" for note in table.notes], ""]
    return "\n".join(parts)


def _escape_latex(text: str) -> str:
    specials = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}"}
    return "".join(specials.get(char, char) for char in text)


def render_latex(table: Table) -> str:
    """A booktabs table (pandas Styler): the paper's layout, cells as in ``latex_cell``."""
    frame = _labelled(table.frame, latex_cell)
    rows = [key for key in table.layout.rows if (frame[key] != "").any()]
    grid = _grid(frame, rows, table.layout.columns)
    grid.index.names = [name.capitalize() for name in grid.index.names]
    grid.columns.names = [None] * grid.columns.nlevels
    caption = _escape_latex(f"{table.caption} Cells: ours (paper, relative difference).")
    caption += " $^{\\dagger}$: reported in the paper, not run here."
    if table.layout.marks:
        caption += " Bold: best, underlined: second best per column."
    if table.legend:
        caption += " $^{*}$" + _escape_latex(table.legend.removeprefix("*"))
    styler = grid.style.format_index(escape="latex", axis=0).format_index(escape="latex", axis=1)
    return styler.to_latex(
        hrules=True,
        multicol_align="c",
        multirow_align="naive",
        column_format="l" * grid.index.nlevels + "c" * grid.shape[1],
        caption=caption,
        label=f"tab:{table.name}",
        position_float="centering",
        environment="table*" if len(table.layout.columns) > 1 else None,
    )


def render_csv(table: Table) -> str:
    return table.frame.to_csv(index=False)


RENDERERS = {"md": render_markdown, "tex": render_latex, "csv": render_csv}


def write_tables(tables: Sequence[Table], out_dir: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``<table>.<format>`` for every table and format, each atomically; returns the paths."""
    written = []
    for table in tables:
        for fmt in formats:
            path = Path(out_dir) / f"{table.name}.{fmt}"
            with atomic_path(path) as tmp:
                tmp.write_text(RENDERERS[fmt](table))
            written.append(path)
    return written


def summary(table: Table) -> str:
    """One line: the counts of cells by status."""
    counts = table.frame["status"].value_counts()
    parts = [f"{counts.get(s, 0)} {s}" for s in (MEASURED, MISSING, REPORTED, NOT_RUN) if counts.get(s, 0)]
    return f"{table.name}: " + ", ".join(parts)
