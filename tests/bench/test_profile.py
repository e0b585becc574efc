"""The training-step profile of ``python -m pipeline_lib.bench --profile-steps``, and the compiled training path."""

from __future__ import annotations

import pytest
import torch

from pipeline_lib.bench.profile import arithmetic_rate, profile_training
from pipeline_lib.bench.synthetic import SyntheticSize, synthetic_split, synthetic_tokenizer
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.generative import GenerativeTrainer, compiled_loss, generative_data

D_MODEL, D_FF, VOCAB_CODES = 16, 32, 8


def tiny_trainer(compile_loss: bool = False, d_ff: int = D_FF, cuda_graphs: bool = False) -> GenerativeTrainer:
    split = synthetic_split(SyntheticSize(users=12, items=40, interactions=80), max_seq_len=5, seed=0)
    sids, codebooks = synthetic_tokenizer(40, levels=3, codebook_size=VOCAB_CODES, code_dim=6, seed=0)
    data, _ = generative_data(split, sids, VOCAB_CODES, 5, torch.device("cpu"))
    torch.manual_seed(0)
    config = GenRecConfig(codebook_size=VOCAB_CODES, d_model=D_MODEL, d_kv=4, num_heads=2, d_ff=d_ff,
                          encoder_layers=1, decoder_layers=1, code_dim=6, dropout=0.0)
    model = GenerativeRecommender(config, codebooks).train()
    optim = OptimConfig(batch_size=8, warmup_steps=1, bf16=False, compile=compile_loss, cuda_graphs=cuda_graphs)
    return GenerativeTrainer(model, data, optim, seed=0)


def test_profile_counts_the_feed_forward_flops_and_ranks_ops():
    """Doubling d_ff adds exactly the feed-forward products: 2 layers (encoder, decoder) × 2 matrices ×
    d·Δd_ff multiply-adds per token, × 2 FLOPs, × 3 (forward, gradient of input, gradient of weight)."""
    small, large = (profile_training(tiny_trainer(d_ff=d), steps=2) for d in (D_FF, 2 * D_FF))
    assert small["samples"] == large["samples"] and small["steps"] == 2
    trainer = tiny_trainer()
    batches = [trainer.inputs(i) for i in trainer.batches(0)[:2]]
    encoder_tokens = sum(int(h.numel()) for h, _, _ in batches)
    decoder_tokens = sum(int(t.numel()) for _, t, _ in batches)
    per_token = 2 * D_MODEL * D_FF * 2 * 3
    expected = per_token * (encoder_tokens + decoder_tokens) / small["samples"]
    assert large["flops_per_sample"] - small["flops_per_sample"] == pytest.approx(expected)
    shares = [row["self_share"] for row in small["top_ops"]]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-9
    assert any(row["op"] in ("aten::mm", "aten::addmm", "aten::bmm") for row in small["top_ops"])


def test_arithmetic_rate_and_bad_steps():
    rate = arithmetic_rate({"flops_per_sample": 2e6}, samples_per_s=500.0, peak_gflops=4.0)
    assert rate == {"achieved_gflops": 1.0, "peak_gflops": 4.0, "peak_share": 0.25}
    assert arithmetic_rate({"flops_per_sample": 2e6}, 500.0, None)["peak_share"] is None
    with pytest.raises(ValueError, match="at least one step"):
        profile_training(tiny_trainer(), steps=0)


@pytest.mark.parametrize(
    ("switches", "expected"),
    [({}, None), ({"compile": True}, {"dynamic": True}),
     ({"cuda_graphs": True}, {"mode": "reduce-overhead", "dynamic": True}),
     ({"compile": True, "cuda_graphs": True}, {"mode": "reduce-overhead", "dynamic": True})],
)
def test_compile_switches_choose_the_compile_mode(monkeypatch, switches, expected):
    """``train.cuda_graphs`` compiles in mode reduce-overhead (CUDA graphs), with or without ``train.compile``."""
    calls = []
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: calls.append(kwargs) or fn)
    loss = lambda histories, targets: histories.sum()  # noqa: E731
    assert compiled_loss(loss, OptimConfig(**switches)) is loss
    assert calls == ([] if expected is None else [expected])


def test_a_compiled_loss_runs_inductor_deterministically(monkeypatch):
    """Stages enable deterministic kernels without importing inductor's config (device.use_deterministic_algorithms);
    compiling sets inductor's own flag to match, as torch.use_deterministic_algorithms would have."""
    import torch._inductor.config as inductor_config

    from pipeline_lib.device import use_deterministic_algorithms

    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: fn)
    monkeypatch.setattr(inductor_config, "deterministic", False)
    enabled, warn_only = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        use_deterministic_algorithms()
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        compiled_loss(lambda histories, targets: histories.sum(), OptimConfig(compile=True))
        assert inductor_config.deterministic is True
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


@pytest.mark.slow
@pytest.mark.parametrize("switches", [{"compile_loss": True}, {"cuda_graphs": True}], ids=["compile", "cuda_graphs"])
def test_compiled_training_gives_the_eager_losses(switches):
    """``train.compile`` (torch.compile of the loss, dynamic shapes) and ``train.cuda_graphs`` (mode
    reduce-overhead; its CUDA graphs are recorded on a GPU only, the rest of its path runs here) run on the CPU
    and follow the eager loss curve to float tolerance over steps of different history widths. Compiling takes
    about a minute: slow."""
    eager, compiled = tiny_trainer(), tiny_trainer(**switches)
    assert compiled.loss._torchdynamo_orig_callable == compiled.model.loss
    batches = eager.batches(0)[:3]
    assert len({int(eager.inputs(i)[0].shape[1]) for i in batches}) > 1  # the buckets differ in width
    for index in batches:
        torch.testing.assert_close(compiled.update(*compiled.inputs(index)), eager.update(*eager.inputs(index)),
                                   rtol=1e-4, atol=1e-5)
