"""The three measurements: training throughput, beam-search evaluation throughput, and our decoder
against the plain reference decoders on small catalogues (same results, and how much faster).

Every measurement runs the pipeline's own code (``GenerativeTrainer``, ``rank_generative``), warms
up first, and repeats; the medians are reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from pipeline_lib.bench.timing import median, peak_memory, reset_peak_memory, seconds, timed
from pipeline_lib.decoding.reference import brute_force_topk, naive_beam_search
from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.evaluation import DecodeConfig, rank_generative
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.models.vocab import history_tokens
from pipeline_lib.training.generative import GenerativeTrainer, OptimConfig, TrainData

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

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.warmup_steps < 0 or self.train_steps < 0 or self.eval_users < 0:
            raise ValueError(f"bad benchmark options {self}")
        if self.reference_users < 1 or self.reference_items < 1:
            raise ValueError(f"the reference comparison needs users and items, got {self}")


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
    warmup = trainer.batches(0)[: None if optim.compile else options.warmup_steps]
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
