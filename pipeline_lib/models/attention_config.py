"""The config every self-attention baseline shares (SASRec, BERT4Rec, FDSA, S³Rec)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AttentionBaselineConfig:
    """The sizes every self-attention baseline's config shares (SASRec, BERT4Rec, FDSA, S³Rec): ``n_items`` and
    ``max_len`` come from the data, the rest from ``baselines.<model>`` (RecBole's defaults but ``dim``; each model
    overrides its own). Raises ``ValueError`` naming the field: ``n_items``, ``max_len``, ``dim``, ``blocks``,
    ``heads``, ``ffn_dim`` ≥ 1, ``dim`` divisible by ``heads``, ``dropout`` in [0, 1)."""

    n_items: int
    max_len: int
    dim: int = 128  # ETEGRec §4.1.5: item embedding size 128 for every traditional baseline
    blocks: int = 2
    heads: int = 2
    ffn_dim: int = 256
    dropout: float = 0.5

    def __post_init__(self) -> None:
        for name in ("n_items", "max_len", "dim", "blocks", "heads", "ffn_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
