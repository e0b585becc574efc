"""Slow, plainly correct counterparts of the fast decoder, for tests and the decoding benchmark.

``brute_force_topk`` scores every item's full ID by teacher forcing, so it is the exact top-k that
beam search approximates (and equals once the beam holds every item). ``naive_beam_search`` is the
same beam search written the way HF ``generate`` with ``prefix_allowed_tokens_fn`` runs it: a batched
model call per step, then Python loops over users, beams and per-prefix allowed-code lists.
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import Tensor

from pipeline_lib.decoding.beam_search import StepFn


def brute_force_topk(
    step_fn: StepFn,
    batch_size: int,
    sids: Tensor,
    top_k: int,
    device: torch.device | str = "cpu",
    chunk_size: int = 4096,
) -> tuple[Tensor, Tensor]:
    """Exact top-k items per user by summed code log-probability over the whole catalogue.

    At each depth ``p`` the model sees every item's own length-``p`` prefix (in chunks of
    ``chunk_size`` items per call) and the item's code at ``p`` is looked up. Returns ``items``,
    ``scores`` ``[batch_size, top_k]`` sorted by score descending, ties to the lower item id;
    items of score ``-inf`` and slots past the catalogue are item -1 / score ``-inf``.
    """
    sids = sids.long().to(device)
    n_items, depth = sids.shape
    totals = torch.zeros(batch_size, n_items, dtype=torch.float32, device=device)
    for start in range(0, n_items, chunk_size):
        chunk = sids[start : start + chunk_size]
        for p in range(depth):
            log_probs = step_fn(chunk[:, :p].unsqueeze(0).expand(batch_size, -1, -1)).float()
            codes = chunk[:, p].expand(batch_size, -1).unsqueeze(-1)
            totals[:, start : start + len(chunk)] += log_probs.gather(2, codes).squeeze(-1)
    scores, items = totals.sort(dim=1, descending=True, stable=True)
    return _padded(items, scores, top_k)


def naive_beam_search(
    step_fn: StepFn,
    batch_size: int,
    sids: Tensor,
    beam_size: int,
    top_k: int,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor]:
    """Trie-constrained beam search with Python loops; same contract as ``constrained_beam_search``.

    Candidates are ranked by (score descending, beam rank, code), the fast decoder's tie order.
    Users with fewer live beams than others are padded in the model call with all-zero prefixes,
    whose outputs are ignored. Returns CPU tensors.
    """
    ids = [tuple(row) for row in sids.long().tolist()]
    item_of = {code: item for item, code in enumerate(ids)}
    allowed: defaultdict[tuple[int, ...], set[int]] = defaultdict(set)
    for code in ids:
        for p in range(len(code)):
            allowed[code[:p]].add(code[p])
    beams: list[list[tuple[tuple[int, ...], float]]] = [[((), 0.0)] for _ in range(batch_size)]
    for p in range(len(ids[0])):
        width = max(len(user) for user in beams)
        padded = [[prefix for prefix, _ in user] + [(0,) * p] * (width - len(user)) for user in beams]
        prefixes = torch.tensor(padded, dtype=torch.int64, device=device).reshape(batch_size, width, p)
        log_probs = step_fn(prefixes).float().cpu()
        for u, user in enumerate(beams):
            candidates = [
                (score + float(log_probs[u, j, c]), j, c)
                for j, (prefix, score) in enumerate(user)
                for c in sorted(allowed[prefix])
            ]
            finite = (cand for cand in candidates if cand[0] > float("-inf"))
            candidates = sorted(finite, key=lambda t: (-t[0], t[1], t[2]))
            beams[u] = [(user[j][0] + (c,), score) for score, j, c in candidates[:beam_size]]
    items = torch.full((batch_size, top_k), -1, dtype=torch.int64)
    scores = torch.full((batch_size, top_k), float("-inf"), dtype=torch.float32)
    for u, user in enumerate(beams):
        for rank, (code, score) in enumerate(user[:top_k]):
            items[u, rank] = item_of[code]
            scores[u, rank] = score
    return items, scores


def _padded(items: Tensor, scores: Tensor, top_k: int) -> tuple[Tensor, Tensor]:
    items, scores = items[:, :top_k], scores[:, :top_k]
    shortfall = top_k - items.shape[1]
    items = torch.cat([items, items.new_full((items.shape[0], shortfall), -1)], 1)
    scores = torch.cat([scores, scores.new_full((scores.shape[0], shortfall), float("-inf"))], 1)
    return items.masked_fill(scores == float("-inf"), -1), scores
