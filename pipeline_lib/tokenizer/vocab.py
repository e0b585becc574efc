"""Token layout of the generative recommender: specials, then one block of K ids per semantic-ID level."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SemanticVocab:
    """``PAD=0, EOS=1, BOS=2``; code ``k`` of level ``l`` is token ``3 + l·K + k``.

    Giving each level its own block of ids means the same code at different levels is a
    different token, as in TIGER.
    """

    levels: int = 4
    codebook_size: int = 256

    PAD = 0
    EOS = 1
    BOS = 2
    N_SPECIAL = 3

    @property
    def size(self) -> int:
        return self.N_SPECIAL + self.levels * self.codebook_size

    def level_offset(self, level: int) -> int:
        return self.N_SPECIAL + level * self.codebook_size

    def level_slice(self, level: int) -> slice:
        start = self.level_offset(level)
        return slice(start, start + self.codebook_size)

    def tokens(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [..., p] whose last axis is levels 0..p-1 → token ids."""
        levels = torch.arange(codes.shape[-1], device=codes.device)
        return codes + self.N_SPECIAL + levels * self.codebook_size

    def item_token_table(self, sids: torch.Tensor) -> torch.Tensor:
        """[n_items, levels] codes → [n_items + 1, levels] tokens; the extra last row (item -1) is all PAD."""
        pad_row = torch.full((1, self.levels), self.PAD, dtype=torch.long, device=sids.device)
        return torch.cat([self.tokens(sids.long()), pad_row])


def history_tokens(item_tokens: torch.Tensor, histories: torch.Tensor) -> torch.Tensor:
    """[B, max_len] item ids (−1 padded) → [B, max_len · levels] encoder tokens (PAD for padding),
    through the table of ``SemanticVocab.item_token_table``."""
    return item_tokens[histories].flatten(1)
