"""The paper's Tables 1–4 for an evidence campaign's dataset, built and rendered by the tables stage's own code
(:func:`pipeline_lib.reporting.tables.build_tables`, :func:`pipeline_lib.reporting.table_rendering.render_markdown`)
from the campaign folder's files instead of ``reports/metrics/<dataset>``.

The paper's numbers are the camera-ready's (``TablesSection``'s default ``paper_version``), shown for the one paper
column the job list names (``paper_column``; none: ours alone). Every model of the job list is expected: one
without output is ``missing``, i.e. not run yet. Table 3 gets a row per composition variant of Table 2 beside
DECOR's, so that the composition diagnostics (eq. 16: entropy, max weight, distinct argmax codes per layer) of
every DECOR variant appear; Table 4 (dataset statistics) shows how the campaign's data differs from the paper's.
The test over users (``*U``) is not run: a campaign folder keeps no per-user ranks files.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipeline_lib.campaign import JobList
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.reporting.campaign_folder import planned_seeds
from pipeline_lib.reporting.results import DatasetResults, PaperResults, PaperRow, load_paper_results
from pipeline_lib.reporting.table_rendering import render_markdown
from pipeline_lib.reporting.tables import Table, build_tables
from pipeline_lib.schema import TablesSection

# Table 2's rows with contextual token composition besides DECOR (Table 3's "Ours"): models.variants.VARIANTS with
# composition on (a test keeps the two in step)
COMPOSITION_VARIANTS = ("tokcomp", "tokcomp_bos", "pretrained_tokcomp")
CAMPAIGN_NOTE = (
    "`missing` here: planned in `jobs.yaml` and not run yet (see the plan), or, for Table 3's TIGER row (the RQ-VAE "
    "codes) and Table 4, the shared tokenizer's metrics / dataset statistics not yet copied into the folder (the "
    "campaign copies them when it prepares the dataset). No `*U`: a campaign folder keeps no per-user ranks files, "
    "so only Welch's test over seeds (`*S`) is run."
)


def campaign_paper(paper: PaperResults, paper_column: str | None, jobs_path: Path) -> PaperResults:
    """``paper`` cut to the one dataset column ``paper_column`` (None: no paper column), Table 3 with a row per
    ``COMPOSITION_VARIANTS`` model (named as in Table 2, no paper numbers).

    Raises:
        PipelineInputError: ``paper_column`` is not one of the paper's datasets (naming ``jobs_path``).
    """
    if paper_column is not None and paper_column not in paper.datasets:
        problem = f"{paper_column!r} is not a paper dataset; known: {', '.join(paper.datasets)}"
        raise PipelineInputError(jobs_path, problem, field="paper_column")
    names = {row.run: row.method for row in paper.tables["table2"].rows}
    table3 = paper.tables["table3"]
    extra = tuple(PaperRow(names[run], run, "", {}) for run in COMPOSITION_VARIANTS)
    tables = paper.tables | {"table3": replace(table3, rows=table3.rows + extra)}
    return PaperResults(() if paper_column is None else (paper_column,), tables)


def campaign_tables(folder: Path, jobs: JobList, results: DatasetResults) -> list[Table]:
    """Tables 1–4 of the job list's dataset from ``results`` (the folder's, :func:`campaign_results`)."""
    columns = {} if jobs.paper_column is None else {jobs.dataset: jobs.paper_column}
    config = TablesSection(paper_columns=columns)
    jobs_path = folder / "jobs.yaml"
    paper = campaign_paper(load_paper_results(version=config.paper_version), jobs.paper_column, jobs_path)
    planned = planned_seeds(jobs)
    seeds = list(dict.fromkeys(seed for model_seeds in planned.values() for seed in model_seeds))
    return build_tables(paper, {jobs.dataset: results}, [jobs.dataset], list(planned), config, seeds,
                        jobs.set.get("protocol"), jobs_path, baselines=())


def _demoted(markdown: str, levels: int) -> str:
    """Every Markdown heading ``levels`` deeper (the tables' ``#`` / ``##`` inside the report's sections)."""
    return "\n".join("#" * levels + line if line.startswith("#") else line for line in markdown.splitlines())


def tables_section(folder: Path, jobs: JobList, results: DatasetResults) -> list[str]:
    """The report's section: a short introduction, then Tables 1–4 as the tables stage renders them."""
    beside = f"beside the paper's `{jobs.paper_column}` column" if jobs.paper_column else "without a paper column"
    lines = [f"## The paper's tables (`{jobs.dataset}` {beside})", "",
             "Built and rendered by the tables stage's code (`pipeline_lib.reporting.tables`) from this folder's "
             "files; the paper's numbers are its SIGIR'26 camera-ready's. The paper's column is the paper's own data "
             f"and sizes (Table 4 sets the two datasets side by side). {CAMPAIGN_NOTE}", ""]
    for table in campaign_tables(folder, jobs, results):
        lines += [_demoted(render_markdown(table), 2), ""]
    return lines
