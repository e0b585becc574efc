"""A tiny catalogue and a deterministic toy "model" whose code distribution depends on user and prefix."""

from __future__ import annotations

import torch
from torch import Tensor

K = 6
L = 4


def random_catalogue(n_items: int, seed: int, first_codes: tuple[int, ...] = tuple(range(K))) -> Tensor:
    """``n_items`` distinct IDs ``[n_items, L]`` in random row order, level 0 drawn from ``first_codes``."""
    generator = torch.Generator().manual_seed(seed)
    pool = torch.cartesian_prod(torch.tensor(first_codes), *[torch.arange(K)] * (L - 1))
    return pool[torch.randperm(len(pool), generator=generator)[:n_items]]


class ToyModel:
    """Step function over a fixed table of log-probs indexed by (user, prefix); records call shapes."""

    def __init__(self, batch_size: int, seed: int, temperature: float = 2.0):
        generator = torch.Generator().manual_seed(seed)
        n_prefixes = (K + 1) ** (L - 1)
        logits = temperature * torch.randn(batch_size, n_prefixes, K, generator=generator)
        self.table = logits.log_softmax(-1)
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, prefixes: Tensor) -> Tensor:
        self.calls.append(tuple(prefixes.shape))
        weights = (K + 1) ** torch.arange(prefixes.shape[-1], device=prefixes.device)
        keys = ((prefixes + 1) * weights).sum(-1)
        users = torch.arange(prefixes.shape[0], device=prefixes.device).unsqueeze(1)
        return self.table.to(prefixes.device)[users, keys]

    def path_score(self, user: int, sid: Tensor) -> float:
        """Summed log-prob of one full ID, the long way round."""
        batch_size = self.table.shape[0]
        return sum(float(self(sid[:p].view(1, 1, p).expand(batch_size, 1, p))[user, 0, sid[p]]) for p in range(L))
