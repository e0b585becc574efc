"""Seed spread → gate tolerances: another seed's metrics pass the gate, a planted drop beyond the spread fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_lib.ci.gate import check_metrics, gate_config
from pipeline_lib.ci.seed_spread import family, family_ranges, read_seeds, split_by_seed, spread
from pipeline_lib.schema import load_params

REPO = Path(__file__).resolve().parents[2]
SPREAD_DIR = REPO / "reports" / "ci" / "seed_spread"


def test_spread_statistics_and_families():
    runs = {1: {"demo/eval/tiger.json:test.recall@10": 0.20, "demo/eval/decor.json:test.recall@10": 0.25},
            2: {"demo/eval/tiger.json:test.recall@10": 0.24, "demo/eval/decor.json:test.recall@10": 0.26},
            3: {"demo/eval/tiger.json:test.recall@10": 0.22, "demo/eval/decor.json:test.recall@10": 0.27}}
    per_key = spread(runs)
    tiger = per_key["demo/eval/tiger.json:test.recall@10"]
    assert tiger["mean"] == pytest.approx(0.22) and tiger["range"] == pytest.approx(0.04)
    assert tiger["sd"] == pytest.approx(0.02)
    largest, where = family_ranges(per_key)["eval:test.recall@10"]
    assert largest == pytest.approx(0.04) and where == "demo/eval/tiger.json:test.recall@10"
    assert family("demo/tokenizer.json:utilization.layer_1") == "tokenizer:utilization.layer_1"


def test_split_by_seed_drops_the_seed_from_keys_and_shares_unseeded_files():
    flat = {"demo/eval/tiger/seed_1.json:test.recall@10": 0.2, "demo/eval/tiger/seed_2.json:test.recall@10": 0.3,
            "demo/train/etegrec/seed_2.json:pretrain_final_loss": 0.5, "demo/tokenizer.json:utilization.layer_1": 0.9}
    assert split_by_seed(flat) == {
        1: {"demo/eval/tiger.json:test.recall@10": 0.2, "demo/tokenizer.json:utilization.layer_1": 0.9},
        2: {"demo/eval/tiger.json:test.recall@10": 0.3, "demo/train/etegrec.json:pretrain_final_loss": 0.5,
            "demo/tokenizer.json:utilization.layer_1": 0.9},
    }


def test_gate_patterns_treat_a_seeded_key_as_its_seed_free_form():
    config = gate_config(load_params(REPO / "params.yaml"))
    for metric in ("utilization.layer_1", "test.recall@10", "composition.layer_1.entropy"):
        for model in ("tiger", "pretrained", "pretrained_tokcomp", "decor"):
            seeded, plain = f"demo/eval/{model}/seed_1.json:{metric}", f"demo/eval/{model}.json:{metric}"
            assert (config.ignored(seeded), config.tolerance(seeded)) == (config.ignored(plain), config.tolerance(plain))
    assert config.tolerance("demo/eval/pretrained/seed_1.json:utilization.layer_1") == 0.11
    assert config.ignored("demo/eval/pretrained_tokcomp/seed_1.json:utilization.layer_1")


def test_read_seeds_needs_two_runs(tmp_path):
    from pipeline_lib.errors import PipelineInputError

    (tmp_path / "seed_1.json").write_text("{}")
    with pytest.raises(PipelineInputError, match="at least 2 seeds"):
        read_seeds(tmp_path)


@pytest.fixture(scope="module")
def measured() -> dict[int, dict[str, float]]:
    return read_seeds(SPREAD_DIR)


def test_committed_tolerances_cover_the_measured_seed_spread(measured):
    config = gate_config(load_params(REPO / "params.yaml"))
    for key, stats in spread(measured).items():
        if not config.ignored(key):
            assert config.tolerance(key) >= stats["range"], f"{key}: tolerance {config.tolerance(key)} < seed range"


def test_gate_passes_every_other_seed_against_each_seed(measured):
    config = gate_config(load_params(REPO / "params.yaml"))
    common = set.intersection(*(set(run) for run in measured.values()))  # the filter's stats are not re-run per seed
    for base_seed, baseline in measured.items():
        for seed, current in measured.items():
            pair = ({k: baseline[k] for k in common}, {k: current[k] for k in common})
            failed = [c for c in check_metrics(*pair, config) if c.failed]
            assert not failed, f"seed {seed} vs baseline seed {base_seed}: {failed[:3]}"


def test_gate_fails_on_a_drop_just_beyond_the_tolerance(measured):
    config = gate_config(load_params(REPO / "params.yaml"))
    baseline = measured[min(measured)]
    key = next(k for k in sorted(baseline) if k.endswith("test.ndcg@10") and "/eval/decor" in k)
    planted = {**baseline, key: baseline[key] - config.tolerance(key) - 1e-4}
    failed = [c.key for c in check_metrics(baseline, planted, config) if c.failed]
    assert failed == [key]
