"""The three measurements: training throughput, beam-search evaluation throughput, and our decoder
against the plain reference decoders on small catalogues (same results, and how much faster).

Every measurement runs the pipeline's own code (``GenerativeTrainer``, ``rank_generative``), warms
up first, and repeats; the medians are reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import transformers

from pipeline_lib.bench.hf_reference import HFTrainer
from pipeline_lib.bench.timing import median, peak_memory, reset_peak_memory, seconds, seconds_and_peak, timed
from pipeline_lib.decoding.hf_generate import TrieConstraint, hf_rank
from pipeline_lib.decoding.reference import brute_force_topk, naive_beam_search
from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.evaluation import DecodeConfig, rank_generative
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.models.hf_t5 import hf_t5_model
from pipeline_lib.tokenizer.vocab import history_tokens
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.generative import GenerativeTrainer, TrainData

Reference = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""A reference decoder: catalogue semantic IDs [n, L] → (items, scores) [users, top_k]."""


@dataclass(frozen=True)
class BenchOptions:
    repeats: int = 3
    warmup_steps: int = 3  # training steps before timing (allocator, autotuning); compiled: a whole epoch
    train_steps: int = 0  # steps per timed repeat; 0 = a whole epoch
    eval_users: int = 0  # validation users decoded per repeat; 0 = all
    reference_users: int = 32
    reference_items: int = 500  # catalogue of the naive-beam-search comparison
    profile_steps: int = 0  # training steps profiled (FLOPs, top ops); 0 = no profile
    peak_gflops: float | None = None  # the device's fp32 peak, for the achieved share

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.warmup_steps < 0 or self.train_steps < 0 or self.eval_users < 0:
            raise ValueError(f"bad benchmark options {self}")
        if self.profile_steps < 0 or (self.peak_gflops is not None and self.peak_gflops <= 0):
            raise ValueError(f"profile steps must be ≥ 0 and the peak GFLOP/s > 0, got {self}")
        if self.reference_users < 1 or self.reference_items < 1:
            raise ValueError(f"the reference comparison needs users and items, got {self}")


@dataclass(frozen=True)
class HFOptions:
    """The comparison with the Hugging Face reference (``--reference hf``, :mod:`pipeline_lib.bench.hf_reference`):
    ``repeats`` interleaved repeats of ``train_steps`` training steps and of decoding ``eval_users``
    validation users at each of ``beams``."""

    repeats: int = 3
    train_steps: int = 50
    eval_users: int = 1024
    beams: tuple[int, ...] = (20, 50)

    def __post_init__(self) -> None:
        if self.repeats < 3:
            raise ValueError(f"the Hugging Face comparison needs at least 3 interleaved repeats, got {self.repeats}")
        if self.train_steps < 1 or self.eval_users < 1:
            raise ValueError(f"the Hugging Face comparison needs ≥ 1 training step and ≥ 1 user, got {self}")
        if not self.beams or min(self.beams) < 1:
            raise ValueError(f"the Hugging Face comparison needs beam sizes ≥ 1, got {self.beams}")

    def check_beams(self, top_k: int) -> None:
        """Every beam must hold the ``top_k`` items both decoders return."""
        if min(self.beams) < top_k:
            raise ValueError(
                f"beam sizes {list(self.beams)} must be ≥ the {top_k} items returned per user (evaluate.ks)"
            )


Inputs = tuple[torch.Tensor, torch.Tensor, float]


def _train_steps(trainer: GenerativeTrainer, epoch: int, steps: int) -> None:
    """The first ``steps`` steps of ``epoch`` as ``GenerativeTrainer.run_epoch`` takes them."""
    for index in trainer.batches(epoch)[:steps]:
        trainer.update(*trainer.inputs(index))


def _prepare(trainer: GenerativeTrainer, epoch: int, steps: int, into: list[Inputs]) -> None:
    """The data part of those steps alone: draw the batches and index the samples."""
    into.extend(trainer.inputs(index) for index in trainer.batches(epoch)[:steps])


