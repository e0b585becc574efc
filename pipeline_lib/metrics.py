"""Full-ranking Recall@K and NDCG@K with one held-out item per user (leave-one-out, binary relevance).

With a single relevant item, Recall@K is 1 when the target is in the top K, and NDCG@K is
``1 / log2(rank + 1)`` for a target at 1-based ``rank <= K`` (the ideal DCG is 1), else 0.
Everything is computed on the ranked lists' device; only the averages become Python floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import Tensor


def hit_ranks(ranked: Tensor, targets: Tensor) -> Tensor:
    """1-based position of each user's target in its ranked list ``[U, k]``; 0 when absent.

    ``targets`` is ``[U]`` item ids (>= 0); padding entries of -1 in ``ranked`` never match.
    Items within a row are assumed distinct (the first match counts).
    """
    if ranked.dim() != 2 or targets.shape != ranked.shape[:1]:
        raise ValueError(f"need ranked [U, k] and targets [U], got {tuple(ranked.shape)} and {tuple(targets.shape)}")
    hits = ranked == targets.to(ranked.device).unsqueeze(1)
    first = hits.int().argmax(dim=1) + 1
    return torch.where(hits.any(dim=1), first, torch.zeros_like(first))


def recall_per_user(ranks: Tensor, k: int) -> Tensor:
    """``[U]`` float: 1 where the target is in the top ``k`` (``1 <= rank <= k``), else 0."""
    return ((ranks >= 1) & (ranks <= k)).float()


def ndcg_per_user(ranks: Tensor, k: int) -> Tensor:
    """``[U]`` float: ``1 / log2(rank + 1)`` where ``1 <= rank <= k``, else 0."""
    gain = 1.0 / torch.log2(ranks.float() + 1.0)
    return torch.where((ranks >= 1) & (ranks <= k), gain, torch.zeros_like(gain))


def ranking_metrics(ranked: Tensor, targets: Tensor, ks: Sequence[int] = (5, 10)) -> dict[str, float]:
    """``{"recall@K": …, "ndcg@K": …}`` averaged over users, for each K in ``ks``.

    Raises ``ValueError`` when a K exceeds the ranked lists' length (the metric would be undercounted).
    """
    if ranked.shape[0] == 0:
        raise ValueError("no users to evaluate")
    too_long = [k for k in ks if not 1 <= k <= ranked.shape[1]]
    if too_long:
        raise ValueError(f"K={too_long} outside 1..{ranked.shape[1]}, the length of the ranked lists")
    ranks = hit_ranks(ranked, targets)
    metrics: dict[str, float] = {}
    for k in ks:
        metrics[f"recall@{k}"] = float(recall_per_user(ranks, k).mean())
        metrics[f"ndcg@{k}"] = float(ndcg_per_user(ranks, k).mean())
    return metrics


def rank_frame(user_ids: Tensor, targets: Tensor, ranks: Tensor) -> pd.DataFrame:
    """Per-user table ``user_id``, ``target``, ``rank`` (int64; rank 0 = not in the list), for paired tests."""
    return pd.DataFrame(
        {
            "user_id": user_ids.cpu().numpy().astype("int64"),
            "target": targets.cpu().numpy().astype("int64"),
            "rank": ranks.cpu().numpy().astype("int64"),
        }
    )


def popularity_ranking(train_item_counts: Tensor, n_users: int, top_k: int) -> Tensor:
    """The popularity floor: every user gets the ``top_k`` most frequent training items ``[n_users, top_k]``.

    Ties go to the lower item id; slots beyond the catalogue are -1.
    """
    if train_item_counts.dim() != 1:
        raise ValueError(f"train_item_counts must be [n_items], got shape {tuple(train_item_counts.shape)}")
    order = train_item_counts.sort(descending=True, stable=True).indices[:top_k]
    order = torch.cat([order, order.new_full((top_k - len(order),), -1)])
    return order.unsqueeze(0).repeat(n_users, 1)
