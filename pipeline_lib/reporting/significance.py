"""Table 1's significance marker: a paired t-test over users of DECOR against the best baseline.

The paper marks DECOR's cells with * at p < 0.05. Here the test pairs the per-user Recall@K / NDCG@K
(one held-out item per user, from the ranks files) of the two models on the same test users
(``scipy.stats.ttest_rel``, two-sided); a cell is marked when p < level *and* DECOR's mean is the higher.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.metrics import ndcg_per_user, recall_per_user

PER_USER = {"recall": recall_per_user, "ndcg": ndcg_per_user}


@dataclass(frozen=True)
class PairedTest:
    """Outcome of a paired t-test of ``a`` against ``b``: t statistic, two-sided p, mean of ``a - b``, pairs."""

    statistic: float
    p_value: float
    mean_difference: float
    n: int

    def significant(self, level: float) -> bool:
        """``a`` is better than ``b`` at ``level``."""
        return self.p_value < level and self.mean_difference > 0


def paired_t_test(a: np.ndarray, b: np.ndarray) -> PairedTest:
    """Paired two-sided t-test of ``a`` vs ``b`` (equal-length samples).

    Degenerate cases never yield NaN: when the differences have no variance (identical vectors, or
    every pair differing by the same amount) t is 0 with p = 1 for a zero difference, ±inf with p = 0
    otherwise; fewer than two pairs give t = 0, p = 1 (nothing to test).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"need two 1-d samples of equal length, got {a.shape} and {b.shape}")
    diff = a - b
    mean = float(diff.mean()) if len(diff) else 0.0
    if len(diff) < 2:
        return PairedTest(0.0, 1.0, mean, len(diff))
    if np.all(diff == diff[0]):
        if diff[0] == 0:
            return PairedTest(0.0, 1.0, 0.0, len(diff))
        return PairedTest(float(np.copysign(np.inf, diff[0])), 0.0, mean, len(diff))
    result = stats.ttest_rel(a, b)
    return PairedTest(float(result.statistic), float(result.pvalue), mean, len(diff))


def per_user_metric(ranks: pd.DataFrame, metric: str) -> np.ndarray:
    """Per-user ``recall@K`` or ``ndcg@K`` from a ranks frame (``pipeline_lib.metrics``' definitions)."""
    name, _, k = metric.partition("@")
    if name not in PER_USER or not k.isdigit():
        raise ValueError(f"unknown metric {metric!r}; expected recall@K or ndcg@K")
    return PER_USER[name](torch.tensor(ranks["rank"].to_numpy(), dtype=torch.int64), int(k)).double().numpy()


def paired_ranks(ours: pd.DataFrame, other: pd.DataFrame, ours_path: Path, other_path: Path) -> pd.DataFrame:
    """Join two ranks frames on ``user_id`` (columns ``rank_a``, ``rank_b``); both must cover the same test cases."""
    joined = ours.merge(other, on="user_id", how="outer", suffixes=("_a", "_b"), indicator=True)
    unmatched = joined[joined["_merge"] != "both"]
    if len(unmatched):
        user = int(unmatched["user_id"].iloc[0])
        raise PipelineInputError(
            other_path, f"test users differ from {ours_path} ({len(unmatched)} unmatched, e.g. user {user})"
        )
    clash = joined[joined["target_a"] != joined["target_b"]]
    if len(clash):
        user = int(clash["user_id"].iloc[0])
        raise PipelineInputError(other_path, f"user {user}'s test target differs from {ours_path}", field="target")
    return joined.sort_values("user_id").loc[:, ["user_id", "rank_a", "rank_b"]]


def compare_runs(
    ours: pd.DataFrame, other: pd.DataFrame, metric: str, ours_path: Path, other_path: Path
) -> PairedTest:
    """Paired t-test of ``ours`` against ``other`` on per-user ``metric`` (the two must share their test users)."""
    pairs = paired_ranks(ours, other, ours_path, other_path)
    a = per_user_metric(pairs.rename(columns={"rank_a": "rank"}), metric)
    b = per_user_metric(pairs.rename(columns={"rank_b": "rank"}), metric)
    return paired_t_test(a, b)
