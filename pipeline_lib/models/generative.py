"""The T5 generative recommender (TIGER) with DECOR's modules switchable on top.

Encoder input: the history items' semantic-ID tokens. Decoder input: ``[BOS, y_0 … y_{L-2}]``,
predicting the target item's tokens ``y_0 … y_{L-1}`` (eq. 1). DECOR changes only embeddings:
- ``fusion``: every token embedding is the decomposed fusion of frozen codebook and
  collaborative embeddings (eq. 9–11), for encoder and decoder inputs alike;
- ``composition``: each decoder input token y_j is replaced by its contextual composition over
  all tokens of its codebook level (eq. 12–18), the context being the history tokens plus the
  target tokens generated *before* it (y_0 … y_{j-1}); the BOS position's context is the history;
- ``bos_queries`` (needs composition): the BOS embedding is composed from N learnable queries
  with the same Φ and the history context (eq. 19).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import T5Config
from transformers.models.t5.modeling_t5 import T5Stack

from pipeline_lib.models.composition import AttentionPooling, BOSQueries, TokenComposition
from pipeline_lib.models.embeddings import (
    DecomposedEmbeddingFusion,
    FusionConfig,
    StaticEmbedding,
    pretrained_token_table,
)
from pipeline_lib.models.vocab import SemanticVocab


@dataclass(frozen=True)
class GenRecConfig:
    """Backbone defaults follow TIGER (4+4 layers, 6 heads × 64, FFN 1024) with DECOR's d_model 128."""

    levels: int = 4
    codebook_size: int = 256
    d_model: int = 128
    d_kv: int = 64
    num_heads: int = 6
    d_ff: int = 1024
    encoder_layers: int = 4
    decoder_layers: int = 4
    dropout: float = 0.1
    feed_forward_proj: str = "relu"
    fusion: bool = False
    code_dim: int = 128
    fusion_dim: int = 128
    composition: bool = False
    alpha: float = 0.25
    attention_dim: int = 128
    bos_queries: int = 0

    def __post_init__(self) -> None:
        if self.bos_queries and not self.composition:
            raise ValueError("BOS queries are composed by Φ: they need composition=True")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EncodedHistory:
    """Encoder output plus what the composition context needs: the history token embeddings."""

    hidden: torch.Tensor  # [B, S, d]
    mask: torch.Tensor  # [B, S] bool
    embeddings: torch.Tensor  # [B, S, d]

    def repeat(self, n: int) -> EncodedHistory:
        """Each user's rows n times in a row (for n beams per user)."""
        return EncodedHistory(*(t.repeat_interleave(n, dim=0) for t in (self.hidden, self.mask, self.embeddings)))


def _t5_stack(config: GenRecConfig, vocab: SemanticVocab, decoder: bool) -> T5Stack:
    t5 = T5Config(
        vocab_size=vocab.size,
        d_model=config.d_model,
        d_kv=config.d_kv,
        d_ff=config.d_ff,
        num_layers=config.decoder_layers if decoder else config.encoder_layers,
        num_heads=config.num_heads,
        dropout_rate=config.dropout,
        feed_forward_proj=config.feed_forward_proj,
        is_decoder=decoder,
        use_cache=False,
        pad_token_id=vocab.PAD,
        eos_token_id=vocab.EOS,
        decoder_start_token_id=vocab.BOS,
    )
    stack = T5Stack(copy.deepcopy(t5))
    stack.embed_tokens = None  # embeddings come from our own tables, always passed as inputs_embeds
    return stack


