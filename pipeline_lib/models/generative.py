"""The T5 generative recommender (TIGER) with DECOR's modules switchable on top.

Encoder input: the history items' semantic-ID tokens. Decoder input: ``[BOS, y_0 … y_{L-2}]``,
predicting the target item's tokens ``y_0 … y_{L-1}`` (eq. 1). DECOR changes only embeddings:
- ``fusion``: every token embedding is the decomposed fusion of frozen codebook and
  collaborative embeddings (eq. 9–11), for encoder and decoder inputs alike;
- ``composition``: each decoder input token y_j is replaced by its contextual composition over
  all tokens of its codebook level (eq. 12–18), the context being the history tokens plus the
  target tokens generated *before* it (y_0 … y_{j-1}); the BOS position's context is the history;
- ``bos_queries`` (needs composition): the BOS embedding is composed from N learnable queries
  with the same Φ and the history context (eq. 19): ê_BOS = Σ_n α_n q_n as printed, or with
  ``bos_residual`` mixed with the static BOS embedding like eq. 18.

Switches beyond the paper (defaults = the paper as printed): ``composition_center_context``
(u centred before W_q), ``composition_self_context`` (y_j in its own context), ``bos_residual``,
``bos_query_init`` and ``weight_decay_exclude`` (read by the optimiser).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import T5Config
from transformers.models.t5.modeling_t5 import T5Stack

from pipeline_lib.models.composition import AttentionPooling, BOSQueries, TokenComposition
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.embeddings import (
    DecomposedEmbeddingFusion,
    FusionConfig,
    StaticEmbedding,
    pretrained_token_table,
)
from pipeline_lib.models.t5_beam import SharedCrossAttentionDecoder
from pipeline_lib.tokenizer.vocab import SemanticVocab


@dataclass(frozen=True)
class EncodedHistory:
    """Encoder output plus what the composition context needs: the history token embeddings and,
    with composition, their attention-pooling scores (eq. 14), computed once per user."""

    hidden: torch.Tensor  # [B, S, d]
    mask: torch.Tensor  # [B, S] bool
    embeddings: torch.Tensor  # [B, S, d]
    scores: torch.Tensor | None = None  # [B, S]

    def repeat(self, n: int, hidden: bool = True) -> EncodedHistory:
        """Each user's rows n times in a row (for n beams per user); ``hidden=False`` leaves ``hidden``
        per user ([B, S, d]) for a decoder that shares it across a user's beams."""
        parts = (self.mask, self.embeddings, self.scores)
        mask, embeddings, scores = (None if t is None else t.repeat_interleave(n, dim=0) for t in parts)
        return EncodedHistory(self.hidden.repeat_interleave(n, dim=0) if hidden else self.hidden, mask, embeddings, scores)


def t5_config(config: GenRecConfig, vocab: SemanticVocab, **settings: object) -> T5Config:
    """A ``T5Config`` with the backbone's sizes and the semantic-ID vocabulary's ids (PAD, EOS, BOS as the decoder
    start), plus ``settings`` (layer counts, decoder flags, tying) as each user of it needs them."""
    return T5Config(
        vocab_size=vocab.size,
        d_model=config.d_model,
        d_kv=config.d_kv,
        d_ff=config.d_ff,
        num_heads=config.num_heads,
        dropout_rate=config.dropout,
        feed_forward_proj=config.feed_forward_proj,
        pad_token_id=vocab.PAD,
        eos_token_id=vocab.EOS,
        decoder_start_token_id=vocab.BOS,
        **settings,
    )


def _t5_stack(config: GenRecConfig, vocab: SemanticVocab, decoder: bool) -> T5Stack:
    layers = config.decoder_layers if decoder else config.encoder_layers
    stack = T5Stack(t5_config(config, vocab, num_layers=layers, is_decoder=decoder, use_cache=False))
    stack.embed_tokens = None  # embeddings come from our own tables, always passed as inputs_embeds
    return stack


