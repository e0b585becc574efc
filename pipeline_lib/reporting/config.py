"""The report sections, each key declared once (:func:`pipeline_lib.declare.param`): ``tables`` (the paper's
Tables 1–4 with our numbers) and ``figures`` (Figure 4). No torch or pandas here: :mod:`pipeline_lib.schema`
reads these cheaply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from pipeline_lib.declare import check_declared, param

TableFormat = Literal["md", "tex", "csv"]
PaperVersion = Literal["camera_ready", "arxiv"]  # DECOR's SIGIR'26 camera-ready | its arXiv text (papers/decor.md)
FORMATS: tuple[str, ...] = get_args(TableFormat)
PAPER_VERSIONS: tuple[str, ...] = get_args(PaperVersion)
DEFAULT_PAPER_COLUMNS = {"scientific": "Scientific", "instrument": "Instrument", "game": "Game"}


@dataclass(frozen=True)
class TablesConfig:
    """``tables``: our dataset → paper column, the level of both t-tests, the formats written, the paper's version.
    Raises ``ValueError`` for a repeated or unknown format."""

    paper_columns: dict[str, str] = param(
        default_factory=lambda: dict(DEFAULT_PAPER_COLUMNS), description="our dataset → the paper's column"
    )
    significance_level: float = param(0.05, gt=0, lt=1, description="paired two-sided t-test level")
    formats: tuple[TableFormat, ...] = param(FORMATS, description="files written per table")
    paper_version: PaperVersion = param(
        "camera_ready", description="the paper's numbers shown: the SIGIR'26 camera-ready or the arXiv text"
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", tuple(self.formats))
        check_declared(self)
        unknown = set(self.formats) - set(FORMATS)
        if unknown:
            raise ValueError(f"unknown formats {sorted(unknown)}; known: {', '.join(FORMATS)}")
        if self.paper_version not in PAPER_VERSIONS:
            raise ValueError(f"paper_version must be one of {', '.join(PAPER_VERSIONS)}, got {self.paper_version!r}")

    def check(self) -> None:
        repeated = sorted({f for f in self.formats if list(self.formats).count(f) > 1})
        if repeated:
            raise ValueError(f"formats must not repeat a name, got {', '.join(repeated)} twice")


@dataclass(frozen=True)
class Figure4Config:
    """``figures``: DECOR Figure 4, t-SNE of static vs composed prefix embeddings."""

    prefix_length: int = param(2, ge=1, description="tokens in the ambiguous prefix (the paper's (1, 276) has two)")
    max_users: int = param(300, ge=1, description="test users whose target starts with it (the first N)")
    perplexity: float = param(30.0, gt=0, description="t-SNE perplexity; capped at (points - 1) / 3")

    def __post_init__(self) -> None:
        check_declared(self)
