import pytest
import torch

from pipeline_lib.models.caser import Caser
from pipeline_lib.models.config import CaserConfig
from pipeline_lib.training.sequential import item_scores, sequential_loss

N_ITEMS = 30


def model(**kw) -> Caser:
    torch.manual_seed(0)
    values = {"n_items": N_ITEMS, "dim": 12, "L": 3, "n_h": 4, "n_v": 2, "dropout": 0.0, **kw}
    return Caser(CaserConfig(**values)).eval()


def histories() -> torch.Tensor:
    return torch.tensor([[-1, -1, -1, 3, 7, 1], [4, 5, 6, 7, 8, 9], [-1, -1, -1, -1, -1, 29]])


def test_shapes_and_scores_with_the_output_table_and_bias():
    m = model()
    with torch.no_grad():
        m.output_bias.copy_(torch.arange(N_ITEMS, dtype=torch.float))
    assert m(histories()).shape == (3, 12)
    assert m.item_embeddings().shape == (N_ITEMS, 12)
    assert m.item_embeddings().data_ptr() == m.output_embedding.weight.data_ptr()
    expected = m(histories()) @ m.output_embedding.weight.T + torch.arange(N_ITEMS)
    torch.testing.assert_close(item_scores(m, histories()), expected)
    assert len(m.horizontal) == 3 and m.fc.in_features == 3 * 4 + 2 * 12


def test_only_the_last_L_items_matter():
    m = model()
    h = histories()
    older = h.clone()
    older[:, :3] = torch.tensor([[11, 12, 13], [14, 15, 16], [17, 18, 19]])
    torch.testing.assert_close(m(older), m(h))
    recent = h.clone()
    recent[:, 3] = 20
    assert not torch.allclose(m(recent), m(h))


def test_padding_and_short_inputs():
    m = model()
    h = histories()
    torch.testing.assert_close(m(torch.cat([torch.full((3, 4), -1), h], dim=1)), m(h))
    torch.testing.assert_close(m(torch.tensor([[29]])), m(h[2:]))  # narrower than L: left-padded
    assert torch.isfinite(m(torch.full((1, 4), -1))).all()


def test_order_matters():
    m = model()
    assert not torch.allclose(m(torch.tensor([[3, 7, 1]])), m(torch.tensor([[7, 3, 1]])))


def test_padding_row_is_zero_and_gets_no_gradient():
    m = model().train()
    item_scores(m, histories()).sum().backward()
    assert m.item_embedding.weight[N_ITEMS].abs().sum() == 0
    assert m.item_embedding.weight.grad[N_ITEMS].abs().sum() == 0


def test_ce_loss_decreases_on_a_successor_task():
    m = model(dim=16, L=2).train()
    starts = torch.randint(0, N_ITEMS, (64,), generator=torch.Generator().manual_seed(2))
    runs = (starts[:, None] + torch.arange(5)) % N_ITEMS
    h, targets = runs[:, :-1], runs[:, -1]
    optimizer = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = sequential_loss(m, h, targets, "ce")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bce_includes_the_output_bias():
    m = model()
    with torch.no_grad():
        m.output_bias.normal_()
    h, pos, neg = histories(), torch.tensor([3, 6, 0]), torch.tensor([9, 0, 1])
    scores = item_scores(m, h)
    s_pos, s_neg = scores[torch.arange(3), pos], scores[torch.arange(3), neg]
    expected = -(torch.sigmoid(s_pos).log() + (1 - torch.sigmoid(s_neg)).log()).mean()
    torch.testing.assert_close(sequential_loss(m, h, pos, "bce", neg), expected)


def test_bad_config():
    with pytest.raises(ValueError, match="L must be >= 1"):
        CaserConfig(n_items=4, L=0)
    with pytest.raises(ValueError, match="dropout"):
        CaserConfig(n_items=4, dropout=1.0)


def test_audited_default_filters():
    """The authors' window and filters (L 5, n_h 16, n_v 4); n_v 4 is also the paper's and RecBole's."""
    config = CaserConfig(n_items=5)
    assert (config.L, config.n_h, config.n_v, config.dropout) == (5, 16, 4, 0.4)
