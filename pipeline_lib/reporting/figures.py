"""What the paper's figures share: a headless matplotlib backend and atomic PNG writing."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen before pyplot loads)
from matplotlib.figure import Figure  # noqa: E402

from pipeline_lib.io import atomic_path  # noqa: E402

FIGURES_DIR = Path("reports") / "figures"


def save_png(figure: Figure, path: str | Path, dpi: int = 150, tight: bool = True) -> None:
    """Write ``figure`` as a PNG atomically (``tight``: cropped to what it draws), then release it."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    plt.close(figure)


def save_placeholder_png(path: str | Path, message: str) -> None:
    """A small PNG that holds only ``message``: stands in for a figure the run could not draw."""
    figure = plt.figure(figsize=(6, 1.5))
    figure.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    save_png(figure, path, dpi=100, tight=False)
