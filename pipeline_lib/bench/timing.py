"""Wall-clock timing on any device: synchronised timers, medians, peak memory, and the device's name."""

from __future__ import annotations

import re
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously; the CPU needs nothing)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], T], device: torch.device) -> tuple[T, float]:
    """``fn()``'s result and its wall-clock seconds, including the device work it queued."""
    synchronize(device)
    began = time.perf_counter()
    result = fn()
    synchronize(device)
    return result, time.perf_counter() - began


def seconds(fn: Callable[[], Any], device: torch.device) -> float:
    return timed(fn, device)[1]


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> int:
    """Bytes: on CUDA the peak allocated since the last ``reset_peak_memory``; on the CPU the
    process's peak resident set so far (Linux reports it in KiB; it cannot be reset)."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def seconds_and_peak(fn: Callable[[], Any], device: torch.device) -> tuple[float, int | None]:
    """``fn()``'s wall-clock seconds and, on CUDA, the most memory it allocated on top of what was
    allocated when it began (activations, gradients, workspaces: not the weights already there);
    ``None`` on the CPU, whose peak resident set cannot be reset between two calls."""
    if device.type != "cuda":
        return seconds(fn, device), None
    synchronize(device)
    before = torch.cuda.memory_allocated(device)
    reset_peak_memory(device)
    elapsed = seconds(fn, device)
    return elapsed, peak_memory(device) - before


def memory_kind(device: torch.device) -> str:
    return "cuda_max_allocated" if device.type == "cuda" else "process_max_rss"


def device_name(device: torch.device) -> str:
    """The GPU's product name, or the CPU's model name with the number of threads torch uses."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M) if cpuinfo.is_file() else []
    return f"{names[0] if names else 'CPU'} ({torch.get_num_threads()} threads)"


def device_slug(device: torch.device) -> str:
    """File-name form of the device: ``cpu``, or the GPU's name (``nvidia-h100-80gb-hbm3``)."""
    if device.type != "cuda":
        return "cpu"
    return re.sub(r"[^a-z0-9]+", "-", device_name(device).lower()).strip("-")
