"""The tables rendered: each cell of a table's frame (:mod:`pipeline_lib.reporting.tables`) as Markdown or
LaTeX text, each table as Markdown (one block per dataset column where the layout says so), LaTeX (a
booktabs table, pandas Styler) or CSV (the frame itself), written atomically; ``summary``: one line of
cell counts per table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline_lib.io import atomic_path
from pipeline_lib.reporting.table_vocabulary import (
    LEGEND,
    MEASURED,
    MEASURES,
    MISSING,
    NOT_RUN,
    PROTOCOL_TAGS,
    REPORTED,
    SIGNIFICANCE_MARKS,
    Measure,
)
from pipeline_lib.reporting.tables import Table
from pipeline_lib.schema.reports import FORMATS


def _flag(value: Any) -> bool:
    """A significance flag of the frame: ``None`` / NaN (not tested) count as not set."""
    return not pd.isna(value) and bool(value)


def _percent(rel: float, tex: bool) -> str:
    text = f"{100 * rel:+.1f}"
    return f"${text}\\%$" if tex else text.replace("-", "\u2212") + "%"


def _significance(cell: pd.Series) -> list[str]:
    """``["*S", "*U"]``, the tests by which DECOR's cell is significant (over seeds, over users)."""
    return [f"*{mark}" for column, mark in SIGNIFICANCE_MARKS if _flag(cell[column])]


def _details(cell: pd.Series, paper: str | None, tex: bool) -> list[str]:
    """What a measured cell shows in parentheses: ``n=1`` (one seed), the paper's number with the relative
    difference, or with its protocol's tag (``[E]``) when it was measured under another protocol than ours."""
    parts = ["n=1"] if not pd.isna(cell["n_seeds"]) and cell["n_seeds"] == 1 else []
    if not pd.isna(cell["not_converged"]) and cell["not_converged"] > 0:
        parts.append(f"not converged {int(cell['not_converged'])}/{int(cell['n_seeds'])}")
    if paper is None:
        return parts
    if not pd.isna(cell["rel_diff"]):
        paper += ", " + _percent(cell["rel_diff"], tex)
    elif not pd.isna(cell["paper_protocol"]) and cell["paper_protocol"] != cell["setting"]:
        paper += f" [{PROTOCOL_TAGS[cell['paper_protocol']]}]"
    return parts + [paper if tex else f"paper {paper}"]


def _mean_sd(cell: pd.Series, measure: Measure, tex: bool) -> str:
    """``0.0295 ± 0.0012`` (``$\\pm$`` in LaTeX); the mean alone without an sd (one seed, or unseeded)."""
    text = measure.show(cell["ours"], tex)
    if pd.isna(cell["ours_sd"]):
        return text
    return text + (" $\\pm$ " if tex else " \u00b1 ") + measure.show(cell["ours_sd"], tex)


def markdown_cell(cell: pd.Series) -> str:
    """``0.0295 ± 0.0012 (paper 0.0301, −2.0%)``, ``0.0295 (n=1; paper 0.0431 [E])``, ``0.0172 (reported)``,
    ``missing (paper …)`` or ``—``.

    Best bold, second italic; ``\\*S`` / ``\\*U`` (escaped for Markdown) after a value significant by the test
    over seeds / over users, ``\\*`` after a paper value the paper marks.
    """
    measure = MEASURES[cell["metric"]]
    wrap = {"best": "**", "second": "_"}.get(cell["mark"], "")
    paper = None
    if not pd.isna(cell["paper"]):
        paper = measure.show(cell["paper"]) + ("\\*" if _flag(cell["paper_significant"]) else "")
    if cell["status"] == MEASURED:
        text = wrap + _mean_sd(cell, measure, False) + wrap + "".join("\\" + m for m in _significance(cell))
        details = _details(cell, paper, False)
        return f"{text} ({'; '.join(details)})" if details else text
    if cell["status"] == REPORTED:
        return f"{wrap}{paper}{wrap} (reported)"
    if cell["status"] == MISSING:
        return "missing" + (f" (paper {paper})" if paper else "")
    return "\u2014"


def _superscript(*marks: str) -> str:
    marks = tuple(m for m in marks if m)
    return f"$^{{{','.join(marks)}}}$" if marks else ""


def latex_cell(cell: pd.Series) -> str:
    """The LaTeX form of a cell: bold best, underlined second, ``*S`` / ``*U`` significant, ``\\dagger`` reported."""
    measure = MEASURES[cell["metric"]]
    marked = {"best": "\\textbf{{{}}}", "second": "\\underline{{{}}}"}.get(cell["mark"], "{}")
    if cell["status"] == MEASURED:
        text = marked.format(_mean_sd(cell, measure, True)) + _superscript(*_significance(cell))
        paper = None
        if not pd.isna(cell["paper"]):
            paper = measure.show(cell["paper"], tex=True) + _superscript("*" * _flag(cell["paper_significant"]))
        details = _details(cell, paper, True)
        return f"{text} {{\\scriptsize ({'; '.join(details)})}}" if details else text
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
        legend += " " + table.legend.replace("*", "\\*")
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
    specials = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                "\u2264": r"$\leq$", "\u00b1": r"$\pm$"}
    return "".join(specials.get(char, char) for char in text)


def render_latex(table: Table) -> str:
    """A booktabs table (pandas Styler): the paper's layout, cells as in ``latex_cell``."""
    frame = _labelled(table.frame, latex_cell)
    rows = [key for key in table.layout.rows if (frame[key] != "").any()]
    grid = _grid(frame, rows, table.layout.columns)
    grid.index.names = [name.capitalize() for name in grid.index.names]
    grid.columns.names = [None] * grid.columns.nlevels
    caption = _escape_latex(
        f"{table.caption} Cells: ours, mean \u00b1 sd over the training seeds (paper, relative difference; "
        "[E] / [D]: the paper's number is under the ETEGRec / DECOR protocol, not ours)."
    )
    caption += " $^{\\dagger}$: reported in the paper, not run here."
    if table.layout.marks:
        caption += " Bold: best, underlined: second best per column."
    if table.legend:
        caption += " " + re.sub(r"\*([SU])", r"$^{*\1}$", _escape_latex(table.legend))
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
