"""Prefix trie over the catalogue's semantic IDs, stored as dense per-depth transition tables.

Constrained decoding needs, for every live beam, the set of codes that keep its prefix a prefix
of some item's ID. Holding the trie as one ``[n_prefixes_at_depth, K]`` table per depth makes
that a single gather on the device for all users and beams at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class SemanticIdTrie:
    """Transition tables of the prefix trie of ``n_items`` semantic IDs of length ``L``.

    ``next_state[p]`` has shape ``[n_prefixes_at_depth_p, K]`` (int32). Row ``s`` is the ``s``-th
    distinct length-``p`` prefix in lexicographic order (depth 0: the single empty prefix, state 0);
    entry ``c`` is the state of the prefix extended by code ``c`` at depth ``p + 1``, or -1 when no
    item's ID continues that way. At the last depth (``p = L - 1``) the entry is the item id.
    """

    next_state: tuple[Tensor, ...]
    codebook_size: int
    n_items: int

    @classmethod
    def from_semantic_ids(cls, sids: Tensor, codebook_size: int) -> SemanticIdTrie:
        """Build from ``sids`` ``[n_items, L]`` (row i = item id i), every code in ``0..codebook_size-1``.

        Raises ``ValueError`` on an empty or non-2-D input, a non-integer dtype, a code out of range,
        or two items sharing one ID.
        """
        sids = _validated(sids, codebook_size)
        n_items, depth = sids.shape
        order = torch.arange(n_items, device=sids.device)
        for level in reversed(range(depth)):
            order = order[sids[order, level].sort(stable=True).indices]
        ordered = sids[order]
        # new_prefix[i, p]: sorted row i starts a new length-(p+1) prefix; numbering them gives states
        new_prefix = torch.ones(n_items, depth, dtype=torch.int64, device=sids.device)
        new_prefix[1:] = (ordered[1:] != ordered[:-1]).long().cummax(dim=1).values
        _reject_duplicates(sids, ordered, new_prefix[:, -1])
        prefix_index = new_prefix.cumsum(dim=0) - 1
        parent = torch.zeros(n_items, dtype=torch.int64, device=sids.device)
        tables = []
        for p in range(depth):
            child = prefix_index[:, p] if p + 1 < depth else order
            table = torch.full((int(parent[-1]) + 1, codebook_size), -1, dtype=torch.int32, device=sids.device)
            table[parent, ordered[:, p]] = child.to(torch.int32)
            tables.append(table)
            parent = child
        return cls(tuple(tables), codebook_size, n_items)

    @property
    def depth(self) -> int:
        """``L``, the number of codes in an ID."""
        return len(self.next_state)

    @property
    def device(self) -> torch.device:
        return self.next_state[0].device

    def to(self, device: torch.device | str) -> SemanticIdTrie:
        """The same trie with its tables on ``device``."""
        return SemanticIdTrie(tuple(t.to(device) for t in self.next_state), self.codebook_size, self.n_items)

    def step(self, depth: int, states: Tensor) -> Tensor:
        """Child states ``[..., K]`` (int64) of ``states`` (any shape) at ``depth``; -1 = invalid.

        A state of -1 (a dead beam) has no children. At ``depth = L - 1`` the children are item ids.
        """
        children = self.next_state[depth][states.clamp(min=0)].long()
        return children.masked_fill(states.unsqueeze(-1) < 0, -1)

    def valid_mask(self, depth: int, states: Tensor) -> Tensor:
        """``[..., K]`` bool: which codes continue each prefix state at ``depth`` to some item's ID."""
        return self.step(depth, states) >= 0


def _validated(sids: Tensor, codebook_size: int) -> Tensor:
    if codebook_size < 1:
        raise ValueError(f"codebook_size must be positive, got {codebook_size}")
    if sids.dim() != 2 or sids.shape[0] == 0 or sids.shape[1] == 0:
        raise ValueError(f"semantic IDs must be a non-empty [n_items, L] tensor, got shape {tuple(sids.shape)}")
    if sids.dtype.is_floating_point or sids.dtype.is_complex or sids.dtype == torch.bool:
        raise ValueError(f"semantic IDs must be integer codes, got dtype {sids.dtype}")
    sids = sids.long()
    bad = ((sids < 0) | (sids >= codebook_size)).nonzero()
    if len(bad):
        item, level = bad[0].tolist()
        raise ValueError(
            f"item {item} has code {int(sids[item, level])} at level {level}, outside 0..{codebook_size - 1} "
            f"({len(bad)} codes out of range)"
        )
    return sids


def _reject_duplicates(sids: Tensor, ordered: Tensor, new_id: Tensor) -> None:
    """``ordered`` = ``sids`` rows in lexicographic order; ``new_id[i]`` = 1 where row i differs from row i-1."""
    repeats = (new_id == 0).nonzero().flatten()
    if len(repeats):
        shared = ordered[repeats[0]]
        group = (sids == shared).all(dim=1).nonzero().flatten().tolist()
        raise ValueError(
            f"items {group} share the ID {tuple(shared.tolist())} "
            f"({len(repeats)} items repeat an earlier item's ID); IDs must be unique"
        )
