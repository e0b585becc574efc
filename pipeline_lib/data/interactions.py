"""The canonical interaction frame and the filters applied to it: deduplication and iterative k-core."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def canonical_frame(users: Sequence[str], items: Sequence[str], timestamps: Sequence[int]) -> pd.DataFrame:
    """Interactions as columns ``user`` (str), ``item`` (str), ``timestamp`` (int64), in source order."""
    return pd.DataFrame(
        {
            "user": pd.Series(users, dtype=str),
            "item": pd.Series(items, dtype=str),
            "timestamp": np.asarray(timestamps, dtype=np.int64),
        }
    )


def chronological(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by (user, timestamp); ties keep their source order (stable sort)."""
    return frame.sort_values(["user", "timestamp"], kind="stable").reset_index(drop=True)


def deduplicate(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep each (user, item) pair once: its earliest interaction (ties: the first in source order)."""
    ordered = frame.sort_values("timestamp", kind="stable")
    return ordered.drop_duplicates(["user", "item"], keep="first").sort_index().reset_index(drop=True)


def k_core(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """Iteratively drop users and items with fewer than ``k`` interactions until none is left (fixpoint).

    One pass is not enough in general: removing a sparse item can push a user below ``k``.
    """
    if k <= 1:
        return frame.reset_index(drop=True)
    current = frame
    while True:
        user_counts = current["user"].map(current["user"].value_counts())
        item_counts = current["item"].map(current["item"].value_counts())
        keep = (user_counts >= k) & (item_counts >= k)
        if keep.all():
            return current.reset_index(drop=True)
        current = current[keep]
