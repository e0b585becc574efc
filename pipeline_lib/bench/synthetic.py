"""A synthetic catalogue of any size, for benchmarking where the real data is absent (no files needed).

Users get sequences of at least 5 items with a heavy-tailed length distribution, items are drawn
with a Zipf-like popularity, semantic IDs are random codes plus TIGER's collision token, and the
codebooks are random vectors. The default size is the paper's Scientific: ~50k users, ~25k items,
~400k interactions. Only shapes and length statistics matter for speed, not what is learnable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from pipeline_lib.data.split import SplitData, leave_one_out
from pipeline_lib.tokenizer.semantic_ids import assign_semantic_ids

MIN_SEQUENCE = 5  # the 5-core filter's floor


@dataclass(frozen=True)
class SyntheticSize:
    users: int = 50_000
    items: int = 25_000
    interactions: int = 400_000

    def __post_init__(self) -> None:
        if self.users < 1 or self.items < 2:
            raise ValueError(f"need at least 1 user and 2 items, got {self.users} users and {self.items} items")
        if self.interactions < MIN_SEQUENCE * self.users:
            raise ValueError(f"{self.interactions} interactions cannot give {self.users} users {MIN_SEQUENCE} each")


def synthetic_split(size: SyntheticSize, max_seq_len: int, seed: int) -> SplitData:
    """Sequences of ``size`` drawn at random, then the pipeline's leave-one-out split."""
    rng = np.random.default_rng(seed)
    spare = size.interactions - MIN_SEQUENCE * size.users
    weights = rng.lognormal(0.0, 1.0, size.users)  # skewed: many short sequences, a few long ones
    lengths = MIN_SEQUENCE + rng.multinomial(spare, weights / weights.sum())
    popularity = 1.0 / (np.arange(size.items) + 10.0) ** 0.8
    items = rng.permutation(size.items)[rng.choice(size.items, size=int(lengths.sum()), p=popularity / popularity.sum())]
    sequences = pd.DataFrame(
        {
            "user_id": np.arange(size.users, dtype=np.int64),
            "item_ids": [s.tolist() for s in np.split(items, np.cumsum(lengths)[:-1])],
            "timestamps": [list(range(n)) for n in lengths.tolist()],
        }
    )
    train, valid, test = leave_one_out(sequences, max_seq_len)
    users = pd.DataFrame({"user_id": sequences["user_id"], "user": sequences["user_id"].map("U{}".format)})
    catalogue = pd.DataFrame({"item_id": np.arange(size.items), "parent_asin": [f"I{i}" for i in range(size.items)]})
    return SplitData(users, catalogue, sequences, train, valid, test)


def synthetic_tokenizer(
    n_items: int, levels: int, codebook_size: int, code_dim: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random semantic IDs ``[n_items, levels + 1]`` (the last is the collision token) and codebooks
    ``[levels, codebook_size, code_dim]``, shaped like the tokenize stage's outputs."""
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, codebook_size, (n_items, levels), generator=generator)
    codebooks = torch.randn(levels, codebook_size, code_dim, generator=generator)
    return assign_semantic_ids(codes, codebook_size), codebooks
