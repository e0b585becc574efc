"""Device selection shared by every stage."""

from __future__ import annotations

import contextlib
import os

import torch


def resolve_device(device: str) -> torch.device:
    """``auto`` → the GPU when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def use_deterministic_algorithms() -> None:
    """Same seed and device → same weights and metrics. Without this, parallel CPU reductions in the
    backward pass (e.g. embedding gradients) make two identical training runs drift apart after a few
    steps. Ops that have no deterministic kernel only warn; cuBLAS needs a fixed workspace."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # torch.use_deterministic_algorithms(True, warn_only=True) minus its import of inductor's config (~1 s per
    # stage, for the flag inductor reads when compiling): the compiled training path sets that flag itself
    torch._C._set_deterministic_algorithms(True, warn_only=True)


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on a GPU when asked for; a no-op elsewhere (CPU runs stay in float32)."""
    if bf16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
