import pytest
import torch

from pipeline_lib.models.bert4rec import BERT4Rec
from pipeline_lib.models.config import BERT4RecConfig
from pipeline_lib.training.sequential import item_scores, sequential_loss, training_objective

N_ITEMS = 30


def model(**kw) -> BERT4Rec:
    torch.manual_seed(0)
    values = {"n_items": N_ITEMS, "max_len": 8, "dim": 16, "heads": 2, "ffn_dim": 24, "dropout": 0.0, **kw}
    return BERT4Rec(BERT4RecConfig(**values)).eval()


def histories() -> torch.Tensor:
    return torch.tensor([[-1, -1, -1, 3, 7, 1], [4, 5, 6, 7, 8, 9], [-1, -1, -1, -1, -1, 29]])


def test_shapes_tied_table_and_bias():
    m = model()
    with torch.no_grad():
        m.output_bias.copy_(torch.arange(N_ITEMS, dtype=torch.float))
    assert m(histories()).shape == (3, 16)
    assert m.item_embeddings().shape == (N_ITEMS, 16)
    assert m.item_embeddings().data_ptr() == m.item_embedding.weight.data_ptr()
    expected = m(histories()) @ m.item_embedding.weight[:N_ITEMS].T + torch.arange(N_ITEMS)
    torch.testing.assert_close(item_scores(m, histories()), expected)


def test_prediction_reads_an_appended_mask_token():
    m = model()
    h = histories()
    appended = torch.cat([h, torch.full((3, 1), m.mask_token)], dim=1)
    torch.testing.assert_close(m(h), m.head(m.encode(appended)[:, -1]))


def test_left_padding_is_ignored():
    m = model()
    h = histories()
    out = m(h)
    torch.testing.assert_close(m(torch.cat([torch.full((3, 2), -1), h], dim=1)), out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(m(torch.tensor([[3, 7, 1]]))[0], out[0], atol=1e-5, rtol=1e-5)
    assert torch.isfinite(m.encode(h)).all()


def test_attention_is_bidirectional_and_positions_matter():
    m = model()
    h = torch.tensor([[3, 7, 1, 2]])
    earlier = m.encode(h)[:, 0]
    changed = torch.tensor([[3, 7, 1, 20]])
    assert not torch.allclose(m.encode(changed)[:, 0], earlier)  # position 0 reads a later item
    assert not torch.allclose(m(changed), m(h))  # an earlier item than the mask changes the prediction
    assert not torch.allclose(m(torch.tensor([[3, 7, 1]])), m(torch.tensor([[7, 3, 1]])))


def test_cloze_mask_masks_real_items_only_and_at_least_one_per_row():
    m = model(mask_prob=0.3, last_only_prob=0.0)
    sequences = torch.tensor([[-1, -1, 2, 3, 4], [1, 2, 3, 4, 5], [-1, -1, -1, -1, 9]]).repeat(200, 1)
    torch.manual_seed(1)
    masked = m.cloze_mask(sequences)
    assert not masked[sequences < 0].any() and masked.any(dim=1).all()
    rate = masked[1::3, :4].float().mean()  # full rows, the last column aside
    assert 0.25 < rate < 0.35
    last_only = model(last_only_prob=1.0).cloze_mask(sequences)
    assert last_only[:, -1].all() and not last_only[:, :-1].any()


def test_cloze_loss_is_cross_entropy_at_the_masked_positions():
    m = model(last_only_prob=1.0)  # the mask is then known: the last column
    h, targets = histories(), torch.tensor([2, 10, 0])
    scores = item_scores(m, h)  # the prediction path: [MASK] after the history
    expected = torch.nn.functional.cross_entropy(scores, targets)
    torch.testing.assert_close(m.training_loss(h, targets), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sequential_loss(m, h, targets, "bce"), expected, atol=1e-5, rtol=1e-5)
    assert training_objective(m, "ce") == "cloze"


def test_cloze_loss_decreases_on_a_successor_task():
    m = model(max_len=5).train()
    starts = torch.randint(0, N_ITEMS, (64,), generator=torch.Generator().manual_seed(2))
    runs = (starts[:, None] + torch.arange(6)) % N_ITEMS  # item i is followed by i + 1
    h, targets = runs[:, :-1], runs[:, -1]
    optimizer = torch.optim.Adam(m.parameters(), lr=3e-2)
    losses = []
    for _ in range(60):
        loss = m.training_loss(h, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    assert (item_scores(m.eval(), h).argmax(dim=1) == targets).float().mean() > 0.7


def test_rejects_long_inputs_and_bad_config():
    with pytest.raises(ValueError, match="max_len"):
        model()(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="mask_prob"):
        BERT4RecConfig(n_items=5, max_len=4, mask_prob=0.0)
    with pytest.raises(ValueError, match="divisible"):
        BERT4RecConfig(n_items=5, max_len=4, dim=10, heads=3)


def test_audited_blocks_head_layernorm_and_init():
    """As the authors' code and RecBole (docs/deviations.md, Baselines): LayerNorm eps 1e-12, no dropout inside the
    feed-forward block, a LayerNorm after eq. 7's GELU projection, linear layers N(0, 0.02) with zero biases."""
    m = BERT4Rec(BERT4RecConfig(n_items=N_ITEMS, max_len=8, dim=64, heads=2, ffn_dim=256, dropout=0.3))
    for layer in m.encoder.layers:
        assert isinstance(layer.dropout, torch.nn.Identity) and layer.norm1.eps == 1e-12
    assert m.head_norm.eps == 1e-12 and m.input_norm.eps == 1e-12
    hidden = torch.randn(5, 64)
    expected = torch.nn.functional.layer_norm(torch.nn.functional.gelu(m.projection(hidden)), (64,), eps=1e-12)
    torch.testing.assert_close(m.head(hidden), expected)
    weights = torch.cat([m.projection.weight.flatten(), m.encoder.layers[0].linear1.weight.flatten(),
                         m.encoder.layers[0].self_attn.in_proj_weight.flatten()])
    assert abs(weights.std().item() - 0.02) < 0.002 and m.projection.bias.abs().sum() == 0
