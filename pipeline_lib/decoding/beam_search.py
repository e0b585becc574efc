"""Trie-constrained beam search over semantic IDs, batched over users and beams on the device.

Each step is a fixed sequence of tensor ops on ``[B, beam, K]`` arrays: no per-user or per-beam
Python loops and no host synchronisation, so a CUDA evaluation runs without stalls. The only Python
loop is over the ``L`` code levels.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline_lib.decoding.trie import SemanticIdTrie

StepFn = Callable[[Tensor], Tensor]
"""``prefix_codes [B, n, p] (int64) -> [B, n, K]`` log-probabilities of the level-``p`` code."""


def constrained_beam_search(
    step_fn: StepFn,
    batch_size: int,
    trie: SemanticIdTrie,
    beam_size: int,
    top_k: int,
    device: torch.device | str,
    on_select: Callable[[Tensor], None] | None = None,
) -> tuple[Tensor, Tensor]:
    """Best ``top_k`` items per user by summed code log-probability, among valid IDs only.

    Standard beam search: at depth ``p`` every live beam is extended by every code, codes that
    leave the trie are scored ``-inf``, and the best ``beam_size`` of the ``n × K`` candidates per
    user survive. Step 0 calls ``step_fn`` once per user with one empty prefix (``n = 1``); later
    steps with ``n = beam_size``. When fewer valid prefixes exist than beams, the surplus beams
    carry ``-inf`` and never yield an item.

    Returns ``items`` (int64) and ``scores`` (float32), both ``[batch_size, top_k]``, sorted by
    score descending; ties go to the candidate that comes first in (beam rank, code) order. Slots
    without a valid item (fewer than ``top_k`` items reachable with finite score) hold item -1 and
    score ``-inf``. Items within a row are distinct, since distinct code paths end in distinct leaves.
    """
    if not 1 <= top_k <= beam_size:
        raise ValueError(f"need 1 <= top_k <= beam_size, got top_k={top_k}, beam_size={beam_size}")
    trie = trie.to(device)
    codebook_size = trie.codebook_size
    prefixes = torch.zeros(batch_size, 1, 0, dtype=torch.int64, device=device)
    states = torch.zeros(batch_size, 1, dtype=torch.int64, device=device)
    scores = torch.zeros(batch_size, 1, dtype=torch.float32, device=device)
    for depth in range(trie.depth):
        log_probs = step_fn(prefixes)
        expected = (batch_size, prefixes.shape[1], codebook_size)
        if tuple(log_probs.shape) != expected:
            raise ValueError(f"step_fn returned shape {tuple(log_probs.shape)} at depth {depth}, expected {expected}")
        children = trie.step(depth, states)
        candidates = (scores.unsqueeze(-1) + log_probs.float()).masked_fill(children < 0, float("-inf"))
        candidates, children = candidates.flatten(1), children.flatten(1)
        shortfall = beam_size - candidates.shape[1]
        if shortfall > 0:
            candidates = F.pad(candidates, (0, shortfall), value=float("-inf"))
            children = F.pad(children, (0, shortfall), value=-1)
        scores, order = candidates.sort(dim=1, descending=True, stable=True)
        scores, order = scores[:, :beam_size], order[:, :beam_size]
        states = children.gather(1, order)
        # the padding candidates (only at depth 0, when K < beam_size) would point past the last beam
        parents = (order // codebook_size).clamp(max=prefixes.shape[1] - 1)
        kept = prefixes.gather(1, parents.unsqueeze(-1).expand(-1, -1, depth))
        prefixes = torch.cat([kept, (order % codebook_size).unsqueeze(-1)], dim=2)
        if on_select is not None and depth + 1 < trie.depth:
            on_select(parents)
    items = states.masked_fill(scores == float("-inf"), -1)
    return items[:, :top_k], scores[:, :top_k]
