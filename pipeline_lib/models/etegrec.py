"""ETEGRec's joint model: RQ-VAE item tokenizer + T5 generative recommender, tied by two alignment losses.

The tokenizer is our RQ-VAE (ETEGRec eq. 2–10), the recommender our TIGER backbone (eq. 11–13);
this module adds what ETEGRec puts between them (3.3):

- sequence-item alignment (SIA, eq. 14–15): the tokenizer's per-level code distributions of the
  target item's collaborative embedding z and of ``z^E = MLP(mean_pool(H^E))`` should agree;
- preference-semantic alignment (PSA, eq. 16): the first decoder state ``MLP(h^D)`` and the target's
  reconstructed embedding z̃ are matched against the other items of the batch by InfoNCE.

Eq. 15 as printed carries a leading minus sign, which would make minimising the objective push the
two distributions apart; here the symmetric KL is a quantity to minimise, as the text around it says.
The "MLP" of eq. 14 and 16 is one linear layer, as in the authors' code. Reductions follow the authors'
code (``trainer.py``): L_SIA and L_PSA over the batch's distinct target items, L_SIA averaged over the
levels, L_SQ as element-wise means (``AlignmentConfig.sq_reduction``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from torch import Tensor, nn

from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_tensors, write_json, write_tensors
from pipeline_lib.models.config import SIA_SPACES, AlignmentConfig, GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.tokenizer.config import RQVAEConfig
from pipeline_lib.tokenizer.losses import SQLoss, sq_loss
from pipeline_lib.tokenizer.quantizer import Quantized
from pipeline_lib.tokenizer.rqvae import RQVAE
from pipeline_lib.tokenizer.semantic_ids import assign_semantic_ids

FORMAT = "decor-repro/etegrec/v1"


class Phase(str, Enum):
    """What one epoch trains (3.4): the tokenizer (eq. 17), the recommender (eq. 18), or both at once."""

    TOKENIZER = "tokenizer"
    RECOMMENDER = "recommender"
    JOINT = "joint"

    @property
    def trains_tokenizer(self) -> bool:
        return self is not Phase.RECOMMENDER

    @property
    def trains_recommender(self) -> bool:
        return self is not Phase.TOKENIZER


def code_log_probs(quant: Quantized) -> Tensor:
    """``log P(k | v_l)`` [n, L, K] along each input's own residual path (eq. 6), from the quantizer's distances."""
    return F.log_softmax(-quant.distances.float(), dim=-1)


def sia_loss(log_p: Tensor, log_q: Tensor) -> Tensor:
    """Symmetric KL ``KL(P^l ‖ Q^l) + KL(Q^l ‖ P^l)`` of per-level distributions given as log-probabilities
    [B, L, K], averaged over the batch and the L levels (eq. 15 as a quantity to minimise, reduced as the
    authors' ``batchmean`` over rows × levels; the printed Σ_l is L times this).

    Uses ``KL(p‖q) + KL(q‖p) = Σ_k (p_k − q_k)(log p_k − log q_k)``: zero exactly when p = q, symmetric.
    """
    return ((log_p.exp() - log_q.exp()) * (log_p - log_q)).sum(-1).mean()


def psa_loss(preference: Tensor, semantic: Tensor, tau: float) -> Tensor:
    """In-batch InfoNCE in both directions between paired rows of ``preference`` [B, d] and ``semantic``
    [B, d] with cosine similarity over temperature ``tau`` (eq. 16), averaged over the batch.

    Row i's positive is row i of the other side; every other row of the batch is a negative.
    """
    logits = F.normalize(preference.float(), dim=-1) @ F.normalize(semantic.float(), dim=-1).T / tau
    labels = torch.arange(logits.shape[0], device=logits.device)
    return F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)


def first_occurrences(ids: Tensor) -> Tensor:
    """Positions [U] of the first occurrence of each distinct value of ``ids`` [B], in increasing value order."""
    values, inverse = torch.unique(ids, return_inverse=True)
    positions = torch.arange(len(ids), device=ids.device)
    first = torch.full((len(values),), len(ids), dtype=positions.dtype, device=ids.device)
    return first.scatter_reduce(0, inverse, positions, reduce="amin")


def masked_mean(hidden: Tensor, mask: Tensor) -> Tensor:
    """Mean over the unmasked positions of ``hidden`` [B, S, d] (``mask`` [B, S] bool) → [B, d]."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


@dataclass(frozen=True)
class JointLosses:
    """One batch's losses; a part is None when the phase or the switches leave it out."""

    rec: Tensor | None  # L_REC (eq. 13), NLL averaged over the target tokens
    sq: SQLoss | None  # L_SQ (eq. 8) over the batch's distinct target items, reduced by ``sq_reduction``
    sia: Tensor | None  # L_SIA (eq. 15), over the batch's distinct target items
    psa: Tensor | None  # L_PSA (eq. 16), over the batch's distinct target items

    def objective(self, alignment: AlignmentConfig) -> Tensor:
        """L_IT = L_SQ + μ L_SIA + λ L_PSA (eq. 17), L_GR = L_REC + μ L_SIA + λ L_PSA (eq. 18), or
        their union L_SQ + L_REC + μ L_SIA + λ L_PSA when both components train (ETEGRec's "w/o AT")."""
        terms = [t for t in (self.rec, None if self.sq is None else self.sq.total) if t is not None]
        if self.sia is not None:
            terms.append(alignment.mu * self.sia)
        if self.psa is not None:
            terms.append(alignment.lam * self.psa)
        return torch.stack(terms).sum()


class ETEGRec(nn.Module):
    """Tokenizer, recommender, the two alignment heads and the current semantic IDs (a buffer, so a
    checkpoint or the best weights always carry the IDs the recommender was trained with)."""

    def __init__(
        self,
        tokenizer: RQVAE,
        recommender: GenerativeRecommender,
        n_items: int,
        sia_space: str = "latent",
        init_std: float | None = None,
    ):
        super().__init__()
        t, r = tokenizer.config, recommender.config
        if r.levels != t.levels + 1 or r.codebook_size != t.codebook_size:
            raise ValueError(
                f"the recommender reads {r.levels} tokens of {r.codebook_size} codes; the tokenizer gives "
                f"{t.levels} levels of {t.codebook_size} codes plus the collision token"
            )
        if sia_space not in SIA_SPACES:
            raise ValueError(f"sia_space must be one of {', '.join(SIA_SPACES)}, got {sia_space!r}")
        self.tokenizer = tokenizer
        self.recommender = recommender
        self.sia_space = sia_space
        self.sequence_head = nn.Linear(r.d_model, t.input_dim if sia_space == "input" else t.code_dim)  # eq. 14
        self.preference_head = nn.Linear(r.d_model, t.input_dim)  # eq. 16: h^D into the space of z̃
        self.register_buffer("semantic_ids", torch.zeros(n_items, r.levels, dtype=torch.long))
        if init_std is not None:
            for module in self.recommender_side():
                normal_init_(module, init_std)

    def recommender_side(self) -> list[nn.Module]:
        """Everything L_GR trains (eq. 18): the recommender and both alignment heads."""
        return [self.recommender, self.sequence_head, self.preference_head]

    def set_phase(self, phase: Phase) -> None:
        """Freeze the component the phase does not train (no gradients, eval mode); unfreeze the other(s)."""
        for module, trains in [(self.tokenizer, phase.trains_tokenizer)] + [
            (m, phase.trains_recommender) for m in self.recommender_side()
        ]:
            module.train(trains)
            module.requires_grad_(trains)

    @torch.no_grad()
    def refresh_semantic_ids(self, embeddings: Tensor) -> Tensor:
        """Re-tokenize every item (row i of ``embeddings`` = item i) with the current tokenizer and append
        the collision token; returns the share of items whose ID changed. Raises ``CollisionOverflowError``."""
        ids = assign_semantic_ids(self.tokenizer.encode(embeddings), self.tokenizer.config.codebook_size)
        changed = (ids != self.semantic_ids).any(1).float().mean()
        self.semantic_ids.copy_(ids)
        return changed

    def item_tokens(self) -> Tensor:
        """[n_items + 1, L+1] recommender tokens of every item (last row: padding) for the current IDs."""
        return self.recommender.vocab.item_token_table(self.semantic_ids)

    def trie(self) -> SemanticIdTrie:
        """Prefix trie of the current IDs, for constrained beam search."""
        return SemanticIdTrie.from_semantic_ids(self.semantic_ids, self.recommender.config.codebook_size)

    def _sequence_log_probs(self, z_e: Tensor) -> Tensor:
        latent = self.tokenizer.encoder(z_e) if self.sia_space == "input" else z_e
        return code_log_probs(self.tokenizer.quantizer(latent))

    def losses(
        self,
        history_tokens: Tensor,
        target_tokens: Tensor,
        target_items: Tensor,
        target_embeddings: Tensor,
        phase: Phase,
        alignment: AlignmentConfig,
    ) -> JointLosses:
        """The phase's losses for a batch: histories as tokens [B, S], targets as tokens [B, L+1],
        item ids [B] and collaborative embeddings z [B, d_s].

        Each component's forward pass records gradients only when the phase trains it; SIA's
        z^E → tokenizer path always does, since it carries gradients to whichever side trains.
        The tokenizer runs in float32 outside any autocast region.
        """
        distinct = first_occurrences(target_items)
        with torch.set_grad_enabled(phase.trains_recommender and torch.is_grad_enabled()):
            history, decoded = self.recommender.hidden_states(history_tokens, target_tokens)
            rec = None
            if phase.trains_recommender:
                rec = self.recommender.target_nll(decoded, self.recommender.embed.table(), target_tokens)
            z_e = None
            if alignment.sia:
                z_e = self.sequence_head(masked_mean(history.hidden[distinct], history.mask[distinct]))
            h_d = self.preference_head(decoded[distinct, 0]) if alignment.psa else None
        with torch.autocast(target_embeddings.device.type, enabled=False):
            z = target_embeddings[distinct].float()
            with torch.set_grad_enabled(phase.trains_tokenizer and torch.is_grad_enabled()):
                target = self.tokenizer(z)
            sq = None
            if phase.trains_tokenizer:
                sq = sq_loss(z, target, self.tokenizer.config.beta)
                if alignment.sq_reduction == "mean":
                    sq = sq.per_element(z.shape[1], self.tokenizer.quantizer.codebooks.shape)
            sia = None if z_e is None else sia_loss(code_log_probs(target.quant), self._sequence_log_probs(z_e.float()))
            psa = None if h_d is None else psa_loss(h_d, target.recon, alignment.tau)
        return JointLosses(rec=rec, sq=sq, sia=sia, psa=psa)


@torch.no_grad()
def normal_init_(module: nn.Module, std: float) -> None:
    """Every ``nn.Linear`` and ``nn.Embedding`` weight inside ``module`` drawn from N(0, std²) and every linear
    bias set to zero (the authors' ``Model._init_weights``, applied to the whole T5 recommender and its heads)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Embedding)):
            layer.weight.normal_(0.0, std)
        if isinstance(layer, nn.Linear) and layer.bias is not None:
            layer.bias.zero_()


def save_etegrec(weights_path: Path, config_path: Path, model: ETEGRec) -> None:
    """The whole joint model (weights, IDs; configs as metadata) and a readable ``config.json`` beside it."""
    config = {
        "model": "etegrec",
        "tokenizer": asdict(model.tokenizer.config),
        "recommender": model.recommender.config.to_dict(),
        "n_items": int(model.semantic_ids.shape[0]),
        "sia_space": model.sia_space,
        "level_softmax": model.recommender.level_softmax,
    }
    write_tensors(weights_path, dict(model.state_dict()), metadata={"format": FORMAT, "config": json.dumps(config)})
    write_json(config_path, config)


def load_etegrec(weights_path: Path, device: torch.device | str = "cpu") -> ETEGRec:
    """Rebuild a joint model written by :func:`save_etegrec`."""
    if not weights_path.is_file():
        raise PipelineInputError(weights_path, "model not found; run the etegrec stage first")
    with safe_open(str(weights_path), framework="pt") as fh:
        metadata = fh.metadata() or {}
    if metadata.get("format") != FORMAT:
        raise PipelineInputError(weights_path, f"not an ETEGRec model file (metadata format must be {FORMAT!r})")
    config = json.loads(metadata["config"])
    model = ETEGRec(
        RQVAE(RQVAEConfig(**config["tokenizer"])),
        GenerativeRecommender(GenRecConfig(**config["recommender"]), level_softmax=config["level_softmax"]),
        config["n_items"],
        config["sia_space"],
    )
    model.load_state_dict(read_tensors(weights_path))
    return model.to(device).eval()
