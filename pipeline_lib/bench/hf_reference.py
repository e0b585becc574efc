"""The standard Hugging Face path for TIGER, as LETTER and ETEGRec run it: the benchmark's reference.

- model: ``transformers.T5ForConditionalGeneration`` of :func:`pipeline_lib.models.hf_t5.hf_t5_model`
  (our backbone's sizes and token ids; ``lm_head`` tied to the shared embedding);
- training: every history padded to the longest one (``max_history × levels`` tokens, as peers do),
  ``loss = model(input_ids, attention_mask, labels=target tokens).loss``, a plain ``torch.optim.AdamW``
  (same lr and weight decay as ours, no gradient clipping, no schedule), under the same bf16 autocast;
- decoding: ``generate`` with the trie as ``prefix_allowed_tokens_fn``
  (:func:`pipeline_lib.decoding.hf_generate.hf_rank`).

Only the plain T5 backbone has a Hugging Face counterpart: DECOR's fusion and composition modules
have none, so a DECOR benchmark is compared with this same plain T5.
"""

from __future__ import annotations

import torch
from transformers import T5ForConditionalGeneration

from pipeline_lib.device import autocast
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.tokenizer.vocab import SemanticVocab, history_tokens
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.generative import TrainData

TrainBatch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""``(input_ids [B, S], attention_mask [B, S], labels [B, levels])`` of one padded training batch."""


def load_plain_backbone(hf: T5ForConditionalGeneration, ours: GenerativeRecommender) -> None:
    """Copy a plain (TIGER) model's weights into ``hf``, so both compute the same log-probabilities.

    Needs a model without fusion or composition whose head is its token table (``tie_lm_head``), since
    the Hugging Face model ties the two. Raises ``ValueError`` otherwise.
    """
    if ours.config.fusion or ours.config.composition:
        raise ValueError("only a plain T5 (TIGER) model has a Hugging Face counterpart")
    if ours.lm_head is not None:
        raise ValueError("the Hugging Face T5 ties lm_head to the token table: ours needs tie_lm_head")
    table = ours.embed.table()
    with torch.no_grad():
        hf.shared.weight.copy_(table)
    hf.encoder.load_state_dict(ours.encoder.state_dict(), strict=False)
    hf.decoder.load_state_dict(ours.decoder.state_dict(), strict=False)


def padded_train_batch(data: TrainData, index: torch.Tensor) -> TrainBatch:
    """The training samples ``index`` with every history padded to the longest possible one."""
    batch = data.train.select(index.to(data.item_tokens.device))
    input_ids = history_tokens(data.item_tokens, batch.histories)
    return input_ids, (input_ids != SemanticVocab.PAD).long(), data.item_tokens[batch.targets]


class HFTrainer:
    """The plain loop: ``model(input_ids, attention_mask, labels).loss``, backward, ``torch.optim.AdamW``."""

    def __init__(self, model: T5ForConditionalGeneration, data: TrainData, optim: OptimConfig):
        self.model, self.data, self.optim = model, data, optim
        self.device = data.item_tokens.device
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)

    def update(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """One AdamW step on the batch's loss; returns the loss."""
        with autocast(self.device, self.optim.bf16):
            loss = self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def train_steps(self, batches: list[torch.Tensor]) -> None:
        """One step per batch of training-sample indices, the padding included in the step."""
        self.model.train()
        for index in batches:
            self.update(*padded_train_batch(self.data, index))