class GenerativeRecommender(nn.Module):
    def __init__(self, config: GenRecConfig, codebooks: torch.Tensor | None = None):
        super().__init__()
        self.config = config
        self.vocab = SemanticVocab(config.levels, config.codebook_size)
        if config.fusion:
            if codebooks is None:
                raise ValueError("fusion needs the tokenizer's codebooks")
            fusion = FusionConfig(self.vocab.size, config.d_model, codebooks.shape[-1], config.fusion_dim)
            self.embed: nn.Module = DecomposedEmbeddingFusion(fusion, pretrained_token_table(codebooks, self.vocab))
        else:
            self.embed = StaticEmbedding(self.vocab.size, config.d_model)
        self.pooling = AttentionPooling(config.d_model, config.attention_dim) if config.composition else None
        self.composition = TokenComposition(config.d_model, config.alpha) if config.composition else None
        self.bos = BOSQueries(config.bos_queries, config.d_model) if config.bos_queries else None
        self.encoder = _t5_stack(config, self.vocab, decoder=False)
        self.decoder = _t5_stack(config, self.vocab, decoder=True)
        self.lm_head = nn.Linear(config.d_model, self.vocab.size, bias=False)

    def encode(self, history_tokens: torch.Tensor, table: torch.Tensor) -> EncodedHistory:
        mask = history_tokens != self.vocab.PAD
        embeddings = table[history_tokens]
        hidden = self.encoder(inputs_embeds=embeddings, attention_mask=mask.long()).last_hidden_state
        return EncodedHistory(hidden, mask, embeddings)

    def _position_contexts(self, table: torch.Tensor, history: EncodedHistory, prefix: torch.Tensor) -> torch.Tensor:
        """u for each decoder position q (eq. 13): history tokens plus target tokens y_j with j < q − 1."""
        batch, p = prefix.shape
        positions = torch.arange(p + 1, device=prefix.device)
        sees_prefix = torch.arange(p, device=prefix.device)[None, :] < positions[:, None] - 1  # [P, p]
        mask = torch.cat(
            [history.mask[:, None, :].expand(batch, p + 1, -1), sees_prefix[None].expand(batch, -1, -1)], dim=-1
        )
        context = torch.cat([history.embeddings, table[prefix]], dim=1)
        return self.pooling(context, mask)

    def _level_candidates(self, table: torch.Tensor, p: int) -> torch.Tensor:
        """N(c) for the decoder inputs y_0 … y_{p-1}: all tokens of each one's codebook level → [p, K, d]."""
        start = self.vocab.level_offset(0)
        return table[start : start + p * self.vocab.codebook_size].view(p, self.vocab.codebook_size, table.shape[-1])

    def decoder_embeddings(self, table: torch.Tensor, history: EncodedHistory, prefix: torch.Tensor) -> torch.Tensor:
        """Decoder inputs for ``[BOS, prefix]``: static lookups, or their contextual compositions."""
        bos = prefix.new_full((prefix.shape[0], 1), self.vocab.BOS)
        static = table[torch.cat([bos, prefix], dim=1)]
        if self.composition is None:
            return static
        u = self._position_contexts(table, history, prefix)
        tokens = self.composition(static[:, 1:], u[:, 1:], self._level_candidates(table, prefix.shape[1]))
        if self.bos is None:
            return torch.cat([static[:, :1], tokens], dim=1)
        first = self.composition(static[:, :1], u[:, :1], self.bos.queries[None])  # eq. 19
        return torch.cat([first, tokens], dim=1)

    def composition_weights(self, history_tokens: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """α of eq. 16 for the decoder inputs y_0 … y_{L-2}, teacher-forced → [B, L-1, K] (level j at j)."""
        if self.composition is None:
            raise ValueError("this variant has no token composition")
        table = self.embed.table()
        history = self.encode(history_tokens, table)
        prefix = target_tokens[:, :-1]
        u = self._position_contexts(table, history, prefix)
        return self.composition.weights(u[:, 1:], self._level_candidates(table, prefix.shape[1]))

    def decode(self, table: torch.Tensor, history: EncodedHistory, prefix: torch.Tensor) -> torch.Tensor:
        """Logits [B, p+1, vocab] for decoder inputs ``[BOS, prefix]``."""
        inputs = self.decoder_embeddings(table, history, prefix)
        hidden = self.decoder(
            inputs_embeds=inputs, encoder_hidden_states=history.hidden, encoder_attention_mask=history.mask.long()
        ).last_hidden_state
        return self.lm_head(hidden)

    def forward(self, history_tokens: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits [B, L, vocab] for the target's L tokens."""
        table = self.embed.table()
        return self.decode(table, self.encode(history_tokens, table), target_tokens[:, :-1])

    def loss(self, history_tokens: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of the target tokens (eq. 1), averaged over tokens."""
        logits = self(history_tokens, target_tokens)
        return F.cross_entropy(logits.flatten(0, 1).float(), target_tokens.flatten())

    def beam_step_fn(self, history_tokens: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """Encode once; return ``step(prefix_codes [B, n, p]) -> log P(level-p code) [B, n, K]`` for beam search.

        Log-probabilities are normalised over the whole vocabulary, then restricted to level p.
        """
        table = self.embed.table()
        history = self.encode(history_tokens, table)
        expanded: dict[int, EncodedHistory] = {}

        def step(prefix_codes: torch.Tensor) -> torch.Tensor:
            batch, n, p = prefix_codes.shape
            if n not in expanded:
                expanded[n] = history if n == 1 else history.repeat(n)
            tokens = self.vocab.tokens(prefix_codes).reshape(batch * n, p)
            logits = self.decode(table, expanded[n], tokens)[:, -1].float()
            log_probs = torch.log_softmax(logits, dim=-1)[:, self.vocab.level_slice(p)]
            return log_probs.reshape(batch, n, -1)

        return step
