"""One benchmark run: a freshly initialised variant is trained, decoded and checked against the references."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from pipeline_lib.bench.measure import (
    BenchOptions,
    HFOptions,
    compare_with_reference,
    measure_against_hf,
    measure_evaluation,
    measure_training,
)
from pipeline_lib.bench.profile import arithmetic_rate, profile_training
from pipeline_lib.bench.setup import BenchSetup
from pipeline_lib.bench.timing import device_name, device_slug, memory_kind
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.training.generative import GenerativeTrainer

# Speed targets on one H100 at the paper's Scientific size (seconds): an epoch of TIGER, an epoch of a
# variant with any DECOR module, and beam-50 decoding of ~51k users.
TIGER_EPOCH_SECONDS = 10.0
DECOR_EPOCH_SECONDS = 15.0
EVAL_SECONDS = 20.0
EVAL_USERS = 51_000


def paper_targets(setup: BenchSetup, train: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """The H100 targets next to this run's epoch time and its decoding time scaled to 51k users."""
    plain = not (setup.config.fusion or setup.config.composition)
    epoch_limit = TIGER_EPOCH_SECONDS if plain else DECOR_EPOCH_SECONDS
    eval_seconds = EVAL_USERS / evaluation["users_per_s"]
    return {
        "epoch_seconds_max": epoch_limit,
        "epoch_met": train["epoch_seconds"] <= epoch_limit,
        "eval_seconds_for_51k_users": eval_seconds,
        "eval_seconds_max": EVAL_SECONDS,
        "eval_met": eval_seconds <= EVAL_SECONDS,
    }


def run_benchmark(setup: BenchSetup, options: BenchOptions, hf: HFOptions | None = None) -> dict[str, Any]:
    """Training, then evaluation, then the reference comparison (on the briefly trained weights); with
    ``hf``, last, ours against the Hugging Face reference in interleaved repeats (``hf_reference``)."""
    device = setup.data.item_tokens.device
    torch.manual_seed(setup.seed)
    model = GenerativeRecommender(setup.config, setup.codebooks).to(device)
    train = measure_training(model, setup.data, setup.optim, setup.seed, options)
    if options.profile_steps:  # after the timing, on a fresh optimiser: the timed steps ran unprofiled
        model.train()
        trainer = GenerativeTrainer(model, setup.data, setup.optim, setup.seed)
        train["profile"] = profile_training(trainer, options.profile_steps)
        train["profile"] |= arithmetic_rate(train["profile"], train["samples_per_s"], options.peak_gflops)
    evaluation = measure_evaluation(model, setup.data, setup.decode, setup.optim.bf16, options)
    result: dict[str, Any] = {
        "dataset": setup.dataset,
        "synthetic": setup.synthetic,
        "variant": setup.variant,
        "device": device_slug(device),
        "device_name": device_name(device),
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "memory_kind": memory_kind(device),
        "data": {
            "users": len(setup.data.valid),
            "items": setup.data.trie.n_items,
            "train_samples": len(setup.data.train),
        },
        "model": {"parameters": sum(p.numel() for p in model.parameters() if p.requires_grad), **setup.config.to_dict()},
        "settings": {
            "bf16_autocast": setup.optim.bf16 and device.type == "cuda",
            "compile": setup.optim.compile or setup.optim.cuda_graphs,
            "cuda_graphs": setup.optim.cuda_graphs and device.type == "cuda",
            "fused_adamw": device.type == "cuda",
            **asdict(options),
        },
        "train": train,
        "eval": evaluation,
        "reference": compare_with_reference(model, setup.data, setup.sids, setup.decode, options),
    }
    if hf is not None:
        result["hf_reference"] = measure_against_hf(
            model, setup.data, setup.optim, setup.decode, setup.seed, options, hf
        )
    if device.type == "cuda":
        result["targets"] = paper_targets(setup, train, evaluation)
    return result
