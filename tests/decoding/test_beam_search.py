import pytest
import torch
from toy_model import K, ToyModel, random_catalogue

from pipeline_lib.decoding import SemanticIdTrie, constrained_beam_search
from pipeline_lib.decoding.reference import brute_force_topk, naive_beam_search

USERS = 5


def search(sids, model, beam_size, top_k, device="cpu"):
    trie = SemanticIdTrie.from_semantic_ids(sids, K)
    return constrained_beam_search(model, USERS, trie, beam_size, top_k, device)


@pytest.mark.parametrize("beam_size", [1, 4, 10])
def test_returns_valid_distinct_items_with_their_path_scores(beam_size):
    sids = random_catalogue(40, seed=0)
    model = ToyModel(USERS, seed=1)
    items, scores = search(sids, model, beam_size, top_k=beam_size)
    assert items.shape == scores.shape == (USERS, beam_size)
    assert items.dtype == torch.int64 and scores.dtype == torch.float32
    for u in range(USERS):
        assert ((items[u] >= 0) & (items[u] < 40)).all()
        assert len(set(items[u].tolist())) == beam_size
        assert (scores[u][:-1] >= scores[u][1:]).all()
        expected = [model.path_score(u, sids[i]) for i in items[u]]
        torch.testing.assert_close(scores[u], torch.tensor(expected))


@pytest.mark.parametrize("beam_size", [40, 64])
def test_full_beam_is_exact_top_k(beam_size):
    sids = random_catalogue(40, seed=2)
    model = ToyModel(USERS, seed=3)
    items, scores = search(sids, model, beam_size, top_k=10)
    exact_items, exact_scores = brute_force_topk(model, USERS, sids, top_k=10)
    assert items.tolist() == exact_items.tolist()
    torch.testing.assert_close(scores, exact_scores)


@pytest.mark.parametrize(("beam_size", "top_k"), [(1, 1), (3, 2), (5, 5), (12, 10), (20, 7)])
def test_matches_naive_reference(beam_size, top_k):
    sids = random_catalogue(40, seed=4)
    model = ToyModel(USERS, seed=5, temperature=0.7)
    items, scores = search(sids, model, beam_size, top_k)
    ref_items, ref_scores = naive_beam_search(model, USERS, sids, beam_size, top_k)
    assert items.tolist() == ref_items.tolist()
    torch.testing.assert_close(scores, ref_scores)


def test_small_beam_differs_from_exact_on_this_model():
    """Guards the comparison above from being vacuous: a narrow beam does miss exact top items here."""
    sids = random_catalogue(40, seed=4)
    model = ToyModel(USERS, seed=5, temperature=0.7)
    items, _ = search(sids, model, beam_size=3, top_k=3)
    exact, _ = brute_force_topk(model, USERS, sids, top_k=3)
    assert items.tolist() != exact.tolist()


def test_fewer_first_codes_than_beams():
    sids = random_catalogue(30, seed=6, first_codes=(1, 4))
    model = ToyModel(USERS, seed=7)
    items, scores = search(sids, model, beam_size=10, top_k=10)
    ref_items, ref_scores = naive_beam_search(model, USERS, sids, 10, 10)
    assert items.tolist() == ref_items.tolist()
    torch.testing.assert_close(scores, ref_scores)
    assert torch.isfinite(scores).all()


def test_fewer_items_than_top_k_are_padded():
    sids = torch.tensor([[0, 0, 0, 0], [0, 3, 1, 0], [5, 2, 2, 1]])
    model = ToyModel(USERS, seed=8)
    items, scores = search(sids, model, beam_size=8, top_k=5)
    exact_items, exact_scores = brute_force_topk(model, USERS, sids, top_k=5)
    assert items.tolist() == exact_items.tolist()
    torch.testing.assert_close(scores, exact_scores)
    assert (items[:, 3:] == -1).all() and torch.isneginf(scores[:, 3:]).all()
    assert sorted(items[0, :3].tolist()) == [0, 1, 2]


def test_step_zero_is_called_with_one_prefix_per_user():
    model = ToyModel(USERS, seed=9)
    search(random_catalogue(40, seed=0), model, beam_size=7, top_k=3)
    assert model.calls == [(USERS, 1, 0), (USERS, 7, 1), (USERS, 7, 2), (USERS, 7, 3)]


def test_ties_follow_lexicographic_id_order():
    sids = random_catalogue(40, seed=10)
    uniform = lambda prefixes: torch.zeros(*prefixes.shape[:2], K)  # noqa: E731
    trie = SemanticIdTrie.from_semantic_ids(sids, K)
    items, _ = constrained_beam_search(uniform, 2, trie, beam_size=6, top_k=6, device="cpu")
    lexicographic = sorted(range(40), key=lambda i: sids[i].tolist())[:6]
    assert items.tolist() == [lexicographic, lexicographic]
    assert naive_beam_search(uniform, 2, sids, 6, 6)[0].tolist() == items.tolist()


def test_items_the_model_rules_out_are_never_returned():
    sids = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]])

    def step_fn(prefixes):
        log_probs = torch.zeros(*prefixes.shape[:2], K)
        log_probs[..., 1] = float("-inf")  # code 1 impossible at every level: rules out items 1 and 2
        return log_probs

    trie = SemanticIdTrie.from_semantic_ids(sids, K)
    items, scores = constrained_beam_search(step_fn, 1, trie, beam_size=4, top_k=3, device="cpu")
    assert items.tolist() == [[0, -1, -1]]
    assert scores[0, 0] == 0 and torch.isneginf(scores[0, 1:]).all()


def test_runs_without_reading_device_values():
    """On the meta device any host read (``.item()``, data-dependent branching) raises."""
    sids = random_catalogue(40, seed=0)
    trie = SemanticIdTrie.from_semantic_ids(sids, K).to("meta")
    step_fn = lambda prefixes: torch.empty(*prefixes.shape[:2], K, device="meta")  # noqa: E731
    items, scores = constrained_beam_search(step_fn, USERS, trie, beam_size=50, top_k=10, device="meta")
    assert items.shape == scores.shape == (USERS, 10) and items.device.type == "meta"


def test_rejects_bad_arguments():
    trie = SemanticIdTrie.from_semantic_ids(random_catalogue(40, seed=0), K)
    model = ToyModel(USERS, seed=0)
    with pytest.raises(ValueError, match="top_k <= beam_size"):
        constrained_beam_search(model, USERS, trie, beam_size=3, top_k=4, device="cpu")
    with pytest.raises(ValueError, match=r"step_fn returned shape \(5, 1, 5\) at depth 0"):
        constrained_beam_search(lambda p: model(p)[..., :5], USERS, trie, beam_size=3, top_k=3, device="cpu")
