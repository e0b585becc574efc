"""Saving and loading trained generative recommenders: weights and config in one safetensors file."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_tensors, write_json, write_tensors
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.models.hf_t5 import HFTiger
from pipeline_lib.models.variants import build_generative


def save_generative(
    weights_path: Path, config_path: Path, model: GenerativeRecommender | HFTiger, variant: str
) -> None:
    """The weights (config as metadata) and a readable ``config.json`` beside them."""
    config = {"variant": variant, **model.config.to_dict()}
    write_tensors(weights_path, dict(model.state_dict()), metadata={"config": json.dumps(config)})
    write_json(config_path, config)


def load_generative(
    weights_path: Path, codebooks: torch.Tensor, device: torch.device
) -> GenerativeRecommender | HFTiger:
    if not weights_path.is_file():
        raise PipelineInputError(weights_path, "model not found; run the train stage first")
    with safe_open(str(weights_path), framework="pt") as fh:
        config = json.loads(fh.metadata()["config"])
    variant = config.pop("variant")
    model = build_generative(variant, GenRecConfig(**config), codebooks)
    model.load_state_dict(read_tensors(weights_path))
    return model.to(device).eval()
