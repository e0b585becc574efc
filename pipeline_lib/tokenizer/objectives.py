"""What the tokenizer minimises, per ``tokenize.method``: rqvae (L_SQ), letter or cost.

All three train the same RQ-VAE (:mod:`pipeline_lib.tokenizer.rqvae`) and write the same file; only
the loss differs. :func:`pipeline_lib.tokenizer.training.train_rqvae` calls an objective on every
batch for its raw terms, minimises their weighted sum, logs each term (:mod:`pipeline_lib.loss_terms`)
and lets the objective prepare each epoch (LETTER re-clusters its codebooks then, as the official code).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pipeline_lib.tokenizer.codebooks import fit_kmeans
from pipeline_lib.tokenizer.config import METHODS, CostConfig, LetterConfig
from pipeline_lib.tokenizer.contrastive import (
    cluster_positives,
    cost_contrastive_loss,
    letter_cf_loss,
    letter_diversity_loss,
)
from pipeline_lib.tokenizer.losses import batch_loss
from pipeline_lib.tokenizer.rqvae import RQVAE, RQVAEOutput

Terms = dict[str, Tensor]  # a loss's raw terms by name, each a scalar averaged over the batch's items


class Objective:
    """L_SQ = L_RECON + L_RQ (DECOR eq. 6–8): the plain RQ-VAE (``method: rqvae``).

    Every objective gives its raw terms and their ``weights``; the loss minimised is
    :func:`~pipeline_lib.loss_terms.weighted_sum` of the two (so the logged terms are exactly what is minimised).
    """

    @property
    def weights(self) -> dict[str, float]:
        """Weight of each term: here ``recon`` (L_RECON, eq. 7, summed over dimensions) and ``rq`` (L_RQ, eq. 8)."""
        return {"recon": 1.0, "rq": 1.0}

    def parameters(self) -> list[nn.Parameter]:
        """Trainable parameters besides the RQ-VAE's (optimised with it, not saved with it)."""
        return []

    def start_epoch(self, model: RQVAE, epoch: int) -> None:
        """Called before each epoch's first batch (after the k-means initialisation)."""

    def __call__(self, model: RQVAE, x: Tensor, rows: Tensor) -> tuple[Terms, RQVAEOutput]:
        """The batch's raw terms (keys of :attr:`weights`) and the model's output; ``x`` [B, D], ``rows`` [B] the
        items' ids."""
        loss, out = batch_loss(model, x)
        return {"recon": loss.recon, "rq": loss.rq}, out


class LetterObjective(Objective):
    """L_Sem + α·L_CF + β·L_Div (LETTER eq. 6, number unchecked); L_Div averaged over the levels, as
    the official code.

    ``collaborative`` [n_items, d_cf]: the CF embeddings, row i = item i. When d_cf differs from the
    code dimension, a linear map (no bias) takes ẑ into the CF space first; LETTER has none because it
    sets the code dimension to the SASRec dimension (32).
    """

    def __init__(self, config: LetterConfig, collaborative: Tensor, code_dim: int, seed: int):
        self.config = config
        self.collaborative = collaborative
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            same = collaborative.shape[1] == code_dim
            self.projection = nn.Identity() if same else nn.Linear(code_dim, collaborative.shape[1], bias=False)
        self.projection.to(collaborative.device)
        self.generator = torch.Generator().manual_seed(seed)
        self.seed = seed
        self.clusters: Tensor | None = None  # [L, K] cluster label of each code

    def parameters(self) -> list[nn.Parameter]:
        return list(self.projection.parameters())

    @torch.no_grad()
    def start_epoch(self, model: RQVAE, epoch: int) -> None:
        """k-means of each level's code vectors into ``n_clusters`` groups (official: every epoch, but
        constrained k-means with bounded cluster sizes; this is plain k-means, clusters may be singletons)."""
        codebooks = model.quantizer.codebooks.detach().cpu().double().numpy()
        n_clusters = min(self.config.n_clusters, codebooks.shape[1])
        labels = []
        for level, codebook in enumerate(codebooks):
            kmeans = fit_kmeans(codebook, n_clusters, self.seed + 1000 * epoch + level)
            labels.append(torch.as_tensor(kmeans.labels_, dtype=torch.long))
        self.clusters = torch.stack(labels)

    @property
    def weights(self) -> dict[str, float]:
        """L_Sem's two parts (``sem_recon``, ``sem_rq``: ``SQLoss.per_element``) at 1, ``cf`` at α,
        ``div`` at β."""
        return {"sem_recon": 1.0, "sem_rq": 1.0, "cf": self.config.cf_weight, "div": self.config.div_weight}

    def __call__(self, model: RQVAE, x: Tensor, rows: Tensor) -> tuple[Terms, RQVAEOutput]:
        if self.clusters is None:
            raise RuntimeError("start_epoch must run before the first batch")
        loss, out = batch_loss(model, x)
        z = out.latent
        quantized = z + (out.quant.quantized - z).detach()  # straight-through, as the official CF_loss input
        cf = letter_cf_loss(self.projection(quantized), self.collaborative[rows], self.config.cf_temperature)
        quant, codebooks = out.quant, model.quantizer.codebooks
        div = torch.stack([
            letter_diversity_loss(
                quant.selected[:, level], quant.codes[:, level], codebooks[level],
                cluster_positives(quant.codes[:, level], self.clusters[level], self.generator).to(x.device),
                self.config.div_temperature,
            )
            for level in range(codebooks.shape[0])
        ]).mean()
        scaled = loss.per_element(x.shape[1], codebooks.shape)  # L_Sem as the official code scales it
        return {"sem_recon": scaled.recon, "sem_rq": scaled.rq, "cf": cf, "div": div}, out


class CostObjective(Objective):
    """α·L_CL + L_RQ (+ mse_weight·L_MSE) (CoST eq. 5–6; numbers not checked against the paper): the
    reconstruction x̂ must pick out its own item among the batch, instead of matching it coordinate by
    coordinate."""

    def __init__(self, config: CostConfig):
        self.config = config

    @property
    def weights(self) -> dict[str, float]:
        """``rq`` (L_RQ) at 1, ``recon`` (L_MSE, summed over dimensions) at ``mse_weight`` (0: logged, not
        minimised), ``cl`` (L_CL) at α."""
        return {"rq": 1.0, "recon": self.config.mse_weight, "cl": self.config.weight}

    def __call__(self, model: RQVAE, x: Tensor, rows: Tensor) -> tuple[Terms, RQVAEOutput]:
        loss, out = batch_loss(model, x)
        contrastive = cost_contrastive_loss(x, out.recon, self.config.temperature)
        return {"rq": loss.rq, "recon": loss.recon, "cl": contrastive}, out


def make_objective(
    method: str, letter: LetterConfig, cost: CostConfig, code_dim: int, seed: int, collaborative: Tensor | None = None
) -> Objective:
    """The objective of ``method``; ``letter`` needs the CF embeddings ``collaborative`` [n_items, d_cf]."""
    if method == "rqvae":
        return Objective()
    if method == "cost":
        return CostObjective(cost)
    if method == "letter":
        if collaborative is None:
            raise ValueError("method letter needs collaborative (CF) item embeddings")
        return LetterObjective(letter, collaborative, code_dim, seed)
    raise ValueError(f"unknown tokenizer method {method!r}; known: {', '.join(METHODS)}")
