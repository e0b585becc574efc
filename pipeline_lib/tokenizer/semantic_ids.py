"""From RQ codes to unique semantic IDs: TIGER's collision token, and the tokenizer's quality figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from torch import Tensor

from pipeline_lib.errors import PipelineInputError


class CollisionOverflowError(ValueError):
    """More items share one code prefix than the collision token has values."""


def assign_semantic_ids(codes: Tensor, suffix_vocab: int = 256) -> Tensor:
    """Append TIGER's collision token: [n, L] codes → [n, L+1] unique semantic IDs.

    Items sharing all L codes get 0, 1, 2, … in item-id (row) order; an item alone gets 0.
    Raises ``CollisionOverflowError`` when a group has more than ``suffix_vocab`` items.
    """
    groups = pd.DataFrame(codes.cpu().numpy()).groupby(list(range(codes.shape[1])), sort=False)
    suffix = torch.from_numpy(groups.cumcount().to_numpy(dtype="int64", copy=True)).to(codes)
    overflow = (suffix >= suffix_vocab).nonzero()
    if len(overflow):
        prefix = codes[overflow[0, 0]]
        size = int((codes == prefix).all(1).sum())
        raise CollisionOverflowError(
            f"{size} items share the codes {tuple(prefix.tolist())}, more than the {suffix_vocab} values "
            "of the collision token; the codebooks collapsed (train longer, or set a dead-code window)"
        )
    return torch.cat([codes, suffix[:, None]], 1)


def collision_stats(codes: Tensor) -> dict[str, float | int]:
    """``collision_rate`` = share of items whose L codes an earlier item already has (those with a
    non-zero collision token); ``max_collision_group`` = items in the largest group (1 = no collision)."""
    n = codes.shape[0]
    _, counts = torch.unique(codes, dim=0, return_counts=True)
    return {"collision_rate": (n - len(counts)) / n, "max_collision_group": int(counts.max())}


def utilization(codes: Tensor, codebook_size: int) -> list[float]:
    """Per level, the fraction of the K codes used by at least one item (DECOR Table 3)."""
    return [len(torch.unique(level)) / codebook_size for level in codes.T]


def semantic_id_frame(ids: Tensor) -> pd.DataFrame:
    """Row i = item id i: columns ``item_id``, ``sid_0`` … ``sid_L`` (int64; the last is the collision token)."""
    values = ids.cpu().numpy().astype("int64")
    frame = pd.DataFrame({f"sid_{j}": values[:, j] for j in range(values.shape[1])})
    frame.insert(0, "item_id", range(len(frame)))
    frame["item_id"] = frame["item_id"].astype("int64")
    return frame


def read_semantic_ids(path: Path) -> Tensor:
    """The tokenize stage's ``semantic_ids.parquet`` → [n_items, L+1] int64, row i = item id i."""
    if not path.is_file():
        raise PipelineInputError(path, "not found; run the tokenize stage first (dvc repro)")
    frame = pd.read_parquet(path)
    columns = sorted((c for c in frame.columns if c.startswith("sid_")), key=lambda c: int(c[4:]))
    if not columns or frame["item_id"].tolist() != list(range(len(frame))):
        raise PipelineInputError(path, "expected columns item_id (0..n-1 in order) and sid_0 … sid_L")
    return torch.from_numpy(frame[columns].to_numpy(dtype="int64", copy=True))
