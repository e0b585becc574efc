"""What a benchmark run trains and decodes: the dataset's real artifacts when present, else a
synthetic catalogue, with the model, ``train`` and ``evaluate`` settings the stages would use."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from pipeline_lib.bench.synthetic import SyntheticSize, synthetic_split, synthetic_tokenizer
from pipeline_lib.data.store import read_split
from pipeline_lib.evaluation import DecodeConfig
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.params import dataset_spec, make_config, stage_section
from pipeline_lib.paths import DatasetPaths
from pipeline_lib.protocol import decode_settings
from pipeline_lib.schema import load_params
from pipeline_lib.tokenizer.rqvae import load_codebooks
from pipeline_lib.tokenizer.semantic_ids import read_semantic_ids
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.generative import TrainData, dataset_variant_config, generative_data


@dataclass(frozen=True)
class BenchSetup:
    dataset: str
    variant: str
    synthetic: bool
    data: TrainData
    sids: torch.Tensor  # [n_items, levels] semantic IDs, row i = item i
    codebooks: torch.Tensor  # [levels - 1, K, code_dim]
    config: GenRecConfig
    optim: OptimConfig
    decode: DecodeConfig
    seed: int

    @property
    def label(self) -> str:
        """The dataset's name in report file names (``scientific-synthetic`` for a synthetic stand-in)."""
        return f"{self.dataset}-synthetic" if self.synthetic else self.dataset


def real_data_present(paths: DatasetPaths) -> bool:
    """Whether the filter and tokenize stages' outputs the benchmark reads are all there."""
    return all(path.is_file() for path in (paths.train, paths.valid, paths.test, paths.semantic_ids, paths.rqvae))


def load_setup(
    params_path: str | Path,
    dataset: str,
    variant: str,
    device: torch.device,
    synthetic: SyntheticSize | None,
    train_overrides: dict[str, Any],
    decode_overrides: dict[str, Any],
) -> BenchSetup:
    """The dataset's real split and tokenizer, or (``synthetic`` given) a synthetic catalogue shaped
    by the dataset's ``tokenize.model`` settings; overrides replace ``train`` / ``evaluate`` values."""
    params = load_params(params_path)
    spec = dataset_spec(params, dataset, params_path)
    protocol, decode = decode_settings(params, spec, params_path)
    max_len = protocol.max_history
    if synthetic is None:
        paths = DatasetPaths(dataset)
        split, sids, codebooks = read_split(paths), read_semantic_ids(paths.semantic_ids), load_codebooks(paths.rqvae)
    else:
        tokenizer = stage_section(params, spec, "tokenize")["model"]
        split = synthetic_split(synthetic, max_len, params["seed"])
        sids, codebooks = synthetic_tokenizer(
            synthetic.items, tokenizer["levels"], tokenizer["codebook_size"], tokenizer["code_dim"], params["seed"]
        )
    data, _ = generative_data(split, sids, codebooks.shape[1], max_len, device)
    train = {k: v for k, v in stage_section(params, spec, "train").items() if k != "device"}
    optim = replace(make_config(OptimConfig, train, params_path, "train"), **train_overrides)
    decode = replace(decode, **decode_overrides)
    config = dataset_variant_config(variant, params, spec, codebooks)
    return BenchSetup(dataset, variant, synthetic is not None, data, sids, codebooks, config, optim, decode, params["seeds"][0])
