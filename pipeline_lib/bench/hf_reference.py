"""The standard Hugging Face path for TIGER, as LETTER and ETEGRec run it: the benchmark's reference.

- model: ``transformers.T5ForConditionalGeneration`` from a ``T5Config`` with our backbone's sizes
  (d_model, layers, heads, d_kv, d_ff, dropout, feed-forward activation) over our semantic-ID token
  vocabulary (:class:`~pipeline_lib.models.vocab.SemanticVocab`), so token ids line up: PAD = 0,
  EOS = 1 and the decoder starts from our BOS = 2 (``decoder_start_token_id``). Transformers ≥ 5
  always ties ``lm_head`` to the shared input embedding; ``tie_word_embeddings=False`` only turns off
  the d_model^-0.5 rescaling of the decoder output, which our model does not have either;
- training: every history padded to the longest one (``max_history × levels`` tokens, as peers do),
  ``loss = model(input_ids, attention_mask, labels=target tokens).loss``, a plain ``torch.optim.AdamW``
  (same lr and weight decay as ours, no gradient clipping, no schedule), under the same bf16 autocast;
- decoding: ``model.generate(num_beams=B, num_return_sequences=top_k, max_new_tokens=levels,
  prefix_allowed_tokens_fn=…)`` where the allowed next tokens come from a dict built from our
  :class:`~pipeline_lib.decoding.trie.SemanticIdTrie` (prefix tokens → allowed tokens), looked up per
  user and beam in Python, as ``PrefixConstrainedLogitsProcessor`` calls it.

Only the plain T5 backbone has a Hugging Face counterpart: DECOR's fusion and composition modules
have none, so a DECOR benchmark is compared with this same plain T5.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import T5Config, T5ForConditionalGeneration

from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.device import autocast
from pipeline_lib.models.generative import GenerativeRecommender, GenRecConfig
from pipeline_lib.models.vocab import SemanticVocab, history_tokens
from pipeline_lib.training.generative import OptimConfig, TrainData

TrainBatch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""``(input_ids [B, S], attention_mask [B, S], labels [B, levels])`` of one padded training batch."""


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
    vocab = SemanticVocab(config.levels, config.codebook_size)
    return T5Config(
        vocab_size=vocab.size,
        d_model=config.d_model,
        d_kv=config.d_kv,
        d_ff=config.d_ff,
        num_layers=config.encoder_layers,
        num_decoder_layers=config.decoder_layers,
        num_heads=config.num_heads,
        dropout_rate=config.dropout,
        feed_forward_proj=config.feed_forward_proj,
        pad_token_id=vocab.PAD,
        eos_token_id=vocab.EOS,
        decoder_start_token_id=vocab.BOS,
        tie_word_embeddings=False,  # no d_model^-0.5 output scaling (the weights stay tied in transformers ≥ 5)
    )


def hf_t5_model(config: GenRecConfig, device: torch.device, seed: int) -> T5ForConditionalGeneration:
    """A freshly initialised ``T5ForConditionalGeneration`` of :func:`hf_t5_config` on ``device``."""
    torch.manual_seed(seed)
    return T5ForConditionalGeneration(hf_t5_config(config)).to(device)


def load_plain_backbone(hf: T5ForConditionalGeneration, ours: GenerativeRecommender) -> None:
    """Copy a plain (TIGER) model's weights into ``hf``, so both compute the same log-probabilities.

    Needs a model without fusion or composition whose ``lm_head`` equals its token table, since the
    Hugging Face model ties the two. Raises ``ValueError`` otherwise.
    """
    if ours.config.fusion or ours.config.composition:
        raise ValueError("only a plain T5 (TIGER) model has a Hugging Face counterpart")
    table = ours.embed.table()
    if not torch.equal(ours.lm_head.weight, table):
        raise ValueError("the Hugging Face T5 ties lm_head to the token table: set ours equal first")
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


@dataclass(frozen=True)
class TrieConstraint:
    """The catalogue's trie as ``generate`` takes it: decoded token prefix → allowed next tokens.

    ``allowed[()]`` are the first level's tokens; ``items`` maps a whole ID's tokens to the item.
    """

    allowed: dict[tuple[int, ...], list[int]]
    items: dict[tuple[int, ...], int]
    dead_end: int = SemanticVocab.PAD  # what a prefix outside the trie may continue with (it is never chosen)

    @classmethod
    def from_trie(cls, trie: SemanticIdTrie) -> TrieConstraint:
        """Walk the trie's per-depth tables once, turning codes into our token ids level by level."""
        vocab = SemanticVocab(trie.depth, trie.codebook_size)
        allowed: dict[tuple[int, ...], list[int]] = {}
        prefixes: dict[int, tuple[int, ...]] = {0: ()}
        for depth, table in enumerate(trie.next_state):
            table = table.cpu()
            states, codes = (table >= 0).nonzero(as_tuple=True)
            reached: dict[int, tuple[int, ...]] = {}
            for state, code, child in zip(states.tolist(), codes.tolist(), table[states, codes].tolist()):
                prefix, token = prefixes[state], vocab.level_offset(depth) + code
                allowed.setdefault(prefix, []).append(token)
                reached[child] = prefix + (token,)
            prefixes = reached
        return cls(allowed, {tokens: item for item, tokens in prefixes.items()})

    def __call__(self, batch_id: int, input_ids: torch.Tensor) -> list[int]:
        """``prefix_allowed_tokens_fn(batch_id, input_ids)``: ``input_ids`` is one beam's decoder
        sequence so far, starting with the decoder start token."""
        return self.allowed.get(tuple(input_ids.tolist()[1:]), [self.dead_end])

    def item(self, tokens: list[int]) -> int:
        """The item whose ID is ``tokens``, or -1."""
        return self.items.get(tuple(tokens), -1)


@torch.no_grad()
def hf_rank(
    model: T5ForConditionalGeneration,
    histories: torch.Tensor,
    item_tokens: torch.Tensor,
    constraint: TrieConstraint,
    beam_size: int,
    top_k: int,
    batch_size: int,
    bf16: bool,
) -> torch.Tensor:
    """Top-``top_k`` items [U, top_k] per history row [U, max_len] by constrained ``generate``, in
    batches of ``batch_size`` users taken in order, each history padded to ``max_len`` items.
    Returned sequences that are no item (none when the catalogue has ≥ top_k items) give -1."""
    model.eval()
    levels = item_tokens.shape[1]
    ranked = []
    for rows in histories.split(batch_size):
        input_ids = history_tokens(item_tokens, rows)
        with autocast(item_tokens.device, bf16):
            sequences = model.generate(
                input_ids=input_ids,
                attention_mask=(input_ids != SemanticVocab.PAD).long(),
                do_sample=False,
                num_beams=beam_size,
                num_return_sequences=top_k,
                max_new_tokens=levels,
                prefix_allowed_tokens_fn=constraint,
            )
        found = [constraint.item(tokens) for tokens in sequences[:, 1 : 1 + levels].tolist()]
        ranked.append(torch.tensor(found, dtype=torch.int64).view(len(rows), top_k))
    return torch.cat(ranked).to(item_tokens.device) if ranked else torch.empty(0, top_k, dtype=torch.int64)
