"""Full-ranking evaluation of the generative recommender: batched trie-constrained beam search."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from pipeline_lib.data.samples import Samples, history_lengths
from pipeline_lib.decoding.beam_search import constrained_beam_search
from pipeline_lib.decoding.hf_generate import TrieConstraint, hf_generate_items
from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.device import autocast
from pipeline_lib.distributed import Distributed
from pipeline_lib.metrics import ranking_metrics
from pipeline_lib.models.composition_stats import CompositionStatsAccumulator
from pipeline_lib.models.generative import GenerativeRecommender, IncrementalBeamDecoder
from pipeline_lib.models.hf_t5 import HFTiger
from pipeline_lib.protocol import DecodeConfig
from pipeline_lib.tokenizer.semantic_ids import utilization
from pipeline_lib.tokenizer.vocab import history_tokens


@torch.no_grad()
def rank_generative(
    model: GenerativeRecommender | HFTiger,
    histories: torch.Tensor,
    item_tokens: torch.Tensor,
    trie: SemanticIdTrie,
    decode: DecodeConfig,
    bf16: bool,
    dist: Distributed | None = None,
) -> torch.Tensor:
    """Top-``max(ks)`` items [U, k] for each history row [U, max_len], over the whole catalogue.

    Users are batched in order of history length so each batch drops its all-padding columns.
    With ``dist`` over several processes, rank r decodes batches r, r + N, r + 2N, … (the very
    batches a single process decodes, so each user's list is the same) and every rank receives
    all users' lists. An :class:`HFTiger` decodes each batch by Hugging Face's constrained ``generate``.
    """
    model.eval()
    constraint = TrieConstraint.from_trie(trie) if isinstance(model, HFTiger) else None
    device = item_tokens.device
    rank, world = (0, 1) if dist is None else (dist.rank, dist.world_size)
    lengths = history_lengths(histories)
    batches = torch.sort(lengths, stable=True).indices.split(decode.batch_size)
    ranked = [torch.empty(0, decode.top_k, dtype=torch.int64, device=device)]
    for index in tqdm(batches[rank::world], desc="beam search", leave=False, disable=rank > 0):
        width = max(int(lengths[index].max()), 1)
        tokens = history_tokens(item_tokens, histories[index.to(device), -width:])
        with autocast(device, bf16):
            if constraint is not None:
                items = hf_generate_items(model.t5, tokens, constraint, decode.beam_size, decode.top_k)
            else:
                stepper = IncrementalBeamDecoder(model, tokens)
                items, _ = constrained_beam_search(
                    stepper, tokens.shape[0], trie, decode.beam_size, decode.top_k, device, on_select=stepper.select
                )
        ranked.append(items)
    mine = torch.cat(ranked)
    if dist is not None:
        mine = dist.gather_rows(mine, [sum(len(index) for index in batches[r::world]) for r in range(world)])
    users = torch.cat([lengths.new_empty(0)] + [index for r in range(world) for index in batches[r::world]])
    out = torch.empty_like(mine)
    out[users.to(device)] = mine
    return out


@torch.no_grad()
def composition_diagnostics(
    model: GenerativeRecommender, histories: torch.Tensor, targets: torch.Tensor, item_tokens: torch.Tensor, batch_size: int
) -> dict[str, dict[str, float]]:
    """Per composition site (``bos`` with BOS queries, ``layer_1..`` = decoder inputs y_0, y_1, …), the
    ``CompositionStatsAccumulator`` statistics of eq. 16 over the teacher-forced contexts of
    ``histories`` [U, max_len] (item ids, −1 padding) and ``targets`` [U] (float32, eval mode)."""
    model.eval()
    stats: dict[str, CompositionStatsAccumulator] = {}
    for hist, target in zip(histories.split(batch_size), targets.split(batch_size)):
        terms = model.composition_terms(history_tokens(item_tokens, hist), item_tokens[target])
        for site, (u, query, logits) in terms.items():
            stats.setdefault(site, CompositionStatsAccumulator(logits.shape[-1])).update(logits.float(), u, query)
    return {site: acc.result() for site, acc in stats.items()}


def flat_diagnostics(diagnostics: dict[str, dict[str, float]], prefix: str = "comp") -> dict[str, float]:
    """``{"layer_1": {"entropy": …}}`` → ``{"comp_layer_1_entropy": …}``: curve-TSV columns."""
    return {f"{prefix}_{site}_{key}": value for site, values in diagnostics.items() for key, value in values.items()}


@torch.no_grad()
def mean_context(
    model: GenerativeRecommender, histories: torch.Tensor, targets: torch.Tensor, item_tokens: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """ū [L, d]: the mean over users of the teacher-forced pooled context u (eq. 13) of each decoder position
    [BOS, y_0 … y_{L-2}] — the constant context of the context ablation (``set_context_override``)."""
    model.eval()
    total, count = None, 0
    for hist, target in zip(histories.split(batch_size), targets.split(batch_size)):
        u = model.raw_contexts(history_tokens(item_tokens, hist), item_tokens[target]).double()
        total = u.sum(dim=0) if total is None else total + u.sum(dim=0)
        count += u.shape[0]
    return (total / count).float()


def rank_constant_context(
    model: GenerativeRecommender,
    histories: torch.Tensor,
    targets: torch.Tensor,
    item_tokens: torch.Tensor,
    trie: SemanticIdTrie,
    decode: DecodeConfig,
    bf16: bool,
    dist: Distributed | None = None,
) -> torch.Tensor:
    """The context ablation: ``rank_generative`` with every user's composition context u replaced by
    ``mean_context`` over these (teacher-forced) users, per decoder position — composition made
    constant, everything else as trained. Call it on every rank; the override is removed afterwards."""
    model.composition.set_context_override(mean_context(model, histories, targets, item_tokens, decode.batch_size))
    try:
        return rank_generative(model, histories, item_tokens, trie, decode, bf16, dist)
    finally:
        model.composition.set_context_override(None)


def composition_report(
    model: GenerativeRecommender,
    ranked: torch.Tensor,
    constant: torch.Tensor,
    histories: torch.Tensor,
    targets: torch.Tensor,
    item_tokens: torch.Tensor,
    decode: DecodeConfig,
) -> dict[str, dict]:
    """The eval JSON's composition keys: ``composition`` (``composition_diagnostics`` of the test contexts),
    ``test_constant_context`` (metrics of ``constant`` = ``rank_constant_context``'s lists) and
    ``constant_context_gap`` (metrics of ``ranked`` − those, per metric)."""
    metrics = ranking_metrics(ranked, targets, decode.ks)
    constant_metrics = ranking_metrics(constant, targets, decode.ks)
    return {
        "composition": composition_diagnostics(model, histories, targets, item_tokens, decode.batch_size),
        "test_constant_context": constant_metrics,
        "constant_context_gap": {k: metrics[k] - constant_metrics[k] for k in metrics},
    }


@torch.no_grad()
def composition_utilization(
    model: GenerativeRecommender, histories: torch.Tensor, targets: torch.Tensor, item_tokens: torch.Tensor, batch_size: int
) -> list[float]:
    """DECOR Table 3: per codebook layer, the share of its K codes that get an above-uniform (> 1/K)
    composition weight (eq. 16) in at least one context — the teacher-forced test contexts."""
    model.eval()
    levels = model.config.levels - 1
    active = torch.zeros(levels, model.config.codebook_size, dtype=torch.bool, device=item_tokens.device)
    for hist, target in zip(histories.split(batch_size), targets.split(batch_size)):
        weights = model.composition_weights(history_tokens(item_tokens, hist), item_tokens[target])
        active |= (weights > 1.0 / model.config.codebook_size).any(dim=0)
    return active.float().mean(dim=1).tolist()


def evaluate_generative(
    model: GenerativeRecommender | HFTiger,
    test: Samples,
    item_tokens: torch.Tensor,
    trie: SemanticIdTrie,
    sids: torch.Tensor,
    decode: DecodeConfig,
    bf16: bool,
    dist: Distributed | None = None,
) -> tuple[torch.Tensor, dict]:
    """Test-split evaluation of a trained variant: the top-``max(ks)`` lists [U, k] of ``rank_generative``
    and the eval JSON's measured keys — ``test`` (Recall/NDCG@k), ``utilization`` (DECOR Table 3: per layer,
    the composition utilization of a variant with composition, else the share of codes the semantic IDs
    ``sids`` [n_items, L+1] use) and, with composition, ``composition_report``'s keys (the context ablation).

    Call it on every rank: each decodes its shard and every rank receives all users' lists.
    """
    ranked = rank_generative(model, test.histories, item_tokens, trie, decode, bf16, dist)
    report: dict = {"test": ranking_metrics(ranked, test.targets, decode.ks)}
    if model.composition is None:
        layers = utilization(sids[:, :-1], model.config.codebook_size)
    else:  # the context ablation: every rank decodes with the same constant u
        contexts = (test.histories, test.targets, item_tokens)
        constant = rank_constant_context(model, *contexts, trie, decode, bf16, dist)
        layers = composition_utilization(model, *contexts, decode.batch_size)
        report |= composition_report(model, ranked, constant, *contexts, decode)
    report["utilization"] = {f"layer_{i + 1}": share for i, share in enumerate(layers)}
    return ranked, report
