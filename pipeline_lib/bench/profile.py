"""Where a training step's time goes, and how close it comes to the device's arithmetic limit.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` (matrix products and attention, forward and
backward — the model's arithmetic; element-wise work is not counted), the time per op by ``torch.profiler``.
Achieved GFLOP/s = counted FLOPs per sample × the unprofiled training samples/s; the peak is given by the caller
(``--peak-gflops``): this CPU's is cores × clock × FLOPs per cycle, which no library reads off reliably.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from pipeline_lib.training.generative import GenerativeTrainer


def profile_training(trainer: GenerativeTrainer, steps: int, top: int = 12) -> dict[str, Any]:
    """Counted FLOPs per training sample over the first ``steps`` batches of an epoch, then the ``top`` ops
    by self time of the same steps under ``torch.profiler``: ``[{"op", "self_share", "calls"}]``, shares of the
    summed self time of all ops (CPU self time on a CPU, CUDA self time on a GPU)."""
    if steps < 1:
        raise ValueError(f"profiling needs at least one step, got {steps}")
    inputs = [trainer.inputs(index) for index in trainer.batches(0)[:steps]]
    samples = sum(len(histories) for histories, _, _ in inputs)
    counter = FlopCounterMode(display=False)
    with counter:
        for batch in inputs:
            trainer.update(*batch)
    cuda = trainer.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for batch in inputs:
            trainer.update(*batch)
        if cuda:
            torch.cuda.synchronize(trainer.device)
    events = prof.key_averages()
    self_time = (lambda e: e.self_device_time_total) if cuda else (lambda e: e.self_cpu_time_total)
    total = sum(self_time(e) for e in events) or 1.0
    ranked = sorted(events, key=self_time, reverse=True)[:top]
    return {
        "steps": len(inputs),
        "samples": samples,
        "flops_per_sample": counter.get_total_flops() / samples,
        "top_ops": [{"op": e.key, "self_share": self_time(e) / total, "calls": e.count} for e in ranked],
    }


def arithmetic_rate(profiled: dict[str, Any], samples_per_s: float, peak_gflops: float | None) -> dict[str, Any]:
    """Achieved GFLOP/s at ``samples_per_s`` (the unprofiled training rate) and its share of ``peak_gflops``."""
    achieved = profiled["flops_per_sample"] * samples_per_s / 1e9
    return {
        "achieved_gflops": achieved,
        "peak_gflops": peak_gflops,
        "peak_share": None if not peak_gflops else achieved / peak_gflops,
    }
