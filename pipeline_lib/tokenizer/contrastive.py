"""The contrastive terms of two learnable item tokenizers, as pure functions on tensors.

LETTER (Wang et al., CIKM 2024, "Learnable Item Tokenization for Generative Recommendation",
arXiv:2405.07314; official code github.com/HonghuiBao2000/LETTER, ``RQ-VAE/models``):
L_LETTER = L_Sem + α·L_CF + β·L_Div, with L_Sem the RQ-VAE loss (our L_SQ), L_CF the
collaborative regularisation and L_Div the diversity regularisation. The forms of L_CF and L_Div
are checked against the official code (``models/rqvae.py`` ``CF_loss``, ``models/vq.py``
``diversity_loss``); the equation numbers used below (L_Sem eq. 3, L_CF eq. 4, L_Div eq. 5,
L_LETTER eq. 6) are not checked against the paper text (arXiv v2 or proceedings).

CoST (Zhu et al., RecSys 2024, "CoST: Contrastive Quantization based Semantic Tokenization for
Generative Recommendation", arXiv:2404.14774, §3): L_CoST = α·L_CL + L_RQ, the contrastive loss L_CL
in place of the MSE reconstruction of L_RE = L_MSE + L_RQ. The section and equation numbers used
here (§3.2, eq. 3–6, §4.1) and the hyperparameters are not checked against the paper text.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def in_batch_infonce(anchors: Tensor, candidates: Tensor, temperature: float) -> Tensor:
    """Mean over rows i of ``−log softmax_j(⟨a_i, c_j⟩ / τ)[i]``: row i's candidate is its positive,
    the other rows' candidates its negatives. ``anchors`` [B, d] and ``candidates`` [B, d] → scalar."""
    logits = anchors @ candidates.T / temperature
    return F.cross_entropy(logits, torch.arange(len(anchors), device=anchors.device))


def letter_cf_loss(quantized: Tensor, collaborative: Tensor, temperature: float = 1.0) -> Tensor:
    """LETTER's collaborative regularisation L_CF (eq. 4, number unchecked).

    ``quantized`` [B, d]: each item's quantized embedding ẑ = Σ_l e_{c_l} (as the official code, the
    straight-through one, so the gradient reaches the encoder but not the codebooks); ``collaborative``
    [B, d]: the same items' CF (SASRec) embeddings h. In-batch InfoNCE over dot products: item i's ẑ
    must score its own h_i above the other items' h_j. τ = 1 matches the official ``CF_loss``, which
    has no temperature.
    """
    return in_batch_infonce(quantized, collaborative, temperature)


def letter_diversity_loss(
    selected: Tensor, codes: Tensor, codebook: Tensor, positives: Tensor, temperature: float = 1.0
) -> Tensor:
    """LETTER's diversity regularisation L_Div (eq. 5, number unchecked) at one codebook level.

    ``selected`` [B, d]: each item's chosen code vector e_{c_i}; ``codes`` [B]: c_i; ``codebook``
    [K, d]; ``positives`` [B]: a code of c_i's cluster other than c_i (−1: c_i is alone in its
    cluster, the item is left out). Cross-entropy over the codes of the level with c_i itself
    masked out, the positive as the target: pulls e_{c_i} towards the codes of its cluster and away
    from the others, which spreads the items over the codes (official code: ``VectorQuantizer.
    diversity_loss``, dot products, temperature 1, self masked by −1e12). The official clusters come
    from constrained k-means (at least 10 codes each for K = 256), so it never leaves an item out.
    Zero (with a gradient) when no item has a positive.
    """
    keep = positives >= 0
    if not keep.any():
        return selected.sum() * 0.0
    logits = selected[keep] @ codebook.T / temperature
    logits = logits.masked_fill(F.one_hot(codes[keep], codebook.shape[0]).bool(), float("-inf"))
    return F.cross_entropy(logits, positives[keep])


def cluster_positives(codes: Tensor, clusters: Tensor, generator: torch.Generator) -> Tensor:
    """For each item's code ``codes`` [B] (one level), a uniformly drawn other code of the same cluster
    (``clusters`` [K]: cluster label of each code), or −1 when the code is alone in its cluster. [B] int64."""
    codes, clusters = codes.cpu(), clusters.cpu()
    same = clusters[None, :] == clusters[codes][:, None]
    same[torch.arange(len(codes)), codes] = False
    has = same.any(1)
    positives = torch.full_like(codes, -1)
    if has.any():
        positives[has] = torch.multinomial(same[has].float(), 1, generator=generator).squeeze(1)
    return positives


def cost_contrastive_loss(x: Tensor, recon: Tensor, temperature: float = 0.1) -> Tensor:
    """CoST's contrastive quantization loss L_CL (eq. 5, number unchecked).

    ``x`` [B, D]: item embeddings; ``recon`` [B, D]: their reconstructions x̂ from the quantized codes.
    In-batch InfoNCE over cosine similarities: x_i must be closer to its own x̂_i than to the other
    items' x̂_j. The cosine similarity and the default τ = 0.1 (given as the paper's, §4.1) are not
    checked against the paper text.
    """
    return in_batch_infonce(F.normalize(x, dim=-1), F.normalize(recon, dim=-1), temperature)
