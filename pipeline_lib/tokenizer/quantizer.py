"""Residual quantization over L codebooks (DECOR eq. 3–4; ETEGRec eq. 4–6).

Each level l takes the residual left by the previous levels, picks the nearest code of its
own codebook and passes on what is left. The codebook vectors enter that residual chain
without gradient (``v_{l+1} = v_l − sg[e_{c_l}]``), so each codebook is trained only by its own
codebook term of eq. 8 and the encoder by the commitment terms and, through the
straight-through estimator, by reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def squared_distances(v: Tensor, codebook: Tensor) -> Tensor:
    """``‖v_i − e_k‖²`` for every row of ``v`` [n, d] and code of ``codebook`` [K, d] → [n, K]."""
    return (v * v).sum(-1, keepdim=True) - 2 * v @ codebook.T + (codebook * codebook).sum(-1)


@dataclass(frozen=True)
class Quantized:
    """What residual quantization of a batch of latents [n, d] yields, level by level."""

    codes: Tensor  # [n, L] int64: c_l = argmin_k ‖v_l − e_k^l‖ (eq. 4)
    residuals: Tensor  # [n, L, d]: v_l, the input of level l (v_1 = z_0 = the encoder output)
    distances: Tensor  # [n, L, K]: ‖v_l − e_k^l‖², differentiable w.r.t. residuals and codebooks
    selected: Tensor  # [n, L, d]: e_{c_l}^l, differentiable w.r.t. the codebooks

    @property
    def quantized(self) -> Tensor:
        """``r̃ = Σ_l e_{c_l}^l`` [n, d], the decoder's input (eq. 5)."""
        return self.selected.sum(1)

    def code_probs(self) -> Tensor:
        """Soft code distribution ``P(k | v_l) = softmax_k(−‖v_l − e_k^l‖²)`` [n, L, K] (ETEGRec eq. 6)."""
        return F.softmax(-self.distances, dim=-1)


class ResidualQuantizer(nn.Module):
    """``levels`` codebooks of ``codebook_size`` codes of dimension ``code_dim``, one parameter [L, K, d]."""

    def __init__(self, levels: int, codebook_size: int, code_dim: int):
        super().__init__()
        self.codebooks = nn.Parameter(torch.empty(levels, codebook_size, code_dim))
        nn.init.uniform_(self.codebooks, -1.0 / codebook_size, 1.0 / codebook_size)

    @property
    def levels(self) -> int:
        return self.codebooks.shape[0]

    @property
    def codebook_size(self) -> int:
        return self.codebooks.shape[1]

    def forward(self, z: Tensor) -> Quantized:
        """Quantize latents ``z`` [n, d] level by level (eq. 3–4); ties go to the lowest code index."""
        residuals, distances, codes, selected = [], [], [], []
        v = z
        for codebook in self.codebooks:
            dist = squared_distances(v, codebook)
            code = dist.argmin(-1)
            # A one-hot product instead of indexing: its backward is a matmul, deterministic on GPU too.
            e = F.one_hot(code, codebook.shape[0]).to(codebook.dtype) @ codebook
            residuals.append(v)
            distances.append(dist)
            codes.append(code)
            selected.append(e)
            v = v - e.detach()
        return Quantized(
            codes=torch.stack(codes, 1),
            residuals=torch.stack(residuals, 1),
            distances=torch.stack(distances, 1),
            selected=torch.stack(selected, 1),
        )
