"""Reading the tokenizer's inputs and refusing bad ones with a one-line ``PipelineInputError``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from torch import Tensor

from pipeline_lib.data.store import read_table
from pipeline_lib.errors import PipelineInputError

EMBEDDINGS_KEY = "embeddings"


def read_embedding_matrix(path: Path) -> Tensor:
    """The ``embeddings`` tensor of a safetensors file as float32 [n, D]."""
    if not path.is_file():
        raise PipelineInputError(path, "not found; run the embed stage first (dvc repro)")
    try:
        with safe_open(str(path), framework="pt") as f:
            if EMBEDDINGS_KEY not in f.keys():
                raise PipelineInputError(path, f"no tensor named '{EMBEDDINGS_KEY}'", field=EMBEDDINGS_KEY)
            x = f.get_tensor(EMBEDDINGS_KEY)
    except SafetensorError as err:
        raise PipelineInputError(path, f"not a readable safetensors file ({err})") from None
    if x.ndim != 2 or x.shape[1] == 0 or not x.is_floating_point():
        problem = f"expected a float matrix [n_items, dim], got {x.dtype} of shape {list(x.shape)}"
        raise PipelineInputError(path, problem, field=EMBEDDINGS_KEY)
    return x.float()


def check_rows(x: Tensor, path: Path) -> None:
    """Every row must be finite and not all zeros (a failed or empty encoding); the first bad row is named."""
    for bad, what in ((~torch.isfinite(x).all(1), "contain NaN or Inf"), ((x == 0).all(1), "are all zeros")):
        rows = bad.nonzero().squeeze(1)
        if len(rows):
            raise PipelineInputError(
                path, f"{len(rows)} embedding row(s) {what} (row = item id)", row=int(rows[0]), field=EMBEDDINGS_KEY
            )


def load_item_embeddings(embeddings_path: Path, items_path: Path) -> Tensor:
    """Item embeddings [n_items, D] (float32), row i = item id i, checked against the item map."""
    items = read_table(items_path, "items")
    ids = items["item_id"].to_numpy()
    expected = np.arange(len(items))
    if not np.array_equal(ids, expected):
        row = int(np.flatnonzero(ids != expected)[0]) if len(ids) == len(expected) else 0
        raise PipelineInputError(items_path, "item_id must be 0..n-1 in row order", row=row, field="item_id")
    x = read_embedding_matrix(embeddings_path)
    if x.shape[0] != len(items):
        problem = f"{x.shape[0]} embedding rows but {items_path} maps {len(items)} items"
        raise PipelineInputError(embeddings_path, problem, field=EMBEDDINGS_KEY)
    check_rows(x, embeddings_path)
    return x


def check_enough_items(n_items: int, codebook_size: int, kmeans_init: bool, path: Path) -> None:
    """k-means needs at least K distinct points to place K centroids: fewer items is an error, not a shrunken K."""
    if kmeans_init and n_items < codebook_size:
        raise PipelineInputError(
            path,
            f"{n_items} items are fewer than the codebook size K={codebook_size} that k-means initialisation must "
            "place; lower tokenize.model.codebook_size or set tokenize.train.kmeans_init to false",
        )
