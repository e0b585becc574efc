"""Reading and writing the filter stage's artifacts, so every later stage loads them the same way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline_lib.data.split import SplitData
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import atomic_directory, write_parquet
from pipeline_lib.paths import DatasetPaths

_COLUMNS = {
    "users": ("user_id", "user"),
    "items": ("item_id", "parent_asin"),
    "sequences": ("user_id", "item_ids", "timestamps"),
    "train": ("user_id", "item_ids"),
    "valid": ("user_id", "history", "target"),
    "test": ("user_id", "history", "target"),
}


def write_split(paths: DatasetPaths, split: SplitData) -> None:
    """All six tables into ``paths.filtered``, as one all-or-nothing folder."""
    with atomic_directory(paths.filtered) as staged:
        for name in _COLUMNS:
            write_parquet(staged / getattr(paths, name).name, getattr(split, name))


def read_table(path: Path, name: str) -> pd.DataFrame:
    """One of the filter stage's tables, checked for its columns."""
    if not path.is_file():
        raise PipelineInputError(path, "not found; run the filter stage first (dvc repro)")
    frame = pd.read_parquet(path)
    missing = [c for c in _COLUMNS[name] if c not in frame.columns]
    if missing:
        raise PipelineInputError(path, f"missing column(s) {', '.join(missing)}")
    return frame


def read_split(paths: DatasetPaths) -> SplitData:
    return SplitData(**{name: read_table(getattr(paths, name), name) for name in _COLUMNS})