def _update(trainer: GenerativeTrainer, prepared: list[Inputs]) -> None:
    """The model part alone: one optimizer step per prepared batch."""
    for inputs in prepared:
        trainer.update(*inputs)


def measure_training(
    model: GenerativeRecommender, data: TrainData, optim: OptimConfig, seed: int, options: BenchOptions
) -> dict[str, float | int | list[float]]:
    """Training samples/s and seconds per epoch; the share of step time spent outside the model.

    Each repeat times ``train_steps`` steps of an epoch as training runs them (drawing the epoch's
    batches, indexing the device-resident samples, one optimizer step per batch), then the data
    part alone (drawing and indexing), then the same steps from the prepared inputs: the model
    alone (forward, backward, AdamW). ``outside_model_share`` = 1 − model alone / as trained, the
    share of step time not overlapped with the model's work (on a GPU, host work hides behind
    queued kernels); ``data_alone_share`` = data alone / as trained.
    """
    trainer = GenerativeTrainer(model, data, optim, seed)
    model.train()
    # compiled, every new input shape may recompile: warm up on a whole epoch, which has them all
    warmup = trainer.batches(0)[: None if optim.compile or optim.cuda_graphs else options.warmup_steps]
    for index in warmup:
        trainer.update(*trainer.inputs(index))
    steps = options.train_steps or trainer.n_batches
    reset_peak_memory(trainer.device)
    full, data_only, model_only, samples = [], [], [], []
    for epoch in range(1, options.repeats + 1):
        prepared: list[Inputs] = []
        full.append(seconds(partial(_train_steps, trainer, epoch, steps), trainer.device))
        data_only.append(seconds(partial(_prepare, trainer, epoch, steps, prepared), trainer.device))
        model_only.append(seconds(partial(_update, trainer, prepared), trainer.device))
        samples.append(sum(len(histories) for histories, _, _ in prepared))
    rates = [n / t for n, t in zip(samples, full)]
    return {
        "train_samples": len(data.train),
        "batch_size": optim.batch_size,
        "batches_per_epoch": trainer.n_batches,
        "steps_per_repeat": min(steps, trainer.n_batches),
        "warmup_steps": len(warmup),
        "samples_per_s": median(rates),
        "samples_per_s_repeats": rates,
        "epoch_seconds": len(data.train) / median(rates),
        "model_only_samples_per_s": median([n / t for n, t in zip(samples, model_only)]),
        "outside_model_share": max(0.0, median([1.0 - m / f for m, f in zip(model_only, full)])),
        "data_alone_share": median([d / f for d, f in zip(data_only, full)]),
        "peak_memory_bytes": peak_memory(trainer.device),
    }


def measure_evaluation(
    model: GenerativeRecommender, data: TrainData, decode: DecodeConfig, bf16: bool, options: BenchOptions
) -> dict[str, float | int | list[float]]:
    """Users/s of the full-catalogue trie-constrained beam search over the validation users."""
    device = data.item_tokens.device
    histories = data.valid.histories[: options.eval_users or None]
    rank = partial(rank_generative, model, item_tokens=data.item_tokens, trie=data.trie, decode=decode, bf16=bf16)
    rank(histories[: decode.batch_size])
    reset_peak_memory(device)
    runs = [seconds(partial(rank, histories), device) for _ in range(options.repeats)]
    return {
        "users": len(histories),
        "items": data.trie.n_items,
        "beam_size": decode.beam_size,
        "batch_size": decode.batch_size,
        "seconds": median(runs),
        "seconds_repeats": runs,
        "users_per_s": len(histories) / median(runs),
        "peak_memory_bytes": peak_memory(device),
    }


