"""Diagnostics of DECOR's composition weights (eq. 16) over many contexts.

Every function takes one composition site's weights or logits as a tensor ``[contexts, K]``: row c
is one context (a user's history plus, for y_j, the target tokens before it), column k one
candidate (a code of the level, or a BOS query). Weights are α_{c,k} = softmax_k(z_{c,k}) with
z_{c,k} = ⟨W_q u_c, W_k e_k⟩ (× 1/√d when scaled), eq. 16. Entropies are in nats.

They tell a contextual composition from a constant one, which Table 3's statistic cannot: a
near-uniform softmax that is the same for every user scores ~90 % there but has ``distinct_argmax``
1 and ``logit_variance_split``'s context part ≈ 0.

``CompositionStatsAccumulator`` computes the same numbers batch by batch (sufficient statistics in
float64), so a whole test set never has to be held as [users, K].
"""

from __future__ import annotations

import torch


def mean_entropy(weights: torch.Tensor) -> float:
    """H̄ = mean_c(−Σ_k α_{c,k} ln α_{c,k}) in nats (0 · ln 0 = 0): 0 one-hot, ln K uniform. weights [C, K]."""
    return float(_entropies(weights.double()).mean())


def mean_max_weight(weights: torch.Tensor) -> float:
    """mean_c max_k α_{c,k}: 1 one-hot, 1/K uniform. weights [C, K]."""
    return float(weights.double().max(dim=-1).values.mean())


def distinct_argmax(weights: torch.Tensor) -> int:
    """|{argmax_k α_{c,k} : c}|: how many codes are some context's top choice (1 = the same for all). weights [C, K]."""
    return int(torch.unique(weights.argmax(dim=-1)).numel())


def above_uniform_share(weights: torch.Tensor) -> float:
    """Table 3's statistic: (1/K) Σ_k 1[∃c: α_{c,k} > 1/K], the share of codes above uniform in ≥ 1 context. weights [C, K]."""
    return float((weights > 1.0 / weights.shape[-1]).any(dim=0).double().mean())


def logit_variance_split(logits: torch.Tensor) -> tuple[float, float]:
    """(per-code part, context part) of the variance of the row-centred logits z̃ = z − mean_k z (eq. 16).

    per-code = Var_k(mean_c z̃_{c,k}): a preference for some codes shared by every context;
    context = mean_k Var_c(z̃_{c,k}): how much the logits move with the context.
    Variances are population ones (÷ n); the two sum to the total variance of z̃ over all (c, k)
    (law of total variance). Rows are centred first because the softmax ignores a per-context shift.
    logits [C, K].
    """
    centred = _centred(logits.double())
    per_code = centred.mean(dim=0).var(unbiased=False)
    context = centred.var(dim=0, unbiased=False).mean()
    return float(per_code), float(context)


def mean_norm(vectors: torch.Tensor) -> float:
    """mean_c ‖v_c‖₂ (e.g. the contexts u, or the queries W_q u). vectors [C, d]."""
    return float(vectors.double().norm(dim=-1).mean())


def _entropies(weights: torch.Tensor) -> torch.Tensor:
    return -torch.special.xlogy(weights, weights).sum(dim=-1)


def _centred(logits: torch.Tensor) -> torch.Tensor:
    return logits - logits.mean(dim=-1, keepdim=True)


class CompositionStatsAccumulator:
    """The functions above over contexts that arrive in batches: ``update`` per batch, ``result`` at the end.

    ``result()`` keys: ``entropy`` (nats), ``max_weight``, ``distinct_argmax``, ``above_uniform_share``,
    ``logit_var_code``, ``logit_var_context``, ``u_norm``, ``query_norm``, ``contexts``.
    """

    def __init__(self, size: int):
        self.size = size
        self.count = 0
        self.entropy = self.max_weight = self.u_norm = self.query_norm = 0.0
        self.argmax = torch.zeros(size, dtype=torch.bool)
        self.above = torch.zeros(size, dtype=torch.bool)
        self.sum = torch.zeros(size, dtype=torch.float64)
        self.sum_sq = torch.zeros(size, dtype=torch.float64)

    def update(self, logits: torch.Tensor, u: torch.Tensor, query: torch.Tensor) -> None:
        """logits [C, K] of eq. 16, the contexts u [C, d] and the queries W_q u [C, d] of the same rows."""
        logits = logits.detach().double().cpu()
        weights = torch.softmax(logits, dim=-1)
        self.count += logits.shape[0]
        self.entropy += float(_entropies(weights).sum())
        self.max_weight += float(weights.max(dim=-1).values.sum())
        self.argmax[weights.argmax(dim=-1)] = True
        self.above |= (weights > 1.0 / self.size).any(dim=0)
        centred = _centred(logits)
        self.sum += centred.sum(dim=0)
        self.sum_sq += (centred**2).sum(dim=0)
        self.u_norm += float(u.detach().double().norm(dim=-1).sum())
        self.query_norm += float(query.detach().double().norm(dim=-1).sum())

    def result(self) -> dict[str, float]:
        n = max(self.count, 1)
        mean = self.sum / n
        variance = (self.sum_sq / n - mean**2).clamp_min(0.0)
        return {
            "entropy": self.entropy / n,
            "max_weight": self.max_weight / n,
            "distinct_argmax": int(self.argmax.sum()),
            "above_uniform_share": float(self.above.double().mean()),
            "logit_var_code": float(mean.var(unbiased=False)),
            "logit_var_context": float(variance.mean()),
            "u_norm": self.u_norm / n,
            "query_norm": self.query_norm / n,
            "contexts": self.count,
        }
