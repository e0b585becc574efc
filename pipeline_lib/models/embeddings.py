"""Token embedding tables: TIGER's learnable table and DECOR's decomposed embedding fusion (eq. 9–11).

Both expose ``table() -> [vocab, d]``: every token's embedding depends on the token alone, so
the whole (small) table is computed once per forward pass and then indexed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pipeline_lib.tokenizer.vocab import SemanticVocab


class StaticEmbedding(nn.Module):
    """A learnable embedding per token, trained from scratch (TIGER)."""

    def __init__(self, vocab_size: int, d_model: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)

    def table(self) -> torch.Tensor:
        return self.embedding.weight


@dataclass(frozen=True)
class FusionConfig:
    vocab_size: int
    d_model: int
    code_dim: int
    fusion_dim: int  # d' of eq. 10


def pretrained_token_table(codebooks: torch.Tensor, vocab: SemanticVocab) -> torch.Tensor:
    """E_pre of eq. 9 laid out on the token ids: codebook l fills level l's block.

    ``codebooks`` is [M, K, code_dim] (the RQ-VAE's M=3 levels). Tokens without a codebook
    vector — the specials and the collision level — get a zero pretrained vector, so their
    fused embedding comes from the collaborative side alone.
    """
    levels, size, code_dim = codebooks.shape
    if size != vocab.codebook_size or levels >= vocab.levels + 1:
        raise ValueError(f"codebooks of shape {tuple(codebooks.shape)} do not fit a vocabulary of {vocab}")
    table = torch.zeros(vocab.size, code_dim)
    for level in range(levels):
        table[vocab.level_slice(level)] = codebooks[level].float()
    return table


class DecomposedEmbeddingFusion(nn.Module):
    """e_fused = W_fuse [LN(W_pre e_pre) ‖ LN(W_collab e_collab)] (eq. 10–11).

    e_pre comes from the frozen RQ-VAE codebooks (eq. 9, a buffer: never trained), e_collab from
    a learnable table of the same shape trained from scratch by the recommendation loss.
    """

    def __init__(self, config: FusionConfig, pretrained: torch.Tensor):
        super().__init__()
        if pretrained.shape != (config.vocab_size, config.code_dim):
            raise ValueError(f"pretrained table {tuple(pretrained.shape)} != ({config.vocab_size}, {config.code_dim})")
        self.register_buffer("pretrained", pretrained.float().clone())
        self.collaborative = nn.Embedding(config.vocab_size, config.d_model)
        self.project_pre = nn.Linear(config.code_dim, config.fusion_dim, bias=False)
        self.project_collab = nn.Linear(config.d_model, config.fusion_dim, bias=False)
        self.norm_pre = nn.LayerNorm(config.fusion_dim)
        self.norm_collab = nn.LayerNorm(config.fusion_dim)
        self.fuse = nn.Linear(2 * config.fusion_dim, config.d_model, bias=False)

    def table(self) -> torch.Tensor:
        pre = self.norm_pre(self.project_pre(self.pretrained))
        collab = self.norm_collab(self.project_collab(self.collaborative.weight))
        return self.fuse(torch.cat([pre, collab], dim=-1))
