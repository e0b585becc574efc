import pytest
import torch

from pipeline_lib.models.config import GRU4RecConfig
from pipeline_lib.models.gru4rec import GRU4Rec


def model(**kw) -> GRU4Rec:
    torch.manual_seed(0)
    values = {"n_items": 30, "embedding_dim": 12, "hidden_size": 10, "dropout": 0.0, **kw}
    return GRU4Rec(GRU4RecConfig(**values)).eval()


def test_shapes():
    m = model(layers=2)
    assert m(torch.tensor([[-1, 1, 2], [3, 4, 5]])).shape == (2, 12)
    assert m.item_embeddings().shape == (30, 12)


def test_left_padding_never_enters_the_state():
    m = model()
    h = torch.tensor([[-1, -1, -1, 3, 7, 1], [4, 5, 6, 7, 8, 9], [-1, -1, -1, -1, -1, 29]])
    out = m(h)
    torch.testing.assert_close(m(torch.cat([torch.full((3, 4), -1), h], dim=1)), out)
    for row, items in enumerate([[3, 7, 1], [4, 5, 6, 7, 8, 9], [29]]):
        states, _ = m.gru(m.item_embedding(torch.tensor([items])))
        torch.testing.assert_close(out[row], m.projection(states[0, -1]))


def test_order_matters():
    m = model()
    assert not torch.allclose(m(torch.tensor([[3, 7, 1]])), m(torch.tensor([[7, 3, 1]])))


def test_bad_config():
    with pytest.raises(ValueError, match="dropout"):
        GRU4RecConfig(n_items=4, dropout=1.0)