@torch.no_grad()
def compare_with_reference(
    model: GenerativeRecommender, data: TrainData, sids: torch.Tensor, decode: DecodeConfig, options: BenchOptions
) -> dict[str, dict[str, float | int | bool]]:
    """Our batched, KV-cached, trie-constrained beam search (``rank_generative``, float32) against
    ``pipeline_lib.decoding.reference`` for the first validation users:

    - ``brute_force``: a catalogue of ``beam_size`` items, where beam search is exact, against
      scoring every item's whole ID;
    - ``naive_beam``: a catalogue of ``reference_items`` items against the same beam search run
      with Python loops over users, beams and allowed codes, re-reading whole prefixes.

    Each reports whether the top-``max(ks)`` items agree for every user (same items, same order),
    the seconds of both, and the speed-up.
    """
    model.eval()
    device = data.item_tokens.device
    histories = data.valid.histories[: options.reference_users]
    users = len(histories)
    tokens = history_tokens(data.item_tokens, histories)
    config = DecodeConfig(beam_size=decode.beam_size, batch_size=users, ks=decode.ks)

    def compare(catalogue: torch.Tensor, reference: Reference) -> dict[str, float | int | bool]:
        trie = SemanticIdTrie.from_semantic_ids(catalogue, model.config.codebook_size).to(device)
        fast = partial(rank_generative, model, histories, data.item_tokens, trie, config, bf16=False)
        items = fast()
        fast_seconds = median([seconds(fast, device) for _ in range(options.repeats)])
        (expected, _), first = timed(partial(reference, catalogue), device)
        again = [seconds(partial(reference, catalogue), device) for _ in range(options.repeats - 1)]
        reference_seconds = median([first, *again])
        mismatched = int((items != expected.to(device)).any(dim=1).sum())
        return {
            "items": len(catalogue),
            "users": users,
            "beam_size": config.beam_size,
            "top_k": config.top_k,
            "identical": mismatched == 0,
            "mismatched_users": mismatched,
            "fast_seconds": fast_seconds,
            "reference_seconds": reference_seconds,
            "speedup": reference_seconds / fast_seconds,
        }

    return {
        "brute_force": compare(
            sids[: config.beam_size],
            lambda ids: brute_force_topk(model.beam_step_fn(tokens), users, ids, config.top_k, device),
        ),
        "naive_beam": compare(
            sids[: options.reference_items],
            lambda ids: naive_beam_search(model.beam_step_fn(tokens), users, ids, config.beam_size, config.top_k, device),
        ),
    }


def _side(runs: list[tuple[float, int | None]], amounts: list[int], unit: str) -> dict[str, Any]:
    """One side's repeats (seconds, memory) of ``amounts`` samples or users each → the median rate and memory."""
    rates = [amount / elapsed for amount, (elapsed, _) in zip(amounts, runs)]
    peaks = [peak for _, peak in runs]
    return {
        f"{unit}_per_s": median(rates),
        f"{unit}_per_s_repeats": rates,
        "peak_extra_memory_bytes": None if None in peaks else int(median([float(p) for p in peaks])),
    }


def _versus(ours: dict[str, Any], reference: dict[str, Any], unit: str) -> dict[str, Any]:
    """Both sides with their ratios: the median over repeats of ours / reference (speed; each repeat's
    pair ran back to back), and ours / reference of the median memory (None on the CPU)."""
    rates = zip(ours[f"{unit}_per_s_repeats"], reference[f"{unit}_per_s_repeats"])
    memory = (ours["peak_extra_memory_bytes"], reference["peak_extra_memory_bytes"])
    return {
        "ours": ours,
        "reference": reference,
        f"{unit}_per_s_ratio": median([mine / theirs for mine, theirs in rates]),
        "peak_memory_ratio": None if None in memory or not memory[1] else memory[0] / memory[1],
    }


