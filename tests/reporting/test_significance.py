import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.reporting.significance import (
    compare_runs,
    paired_t_test,
    per_user_metric,
    seed_averaged,
    welch_t_test,
)


def ranks(user_ids, targets, rank):
    return pd.DataFrame({"user_id": user_ids, "target": targets, "rank": rank}).astype("int64")


def test_t_statistic_matches_the_textbook_formula():
    a = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5])
    b = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    d = a - b
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    t = mean / (sd / math.sqrt(n))
    result = paired_t_test(a, b)
    assert result.statistic == pytest.approx(t)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(t), n - 1))
    assert result.mean_difference == pytest.approx(mean)
    assert result.n == n


def test_identical_vectors_are_not_significant_and_warn_nothing():
    a = np.array([1.0, 0.0, 0.5, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired_t_test(a, a.copy())
    assert (result.statistic, result.p_value, result.mean_difference) == (0.0, 1.0, 0.0)
    assert not result.significant(0.05)


def test_a_constant_difference_is_decided_by_its_sign():
    a, b = np.ones(5), np.zeros(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        better, worse = paired_t_test(a, b), paired_t_test(b, a)
    assert better.p_value == 0.0 and better.statistic == math.inf and better.significant(0.05)
    assert worse.p_value == 0.0 and not worse.significant(0.05)


def test_significantly_worse_is_not_marked():
    rng = np.random.default_rng(0)
    b = rng.random(200)
    a = b - 0.1 - 0.01 * rng.random(200)
    result = paired_t_test(a, b)
    assert result.p_value < 1e-10 and result.mean_difference < 0
    assert not result.significant(0.05)


def test_single_pair_is_not_testable():
    assert paired_t_test(np.array([1.0]), np.array([0.0])).p_value == 1.0


def test_per_user_metrics_follow_the_rank_definitions():
    frame = ranks([0, 1, 2, 3], [5, 6, 7, 8], [1, 3, 0, 11])
    assert per_user_metric(frame, "recall@10").tolist() == [1.0, 1.0, 0.0, 0.0]
    assert per_user_metric(frame, "ndcg@10").tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert per_user_metric(frame, "recall@1").tolist() == [1.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        per_user_metric(frame, "mrr@10")


def test_welch_matches_the_textbook_formula():
    a, b = np.array([0.031, 0.029, 0.030]), np.array([0.027, 0.026, 0.0285, 0.025])
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    result = welch_t_test(a, b)
    assert result.statistic == pytest.approx(t)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(t), df))
    assert result.p_value < 0.05 and result.significant(0.05)
    assert (result.n_a, result.n_b) == (3, 4) and result.mean_difference == pytest.approx(a.mean() - b.mean())
    assert not welch_t_test(b, a).significant(0.05)  # significantly worse is not marked


def test_welch_degenerate_samples_give_no_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = welch_t_test(np.array([0.03, 0.02]), np.array([0.03, 0.02]))
        constant = welch_t_test(np.array([0.03, 0.03]), np.array([0.02, 0.02]))
        flat = welch_t_test(np.array([0.02, 0.02]), np.array([0.02, 0.02]))
        one_flat = welch_t_test(np.array([0.03, 0.03, 0.03]), np.array([0.01, 0.02, 0.015]))
        single = welch_t_test(np.array([0.05]), np.array([0.01, 0.02]))
    assert (same.statistic, same.p_value) == (0.0, 1.0)
    assert constant.statistic == math.inf and constant.p_value == 0.0 and constant.significant(0.05)
    assert (flat.statistic, flat.p_value, flat.mean_difference) == (0.0, 1.0, 0.0)
    # Welch with a zero variance: t = (0.03 - 0.015) / (0.005 / sqrt(3)), df = 2
    assert one_flat.statistic == pytest.approx(0.015 / (0.005 / math.sqrt(3)))
    assert one_flat.p_value == pytest.approx(2 * stats.t.sf(one_flat.statistic, 2)) and one_flat.p_value < 0.05
    assert (single.p_value, single.n_a) == (1.0, 1) and not single.significant(0.05)  # one seed: nothing to test


def test_seed_averaged_metric_is_the_per_user_mean_over_seeds():
    seed_a = ranks([0, 1, 2], [5, 6, 7], [1, 0, 3])
    seed_b = ranks([2, 1, 0], [7, 6, 5], [0, 0, 1])  # another order: paired by user
    mean = seed_averaged({Path("a.parquet"): seed_a, Path("b.parquet"): seed_b}, "recall@10")
    assert mean["user_id"].tolist() == [0, 1, 2] and mean["target"].tolist() == [5, 6, 7]
    assert mean["value"].tolist() == [1.0, 0.0, 0.5]
    ndcg = seed_averaged({Path("a.parquet"): seed_a}, "ndcg@10")
    assert ndcg["value"].tolist() == pytest.approx([1.0, 0.0, 0.5])


def test_seed_averaged_rejects_seeds_with_different_users():
    seed_a = ranks([0, 1], [5, 6], [1, 1])
    with pytest.raises(PipelineInputError, match="seed_1.parquet: test users differ from seed_2025.parquet"):
        seed_averaged({Path("seed_2025.parquet"): seed_a, Path("seed_1.parquet"): ranks([0, 2], [5, 6], [1, 1])},
                      "ndcg@10")


def one(frame: pd.DataFrame, name: str = "a.parquet") -> dict[Path, pd.DataFrame]:
    return {Path(name): frame}


def test_compare_runs_pairs_users_by_id():
    ours = ranks([2, 0, 1], [7, 5, 6], [1, 1, 0])
    other = ranks([0, 1, 2], [5, 6, 7], [0, 0, 1])
    result = compare_runs(one(ours), one(other, "b.parquet"), "recall@10")
    # per user (0, 1, 2): ours 1, 0, 1 vs other 0, 0, 1
    expected = paired_t_test(np.array([1.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    assert result == expected


def test_compare_runs_pairs_the_seed_averages():
    ours = {Path("a1"): ranks([0, 1, 2, 3], [5, 6, 7, 8], [1, 1, 0, 1]),
            Path("a2"): ranks([0, 1, 2, 3], [5, 6, 7, 8], [1, 0, 0, 0])}
    other = {Path("b1"): ranks([3, 2, 1, 0], [8, 7, 6, 5], [0, 0, 0, 1])}
    result = compare_runs(ours, other, "recall@10")
    # users 0..3: ours (1, 0.5, 0, 0.5) vs other (1, 0, 0, 0)
    assert result == paired_t_test(np.array([1.0, 0.5, 0.0, 0.5]), np.array([1.0, 0.0, 0.0, 0.0]))
    assert result.n == 4


def test_compare_runs_rejects_different_test_sets():
    ours = one(ranks([0, 1], [5, 6], [1, 1]))
    with pytest.raises(PipelineInputError, match="b.parquet: test users differ"):
        compare_runs(ours, one(ranks([0, 2], [5, 6], [1, 1]), "b.parquet"), "ndcg@10")
    with pytest.raises(PipelineInputError, match="user 1's test target differs"):
        compare_runs(ours, one(ranks([0, 1], [5, 9], [1, 1]), "b.parquet"), "ndcg@10")
