"""Which gaps between models the seeds resolve: disjoint seed ranges or Welch's p below the level."""

from __future__ import annotations

import pytest

from pipeline_lib.reporting.results import DatasetResults, Measured
from pipeline_lib.reporting.seed_comparison import compare_models, compare_pair, render


def results(values: dict[str, dict[int | None, float]]) -> DatasetResults:
    return DatasetResults("toy", {m: {"ndcg@10": Measured(v)} for m, v in values.items()}, {})


def test_disjoint_ranges_and_welch_resolve_a_gap_overlapping_ranges_do_not():
    far = compare_pair("a", "b", Measured({1: 0.30, 2: 0.31, 3: 0.32}), Measured({1: 0.20, 2: 0.21, 3: 0.22}))
    assert far.disjoint and far.p_value < 0.01 and far.difference == pytest.approx(0.10)
    near = compare_pair("a", "b", Measured({1: 0.30, 2: 0.20}), Measured({1: 0.26, 2: 0.24}))
    assert not near.disjoint and near.p_value > 0.5


def test_pairs_put_the_higher_mean_first_and_sort_by_gap():
    pairs = compare_models(results({"low": {1: 0.1, 2: 0.12}, "high": {1: 0.3, 2: 0.32}, "mid": {1: 0.2, 2: 0.21}}),
                           "ndcg@10", ["low", "high", "mid"])
    assert [(p.a, p.b) for p in pairs] == [("high", "low"), ("high", "mid"), ("mid", "low")]


def test_an_unseeded_floor_is_beaten_only_by_every_seed():
    toy = results({"popularity": {None: 0.15}, "x": {1: 0.2, 2: 0.3}, "y": {1: 0.1, 2: 0.3}})
    pairs = {(p.a, p.b): p for p in compare_models(toy, "ndcg@10", ["x", "y", "popularity"])}
    assert pairs["x", "popularity"].disjoint and not pairs["y", "popularity"].disjoint
    assert pairs["x", "popularity"].p_value is None and pairs["x", "y"].p_value is not None


def test_render_states_resolved_and_unresolved_gaps():
    text = render(results({"a": {1: 0.30, 2: 0.31, 3: 0.32}, "b": {1: 0.20, 2: 0.21, 3: 0.22},
                           "c": {1: 0.10, 2: 0.40, 3: 0.25}}), ("ndcg@10",), ["a", "b", "c"])
    assert "- a > b: +0.1000 (Welch p = " in text and "seed ranges disjoint" in text
    assert "Within the seed spread: 2 of 3 pairs" in text
    assert "| a " in text and "0.3000, 0.3100, 0.3200" in text
