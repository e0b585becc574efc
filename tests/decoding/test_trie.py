import pytest
import torch
from toy_model import K, L, random_catalogue

from pipeline_lib.decoding import SemanticIdTrie

HAND = torch.tensor([[2, 0, 0, 0], [0, 1, 0, 1], [0, 2, 3, 0], [0, 1, 0, 0]])


def walk(trie, sid):
    state = torch.zeros((), dtype=torch.int64)
    for depth, code in enumerate(sid):
        state = trie.step(depth, state)[code]
    return int(state)


def test_hand_made_tables():
    trie = SemanticIdTrie.from_semantic_ids(HAND, codebook_size=4)
    assert trie.depth == 4 and trie.n_items == 4
    # prefixes numbered in lexicographic order: depth 1 (0,) (2,); depth 2 (0,1) (0,2) (2,0)
    assert trie.next_state[0].tolist() == [[0, -1, 1, -1]]
    assert trie.next_state[1].tolist() == [[-1, 0, 1, -1], [2, -1, -1, -1]]
    assert [t.shape[0] for t in trie.next_state] == [1, 2, 3, 3]
    assert trie.next_state[3].tolist() == [[3, 1, -1, -1], [2, -1, -1, -1], [0, -1, -1, -1]]
    assert trie.next_state[0].dtype == torch.int32


def test_valid_masks_per_depth():
    trie = SemanticIdTrie.from_semantic_ids(HAND, codebook_size=4)
    root = torch.zeros(1, dtype=torch.int64)
    assert trie.valid_mask(0, root).tolist() == [[True, False, True, False]]
    t, f = True, False
    assert trie.valid_mask(1, torch.tensor([0, 1])).tolist() == [[f, t, t, f], [t, f, f, f]]
    assert trie.valid_mask(2, torch.tensor([[1, 2]])).tolist() == [[[f, f, f, t], [t, f, f, f]]]


def test_dead_state_has_no_children():
    trie = SemanticIdTrie.from_semantic_ids(HAND, codebook_size=4)
    assert not trie.valid_mask(1, torch.tensor([-1])).any()
    assert trie.step(3, torch.tensor([[-1, 0]])).tolist() == [[[-1] * 4, [3, 1, -1, -1]]]


def test_leaves_are_item_ids_and_other_paths_are_invalid():
    sids = random_catalogue(40, seed=3)
    trie = SemanticIdTrie.from_semantic_ids(sids, K)
    assert [walk(trie, sid) for sid in sids] == list(range(40))
    known = {tuple(s) for s in sids.tolist()}
    outside = [s for s in torch.cartesian_prod(*[torch.arange(K)] * L) if tuple(s.tolist()) not in known]
    for sid in outside[:50]:
        state = torch.zeros((), dtype=torch.int64)
        for depth, code in enumerate(sid):
            state = trie.step(depth, state)[code]
        assert int(state) == -1


def test_to_device_keeps_tables():
    trie = SemanticIdTrie.from_semantic_ids(HAND, codebook_size=4)
    moved = trie.to("meta")
    assert moved.device == torch.device("meta") and trie.device == torch.device("cpu")
    assert [t.shape for t in moved.next_state] == [t.shape for t in trie.next_state]


@pytest.mark.parametrize(
    ("sids", "size", "message"),
    [
        (torch.tensor([[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0]]), 4, r"items \[1, 2\] share the ID \(0, 1, 0, 0\)"),
        (torch.tensor([[0, 1, 0, 0], [0, 4, 0, 0]]), 4, r"item 1 has code 4 at level 1, outside 0..3"),
        (torch.tensor([[0, 1, -1, 0]]), 4, r"item 0 has code -1 at level 2"),
        (torch.tensor([[0.0, 1.0]]), 4, "integer codes"),
        (torch.tensor([0, 1, 2]), 4, r"\[n_items, L\]"),
        (torch.zeros(0, 4, dtype=torch.int64), 4, r"\[n_items, L\]"),
        (torch.tensor([[0, 1]]), 0, "codebook_size must be positive"),
    ],
)
def test_bad_input(sids, size, message):
    with pytest.raises(ValueError, match=message):
        SemanticIdTrie.from_semantic_ids(sids, size)
