"""The semantic quantization loss L_SQ = L_RECON + L_RQ (DECOR eq. 6–8; ETEGRec eq. 8–10)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from pipeline_lib.tokenizer.rqvae import RQVAE, RQVAEOutput


@dataclass(frozen=True)
class SQLoss:
    """The parts of L_SQ for one batch, each a scalar averaged over the batch."""

    recon: Tensor  # ‖x − x̃‖² (eq. 7)
    codebook: Tensor  # Σ_l ‖sg[v_l] − e_{c_l}‖²: trains the codebooks only (eq. 8, first term)
    commitment: Tensor  # Σ_l ‖v_l − sg[e_{c_l}]‖²: trains the encoder only (eq. 8, second term)
    beta: float

    @property
    def rq(self) -> Tensor:
        """L_RQ (eq. 8)."""
        return self.codebook + self.beta * self.commitment

    @property
    def total(self) -> Tensor:
        """L_SQ = L_RECON + L_RQ (eq. 6)."""
        return self.recon + self.rq

    def per_element(self, input_dim: int, codebook_shape: torch.Size) -> SQLoss:
        """The same parts as the official LETTER and ETEGRec codes reduce them: the reconstruction error
        averaged over the ``input_dim`` embedding dimensions, the codebook and commitment terms averaged over
        the levels and code dimensions (``codebook_shape`` [L, K, d]), where DECOR eq. 7–8 / ETEGRec eq. 9–10 sum
        both (squared norms). Their ``total`` is ``mse(x̃, x) + mean_l [mse(e_l, sg[v_l]) + β·mse(v_l, sg[e_l])]``; the scale decides
        how much the terms weighed against L_SQ steer the tokenizer."""
        levels, _, code_dim = codebook_shape
        return SQLoss(
            recon=self.recon / input_dim,
            codebook=self.codebook / (levels * code_dim),
            commitment=self.commitment / (levels * code_dim),
            beta=self.beta,
        )


def sq_loss(x: Tensor, out: RQVAEOutput, beta: float) -> SQLoss:
    """L_SQ of embeddings ``x`` [n, D] given the model's output on them (squared L2 norms, batch mean)."""
    v, e = out.quant.residuals, out.quant.selected
    return SQLoss(
        recon=(x - out.recon).pow(2).sum(-1).mean(),
        codebook=(v.detach() - e).pow(2).sum((1, 2)).mean(),
        commitment=(v - e.detach()).pow(2).sum((1, 2)).mean(),
        beta=beta,
    )


def batch_loss(model: RQVAE, x: Tensor) -> tuple[SQLoss, RQVAEOutput]:
    """Forward ``x`` through ``model`` and return L_SQ (with the model's β) and the output."""
    out = model(x)
    return sq_loss(x, out, model.config.beta), out
