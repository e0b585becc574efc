"""Constrained decoding by Hugging Face's ``generate``: the decoder of variant ``tiger_hf`` and of the benchmark's reference.

``model.generate(num_beams=B, num_return_sequences=top_k, max_new_tokens=levels, prefix_allowed_tokens_fn=…)``
where the allowed next tokens come from a dict built from our :class:`~pipeline_lib.decoding.trie.SemanticIdTrie`
(prefix tokens → allowed tokens), looked up per user and beam in Python, as ``PrefixConstrainedLogitsProcessor``
calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import T5ForConditionalGeneration

from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.device import autocast
from pipeline_lib.tokenizer.vocab import SemanticVocab, history_tokens


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
def hf_generate_items(
    model: T5ForConditionalGeneration, input_ids: torch.Tensor, constraint: TrieConstraint, beam_size: int, top_k: int
) -> torch.Tensor:
    """The top-``top_k`` items [B, top_k] that constrained ``generate`` finds for history tokens [B, S] (PAD = 0);
    a returned sequence that is no item (none when the catalogue has ≥ top_k items) gives -1."""
    levels = len(next(iter(constraint.items)))
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
    return torch.tensor(found, dtype=torch.int64, device=input_ids.device).view(len(input_ids), top_k)


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
    batches of ``batch_size`` users taken in order, each history padded to ``max_len`` items (the
    benchmark's reference; variant ``tiger_hf`` decodes through ``pipeline_lib.evaluation.rank_generative``)."""
    model.eval()
    ranked = []
    for rows in histories.split(batch_size):
        with autocast(item_tokens.device, bf16):
            ranked.append(hf_generate_items(model, history_tokens(item_tokens, rows), constraint, beam_size, top_k))
    return torch.cat(ranked) if ranked else torch.empty(0, top_k, dtype=torch.int64, device=item_tokens.device)
