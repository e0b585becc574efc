import math

import pytest
import torch

from pipeline_lib.metrics import (
    hit_ranks,
    ndcg_per_user,
    popularity_ranking,
    rank_frame,
    ranking_metrics,
    recall_per_user,
)

# targets 7, 4, 9 at ranks 1, 3 and absent
RANKED = torch.tensor([[7, 1, 2, 3, 5], [0, 2, 4, 6, 8], [1, 2, 3, 5, -1]])
TARGETS = torch.tensor([7, 4, 9])


def test_hit_ranks():
    assert hit_ranks(RANKED, TARGETS).tolist() == [1, 3, 0]
    assert hit_ranks(RANKED, torch.tensor([5, 8, 5])).tolist() == [5, 5, 4]


def test_padding_never_matches():
    assert hit_ranks(torch.tensor([[-1, -1]]), torch.tensor([0])).tolist() == [0]


def test_hand_computed_metrics():
    metrics = ranking_metrics(RANKED, TARGETS, ks=(1, 5))
    assert metrics == pytest.approx(
        {"recall@1": 1 / 3, "ndcg@1": 1 / 3, "recall@5": 2 / 3, "ndcg@5": (1 + 1 / math.log2(4)) / 3}
    )
    assert list(metrics) == ["recall@1", "ndcg@1", "recall@5", "ndcg@5"]
    assert all(type(v) is float for v in metrics.values())


def test_rank_between_cutoffs():
    ranked = torch.arange(10).repeat(2, 1)
    metrics = ranking_metrics(ranked, torch.tensor([6, 0]))  # ranks 7 and 1
    assert metrics == pytest.approx(
        {"recall@5": 0.5, "ndcg@5": 0.5, "recall@10": 1.0, "ndcg@10": (1 / math.log2(8) + 1) / 2}
    )


def test_per_user_values():
    ranks = torch.tensor([1, 2, 5, 6, 0])
    assert recall_per_user(ranks, 5).tolist() == [1, 1, 1, 0, 0]
    expected = [1.0, 1 / math.log2(3), 1 / math.log2(6), 0.0, 0.0]
    torch.testing.assert_close(ndcg_per_user(ranks, 5), torch.tensor(expected))


def test_cutoff_longer_than_lists_is_rejected():
    with pytest.raises(ValueError, match=r"K=\[10\] outside 1..5"):
        ranking_metrics(RANKED, TARGETS)
    with pytest.raises(ValueError, match=r"targets \[U\]"):
        hit_ranks(RANKED, TARGETS[:2])


def test_rank_frame():
    frame = rank_frame(torch.tensor([10, 11, 12]), TARGETS, hit_ranks(RANKED, TARGETS))
    assert list(frame.columns) == ["user_id", "target", "rank"]
    assert frame.to_dict("list") == {"user_id": [10, 11, 12], "target": [7, 4, 9], "rank": [1, 3, 0]}
    assert all(dtype == "int64" for dtype in frame.dtypes)


def test_popularity_ranking():
    counts = torch.tensor([3, 5, 0, 5, 1])
    ranked = popularity_ranking(counts, n_users=2, top_k=3)
    assert ranked.tolist() == [[1, 3, 0], [1, 3, 0]]
    assert popularity_ranking(counts, n_users=1, top_k=7).tolist() == [[1, 3, 0, 4, 2, -1, -1]]
    assert ranking_metrics(ranked, torch.tensor([3, 4]), ks=(1, 3)) == pytest.approx(
        {"recall@1": 0.0, "ndcg@1": 0.0, "recall@3": 0.5, "ndcg@3": 0.5 / math.log2(3)}
    )


def test_popularity_ties_go_to_lower_item_id():
    counts = torch.arange(3000) % 3  # items 2, 5, 8, … have the top count
    assert popularity_ranking(counts, n_users=1, top_k=50).tolist() == [list(range(2, 150, 3))]