class GenerativeRecommender(nn.Module):
    def __init__(self, config: GenRecConfig, codebooks: torch.Tensor | None = None, level_softmax: bool = False):
        super().__init__()
        self.config = config
        self.level_softmax = level_softmax  # ETEGRec's per-level heads (its rec_softmax: level); not a config field
        self.vocab = SemanticVocab(config.levels, config.codebook_size)
        if config.fusion:
            if codebooks is None:
                raise ValueError("fusion needs the tokenizer's codebooks")
            fusion = FusionConfig(self.vocab.size, config.d_model, codebooks.shape[-1], config.fusion_dim)
            self.embed: nn.Module = DecomposedEmbeddingFusion(fusion, pretrained_token_table(codebooks, self.vocab))
        else:
            self.embed = StaticEmbedding(self.vocab.size, config.d_model)
        self.pooling = AttentionPooling(config.d_model, config.attention_dim) if config.composition else None
        self.composition = (
            TokenComposition(
                config.d_model, config.alpha, config.composition_scaled, config.levels,
                config.composition_center_context, config.alpha_trainable,
            )
            if config.composition
            else None
        )
        self.bos = BOSQueries(config.bos_queries, config.d_model) if config.bos_queries else None
        if self.bos is not None and config.bos_query_init == "token_scale":
            with torch.no_grad():
                self.bos.scale_to(float(self.embed.table().norm(dim=-1).mean()))
        self.encoder = _t5_stack(config, self.vocab, decoder=False)
        self.decoder = _t5_stack(config, self.vocab, decoder=True)
        self.lm_head = None if config.tie_lm_head else nn.Linear(config.d_model, self.vocab.size, bias=False)

    def logits(self, hidden: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Decoder states [..., d] → vocabulary logits [..., V]: ``hidden · table^T`` with ``tie_lm_head`` (the
        token table — with fusion the fused embeddings, eq. 11 — is the prediction head; ``tied_head_scale``
        multiplies ``hidden`` by d_model^-0.5 first, as T5 does with tied embeddings), else ``lm_head``."""
        if self.lm_head is not None:
            return self.lm_head(hidden)
        if self.config.tied_head_scale:
            hidden = hidden * self.config.d_model**-0.5
        return hidden @ table.t()

    def encode(self, history_tokens: torch.Tensor, table: torch.Tensor) -> EncodedHistory:
        mask = history_tokens != self.vocab.PAD
        embeddings = table[history_tokens]
        hidden = self.encoder(inputs_embeds=embeddings, attention_mask=mask.long()).last_hidden_state
        scores = None if self.pooling is None else self.pooling.scores(embeddings)
        return EncodedHistory(hidden, mask, embeddings, scores)

    def _position_contexts(self, table: torch.Tensor, history: EncodedHistory, prefix: torch.Tensor) -> torch.Tensor:
        """u for each decoder position q (eq. 13): history tokens plus target tokens y_j with j < q − 1
        (j ≤ q − 1 with ``composition_self_context``: the position's own input token y_{q−1} too)."""
        batch, p = prefix.shape
        positions = torch.arange(p + 1, device=prefix.device)
        own = 0 if self.config.composition_self_context else 1
        sees_prefix = torch.arange(p, device=prefix.device)[None, :] < positions[:, None] - own  # [P, p]
        mask = torch.cat(
            [history.mask[:, None, :].expand(batch, p + 1, -1), sees_prefix[None].expand(batch, -1, -1)], dim=-1
        )
        prefix_embeddings = table[prefix]
        context = torch.cat([history.embeddings, prefix_embeddings], dim=1)
        scores = torch.cat([history.scores, self.pooling.scores(prefix_embeddings)], dim=1)
        return self.pooling.pool(context, scores, mask)

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
        u = self.composition.context(self._position_contexts(table, history, prefix))
        tokens = self.composition(static[:, 1:], u[:, 1:], self._level_candidates(table, prefix.shape[1]))
        if self.bos is None:
            return torch.cat([static[:, :1], tokens], dim=1)
        if self.config.bos_residual:
            e_bos = torch.zeros_like(static[:, :1]) if self.config.bos_static == "zero" else static[:, :1]
            first = self.composition(e_bos, u[:, :1], self.bos.queries[None])
        else:
            first = self.composition.compose(u[:, :1], self.bos.queries[None])  # eq. 19 as printed
        return torch.cat([first, tokens], dim=1)

    def raw_contexts(self, history_tokens: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced pooled contexts u (eq. 13) of the decoder positions [BOS, y_0 … y_{L-2}] → [B, L, d],
        before any centring or override (what ``TokenComposition.set_context_override`` replaces)."""
        if self.composition is None:
            raise ValueError("this variant has no token composition")
        table = self.embed.table()
        return self._position_contexts(table, self.encode(history_tokens, table), target_tokens[:, :-1])

    def composition_terms(
        self, history_tokens: torch.Tensor, target_tokens: torch.Tensor
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Teacher-forced eq. 16 terms per composition site: ``{"bos": …, "layer_1": …, …}`` (``layer_{j+1}``
        = decoder input y_j; ``bos`` only with BOS queries), each (u [B, d] as W_q sees it, W_q u [B, d],
        logits [B, K or N])."""
        if self.composition is None:
            raise ValueError("this variant has no token composition")
        table = self.embed.table()
        history = self.encode(history_tokens, table)
        prefix = target_tokens[:, :-1]
        u = self.composition.context(self._position_contexts(table, history, prefix))
        query = self.composition.query(u)
        logits = self.composition.logits(u[:, 1:], self._level_candidates(table, prefix.shape[1]))
        terms = {f"layer_{j + 1}": (u[:, j + 1], query[:, j + 1], logits[:, j]) for j in range(prefix.shape[1])}
        if self.bos is not None:
            bos_logits = self.composition.logits(u[:, :1], self.bos.queries[None])[:, 0]
            terms = {"bos": (u[:, 0], query[:, 0], bos_logits), **terms}
        return terms

    def composition_weights(self, history_tokens: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """α of eq. 16 for the decoder inputs y_0 … y_{L-2}, teacher-forced → [B, L-1, K] (level j at j)."""
        terms = self.composition_terms(history_tokens, target_tokens)
        layers = [logits for name, (_, _, logits) in terms.items() if name != "bos"]
        return torch.softmax(torch.stack(layers, dim=1), dim=-1)

    def decode(self, table: torch.Tensor, history: EncodedHistory, prefix: torch.Tensor) -> torch.Tensor:
        """Decoder states [B, p+1, d] for inputs ``[BOS, prefix]``."""
        return self.decoder(
            inputs_embeds=self.decoder_embeddings(table, history, prefix),
            encoder_hidden_states=history.hidden,
            encoder_attention_mask=history.mask.long(),
        ).last_hidden_state

    def hidden_states(
        self, history_tokens: torch.Tensor, target_tokens: torch.Tensor
    ) -> tuple[EncodedHistory, torch.Tensor]:
        """Teacher-forced encoder output H^E and decoder states H^D [B, L, d] (H^D[:, 0] is the BOS position)."""
        table = self.embed.table()
        history = self.encode(history_tokens, table)
        return history, self.decode(table, history, target_tokens[:, :-1])

    def forward(self, history_tokens: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits [B, L, vocab] for the target's L tokens."""
        table = self.embed.table()
        history = self.encode(history_tokens, table)
        return self.logits(self.decode(table, history, target_tokens[:, :-1]), table)

    def loss(self, history_tokens: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of the target tokens (eq. 1), averaged over tokens."""
        logits = self(history_tokens, target_tokens)
        return F.cross_entropy(logits.flatten(0, 1).float(), target_tokens.flatten())

    def level_log_probs(self, hidden: torch.Tensor, table: torch.Tensor, level: int) -> torch.Tensor:
        """Decoder states [N, d] → log P(code) [N, K] of ``level``, normalised over the whole vocabulary, or with
        ``level_softmax`` over the level's own K codes (ETEGRec's per-level heads)."""
        logits = self.logits(hidden, table).float()
        if self.level_softmax:
            return torch.log_softmax(logits[:, self.vocab.level_slice(level)], dim=-1)
        return torch.log_softmax(logits, dim=-1)[:, self.vocab.level_slice(level)]

    def target_nll(self, decoded: torch.Tensor, table: torch.Tensor, target_tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced NLL of ``target_tokens`` [B, L] from decoder states ``decoded`` [B, L, d], averaged over
        the B·L tokens (eq. 13 up to the mean): each position's scores normalised as :meth:`level_log_probs`
        normalises them (position j predicts level j)."""
        logits = self.logits(decoded, table).float()
        if not self.level_softmax:
            return F.cross_entropy(logits.flatten(0, 1), target_tokens.flatten())
        levels = range(target_tokens.shape[1])
        codes = torch.stack([logits[:, j, self.vocab.level_slice(j)] for j in levels], dim=1)  # [B, L, K]
        offsets = torch.tensor([self.vocab.level_offset(j) for j in levels], device=target_tokens.device)
        return F.cross_entropy(codes.flatten(0, 1), (target_tokens - offsets).flatten())

    def beam_step_fn(self, history_tokens: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """Encode once; return a stateless ``step(prefix_codes [B, n, p]) -> log P(level-p code) [B, n, K]``
        that re-reads whole prefixes (the reference for ``IncrementalBeamDecoder``)."""
        table = self.embed.table()
        history = self.encode(history_tokens, table)
        expanded: dict[int, EncodedHistory] = {}

        def step(prefix_codes: torch.Tensor) -> torch.Tensor:
            batch, n, p = prefix_codes.shape
            if n not in expanded:
                expanded[n] = history if n == 1 else history.repeat(n)
            tokens = self.vocab.tokens(prefix_codes).reshape(batch * n, p)
            hidden = self.decode(table, expanded[n], tokens)[:, -1]
            return self.level_log_probs(hidden, table, p).reshape(batch, n, -1)

        return step


class IncrementalBeamDecoder:
    """Beam-search stepper with a key/value cache (use with ``constrained_beam_search(on_select=...)``).

    Each step runs the decoder on the newest token only (``SharedCrossAttentionDecoder``): a user's
    cross-attention keys/values are computed once and shared by all of its beams, and ``select`` reorders
    the self-attention cache to the surviving beams. Gives the same log-probabilities as
    ``GenerativeRecommender.beam_step_fn``.
    """

    def __init__(self, model: GenerativeRecommender, history_tokens: torch.Tensor):
        self.model = model
        self.table = model.embed.table()
        self.history = model.encode(history_tokens, self.table)
        self.batch = history_tokens.shape[0]
        self.width = 1
        self.expanded = {1: self.history}
        self.state = SharedCrossAttentionDecoder(model.decoder, self.history.hidden, self.history.mask)

    def select(self, parents: torch.Tensor) -> None:
        """``parents`` [B, n]: which of the previous call's prefixes each new beam extends."""
        offsets = torch.arange(self.batch, device=parents.device)[:, None] * self.width
        self.state.reorder((offsets + parents).flatten())
        self.width = parents.shape[1]
        if self.width not in self.expanded:  # the composition context (eq. 13) per beam; encoder states stay per user
            self.expanded[self.width] = self.history.repeat(self.width, hidden=False)

    def __call__(self, prefix_codes: torch.Tensor) -> torch.Tensor:
        batch, n, p = prefix_codes.shape
        if p == 0:
            self.width = 1
            self.state = SharedCrossAttentionDecoder(self.model.decoder, self.history.hidden, self.history.mask)
        if n != self.width or p != self.state.length:
            raise ValueError(f"expected {self.width} prefixes of length {self.state.length} per user "
                             f"(call select first), got {n} of length {p}")
        tokens = self.model.vocab.tokens(prefix_codes).reshape(batch * n, p)
        inputs = self.model.decoder_embeddings(self.table, self.expanded[n], tokens)[:, -1:]
        return self.model.level_log_probs(self.state.step(inputs), self.table, p).reshape(batch, n, -1)
