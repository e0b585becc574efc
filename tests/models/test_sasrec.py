from dataclasses import fields

import pytest
import torch

from pipeline_lib.models.config import AttributeEncoderConfig, BERT4RecConfig, FDSAConfig, S3RecConfig, SASRecConfig
from pipeline_lib.models.sasrec import SASRec


def model(**kw) -> SASRec:
    torch.manual_seed(0)
    values = {"n_items": 30, "max_len": 8, "dim": 16, "heads": 2, "ffn_dim": 24, "dropout": 0.0, **kw}
    return SASRec(SASRecConfig(**values)).eval()


def histories() -> torch.Tensor:
    return torch.tensor([[-1, -1, -1, 3, 7, 1], [4, 5, 6, 7, 8, 9], [-1, -1, -1, -1, -1, 29]])


def test_shapes_and_tied_item_table():
    m = model()
    assert m.encode(histories()).shape == (3, 6, 16)
    assert m(histories()).shape == (3, 16)
    assert m.item_embeddings().shape == (30, 16)
    assert m.item_embeddings().data_ptr() == m.item_embedding.weight.data_ptr()


def test_causal_later_items_do_not_change_earlier_positions():
    m = model()
    h = histories()
    changed = h.clone()
    changed[:, 4:] = torch.tensor([[11, 12], [13, 14], [15, 16]])
    before, after = m.encode(h), m.encode(changed)
    torch.testing.assert_close(after[:, :4][h[:, :4] >= 0], before[:, :4][h[:, :4] >= 0])
    assert not torch.allclose(after[:, 4:], before[:, 4:])


def test_more_left_padding_gives_the_same_output():
    m = model()
    h = histories()
    wider = torch.cat([torch.full((3, 2), -1), h], dim=1)
    torch.testing.assert_close(m(wider), m(h), atol=1e-5, rtol=1e-5)
    alone = m(torch.tensor([[3, 7, 1]]))
    torch.testing.assert_close(alone[0], m(h)[0], atol=1e-5, rtol=1e-5)
    assert torch.isfinite(m.encode(h)).all()


def test_positions_matter():
    m = model()
    assert not torch.allclose(m(torch.tensor([[3, 7, 1]])), m(torch.tensor([[7, 3, 1]])))


def test_rejects_histories_wider_than_max_len_and_bad_config():
    with pytest.raises(ValueError, match="max_len"):
        model()(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="divisible"):
        SASRecConfig(n_items=5, max_len=4, dim=10, heads=3)


def test_padding_row_is_zero_and_gets_no_gradient():
    m = model().train()
    m(histories()).sum().backward()
    assert m.item_embedding.weight[30].abs().sum() == 0
    assert m.item_embedding.weight.grad[30].abs().sum() == 0


@pytest.mark.parametrize("config", ["sasrec", "bert4rec", "fdsa", "s3rec"])
def test_every_attention_baseline_checks_its_sizes(config):
    """One shared check (``AttentionBaselineConfig``) serves SASRec, BERT4Rec, FDSA and S³Rec."""
    build = {"sasrec": SASRecConfig, "bert4rec": BERT4RecConfig,
             "fdsa": lambda **kw: FDSAConfig(n_attributes=3, **kw), "s3rec": lambda **kw: S3RecConfig(n_attributes=3, **kw)}
    make = build[config]
    make(n_items=10, max_len=5, dim=8, heads=2)
    with pytest.raises(ValueError, match="divisible by heads"):
        make(n_items=10, max_len=5, dim=8, heads=3)
    with pytest.raises(ValueError, match="dropout must be in"):
        make(n_items=10, max_len=5, dim=8, heads=2, dropout=1.0)
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        make(n_items=10, max_len=0, dim=8, heads=2)


@pytest.mark.parametrize("config", [FDSAConfig, S3RecConfig])
def test_attribute_baselines_share_one_config_base(config):
    """FDSA's and S³Rec's configs are ``AttributeEncoderConfig`` with the same sizes, defaults and checks."""
    assert [f.name for f in fields(config)][:8] == [f.name for f in fields(AttributeEncoderConfig)]
    assert config(n_items=10, max_len=5, n_attributes=0).dim == AttributeEncoderConfig(10, 5, n_attributes=0).dim == 128
    with pytest.raises(ValueError, match="n_attributes must be >= 0"):
        config(n_items=10, max_len=5, n_attributes=-1)
