import pytest
import torch

from pipeline_lib.data.attributes import AttributeTable
from pipeline_lib.models.config import FDSAConfig
from pipeline_lib.models.fdsa import FDSA
from pipeline_lib.training.sequential import ATTRIBUTE_MODELS, sequential_loss

N_ITEMS, N_ATTRIBUTES = 30, 6  # attribute ids 1–4: category levels, 5–6: brands


def categories() -> torch.Tensor:
    """Item i has category 1 + i % 4 and, for even i, also 1 + (i + 1) % 4; item 29 has none."""
    table = torch.zeros(N_ITEMS, 2, dtype=torch.long)
    table[:, 0] = 1 + torch.arange(N_ITEMS) % 4
    table[::2, 1] = 1 + (torch.arange(0, N_ITEMS, 2) + 1) % 4
    table[29] = 0
    return table


def brands() -> torch.Tensor:
    """Item i has brand 5 + i % 2, but items 3, 9, 15, 21, 27 and 29 have none."""
    table = (5 + torch.arange(N_ITEMS) % 2)[:, None]
    table[3::6] = 0
    table[29] = 0
    return table


def model(**kw) -> FDSA:
    torch.manual_seed(0)
    values = {"n_items": N_ITEMS, "max_len": 8, "n_attributes": N_ATTRIBUTES, "dim": 16, "ffn_dim": 24,
              "dropout": 0.0, **kw}
    return FDSA(FDSAConfig(**values), categories(), brands()).eval()


def histories() -> torch.Tensor:
    return torch.tensor([[-1, -1, -1, 3, 7, 1], [4, 5, 6, 7, 8, 9], [-1, -1, -1, -1, -1, 29]])


def test_shapes_and_tied_item_table():
    m = model()
    assert m.encode(histories()).shape == (3, 6, 16)
    assert m(histories()).shape == (3, 16)
    assert m.item_embeddings().shape == (N_ITEMS, 16)
    assert m.item_embeddings().data_ptr() == m.item_embedding.weight.data_ptr()
    assert torch.isfinite(m.encode(histories())).all()  # item 29 (no attributes) and padding included


def test_category_field_is_the_mean_of_its_levels_and_brand_field_its_own_row():
    """RecBole's FeatureSeqEmbLayer: a token-sequence field mean-pooled, a token field looked up ([PAD] = row 0)."""
    m = model()
    table = m.attribute_embedding.weight
    fields = m.field_embeddings(torch.tensor([0, 1, 3, 29]))
    assert fields.shape == (4, 2, 16)
    torch.testing.assert_close(fields[0, 0], (table[1] + table[2]) / 2)  # item 0: categories 1 and 2, brand 5
    torch.testing.assert_close(fields[0, 1], table[5])
    torch.testing.assert_close(fields[1, 0], table[2])  # item 1: one category, brand 6
    torch.testing.assert_close(fields[1, 1], table[6])
    torch.testing.assert_close(fields[2, 1], table[0])  # item 3: no brand → the learned missing-brand row
    assert table[0].abs().sum() > 0
    assert torch.equal(fields[3, 0], torch.zeros(16))  # item 29: no category → a zero vector


def test_features_are_vanilla_attention_across_the_two_fields():
    m = model()
    with torch.no_grad():  # a scorer that prefers some fields, so unequal weights show
        m.field_attention.score[2].weight.normal_(std=1.0)
    items = torch.tensor([0, 3, 29])
    fields = m.field_embeddings(items)
    weights = torch.softmax(m.field_attention.score(fields).squeeze(-1), dim=-1)
    assert not torch.allclose(weights, torch.full_like(weights, 0.5))
    torch.testing.assert_close(m.item_features(items), (weights[..., None] * fields).sum(-2))
    # not one attention over the three raw attributes of item 0 (categories 1, 2 and brand 5)
    raw = m.attribute_embedding.weight[[1, 2, 5]]
    over_attributes = (torch.softmax(m.field_attention.score(raw).squeeze(-1), 0)[:, None] * raw).sum(0)
    assert not torch.allclose(m.item_features(torch.tensor([0]))[0], over_attributes)


def test_one_layer_norm_for_both_streams_and_the_output():
    """RecBole's FDSA normalises the item input, the feature input and the concatenated output with one LayerNorm."""
    m = model()
    norms = [name for name, module in m.named_modules() if isinstance(module, torch.nn.LayerNorm)
             and not name.startswith(("item_encoder.", "feature_encoder."))]
    assert norms == ["norm"] and m.norm.eps == 1e-12


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
    other = categories()
    other[7] = torch.tensor([3, 4])
    changed = FDSA(m.config, other, brands()).eval()
    changed.load_state_dict({k: v for k, v in m.state_dict().items() if k != "item_categories"}, strict=False)
    assert not torch.allclose(changed(histories())[0], m(histories())[0])  # row 0 holds item 7
    torch.testing.assert_close(changed(histories())[2], m(histories())[2])  # row 2 does not


def test_padding_item_gets_no_gradient_missing_brand_row_does_and_bad_inputs_fail():
    m = model().train()
    m(histories()).sum().backward()
    assert m.item_embedding.weight.grad[N_ITEMS].abs().sum() == 0
    assert m.attribute_embedding.weight.grad[0].abs().sum() > 0  # item 3 and 9 (no brand) are in the histories
    with pytest.raises(ValueError, match="max_len"):
        m(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="categories must be"):
        FDSA(m.config, categories()[:5], brands())
    with pytest.raises(ValueError, match="brands must be"):
        FDSA(m.config, categories(), torch.cat([brands(), brands()], dim=1))
    with pytest.raises(ValueError, match="brands ids must lie"):
        FDSA(m.config, categories(), brands() + N_ATTRIBUTES)
    with pytest.raises(ValueError, match="divisible"):
        FDSAConfig(n_items=5, max_len=4, n_attributes=2, dim=10, heads=3)


def test_builder_reads_the_category_and_brand_fields_of_the_attribute_table():
    vocabulary = ("brand:A", "brand:B", "category:X", "category:Y", "category:Z")
    table = AttributeTable(torch.tensor([[3, 4, 1], [5, 2, 0], [0, 0, 0], [4, 0, 0]]), vocabulary)
    m = ATTRIBUTE_MODELS["fdsa"](4, 5, {"dim": 8, "ffn_dim": 8}, table)
    assert m.config.n_attributes == 5
    assert m.item_categories.tolist() == [[3, 4], [5, 0], [0, 0], [4, 0], [0, 0]]  # + the padding item
    assert m.item_brands.tolist() == [1, 2, 0, 0, 0]


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
    """RecBole's FDSA blocks: no dropout inside the feed-forward block; every linear layer and embedding table
    N(0, 0.02), zero biases."""
    m = FDSA(FDSAConfig(n_items=N_ITEMS, max_len=6, n_attributes=N_ATTRIBUTES, dim=64, ffn_dim=256, dropout=0.5),
             categories(), brands())
    for encoder in (m.item_encoder, m.feature_encoder):
        assert all(isinstance(layer.dropout, torch.nn.Identity) for layer in encoder.layers)
    linears = [layer for layer in m.modules() if isinstance(layer, torch.nn.Linear)]
    weights = torch.cat([layer.weight.flatten() for layer in linears])
    assert abs(weights.std().item() - 0.02) < 0.002 and all(layer.bias.abs().sum() == 0 for layer in linears)
    assert abs(m.attribute_embedding.weight.std().item() - 0.02) < 0.004