def measure_against_hf(
    model: GenerativeRecommender,
    data: TrainData,
    optim: OptimConfig,
    decode: DecodeConfig,
    seed: int,
    options: BenchOptions,
    hf: HFOptions,
) -> dict[str, Any]:
    """Our training and decoding against the standard Hugging Face path on the same batches and users.

    The reference is a fresh ``T5ForConditionalGeneration`` of our backbone's sizes (plain T5 = TIGER,
    whatever our variant), trained by a plain AdamW loop on the padded batches and decoded by
    ``generate`` constrained by the same trie (:mod:`pipeline_lib.bench.hf_reference`). Both warm up
    (``options.warmup_steps`` training steps, one decoding batch per beam), then each repeat times
    ours, then the reference, on repeat ``r``'s first ``train_steps`` batches of our ``batches(r)``,
    and then for each beam ours, then the reference, on the first ``eval_users`` validation users.
    Memory: the peak allocated on top of what each timed call began with (CUDA only).
    """
    hf.check_beams(decode.top_k)
    device = data.item_tokens.device
    ours = GenerativeTrainer(model, data, optim, seed)
    reference = HFTrainer(hf_t5_model(model.config, device, seed), data, optim)
    warmup = ours.batches(0)[: max(options.warmup_steps, 1)]
    model.train()
    _update(ours, [ours.inputs(index) for index in warmup])
    reference.train_steps(warmup)
    steps = min(hf.train_steps, ours.n_batches)
    histories = data.valid.histories[: hf.eval_users]
    constraint = TrieConstraint.from_trie(data.trie)

    def decoders(beam: int, users: torch.Tensor) -> tuple[Callable[[], torch.Tensor], Callable[[], torch.Tensor]]:
        """Ours and the reference decoding ``users`` (history rows) at ``beam``."""
        config = DecodeConfig(beam_size=beam, batch_size=decode.batch_size, ks=decode.ks)
        return (
            partial(rank_generative, model, users, data.item_tokens, data.trie, config, optim.bf16),
            partial(hf_rank, reference.model, users, data.item_tokens, constraint, beam, decode.top_k,
                    decode.batch_size, optim.bf16),
        )

    valid_share = {}
    for beam in hf.beams:  # warm-up: one batch each; the share of the reference's lists that are items
        mine, theirs = decoders(beam, histories[: decode.batch_size])
        mine()
        valid_share[beam] = float((theirs() >= 0).float().mean())
    train_runs: dict[str, list[tuple[float, int | None]]] = {"ours": [], "reference": []}
    decode_runs = {beam: {"ours": [], "reference": []} for beam in hf.beams}
    samples: list[int] = []
    for repeat in range(1, hf.repeats + 1):
        batches = ours.batches(repeat)[:steps]
        samples.append(sum(len(index) for index in batches))
        model.train()
        train_runs["ours"].append(seconds_and_peak(partial(_train_steps, ours, repeat, steps), device))
        train_runs["reference"].append(seconds_and_peak(partial(reference.train_steps, batches), device))
        for beam in hf.beams:
            for side, decoder in zip(("ours", "reference"), decoders(beam, histories)):
                decode_runs[beam][side].append(seconds_and_peak(decoder, device))
    users = [len(histories)] * hf.repeats
    train = {
        "steps_per_repeat": steps,
        "batch_size": optim.batch_size,
        "samples_per_repeat": samples,
        "warmup_steps": len(warmup),
        "reference_history_tokens": int(data.train.histories.shape[1] * data.item_tokens.shape[1]),
        **_versus(_side(train_runs["ours"], samples, "samples"), _side(train_runs["reference"], samples, "samples"),
                  "samples"),
    }
    beams = {
        f"beam_{beam}": {
            "beam_size": beam,
            "reference_valid_item_share": valid_share[beam],
            **_versus(_side(runs["ours"], users, "users"), _side(runs["reference"], users, "users"), "users"),
        }
        for beam, runs in decode_runs.items()
    }
    ratios = {"train_samples_per_s": train["samples_per_s_ratio"], "train_peak_memory": train["peak_memory_ratio"]}
    for name, row in beams.items():
        ratios[f"users_per_s_{name}"] = row["users_per_s_ratio"]
        ratios[f"decode_peak_memory_{name}"] = row["peak_memory_ratio"]
    return {
        "reference": "transformers.T5ForConditionalGeneration: padded batches, plain AdamW, "
                     "generate(num_beams, prefix_allowed_tokens_fn) on the same trie",
        "transformers": transformers.__version__,
        "repeats": hf.repeats,
        "reference_parameters": sum(p.numel() for p in reference.model.parameters() if p.requires_grad),
        "ratios": ratios,
        "train": train,
        "decode": {"users": len(histories), "items": data.trie.n_items, "batch_size": decode.batch_size,
                   "top_k": decode.top_k, **beams},
    }
