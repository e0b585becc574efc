import json
import sys
from pathlib import Path

import pytest
import torch

from pipeline_lib.bench import measure
from pipeline_lib.bench.__main__ import main
from pipeline_lib.bench.measure import BenchOptions, compare_with_reference
from pipeline_lib.bench.report import report_stem
from pipeline_lib.bench.synthetic import SyntheticSize, synthetic_split, synthetic_tokenizer
from pipeline_lib.bench.timing import device_slug
from pipeline_lib.evaluation import DecodeConfig
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.training.generative import generative_data

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
TINY = dict(codebook_size=8, d_model=16, d_kv=4, num_heads=2, d_ff=32, encoder_layers=1, decoder_layers=1,
            code_dim=6, dropout=0.0)


def test_synthetic_split_has_the_requested_size_and_the_pipeline_split():
    split = synthetic_split(SyntheticSize(users=50, items=30, interactions=400), max_seq_len=4, seed=1)
    lengths = split.sequences["item_ids"].map(len)
    assert len(split.sequences) == 50 and lengths.sum() == 400 and lengths.min() >= 5
    assert split.sequences["item_ids"].explode().astype(int).between(0, 29).all()
    first = split.sequences.iloc[0]["item_ids"]
    assert split.test.iloc[0]["target"] == first[-1] and split.valid.iloc[0]["target"] == first[-2]
    assert list(split.valid.iloc[0]["history"]) == first[:-2][-4:]
    again = synthetic_split(SyntheticSize(users=50, items=30, interactions=400), max_seq_len=4, seed=1)
    assert again.sequences["item_ids"].tolist() == split.sequences["item_ids"].tolist()


def test_synthetic_size_rejects_too_few_interactions():
    with pytest.raises(ValueError, match="5 each"):
        SyntheticSize(users=10, items=5, interactions=49)


def test_synthetic_tokenizer_gives_unique_ids_and_codebooks():
    sids, codebooks = synthetic_tokenizer(40, levels=2, codebook_size=8, code_dim=3, seed=0)
    assert sids.shape == (40, 3) and codebooks.shape == (2, 8, 3)
    assert len(torch.unique(sids, dim=0)) == 40 and sids.max() < 8
    assert len(torch.unique(sids[:, :2], dim=0)) < 40  # some items collide on the codes: the last token separates them


def tiny_setup(seed: int = 0):
    split = synthetic_split(SyntheticSize(users=12, items=40, interactions=80), max_seq_len=5, seed=seed)
    sids, codebooks = synthetic_tokenizer(40, levels=3, codebook_size=8, code_dim=6, seed=seed)
    data, _ = generative_data(split, sids, 8, 5, torch.device("cpu"))
    torch.manual_seed(seed)
    config = GenRecConfig(**TINY, fusion=True, composition=True, alpha=0.5, bos_queries=2)
    return GenerativeRecommender(config, codebooks), data, sids


def test_reference_comparison_agrees_with_our_decoder():
    model, data, sids = tiny_setup()
    decode = DecodeConfig(beam_size=12, batch_size=5, ks=(5,))
    result = compare_with_reference(model, data, sids, decode, BenchOptions(repeats=1, reference_users=6, reference_items=40))
    assert result["brute_force"]["items"] == 12 and result["naive_beam"]["items"] == 40
    for row in result.values():
        assert row["identical"] and row["mismatched_users"] == 0 and row["users"] == 6
        assert row["speedup"] == pytest.approx(row["reference_seconds"] / row["fast_seconds"])


def test_reference_comparison_reports_a_wrong_decoder(monkeypatch):
    model, data, sids = tiny_setup()
    decode = DecodeConfig(beam_size=12, batch_size=5, ks=(5,))
    right = measure.rank_generative
    monkeypatch.setattr(measure, "rank_generative", lambda *args, **kw: right(*args, **kw).flip(1))
    result = compare_with_reference(model, data, sids, decode, BenchOptions(repeats=1, reference_users=6, reference_items=40))
    assert not result["naive_beam"]["identical"] and result["naive_beam"]["mismatched_users"] == 6


def test_report_names_device_dataset_and_variant(tmp_path):
    assert device_slug(torch.device("cpu")) == "cpu"
    assert report_stem(tmp_path, "cpu", "demo-synthetic", "decor") == tmp_path / "cpu_demo-synthetic_decor"


@pytest.mark.parametrize("variant", ["tiger", "decor"])
def test_benchmark_script_on_the_demo_profile(variant, tmp_path, monkeypatch):
    """The CLI end to end, CI-sized: the demo's (CPU profile) model on a small synthetic catalogue."""
    argv = ["bench", "demo", variant, "--params", str(PARAMS), "--synthetic", "--users", "60", "--items", "45",
            "--interactions", "420", "--repeats", "2", "--warmup", "1", "--train-steps", "1", "--eval-users", "16",
            "--reference-users", "3", "--reference-items", "45", "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    main()
    result = json.loads((tmp_path / f"cpu_demo-synthetic_{variant}.json").read_text())
    assert result["device"] == "cpu" and result["synthetic"] and result["variant"] == variant
    assert result["data"] == {"users": 60, "items": 45, "train_samples": 420 - 3 * 60}
    train, evaluation = result["train"], result["eval"]
    assert train["steps_per_repeat"] == 1 and len(train["samples_per_s_repeats"]) == 2
    assert train["samples_per_s"] > 0 and 0 <= train["outside_model_share"] < 1
    assert train["epoch_seconds"] == pytest.approx(train["train_samples"] / train["samples_per_s"])
    assert evaluation["users"] == 16 and evaluation["beam_size"] == 50 and evaluation["users_per_s"] > 0
    assert all(row["identical"] for row in result["reference"].values())
    assert result["model"]["composition"] == (variant == "decor") and "targets" not in result
    summary = (tmp_path / f"cpu_demo-synthetic_{variant}.md").read_text()
    assert f"# Benchmark: {variant} on demo (synthetic catalogue)" in summary and "seconds per epoch" in summary
