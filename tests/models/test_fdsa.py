import pytest
import torch

from pipeline_lib.models.config import FDSAConfig
from pipeline_lib.models.fdsa import FDSA
from pipeline_lib.training.sequential import sequential_loss

N_ITEMS, N_ATTRIBUTES = 30, 6


def attributes() -> torch.Tensor:
    """Item i has attributes 1 + i % 6 and, for even i, 1 + (i // 2) % 6; item 29 has none."""
    table = torch.zeros(N_ITEMS, 2, dtype=torch.long)
    table[:, 0] = 1 + torch.arange(N_ITEMS) % N_ATTRIBUTES
    table[::2, 1] = 1 + (torch.arange(0, N_ITEMS, 2) // 2) % N_ATTRIBUTES
    table[29] = 0
    return table


def model(**kw) -> FDSA:
    torch.manual_seed(0)
    values = {"n_items": N_ITEMS, "max_len": 8, "n_attributes": N_ATTRIBUTES, "dim": 16, "ffn_dim": 24,
              "dropout": 0.0, **kw}
    return FDSA(FDSAConfig(**values), attributes()).eval()


def histories() -> torch.Tensor:
    return torch.tensor([[-1, -1, -1, 3, 7, 1], [4, 5, 6, 7, 8, 9], [-1, -1, -1, -1, -1, 29]])


def test_shapes_and_tied_item_table():
    m = model()
    assert m.encode(histories()).shape == (3, 6, 16)
    assert m(histories()).shape == (3, 16)
    assert m.item_embeddings().shape == (N_ITEMS, 16)
    assert m.item_embeddings().data_ptr() == m.item_embedding.weight.data_ptr()
    assert torch.isfinite(m.encode(histories())).all()  # item 29 (no attributes) and padding included


def test_features_attend_over_real_attributes_only():
    m = model()
    assert torch.equal(m.item_features(torch.tensor([29, N_ITEMS])), torch.zeros(2, 16))  # no attributes, padding
    one = m.item_features(torch.tensor([1]))  # a single attribute: weight 1
    torch.testing.assert_close(one, m.attribute_embedding.weight[2][None])


def test_causal_later_items_do_not_change_earlier_positions():
    m = model()
    h = histories()
    changed = h.clone()
    changed[:, 4:] = torch.tensor([[11, 12], [13, 14], [15, 16]])
    before, after = m.encode(h), m.encode(changed)
    real = h[:, :4] >= 0
    torch.testing.assert_close(after[:, :4][real], before[:, :4][real])
    assert not torch.allclose(after[:, 4:], before[:, 4:])


def test_left_padding_is_ignored():
    m = model()
    h = histories()
    wider = torch.cat([torch.full((3, 2), -1), h], dim=1)
    torch.testing.assert_close(m(wider), m(h), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(m(torch.tensor([[3, 7, 1]]))[0], m(h)[0], atol=1e-5, rtol=1e-5)


def test_attributes_change_the_output():
    m = model()
    other = attributes()
    other[7] = torch.tensor([5, 6])
    changed = FDSA(m.config, other).eval()
    changed.load_state_dict({k: v for k, v in m.state_dict().items() if k != "item_attributes"}, strict=False)
    assert not torch.allclose(changed(histories())[0], m(histories())[0])  # row 0 holds item 7
    torch.testing.assert_close(changed(histories())[2], m(histories())[2])  # row 2 does not


def test_padding_rows_get_no_gradient_and_bad_inputs_fail():
    m = model().train()
    m(histories()).sum().backward()
    assert m.item_embedding.weight.grad[N_ITEMS].abs().sum() == 0
    assert m.attribute_embedding.weight.grad[0].abs().sum() == 0
    with pytest.raises(ValueError, match="max_len"):
        m(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="item_attributes"):
        FDSA(m.config, attributes()[:5])
    with pytest.raises(ValueError, match="divisible"):
        FDSAConfig(n_items=5, max_len=4, n_attributes=2, dim=10, heads=3)


def test_ce_loss_decreases_on_a_successor_task():
    m = model().train()
    starts = torch.randint(0, N_ITEMS, (64,), generator=torch.Generator().manual_seed(1))
    runs = (starts[:, None] + torch.arange(5)) % N_ITEMS
    optimizer = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = sequential_loss(m, runs[:, :4], runs[:, 4], "ce")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_audited_recbole_blocks_and_init():
    """RecBole's FDSA blocks: no dropout inside the feed-forward block; every linear layer N(0, 0.02), zero biases."""
    m = FDSA(FDSAConfig(n_items=N_ITEMS, max_len=6, n_attributes=N_ATTRIBUTES, dim=64, ffn_dim=256, dropout=0.5), attributes())
    for encoder in (m.item_encoder, m.feature_encoder):
        assert all(isinstance(layer.dropout, torch.nn.Identity) for layer in encoder.layers)
    linears = [layer for layer in m.modules() if isinstance(layer, torch.nn.Linear)]
    weights = torch.cat([layer.weight.flatten() for layer in linears])
    assert abs(weights.std().item() - 0.02) < 0.002 and all(layer.bias.abs().sum() == 0 for layer in linears)
