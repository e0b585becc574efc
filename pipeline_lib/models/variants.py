"""DECOR's Table 2 rows as switches on the generative recommender, and Table 1's LETTER / CoST rows:
TIGER's switches on another tokenizer (stages tokenize_letter / tokenize_cost)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.models.hf_t5 import HFTiger


@dataclass(frozen=True)
class VariantSwitches:
    fusion: bool  # frozen pretrained codebooks + collaborative embeddings (eq. 9–11)
    composition: bool  # contextualized token composition (eq. 12–18)
    bos: bool  # learnable BOS queries (eq. 19)
    tokenizer: str | None = None  # a tokenize.method with its own tokenizer (data/<ds>/tokenizer_<method>); None = shared
    hf: bool = False  # the stock Hugging Face T5 and its generate (models.hf_t5) instead of our T5 path


VARIANTS: dict[str, VariantSwitches] = {
    "tiger": VariantSwitches(fusion=False, composition=False, bos=False),
    "tokcomp": VariantSwitches(fusion=False, composition=True, bos=False),
    "tokcomp_bos": VariantSwitches(fusion=False, composition=True, bos=True),
    "pretrained": VariantSwitches(fusion=True, composition=False, bos=False),
    "pretrained_tokcomp": VariantSwitches(fusion=True, composition=True, bos=False),
    "decor": VariantSwitches(fusion=True, composition=True, bos=True),
    "letter": VariantSwitches(fusion=False, composition=False, bos=False, tokenizer="letter"),
    "cost": VariantSwitches(fusion=False, composition=False, bos=False, tokenizer="cost"),
    "tiger_hf": VariantSwitches(fusion=False, composition=False, bos=False, hf=True),  # cross-check of tiger
}


def build_generative(variant: str, config: GenRecConfig, codebooks: torch.Tensor) -> GenerativeRecommender | HFTiger:
    """The variant's model, freshly initialised from the current torch seed: ours, or the Hugging Face T5."""
    return HFTiger(config) if VARIANTS[variant].hf else GenerativeRecommender(config, codebooks)


# model.* switches that only act on the composition module (eq. 12–18) / on the BOS queries (eq. 19)
COMPOSITION_SWITCHES = (
    "composition_scaled", "composition_center_context", "composition_self_context", "alpha_trainable"
)
BOS_SWITCHES = ("bos_residual", "bos_query_init", "bos_static")


def variant_config(
    variant: str, backbone: dict[str, Any], alpha: float, bos_queries: int, code_dim: int, codebook_size: int
) -> GenRecConfig:
    """GenRecConfig for one Table 2 row: the backbone params plus the variant's switches."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    switches = VARIANTS[variant]
    backbone = dict(backbone)
    # switches of a module the variant lacks are reset to their defaults: they change nothing there,
    # and the saved config / resume fingerprint of e.g. TIGER stays the same when they are toggled
    unused = (COMPOSITION_SWITCHES if not switches.composition else ()) + (BOS_SWITCHES if not switches.bos else ())
    defaults = GenRecConfig()
    backbone |= {key: getattr(defaults, key) for key in unused}
    return GenRecConfig(
        **backbone,
        codebook_size=codebook_size,
        code_dim=code_dim,
        fusion=switches.fusion,
        composition=switches.composition,
        alpha=alpha if switches.composition else 0.0,
        bos_queries=bos_queries if switches.bos else 0,
    )
