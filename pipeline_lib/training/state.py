"""Whole training states (models, optimizers, schedulers, RNG) as one safetensors file, no pickles.

A state dict is split into its tensors, stored as safetensors entries, and a JSON skeleton of
everything else (with tensor placeholders and dict keys kept with their types), stored in the
file's metadata.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from pipeline_lib.io import read_tensors, write_tensors

_TENSOR = "__tensor__"
_DICT = "__dict__"


def flatten_state(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-able skeleton of ``obj``; its tensors are added to ``tensors`` under dotted keys."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {_TENSOR: prefix}
    if isinstance(obj, dict):
        return {_DICT: [[k, flatten_state(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [flatten_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix}")


def unflatten_state(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(skeleton, dict) and _TENSOR in skeleton:
        return tensors[skeleton[_TENSOR]]
    if isinstance(skeleton, dict) and _DICT in skeleton:
        return {k: unflatten_state(v, tensors) for k, v in skeleton[_DICT]}
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten_state(state, "s", tensors)
    write_tensors(path, tensors, metadata={"skeleton": json.dumps(skeleton)})


def load_state(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    with safe_open(str(path), framework="pt") as fh:
        skeleton = json.loads(fh.metadata()["skeleton"])
    return unflatten_state(skeleton, read_tensors(path, device))
