"""The tables' vocabulary: the words and fixed texts shared by building the tables
(:mod:`pipeline_lib.reporting.tables`) and rendering them (:mod:`pipeline_lib.reporting.table_rendering`).

Cell statuses, run names, the file formats, how each metric is shown (``MEASURES``), each table's title
and layout (``LAYOUTS``), the rows and columns of ours appended to the paper's tables, and the notes and
legends the tables carry.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_lib.protocol import PROTOCOLS
from pipeline_lib.reporting.results import PaperRow

MEASURED, MISSING, REPORTED, NOT_RUN = "measured", "missing", "reported", "not run"
# dvc.yaml runs these on every dataset: the sequential ones listed in params `baseline_models`, and the last two always
SEQUENTIAL_RUNS = ("sasrec", "gru4rec", "bert4rec", "caser", "fdsa", "s3rec")
BASELINE_RUNS = (*SEQUENTIAL_RUNS, "etegrec", "popularity")
DECOR_RUN = "decor"
# Rows of ours with no paper counterpart, appended to a paper table.
EXTRA_ROWS = {"table1": (PaperRow("Popularity", "popularity", "Floor (ours only)", {}),)}
EXTRA_RUNS = frozenset(row.run for rows in EXTRA_ROWS.values() for row in rows)  # never marked best, never the rival
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
PROTOCOL_TAGS = {"decor": "D", "etegrec": "E"}  # a paper number of another protocol than ours: "(paper 0.0431 [E])"
PROTOCOL_TABLES = ("table1", "table2")  # the tables whose numbers depend on the evaluation protocol
SIGNIFICANCE_MARKS = (("significant_seeds", "S"), ("significant_users", "U"))  # frame flag → mark after "*"


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


PAPER_VERSION_NOTES = {
    "camera_ready": "Paper numbers: DECOR's SIGIR'26 camera-ready (its Tables 2–3; it raised DECOR's Scientific and "
                    "Instrument rows and some Instrument ablation rows over the arXiv text; tables.paper_version: "
                    "arxiv shows the arXiv's).",
    "arxiv": "Paper numbers: DECOR's arXiv text (its Tables 1–2; tables.paper_version: camera_ready shows the "
             "SIGIR'26 camera-ready's).",
}
NOT_CONVERGED_NOTE = (
    "not converged k/n: k of the cell's n seeds stopped at their max_epochs cap (or a time budget), not by the "
    "early-stopping rule after `patience` validations without improvement (train metrics: stopped_by)."
)


def _protocol_text(name: str) -> str:
    spec = PROTOCOLS[name]
    return f"history \u2264 {spec.max_history}, beam {spec.beam_size}"


TABLE1_PROTOCOL = (
    "The DECOR paper's baseline rows (every method but DECOR) are copied from the ETEGRec paper: "
    f"{_protocol_text('etegrec')}; DECOR's own rows use {_protocol_text('decor')}."
)
NOT_RUN_NOTE = (
    "P5-SID and P5-CID are the paper's numbers (reported), not run here: both fine-tune a pretrained T5 "
    "language model (P5's t5-small checkpoint), which no package registry reachable from this pipeline serves; "
    "every other row is measured."
)
FIGURE3_NOTE = (
    "The paper disagrees with itself on DECOR without BOS queries: its Figure 3 (and the Hyperparameter "
    "Sensitivity text, 'NDCG@10 improves from 1.17% to 2.56%') gives Scientific NDCG@10 \u2248 1.17% at 0 BOS "
    "queries, while its Table 2 rows without BOS queries but with token composition give 2.47% (w/ Token Comp.) "
    "and 2.50% (w/ Pretrained + Token Comp., which is DECOR without BOS queries). This reproduction compares "
    "against Table 2."
)

SIGNIFICANCE_LEGEND = (
    "*S / *U: DECOR significantly better (p < {level}) than the best measured non-DECOR model of the column "
    "(highest mean): *S by Welch's t-test over the per-seed values (needs 2 seeds on each side), *U by the "
    "paired t-test over test users on each user's metric averaged over the seeds."
)
LEGEND = (
    "Cells: ours, mean \u00b1 sd over the training seeds (n=1: one seed) (paper value, relative difference of "
    "ours to the paper; [E] / [D] instead: the paper's number is under the ETEGRec / DECOR protocol and ours is "
    "not, so no difference). `reported`: the paper's number, not run here; `missing`: an expected run without "
    "output; \u2014: neither."
)
