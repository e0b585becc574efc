"""Training and evaluation samples as whole tensors (item ids), built without per-sample Python.

A history is right-aligned: ``[-1, …, -1, i_1, …, i_t]`` with the most recent item last and
``-1`` as padding, ``max_len`` wide. Every model reads this one layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

PAD_ITEM = -1


@dataclass(frozen=True)
class Samples:
    histories: torch.Tensor  # [N, max_len] item ids, PAD_ITEM-padded on the left
    targets: torch.Tensor  # [N]
    users: torch.Tensor  # [N]

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    def to(self, device: torch.device | str) -> Samples:
        return Samples(self.histories.to(device), self.targets.to(device), self.users.to(device))

    def select(self, index: torch.Tensor) -> Samples:
        return Samples(self.histories[index], self.targets[index], self.users[index])


def _right_aligned(flat: np.ndarray, ends: np.ndarray, starts: np.ndarray, max_len: int) -> np.ndarray:
    """Row r = flat[max(starts[r], ends[r] - max_len) : ends[r]], right-aligned into ``max_len`` columns."""
    positions = ends[:, None] - max_len + np.arange(max_len)[None, :]
    valid = positions >= starts[:, None]
    return np.where(valid, flat[np.clip(positions, 0, None)], PAD_ITEM)


def prefix_samples(train: pd.DataFrame, max_len: int) -> Samples:
    """Every prefix of every training sequence: (s[:i][-max_len:], s[i]) for i = 1 … len(s) − 1."""
    sequences = [np.asarray(s, dtype=np.int64) for s in train["item_ids"]]
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    flat = np.concatenate(sequences) if sequences else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    per_user = np.maximum(lengths - 1, 0)
    sample_user = np.repeat(np.arange(len(sequences)), per_user)
    position = np.arange(per_user.sum()) - np.repeat(np.cumsum(per_user) - per_user, per_user) + 1
    ends = starts[sample_user] + position
    return Samples(
        histories=torch.from_numpy(_right_aligned(flat, ends, starts[sample_user], max_len)),
        targets=torch.from_numpy(flat[ends]),
        users=torch.from_numpy(train["user_id"].to_numpy(dtype=np.int64)[sample_user]),
    )


def evaluation_samples(frame: pd.DataFrame, max_len: int) -> Samples:
    """The valid or test table (history, target): one sample per user, history cut to ``max_len``."""
    histories = [np.asarray(h, dtype=np.int64) for h in frame["history"]]
    lengths = np.array([len(h) for h in histories], dtype=np.int64)
    flat = np.concatenate(histories) if histories else np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return Samples(
        histories=torch.from_numpy(_right_aligned(flat, ends, ends - lengths, max_len)),
        targets=torch.from_numpy(frame["target"].to_numpy(dtype=np.int64, copy=True)),
        users=torch.from_numpy(frame["user_id"].to_numpy(dtype=np.int64, copy=True)),
    )


def history_lengths(histories: torch.Tensor) -> torch.Tensor:
    """Number of real (non-padding) items per right-aligned history row, on the CPU."""
    return (histories >= 0).sum(dim=1).cpu()


def bucketed_batches(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator, bucket_batches: int = 32
) -> list[tuple[torch.Tensor, int]]:
    """Shuffled mini-batches of similar history length: (sample indices, width = longest history).

    The samples are shuffled, cut into buckets of ``bucket_batches`` batches, sorted by length
    within a bucket, batched, and the batches shuffled again. Each batch then only needs its
    ``width`` most recent history columns, so short histories stop paying for padding.
    """
    order = torch.randperm(len(lengths), generator=generator)
    batches = []
    for bucket in order.split(batch_size * bucket_batches):
        bucket = bucket[torch.sort(lengths[bucket], stable=True).indices]
        batches.extend(bucket.split(batch_size))
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [(batches[i], max(int(lengths[batches[i]].max()), 1)) for i in shuffled]
