"""The ``tokenize`` section of params.yaml (plus the top-level ``seed``) as typed configs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pipeline_lib.device import resolve_device
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import make_config
from pipeline_lib.tokenizer.config import METHODS, CostConfig, LetterConfig, RQVAEConfig, TrainConfig


@dataclass(frozen=True)
class TokenizeSettings:
    model: RQVAEConfig
    train: TrainConfig
    device: torch.device
    seed: int
    method: str  # rqvae | letter | cost (pipeline_lib.tokenizer.objectives)
    letter: LetterConfig
    cost: CostConfig


def tokenize_settings(
    params: dict[str, Any], section: dict[str, Any], input_dim: int, params_path: str | Path
) -> TokenizeSettings:
    """The ``tokenize`` section (with the dataset's overrides applied): ``model`` → :class:`RQVAEConfig`
    (``input_dim`` is always the embeddings' width), ``train`` → :class:`TrainConfig`, ``device``:
    ``auto``, ``cpu``, ``cuda``, ``cuda:1``…; ``method`` with its ``letter`` / ``cost`` weights
    (:class:`LetterConfig`, :class:`CostConfig`); the seed is the top-level ``seed``."""
    if not section:
        raise PipelineInputError(params_path, "missing section", field="tokenize")
    seed = params.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise PipelineInputError(params_path, f"seed must be an integer, got {seed!r}", field="seed")
    model_kwargs = {**(section.get("model") or {}), "input_dim": input_dim}
    model = make_config(RQVAEConfig, model_kwargs, params_path, "tokenize.model")
    train = make_config(TrainConfig, dict(section.get("train") or {}), params_path, "tokenize.train")
    device = make_config(resolve_device, {"device": str(section.get("device", "auto"))}, params_path, "tokenize.device")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PipelineInputError(params_path, "device is cuda but no GPU is available", field="tokenize.device")
    method = section.get("method", "rqvae")
    if method not in METHODS:
        problem = f"must be one of {', '.join(METHODS)}, got {method!r}"
        raise PipelineInputError(params_path, problem, field="tokenize.method")
    letter = make_config(LetterConfig, dict(section.get("letter") or {}), params_path, "tokenize.letter")
    cost = make_config(CostConfig, dict(section.get("cost") or {}), params_path, "tokenize.cost")
    return TokenizeSettings(model=model, train=train, device=device, seed=seed, method=method, letter=letter, cost=cost)
