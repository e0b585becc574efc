"""params.yaml's report and CI sections: ``tables``, ``figures`` and ``gate``. Their code (reporting/, ci/) sits
above the schema (it loads params), so these models are declared here once and are that code's configs
(``reporting.tables``, stage figures, ``ci.gate.GateConfig``)."""

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field

from pipeline_lib.schema.base import Float, Section, _unique

TableFormat = Literal["md", "tex", "csv"]
PaperVersion = Literal["camera_ready", "arxiv"]  # DECOR's SIGIR'26 camera-ready | its arXiv text (papers/decor.md)
FORMATS: tuple[str, ...] = get_args(TableFormat)
PAPER_VERSIONS: tuple[str, ...] = get_args(PaperVersion)
DEFAULT_PAPER_COLUMNS = {"scientific": "Scientific", "instrument": "Instrument", "game": "Game"}


class TablesSection(Section):
    """``tables``: paper Tables 1–4 with our numbers (stage tables, reporting.tables)."""

    paper_columns: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PAPER_COLUMNS),
        description="our dataset → the paper's column",
    )
    significance_level: Float = Field(0.05, gt=0, lt=1, description="paired two-sided t-test level")
    formats: Annotated[list[TableFormat], AfterValidator(_unique)] = Field(
        default_factory=lambda: list(FORMATS), description="files written per table"
    )
    paper_version: PaperVersion = Field(
        "camera_ready", description="the paper's numbers shown: the SIGIR'26 camera-ready or the arXiv text"
    )


class FiguresSection(Section):
    """``figures``: DECOR Figure 4, t-SNE of static vs composed prefix embeddings (stage figures)."""

    prefix_length: int = Field(2, ge=1, description="tokens in the ambiguous prefix (the paper's (1, 276): two)")
    max_users: int = Field(300, ge=1, description="test users whose target starts with it (the first N)")
    perplexity: Float = Field(30.0, gt=0, description="t-SNE perplexity; capped at (points - 1) / 3")


class GateSection(Section):
    """``gate``: the CI metric-diff gate (pipeline_lib/ci/gate.py, GateConfig adds its matching rules); tolerances
    are absolute."""

    baseline: str = Field(".ci/baseline.json", min_length=1, description="committed baseline metrics file")
    default_tolerance: Float = Field(0.02, ge=0, description="absolute tolerance when no pattern matches")
    tolerances: dict[str, Annotated[Float, Field(ge=0)]] = Field(
        default_factory=lambda: {"max_collision_group": 1.0, "recall@": 0.03, "ndcg@": 0.03, "utilization": 0.05},
        description="pattern → absolute tolerance; the first match wins",
    )
    higher_is_better: list[str] = Field(
        default_factory=lambda: ["recall@", "ndcg@", "utilization"], description="fail only on a drop"
    )
    lower_is_better: list[str] = Field(
        default_factory=lambda: ["loss", "mse", "collision"], description="fail only on a rise"
    )
    ignore: list[str] = Field(
        default_factory=lambda: ["seconds", "wall_", "epochs", "best_epoch", "processes"],
        description="metrics left out (timings, run environment)",
    )
