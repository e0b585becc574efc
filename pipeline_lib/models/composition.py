"""DECOR's contextualized token composition (eq. 12–18) and learnable BOS queries (eq. 19)."""

from __future__ import annotations

import torch
from torch import nn


class AttentionPooling(nn.Module):
    """u = MLP_ctx(Σ_ℓ α_ℓ h_ℓ), α = softmax_ℓ(wᵀ tanh(W h_ℓ + b)) (eq. 13–15).

    One context vector per query position: ``mask[b, p, ℓ]`` says which context embeddings
    position p may see, so the decoder's positions get causally growing contexts in one call.
    """

    def __init__(self, d_model: int, attention_dim: int):
        super().__init__()
        self.score_hidden = nn.Linear(d_model, attention_dim)  # W, b of eq. 14
        self.score = nn.Linear(attention_dim, 1, bias=False)  # w of eq. 14
        self.mlp_ctx = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.Linear(d_model, d_model))

    def scores(self, context: torch.Tensor) -> torch.Tensor:
        """s_ℓ = wᵀ tanh(W h_ℓ + b) (eq. 14): context [B, C, d] → [B, C]."""
        return self.score(torch.tanh(self.score_hidden(context))).squeeze(-1)

    def pool(self, context: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Eq. 13 and 15 from precomputed scores [B, C]; mask [B, P, C] (each row needs ≥ 1 True) → u [B, P, d]."""
        weights = torch.softmax(scores.unsqueeze(1).masked_fill(~mask, float("-inf")), dim=-1)
        return self.mlp_ctx(weights @ context)

    def forward(self, context: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """context [B, C, d], mask [B, P, C] → u [B, P, d]."""
        return self.pool(context, self.scores(context), mask)


class TokenComposition(nn.Module):
    """Φ_soft: a context-weighted mix of candidate embeddings, residually mixed with the static one.

    α_{c'} = softmax_{c'}(⟨W_q u, W_k e_{c'}⟩ · s) over the candidates (eq. 16),
    ẽ = Σ α_{c'} e_{c'} (eq. 17), e_final = α·ẽ + (1 − α)·e_static (eq. 18).

    Eq. 16 as printed has s = 1 (``scaled=False``); ``scaled`` sets s = 1/√d as in scaled
    dot-product attention.

    ``context(u)`` prepares the contexts of the decoder positions 0 … P−1 before W_q:
    - ``center_context`` (not in the paper): u − ū, ū the batch mean per position in training and a
      running mean of it (momentum 0.1, the ``context_mean`` buffer [positions, d]) in eval mode, so a
      user's beams never depend on who else is in the batch;
    - ``context_override`` (an ablation, set at evaluation only, not saved): every context replaced by
      a constant [positions, d] (e.g. the mean u over the evaluated users), composition made constant.
    """

    def __init__(
        self,
        d_model: int,
        alpha: float,
        scaled: bool = False,
        positions: int = 1,
        center_context: bool = False,
        alpha_trainable: bool = False,
    ):
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        if alpha_trainable and not 0.0 < alpha < 1.0:
            raise ValueError(f"a trainable alpha starts inside (0, 1), got {alpha}")
        self.fixed_alpha = None if alpha_trainable else alpha
        # trainable: α = sigmoid(a), a starting at logit(alpha)
        self.alpha_logit = nn.Parameter(torch.logit(torch.tensor(alpha))) if alpha_trainable else None
        self.scale = d_model**-0.5 if scaled else 1.0
        self.query = nn.Linear(d_model, d_model, bias=False)  # W_q
        self.key = nn.Linear(d_model, d_model, bias=False)  # W_k
        self.center_context = center_context
        self.momentum = 0.1
        if center_context:
            self.register_buffer("context_mean", torch.zeros(positions, d_model))
        self.context_override: torch.Tensor | None = None

    def set_context_override(self, override: torch.Tensor | None) -> None:
        """A constant context [positions, d] for every user (None restores the per-user contexts)."""
        self.context_override = None if override is None else override.detach().clone()

    def context(self, u: torch.Tensor) -> torch.Tensor:
        """u [B, P, d] of the decoder positions 0 … P−1 → the contexts W_q is applied to (see the class doc)."""
        positions = u.shape[1]
        if self.context_override is not None:
            u = self.context_override[:positions].to(u)[None].expand_as(u)
        if not self.center_context:
            return u
        if self.training:
            mean = u.mean(dim=0)
            with torch.no_grad():
                self.context_mean[:positions].lerp_(mean.detach().to(self.context_mean), self.momentum)
        else:
            mean = self.context_mean[:positions].to(u)
        return u - mean

    def logits(self, u: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """⟨W_q u, W_k e_{c'}⟩ · s (eq. 16 before the softmax): u [B, P, d], candidates [P, N, d] → [B, P, N]."""
        return torch.einsum("bpd,pnd->bpn", self.query(u), self.key(candidates)) * self.scale

    def weights(self, u: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """u [B, P, d], candidates [P, N, d] (position p composes over its own set) → α [B, P, N] (eq. 16)."""
        return torch.softmax(self.logits(u, candidates), dim=-1)

    def compose(self, u: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """ẽ = Σ α_{c'} e_{c'} (eq. 17, Φ_soft without the residual): → [B, P, d]."""
        return torch.einsum("bpn,pnd->bpd", self.weights(u, candidates), candidates)

    def forward(self, static: torch.Tensor, u: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """static [B, P, d], u [B, P, d], candidates [P, N, d] → e_final [B, P, d] (eq. 17–18)."""
        alpha = self.alpha
        return alpha * self.compose(u, candidates) + (1.0 - alpha) * static

    @property
    def alpha(self) -> float | torch.Tensor:
        """α of eq. 18: the fixed float (the camera-ready: "fixed throughout the training"), or sigmoid(a) when trainable."""
        return self.fixed_alpha if self.alpha_logit is None else torch.sigmoid(self.alpha_logit)




class BOSQueries(nn.Module):
    """N learnable BOS query vectors Q_BOS ∈ R^{N×d}: the candidate set Φ composes the BOS embedding from (eq. 19).

    Initialised N(0, 1) per entry (‖q‖ ≈ √d; the paper gives no initialisation); ``scale_to(norm)``
    rescales every query to a given norm (``bos_query_init: token_scale``: the token table's).
    """

    def __init__(self, n_queries: int, d_model: int):
        super().__init__()
        if n_queries < 1:
            raise ValueError(f"need at least one BOS query, got {n_queries}")
        self.queries = nn.Parameter(torch.randn(n_queries, d_model))

    @torch.no_grad()
    def scale_to(self, norm: float) -> None:
        """Rescale each query to ‖q‖₂ = ``norm`` (directions kept)."""
        self.queries.mul_(norm / self.queries.norm(dim=-1, keepdim=True))
