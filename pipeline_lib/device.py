"""Device selection shared by every stage."""

from __future__ import annotations

import contextlib

import torch


def resolve_device(device: str) -> torch.device:
    """``auto`` → the GPU when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on a GPU when asked for; a no-op elsewhere (CPU runs stay in float32)."""
    if bf16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
