"""Table 1's significance markers: DECOR against the best other model, over seeds and over users.

The paper marks DECOR's cells with * at p < 0.05 (a paired t-test). Here two tests are run per cell:

- over seeds: Welch's two-sample t-test (``scipy.stats.ttest_ind(equal_var=False)``, two-sided) of the
  two models' per-seed test metrics — does DECOR beat the other model beyond the training-seed noise;
- over users: a paired t-test (``scipy.stats.ttest_rel``, two-sided) of the per-user Recall@K / NDCG@K
  (one held-out item per user, from the ranks files) on the same test users, each user's value first
  averaged over the model's seeds (its seed rank files).

A cell is marked when p < level *and* DECOR's mean is the higher.
"""

from __future__ import annotations

from collections.abc import Mapping
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
class TTest:
    """Outcome of a t-test of ``a`` against ``b``: t statistic, two-sided p, mean of ``a`` minus mean of ``b``."""

    statistic: float
    p_value: float
    mean_difference: float

    def significant(self, level: float) -> bool:
        """``a`` is better than ``b`` at ``level``."""
        return self.p_value < level and self.mean_difference > 0


@dataclass(frozen=True)
class PairedTest(TTest):
    """A paired t-test over ``n`` pairs."""

    n: int


@dataclass(frozen=True)
class WelchTest(TTest):
    """Welch's two-sample t-test of ``n_a`` against ``n_b`` values."""

    n_a: int
    n_b: int


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


def welch_t_test(a: np.ndarray, b: np.ndarray) -> WelchTest:
    """Welch's two-sided t-test of the 1-d samples ``a`` vs ``b`` (unequal variances, any lengths).

    Degenerate cases never yield NaN: fewer than two values on either side give t = 0, p = 1 (nothing
    to test; callers report such a cell as not tested); when neither sample varies, t is 0 with p = 1
    for equal means, ±inf with p = 0 otherwise. With one constant sample Welch's test is the one-sample
    t-test of the other against that constant (n - 1 degrees of freedom), computed as such (scipy's
    two-sample path would warn about the zero variance).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"need two 1-d samples, got shapes {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        mean = float(a.mean() - b.mean()) if len(a) and len(b) else 0.0
        return WelchTest(0.0, 1.0, mean, len(a), len(b))
    mean = float(a.mean() - b.mean())
    constant_a, constant_b = bool(np.all(a == a[0])), bool(np.all(b == b[0]))
    if constant_a and constant_b:
        if mean == 0:
            return WelchTest(0.0, 1.0, 0.0, len(a), len(b))
        return WelchTest(float(np.copysign(np.inf, mean)), 0.0, mean, len(a), len(b))
    if constant_a or constant_b:  # Welch with one variance 0 is exactly the one-sample test of the other side
        result = stats.ttest_1samp(b, a[0]) if constant_a else stats.ttest_1samp(a, b[0])
        statistic = -float(result.statistic) if constant_a else float(result.statistic)
        return WelchTest(statistic, float(result.pvalue), mean, len(a), len(b))
    result = stats.ttest_ind(a, b, equal_var=False)
    return WelchTest(float(result.statistic), float(result.pvalue), mean, len(a), len(b))


def per_user_metric(ranks: pd.DataFrame, metric: str) -> np.ndarray:
    """Per-user ``recall@K`` or ``ndcg@K`` from a ranks frame (``pipeline_lib.metrics``' definitions)."""
    name, _, k = metric.partition("@")
    if name not in PER_USER or not k.isdigit():
        raise ValueError(f"unknown metric {metric!r}; expected recall@K or ndcg@K")
    return PER_USER[name](torch.tensor(ranks["rank"].to_numpy(), dtype=torch.int64), int(k)).double().numpy()


def paired_users(a: pd.DataFrame, b: pd.DataFrame, a_path: Path, b_path: Path) -> pd.DataFrame:
    """Join two per-user frames (``user_id``, ``target``, ``value``) on ``user_id``, sorted by it: columns
    ``user_id``, ``target``, ``value_a``, ``value_b``. Both must cover the same test cases (users and targets)."""
    joined = a.merge(b, on="user_id", how="outer", suffixes=("_a", "_b"), indicator=True)
    unmatched = joined[joined["_merge"] != "both"]
    if len(unmatched):
        user = int(unmatched["user_id"].iloc[0])
        problem = f"test users differ from {a_path} ({len(unmatched)} unmatched, e.g. user {user})"
        raise PipelineInputError(b_path, problem)
    clash = joined[joined["target_a"] != joined["target_b"]]
    if len(clash):
        user = int(clash["user_id"].iloc[0])
        raise PipelineInputError(b_path, f"user {user}'s test target differs from {a_path}", field="target")
    joined = joined.sort_values("user_id").rename(columns={"target_a": "target"})
    return joined.loc[:, ["user_id", "target", "value_a", "value_b"]].reset_index(drop=True)


def seed_averaged(ranks: Mapping[Path, pd.DataFrame], metric: str) -> pd.DataFrame:
    """Each user's ``metric`` averaged over one model's seed rank files (``path → ranks frame``, at least one).

    Returns ``user_id``, ``target``, ``value`` (one row per test user, sorted by ``user_id``); every seed's
    file must list the same users with the same targets (else ``PipelineInputError`` naming the file).
    """
    if not ranks:
        raise ValueError("need at least one ranks frame")
    (first_path, first), *others = ranks.items()
    mean = first.assign(value=per_user_metric(first, metric)).loc[:, ["user_id", "target", "value"]]
    mean = mean.sort_values("user_id").reset_index(drop=True)
    for path, frame in others:
        pairs = paired_users(mean, frame.assign(value=per_user_metric(frame, metric)), first_path, path)
        mean = mean.assign(value=mean["value"] + pairs["value_b"].to_numpy())
    return mean.assign(value=mean["value"] / len(ranks))


def compare_runs(ours: Mapping[Path, pd.DataFrame], other: Mapping[Path, pd.DataFrame], metric: str) -> PairedTest:
    """Paired t-test over users of ``ours`` against ``other`` (each ``path → ranks frame`` of its seeds) on the
    per-user ``metric`` averaged over each model's seeds; the two must share their test users and targets."""
    a, b = seed_averaged(ours, metric), seed_averaged(other, metric)
    pairs = paired_users(a, b, next(iter(ours)), next(iter(other)))
    return paired_t_test(pairs["value_a"].to_numpy(), pairs["value_b"].to_numpy())
