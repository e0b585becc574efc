import pandas as pd
import pytest
import torch

from pipeline_lib.data.samples import evaluation_samples, prefix_samples
from pipeline_lib.io import read_tensors
from pipeline_lib.metrics import ranking_metrics
from pipeline_lib.models.bert4rec import BERT4Rec
from pipeline_lib.models.caser import Caser
from pipeline_lib.models.config import BERT4RecConfig, CaserConfig, GRU4RecConfig, SASRecConfig
from pipeline_lib.models.gru4rec import GRU4Rec
from pipeline_lib.models.sasrec import SASRec
from pipeline_lib.training.config import BaselineConfig
from pipeline_lib.training.sequential import (
    item_scores,
    rank_sequential,
    sample_negatives,
    save_item_embeddings,
    sequential_loss,
    train_sequential,
    training_objective,
)

N_ITEMS = 20


def successor_frames(n_users: int = 60, length: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Item i is always followed by item i + 1 (mod N_ITEMS); the held-out target continues the run."""
    g = torch.Generator().manual_seed(1)
    starts = torch.randint(0, N_ITEMS, (n_users,), generator=g).tolist()
    runs = [[(s + j) % N_ITEMS for j in range(length + 1)] for s in starts]
    train = pd.DataFrame({"user_id": range(n_users), "item_ids": [r[:-1] for r in runs]})
    held_out = pd.DataFrame(
        {"user_id": range(n_users), "history": [r[:-1] for r in runs], "target": [r[-1] for r in runs]}
    )
    return train, held_out


def models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "sasrec": SASRec(SASRecConfig(n_items=N_ITEMS, max_len=5, dim=16, heads=2, ffn_dim=16, dropout=0.0)),
        "gru4rec": GRU4Rec(GRU4RecConfig(n_items=N_ITEMS, embedding_dim=16, hidden_size=16, dropout=0.0)),
        "bert4rec": BERT4Rec(BERT4RecConfig(n_items=N_ITEMS, max_len=5, dim=16, ffn_dim=32, dropout=0.0)),
        "caser": Caser(CaserConfig(n_items=N_ITEMS, dim=16, L=3, n_h=4, n_v=2, dropout=0.0)),
    }


@pytest.mark.parametrize("loss", ["ce", "bce"])
@pytest.mark.parametrize("name", ["sasrec", "gru4rec"])
def test_both_losses_decrease(name, loss):
    model = models()[name].train()
    samples = prefix_samples(successor_frames()[0], max_len=5)
    negatives = sample_negatives(samples.targets, N_ITEMS, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        value = sequential_loss(model, samples.histories, samples.targets, loss, negatives)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        losses.append(value.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bce_is_the_sasrec_objective():
    model = models()["sasrec"].eval()
    h, pos, neg = torch.tensor([[-1, 1, 2], [3, 4, 5]]), torch.tensor([3, 6]), torch.tensor([9, 0])
    rep, table = model(h), model.item_embeddings()
    s_pos, s_neg = (rep * table[pos]).sum(1), (rep * table[neg]).sum(1)
    expected = -(torch.sigmoid(s_pos).log() + (1 - torch.sigmoid(s_neg)).log()).mean()
    torch.testing.assert_close(sequential_loss(model, h, pos, "bce", neg), expected)
    softmax_ce = torch.nn.functional.cross_entropy(rep @ table.T, pos)
    torch.testing.assert_close(sequential_loss(model, h, pos, "ce"), softmax_ce)
    with pytest.raises(ValueError, match="negative"):
        sequential_loss(model, h, pos, "bce")


@pytest.mark.parametrize("name", ["sasrec", "gru4rec"])
def test_models_without_hooks_keep_the_plain_losses_exactly(name):
    """No ``output_bias``, no ``training_loss``: the ce / bce values are the pre-hook formulas bit for bit."""
    model = models()[name].eval()
    h, pos, neg = torch.tensor([[-1, 1, 2, 3, 4], [3, 4, 5, 6, 7]]), torch.tensor([3, 6]), torch.tensor([9, 0])
    assert not hasattr(model, "output_bias") and training_objective(model, "bce") == "bce"
    rep, table = model(h), model.item_embeddings()
    assert torch.equal(item_scores(model, h), rep @ table.T)
    assert torch.equal(sequential_loss(model, h, pos, "ce"), torch.nn.functional.cross_entropy(rep @ table.T, pos))
    s_pos, s_neg = (rep * table[pos]).sum(dim=-1), (rep * table[neg]).sum(dim=-1)
    bce = (torch.nn.functional.softplus(-s_pos) + torch.nn.functional.softplus(s_neg)).mean()
    assert torch.equal(sequential_loss(model, h, pos, "bce", neg), bce)


def test_negatives_are_uniform_over_the_other_items():
    targets = torch.full((20_000,), 7)
    negatives = sample_negatives(targets, N_ITEMS, torch.Generator().manual_seed(0))
    counts = torch.bincount(negatives, minlength=N_ITEMS)
    assert counts[7] == 0 and (counts[counts > 0] > 900).all() and (counts > 0).sum() == N_ITEMS - 1
    again = sample_negatives(targets, N_ITEMS, torch.Generator().manual_seed(0))
    assert torch.equal(negatives, again)


@pytest.mark.parametrize("name", ["sasrec", "gru4rec", "bert4rec", "caser"])
def test_ranking_is_topk_of_full_scores_and_exclude_history_masks(name):
    model = models()[name]
    h = torch.tensor([[-1, -1, 1, 2, 3], [4, 5, 6, 7, 8], [-1, -1, -1, -1, 19]])
    scores = item_scores(model.eval(), h)
    ranked = rank_sequential(model, h, top_k=N_ITEMS, batch_size=2)
    assert torch.equal(ranked, scores.topk(N_ITEMS, dim=1).indices)
    kept = rank_sequential(model, h, top_k=N_ITEMS - 5, batch_size=2, exclude_history=True)
    for row, history in enumerate([{1, 2, 3}, {4, 5, 6, 7, 8}, {19}]):
        assert not history & set(kept[row].tolist())
    assert set(kept[1].tolist()) == set(range(N_ITEMS)) - {4, 5, 6, 7, 8}  # every other item still ranked
    masked = scores.clone()
    masked[0, [1, 2, 3]] = float("-inf")
    assert torch.equal(kept[0], masked[0].topk(N_ITEMS - 5).indices)
    with pytest.raises(ValueError, match="top_k"):
        rank_sequential(model, h, top_k=N_ITEMS + 1, batch_size=2)


@pytest.mark.parametrize("name", ["sasrec", "gru4rec", "bert4rec", "caser"])
def test_training_learns_the_successor_task(name, tmp_path):
    train, held_out = successor_frames()
    model = models()[name]
    valid = evaluation_samples(held_out, 5)
    epochs = 20 if name == "bert4rec" else 8  # the cloze task from RecBole's N(0, 0.02) init: 0.81 at epoch 16
    optim = BaselineConfig(batch_size=32, lr=1e-2, max_epochs=epochs, patience=epochs)
    train_samples = prefix_samples(train, 5)
    result = train_sequential(model, train_samples, valid, optim, (5, 10), 0, tmp_path / "ckpt", "run",
                              tmp_path / "c.tsv")
    model.load_state_dict(result.best_weights["model"])
    ranked = rank_sequential(model, valid.histories, 10, 64)
    assert ranking_metrics(ranked, valid.targets, (10,))["recall@10"] > 0.9
    assert result.best_metrics["ndcg@10"] > 0.8 and (tmp_path / "c.tsv").is_file()


def test_training_is_deterministic_for_a_seed(tmp_path):
    train, held_out = successor_frames(n_users=20)
    optim = BaselineConfig(batch_size=16, max_epochs=2, patience=2, loss="bce")
    weights = []
    for run in range(2):
        torch.manual_seed(0)
        model = SASRec(SASRecConfig(n_items=N_ITEMS, max_len=5, dim=16, ffn_dim=16, dropout=0.3))  # dropout draws too
        result = train_sequential(model, prefix_samples(train, 5), evaluation_samples(held_out, 5), optim, (10,), 3,
                                  tmp_path / f"ckpt{run}", "run", None)
        weights.append(result.best_weights["model"])
    for key, value in weights[0].items():
        assert torch.equal(value, weights[1][key]), key


def test_item_embeddings_file(tmp_path):
    model = SASRec(SASRecConfig(n_items=N_ITEMS, max_len=5))
    save_item_embeddings(tmp_path / "emb.safetensors", model)
    saved = read_tensors(tmp_path / "emb.safetensors")
    assert list(saved) == ["embeddings"] and saved["embeddings"].shape == (N_ITEMS, 256)
    torch.testing.assert_close(saved["embeddings"], model.item_embedding.weight[:N_ITEMS].detach())


def test_config_rejects_an_unknown_loss():
    with pytest.raises(ValueError, match="loss"):
        BaselineConfig(loss="bpr")
