"""The identity of a training run: a checkpoint is resumed only by the run that wrote it.

A stage names everything its result depends on — the settings it parsed from params.yaml, the
input files it read and any tensors it derived before training — and gets one SHA-256 hex digest.
Files are hashed by their bytes (not their path or timestamp), settings as canonical JSON (dataclasses
as their fields, keys sorted), tensors by dtype, shape and values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch

from pipeline_lib.errors import PipelineInputError

_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    if not path.is_file():
        raise PipelineInputError(path, "not found")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tensor_digest(tensor: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and values (wherever it lives)."""
    digest = hashlib.sha256(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
    digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """JSON form of the values settings hold beyond JSON's own; anything else is an error, since a
    fallback such as ``str`` could embed a memory address and make the fingerprint differ run to run."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, Path):
        return value.as_posix()
    raise TypeError(f"cannot fingerprint a {type(value).__name__}; pass plain values, dataclasses or paths")


def run_fingerprint(
    params: Mapping[str, Any],
    files: Sequence[Path] = (),
    tensors: Mapping[str, torch.Tensor] | None = None,
) -> str:
    """One digest of the run's settings ``params``, the contents of ``files`` (in the given order) and ``tensors``."""
    manifest = {
        "params": params,
        "files": [file_digest(Path(path)) for path in files],
        "tensors": {name: tensor_digest(t) for name, t in (tensors or {}).items()},
    }
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, default=_plain).encode()).hexdigest()
