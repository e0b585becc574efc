"""Placing codebook vectors: k-means initialisation (TIGER) and re-seeding of dead codes."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from pipeline_lib.tokenizer.quantizer import squared_distances
from pipeline_lib.tokenizer.rqvae import RQVAE

if TYPE_CHECKING:
    from sklearn.cluster import KMeans


def fit_kmeans(x: np.ndarray, n_clusters: int, seed: int) -> KMeans:
    """scikit-learn k-means (one init, convergence warnings silenced) of rows ``x`` [N, D]; imported on first
    use, so stages that never cluster skip scikit-learn's import (~1 s)."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(n_clusters=n_clusters, n_init=1, random_state=seed).fit(x)


@torch.no_grad()
def kmeans_init(model: RQVAE, x: Tensor, seed: int) -> None:
    """Set codebook l to the K k-means centroids of the level-l residuals of ``x``, level after level.

    Level 1 clusters the encoder outputs; level l+1 clusters what is left after subtracting
    each row's nearest level-l centroid. Needs at least K rows (K = codebook size). When a level
    has fewer distinct residuals than K (K close to the number of items leaves many residuals at
    exactly zero), k-means repeats centroids; the repeats are dead codes from the start.
    """
    codebooks = model.quantizer.codebooks
    size = codebooks.shape[1]
    if x.shape[0] < size:
        raise ValueError(f"k-means initialisation of {size} codes needs at least {size} embeddings, got {x.shape[0]}")
    v = model.encoder(x)
    for level in range(codebooks.shape[0]):
        kmeans = fit_kmeans(v.cpu().double().numpy(), size, seed + level)
        codebooks[level] = torch.as_tensor(kmeans.cluster_centers_, dtype=codebooks.dtype, device=codebooks.device)
        v = v - codebooks[level][squared_distances(v, codebooks[level]).argmin(-1)]


@torch.no_grad()
def reseed_dead_codes(model: RQVAE, x: Tensor, used: Tensor, generator: torch.Generator) -> int:
    """Move every code not in ``used`` [L, K] (bool) onto the current residual of a randomly drawn item.

    Level by level, so a re-seeded level-l code already shapes the residuals level l+1 draws
    from. Items are drawn without replacement while there are enough. Returns how many codes moved.
    """
    codebooks = model.quantizer.codebooks
    z = model.encoder(x)
    n, moved = x.shape[0], 0
    for level in range(codebooks.shape[0]):
        dead = (~used[level]).nonzero().squeeze(1)
        if dead.numel() == 0:
            continue
        if dead.numel() <= n:
            rows = torch.randperm(n, generator=generator)[: dead.numel()]
        else:
            rows = torch.randint(n, (dead.numel(),), generator=generator)
        residuals = model.quantizer(z).residuals[:, level]
        codebooks[level, dead] = residuals[rows.to(residuals.device)]
        moved += dead.numel()
    return moved
