"""The processed LC-Rec / LETTER format: ``<P>.inter.json`` (user → chronological item list) and
``<P>.item.json`` (item → title / description / brand / categories)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline_lib.data.interactions import canonical_frame
from pipeline_lib.data.meta import ItemMeta, from_lcrec
from pipeline_lib.errors import PipelineInputError


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise PipelineInputError(path, "file not found")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise PipelineInputError(path, f"not valid UTF-8 (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise PipelineInputError(path, f"invalid JSON at line {err.lineno} ({err.msg})") from None
    if not isinstance(data, dict):
        raise PipelineInputError(path, "expected a JSON object at the top level")
    return data


def read_inter_json(path: str | Path) -> pd.DataFrame:
    """Interactions; the lists carry order but no time, so the timestamp is the position in the list."""
    path = Path(path)
    users, items, stamps = [], [], []
    for user, sequence in _load_json(path).items():
        if not isinstance(sequence, list) or not all(isinstance(i, (int, str)) for i in sequence):
            raise PipelineInputError(path, "expected a list of item ids", field=user)
        users.extend([user] * len(sequence))
        items.extend(str(i) for i in sequence)
        stamps.extend(range(len(sequence)))
    return canonical_frame(users, items, stamps)


def read_item_json(path: str | Path, wanted: set[str], *, require_title: bool = True) -> dict[str, ItemMeta]:
    path = Path(path)
    found: dict[str, ItemMeta] = {}
    for item, row in _load_json(path).items():
        if item not in wanted:
            continue
        if not isinstance(row, dict):
            raise PipelineInputError(path, "expected an object of item fields", field=item)
        meta = from_lcrec(row)
        if require_title and not meta.title:
            raise PipelineInputError(path, f"item {item} has no title", field=f"{item}.title")
        found[item] = meta
    return found
