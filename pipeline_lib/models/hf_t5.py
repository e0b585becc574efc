"""TIGER on Hugging Face's stock ``T5ForConditionalGeneration``: variant ``tiger_hf``, the cross-check of our T5 path.

- model: ``T5ForConditionalGeneration`` from a ``T5Config`` with our backbone's sizes (d_model, layers, heads,
  d_kv, d_ff, dropout, feed-forward activation) over our semantic-ID token vocabulary
  (:class:`~pipeline_lib.tokenizer.vocab.SemanticVocab`), so token ids line up: PAD = 0, EOS = 1 and the decoder
  starts from our BOS = 2 (``decoder_start_token_id``). Transformers ≥ 5 always ties ``lm_head`` to the shared
  input embedding (as ``model.tie_lm_head`` does in ours) and rescales the decoder output by d_model^-0.5
  unless ``tie_word_embeddings=False``, which follows ``model.tied_head_scale``;
- loss: ``model(input_ids, attention_mask, labels=target tokens).loss``, the mean token cross-entropy of eq. 1;
- decoding: ``generate`` with the trie as ``prefix_allowed_tokens_fn`` (:mod:`pipeline_lib.decoding.hf_generate`).

:class:`HFTiger` wraps it in the interface the generative trainer and evaluation use (``config``, ``loss``,
``composition`` = None), so ``tiger`` and ``tiger_hf`` share data, batches, optimiser, schedule and stopping rule
and differ only in the model's implementation and its decoder.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import T5Config, T5ForConditionalGeneration

from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import t5_config
from pipeline_lib.tokenizer.vocab import SemanticVocab


def hf_t5_config(config: GenRecConfig) -> T5Config:
    """A ``T5Config`` with our backbone's sizes and our token vocabulary (ids as in ``SemanticVocab``).

    Raises ``ValueError`` for different encoder and decoder depths: transformers 5.24's ``generate``
    sizes T5's decoder cache by ``num_layers`` (the encoder's) and fails on them.
    """
    if config.encoder_layers != config.decoder_layers:
        raise ValueError(
            f"the Hugging Face reference needs as many encoder as decoder layers, got {config.encoder_layers} "
            f"and {config.decoder_layers} (generate's cache has the encoder's count)"
        )
    return t5_config(
        config,
        SemanticVocab(config.levels, config.codebook_size),
        num_layers=config.encoder_layers,
        num_decoder_layers=config.decoder_layers,
        tie_word_embeddings=config.tied_head_scale,  # transformers ≥ 5 always ties; False only drops the d^-0.5 scaling
    )


def hf_t5_model(config: GenRecConfig, device: torch.device, seed: int) -> T5ForConditionalGeneration:
    """A freshly initialised ``T5ForConditionalGeneration`` of :func:`hf_t5_config` on ``device``."""
    torch.manual_seed(seed)
    return T5ForConditionalGeneration(hf_t5_config(config)).to(device)


class HFTiger(nn.Module):
    """TIGER as the stock Hugging Face T5 (``self.t5``), with the generative trainer's interface.

    Raises ``ValueError`` for DECOR's modules (fusion, composition, BOS queries: no Hugging Face
    counterpart) or an untied head (the Hugging Face model always ties it).
    """

    composition = None  # no token composition (eq. 12–18)

    def __init__(self, config: GenRecConfig):
        super().__init__()
        if config.fusion or config.composition or config.bos_queries:
            raise ValueError("the Hugging Face TIGER is the plain T5: no fusion, composition or BOS queries")
        if not config.tie_lm_head:
            raise ValueError("the Hugging Face T5 ties lm_head to the token table: model.tie_lm_head must be true")
        self.config = config
        self.vocab = SemanticVocab(config.levels, config.codebook_size)
        self.t5 = T5ForConditionalGeneration(hf_t5_config(config))

    def forward(self, history_tokens: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits [B, L, vocab] of the target's L tokens from history tokens [B, S]."""
        mask = (history_tokens != self.vocab.PAD).long()
        return self.t5(input_ids=history_tokens, attention_mask=mask, labels=target_tokens).logits

    def loss(self, history_tokens: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """Mean token cross-entropy of the target tokens [B, L] (eq. 1), as ``T5ForConditionalGeneration`` computes it."""
        mask = (history_tokens != self.vocab.PAD).long()
        return self.t5(input_ids=history_tokens, attention_mask=mask, labels=target_tokens).loss
