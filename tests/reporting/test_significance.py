import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.reporting.significance import compare_runs, paired_t_test, per_user_metric


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


def test_compare_runs_pairs_users_by_id():
    ours = ranks([2, 0, 1], [7, 5, 6], [1, 1, 0])
    other = ranks([0, 1, 2], [5, 6, 7], [0, 0, 1])
    result = compare_runs(ours, other, "recall@10", Path("a.parquet"), Path("b.parquet"))
    # per user (0, 1, 2): ours 1, 0, 1 vs other 0, 0, 1
    expected = paired_t_test(np.array([1.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    assert result == expected


def test_compare_runs_rejects_different_test_sets():
    ours = ranks([0, 1], [5, 6], [1, 1])
    with pytest.raises(PipelineInputError, match="b.parquet: test users differ"):
        compare_runs(ours, ranks([0, 2], [5, 6], [1, 1]), "ndcg@10", Path("a.parquet"), Path("b.parquet"))
    with pytest.raises(PipelineInputError, match="user 1's test target differs"):
        compare_runs(ours, ranks([0, 1], [5, 9], [1, 1]), "ndcg@10", Path("a.parquet"), Path("b.parquet"))
