"""Discrete item attributes (category levels and brand) for the attribute-aware baselines FDSA and S³Rec.

The filter stage's items table carries ids only; categories and brand live in the raw metadata,
read here the way the embed stage reads them (``pipeline_lib.data.sources.load_item_meta``).
Every category level string (``main_category`` included) and every brand is one attribute; a level
and a brand with the same text stay two attributes. Ids are contiguous from 1 in sorted order of
``(kind, text)``; 0 is padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from pipeline_lib.data.meta import ItemMeta
from pipeline_lib.data.sources import load_item_meta
from pipeline_lib.params import DatasetSpec
from pipeline_lib.paths import DatasetPaths

PAD_ATTRIBUTE = 0
ATTRIBUTE_KINDS = ("category", "brand")  # the prefixes of the vocabulary's names


@dataclass(frozen=True)
class AttributeTable:
    """``ids[i]``: item i's attribute ids, in metadata order (category levels, then brand), right-padded with 0."""

    ids: torch.Tensor  # [n_items, width] int64, width = the most attributes any item has (at least 1)
    vocabulary: tuple[str, ...]  # vocabulary[k - 1] names attribute k, as "category:<level>" or "brand:<name>"

    @property
    def n_attributes(self) -> int:
        return len(self.vocabulary)

    def of_kind(self, kind: str) -> torch.Tensor:
        """``[n_items, W]`` int64: each item's ids of the attributes of ``kind`` (``category`` or ``brand``), in
        table order, right-padded with 0; W = the most any item has (at least 1; one for ``brand``). Ids stay
        those of the whole vocabulary. Raises ``ValueError`` for another kind."""
        if kind not in ATTRIBUTE_KINDS:
            raise ValueError(f"attribute kind must be one of {ATTRIBUTE_KINDS}, got {kind!r}")
        of_kind = torch.tensor([False, *(name.startswith(f"{kind}:") for name in self.vocabulary)])  # id 0: padding
        keep = of_kind[self.ids]
        width = max(int(keep.sum(dim=1).max()), 1) if len(self.ids) else 1
        order = torch.sort((~keep).to(torch.int8), dim=1, stable=True).indices  # the kind's ids first, in order
        return torch.where(keep, self.ids, PAD_ATTRIBUTE).gather(1, order)[:, :width]


def _item_keys(meta: ItemMeta) -> list[str]:
    """The item's attribute names, first occurrence kept."""
    levels = (meta.main_category, *meta.categories) if meta.main_category else meta.categories
    keys = [f"category:{level.strip()}" for level in levels if level.strip()]
    if meta.brand.strip():
        keys.append(f"brand:{meta.brand.strip()}")
    return list(dict.fromkeys(keys))


def attribute_table(items: pd.DataFrame, meta: dict[str, ItemMeta]) -> AttributeTable:
    """The table for the filter stage's ``items`` (``item_id`` 0…n−1, ``parent_asin``) from their metadata."""
    ordered = items.sort_values("item_id")
    if not ordered["item_id"].equals(pd.Series(range(len(items)), index=ordered.index)):
        raise ValueError("item ids must be 0 … n_items − 1")
    per_item = [_item_keys(meta[asin]) for asin in ordered["parent_asin"]]
    vocabulary = tuple(sorted({key for keys in per_item for key in keys}))
    index = {key: k + 1 for k, key in enumerate(vocabulary)}
    width = max((len(keys) for keys in per_item), default=0) or 1
    ids = torch.full((len(per_item), width), PAD_ATTRIBUTE, dtype=torch.long)
    for row, keys in enumerate(per_item):
        ids[row, : len(keys)] = torch.tensor([index[key] for key in keys], dtype=torch.long)
    return AttributeTable(ids, vocabulary)


def load_attribute_table(spec: DatasetSpec, paths: DatasetPaths, items: pd.DataFrame) -> AttributeTable:
    """The table of ``items`` from the download stage's raw metadata (``data/<name>/raw``); titles not required."""
    meta = load_item_meta(spec, paths.raw, set(items["parent_asin"]), require_title=False)
    return attribute_table(items, meta)
