import torch
from toy_model import ToyModel, random_catalogue

from pipeline_lib.decoding.reference import brute_force_topk, naive_beam_search

USERS = 3


def test_brute_force_ranks_every_path_score():
    sids = random_catalogue(25, seed=11)
    model = ToyModel(USERS, seed=12)
    items, scores = brute_force_topk(model, USERS, sids, top_k=25, chunk_size=7)
    for u in range(USERS):
        paths = torch.tensor([model.path_score(u, sid) for sid in sids])
        assert items[u].tolist() == paths.argsort(descending=True).tolist()
        torch.testing.assert_close(scores[u], paths[items[u]])


def test_brute_force_pads_past_the_catalogue():
    sids = random_catalogue(4, seed=13)
    items, scores = brute_force_topk(ToyModel(USERS, seed=14), USERS, sids, top_k=6)
    assert (items[:, 4:] == -1).all() and torch.isneginf(scores[:, 4:]).all()
    assert sorted(items[0, :4].tolist()) == [0, 1, 2, 3]


def test_naive_beam_of_one_is_greedy():
    sids = random_catalogue(25, seed=15)
    model = ToyModel(USERS, seed=16)
    items, _ = naive_beam_search(model, USERS, sids, beam_size=1, top_k=1)
    for u in range(USERS):
        prefix: list[int] = []
        for p in range(sids.shape[1]):
            allowed = {tuple(s[: p + 1]) for s in sids.tolist() if s[:p] == prefix}
            log_probs = model(torch.tensor(prefix, dtype=torch.int64).view(1, 1, p).expand(USERS, 1, p))[u, 0]
            prefix.append(max((code[-1] for code in allowed), key=lambda c: float(log_probs[c])))
        assert sids[items[u, 0]].tolist() == prefix
