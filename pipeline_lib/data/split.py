"""Contiguous ids, chronological sequences and the leave-one-out split."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline_lib.data.interactions import chronological


@dataclass(frozen=True)
class SplitData:
    """Everything the filter stage writes (besides statistics)."""

    users: pd.DataFrame  # user_id, user
    items: pd.DataFrame  # item_id, parent_asin
    sequences: pd.DataFrame  # user_id, item_ids (full chronological list), timestamps
    train: pd.DataFrame  # user_id, item_ids = sequence[:-2]
    valid: pd.DataFrame  # user_id, history, target = sequence[-2]
    test: pd.DataFrame  # user_id, history, target = sequence[-1]


def id_maps(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contiguous integer ids 0..n-1 in sorted order of the raw ids (independent of file order)."""
    users = pd.DataFrame({"user": sorted(frame["user"].unique())})
    users.insert(0, "user_id", range(len(users)))
    items = pd.DataFrame({"parent_asin": sorted(frame["item"].unique())})
    items.insert(0, "item_id", range(len(items)))
    return users, items


def user_sequences(frame: pd.DataFrame, users: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """One row per user: chronological item ids and timestamps (stable tie-break)."""
    ordered = chronological(frame)
    ordered = ordered.assign(
        user_id=ordered["user"].map(pd.Series(users["user_id"].values, index=users["user"])),
        item_id=ordered["item"].map(pd.Series(items["item_id"].values, index=items["parent_asin"])),
    )
    grouped = ordered.groupby("user_id", sort=True)
    return pd.DataFrame(
        {
            "user_id": grouped.size().index.to_numpy(),
            "item_ids": grouped["item_id"].agg(list).to_list(),
            "timestamps": grouped["timestamp"].agg(list).to_list(),
        }
    )


def leave_one_out(sequences: pd.DataFrame, max_seq_len: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Last item = test target, second-last = validation target, the rest = training sequence.

    Evaluation histories are the ``max_seq_len`` most recent items before the target (the
    validation target is part of the test history). Training sequences are kept whole; models
    cut their own prefixes to ``max_seq_len``.
    """
    seqs = sequences["item_ids"].map(list)
    train = pd.DataFrame({"user_id": sequences["user_id"], "item_ids": seqs.map(lambda s: s[:-2])})
    valid = pd.DataFrame(
        {
            "user_id": sequences["user_id"],
            "history": seqs.map(lambda s: s[:-2][-max_seq_len:]),
            "target": seqs.map(lambda s: s[-2]).astype("int64"),
        }
    )
    test = pd.DataFrame(
        {
            "user_id": sequences["user_id"],
            "history": seqs.map(lambda s: s[:-1][-max_seq_len:]),
            "target": seqs.map(lambda s: s[-1]).astype("int64"),
        }
    )
    return train, valid, test


def split_dataset(frame: pd.DataFrame, max_seq_len: int) -> SplitData:
    users, items = id_maps(frame)
    sequences = user_sequences(frame, users, items)
    train, valid, test = leave_one_out(sequences, max_seq_len)
    return SplitData(users, items, sequences, train, valid, test)


def dataset_stats(split: SplitData) -> dict[str, float | int]:
    """The paper's Table 4 row plus the split sizes."""
    n_users, n_items = len(split.users), len(split.items)
    n_inter = int(split.sequences["item_ids"].map(len).sum())
    return {
        "users": n_users,
        "items": n_items,
        "interactions": n_inter,
        "sparsity": 1.0 - n_inter / (n_users * n_items),
        "train_interactions": int(split.train["item_ids"].map(len).sum()),
        "avg_sequence_length": n_inter / n_users,
    }
