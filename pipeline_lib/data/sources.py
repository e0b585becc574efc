"""Which files each dataset source consists of, and how to read its interactions and metadata."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pandas as pd

from pipeline_lib.data import amazon, lcrec
from pipeline_lib.data.download import amazon2023_files
from pipeline_lib.data.meta import ItemMeta
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import DatasetSpec

DEMO_CATEGORY = "Demo"


def source_files(spec: DatasetSpec) -> dict[str, str]:
    """File names under ``data/<name>/raw`` by role: ``interactions`` and ``meta``.

    Amazon sources keep the official files' names; the demo is written in the raw-review format
    under the category name ``Demo``.
    """
    if spec.source == "lcrec":
        if not spec.prefix:
            raise PipelineInputError(None, "lcrec source needs a file prefix", field=f"catalog.{spec.name}.prefix")
        return {"interactions": f"{spec.prefix}.inter.json", "meta": f"{spec.prefix}.item.json"}
    return {role: PurePosixPath(rel).name for role, rel in remote_files(spec).items()}


def remote_files(spec: DatasetSpec) -> dict[str, str]:
    """Role → path relative to the Amazon Reviews 2023 base URL (the demo mimics the raw layout)."""
    if spec.source == "demo":
        return amazon2023_files(DEMO_CATEGORY, "raw")
    if not spec.category:
        raise PipelineInputError(None, f"{spec.source} source needs a category", field=f"catalog.{spec.name}.category")
    return amazon2023_files(spec.category, spec.source)


def load_interactions(spec: DatasetSpec, raw_dir: Path) -> tuple[pd.DataFrame, Path]:
    """The dataset's interactions as the canonical frame, with the file they came from."""
    path = raw_dir / source_files(spec)["interactions"]
    if spec.source == "benchmark":
        return amazon.read_benchmark_csv(path), path
    if spec.source == "lcrec":
        return lcrec.read_inter_json(path), path
    return amazon.read_reviews_jsonl(path), path


def load_item_meta(spec: DatasetSpec, raw_dir: Path, wanted: set[str], *, require_title: bool) -> dict[str, ItemMeta]:
    """Metadata of every wanted item; an item without a metadata row is an error naming the file."""
    path = raw_dir / source_files(spec)["meta"]
    if spec.source == "lcrec":
        found = lcrec.read_item_json(path, wanted, require_title=require_title)
    else:
        found = amazon.read_item_meta(path, wanted, require_title=require_title)
    missing = sorted(wanted - found.keys())
    if missing:
        shown = ", ".join(missing[:5])
        raise PipelineInputError(path, f"{len(missing)} item(s) have no metadata row (first: {shown})")
    return found
