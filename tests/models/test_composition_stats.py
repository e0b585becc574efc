import math

import pytest
import torch

from pipeline_lib.models.composition_stats import (
    CompositionStatsAccumulator,
    above_uniform_share,
    distinct_argmax,
    logit_variance_split,
    mean_entropy,
    mean_max_weight,
    mean_norm,
)


def one_hot(codes: list[int], k: int = 8) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(codes), k).float()


def test_one_hot_on_the_same_code_for_every_context():
    weights = one_hot([2, 2, 2, 2])
    assert mean_entropy(weights) == 0.0
    assert mean_max_weight(weights) == 1.0
    assert distinct_argmax(weights) == 1
    assert above_uniform_share(weights) == 1 / 8


def test_one_hot_on_different_codes():
    weights = one_hot([0, 1, 2, 3, 3])
    assert mean_entropy(weights) == 0.0 and mean_max_weight(weights) == 1.0
    assert distinct_argmax(weights) == 4
    assert above_uniform_share(weights) == 4 / 8


def test_uniform():
    weights = torch.full((5, 8), 1 / 8)
    assert mean_entropy(weights) == pytest.approx(math.log(8))
    assert mean_max_weight(weights) == pytest.approx(1 / 8)
    assert distinct_argmax(weights) == 1  # ties: argmax is the first code for all
    assert above_uniform_share(weights) == 0.0


def test_near_uniform_constant_softmax_scores_high_on_table3_but_not_on_the_new_statistics():
    """The issue-12 blind spot: the same slightly tilted softmax for every context."""
    logits = (torch.arange(8.0) % 2 * 0.01).expand(6, 8)  # codes 1, 3, 5, 7 a bit above uniform
    weights = torch.softmax(logits, -1)
    assert above_uniform_share(weights) == 0.5
    assert distinct_argmax(weights) == 1
    per_code, context = logit_variance_split(logits)
    assert per_code == pytest.approx(0.005**2) and context == pytest.approx(0.0, abs=1e-15)


def test_two_clusters():
    a, b = [0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]
    weights = torch.tensor([a, a, b, b, b, a])
    assert mean_entropy(weights) == pytest.approx(-(0.7 * math.log(0.7) + 3 * 0.1 * math.log(0.1)))
    assert mean_max_weight(weights) == pytest.approx(0.7)
    assert distinct_argmax(weights) == 2
    assert above_uniform_share(weights) == 0.5


def test_logit_variance_split_of_two_clusters_is_all_context():
    logits = torch.tensor([[1.0, -1.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 0.0]])
    assert logit_variance_split(logits) == (0.0, 0.5)
    shifted = logits + torch.tensor([[3.0], [-7.0]])  # a per-context shift: the softmax ignores it
    assert logit_variance_split(shifted) == pytest.approx((0.0, 0.5))


def test_logit_variance_split_of_a_shared_prior_is_all_per_code():
    prior = torch.tensor([2.0, 0.0, -1.0, -1.0])
    per_code, context = logit_variance_split(prior.expand(5, 4) + torch.randn(5, 1))
    assert per_code == pytest.approx(1.5) and context == pytest.approx(0.0, abs=1e-12)


def test_logit_variance_parts_sum_to_the_total_variance_of_centred_logits():
    logits = torch.randn(50, 16, generator=torch.Generator().manual_seed(0)) * 3 + torch.randn(16)
    per_code, context = logit_variance_split(logits)
    centred = logits.double() - logits.double().mean(-1, keepdim=True)
    assert per_code + context == pytest.approx(float(centred.var(unbiased=False)))
    assert per_code > 0 and context > 0


def test_mean_norm():
    assert mean_norm(torch.tensor([[3.0, 4.0], [0.0, 1.0]])) == pytest.approx(3.0)


def test_accumulator_over_batches_equals_the_functions_on_all_contexts():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(23, 8, generator=g) * 2 + torch.randn(8, generator=g)
    u, query = torch.randn(23, 5, generator=g), torch.randn(23, 5, generator=g)
    acc = CompositionStatsAccumulator(8)
    for part in torch.arange(23).split(7):
        acc.update(logits[part], u[part], query[part])
    got = acc.result()
    weights = torch.softmax(logits.double(), -1)
    per_code, context = logit_variance_split(logits)
    assert got["contexts"] == 23
    assert got["entropy"] == pytest.approx(mean_entropy(weights))
    assert got["max_weight"] == pytest.approx(mean_max_weight(weights))
    assert got["distinct_argmax"] == distinct_argmax(weights)
    assert got["above_uniform_share"] == above_uniform_share(weights)
    assert got["logit_var_code"] == pytest.approx(per_code) and got["logit_var_context"] == pytest.approx(context)
    assert got["u_norm"] == pytest.approx(mean_norm(u)) and got["query_norm"] == pytest.approx(mean_norm(query))
