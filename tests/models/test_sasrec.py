from dataclasses import fields

import pytest
import torch
import torch.nn.functional as F

from pipeline_lib.models.config import AttributeEncoderConfig, BERT4RecConfig, FDSAConfig, S3RecConfig, SASRecConfig
from pipeline_lib.models.encoder_blocks import attention_mask
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


def test_recboles_form_embedding_norm_post_ln_blocks_and_no_final_norm():
    """RecBole's SASRec: (item + position) → LayerNorm (eps 1e-12) → dropout → post-LN GELU blocks, nothing after."""
    m = model()
    assert m.input_norm.eps == 1e-12
    assert all(not layer.norm_first and layer.norm2.eps == 1e-12 and layer.activation is F.gelu
               for layer in m.encoder.layers)
    assert m.encoder.norm is None
    with torch.no_grad():  # a non-trivial input LayerNorm, so leaving it out shows
        m.input_norm.weight.uniform_(0.5, 1.5)
        m.input_norm.bias.uniform_(-0.5, 0.5)
    h = histories()
    positions = m.position_embedding(torch.arange(5, -1, -1))
    hidden = F.layer_norm(m.item_embedding(h.masked_fill(h < 0, 30)) + positions, (16,), m.input_norm.weight,
                          m.input_norm.bias, 1e-12)
    expected = m.encoder(hidden, mask=attention_mask(h < 0, heads=2, causal=True))
    torch.testing.assert_close(m.encode(h), expected)
    real = m.encode(h)[h >= 0]  # the last block ends in a LayerNorm of unit gain, zero bias: unit-scale rows
    torch.testing.assert_close(real.mean(-1), torch.zeros(len(real)), atol=1e-5, rtol=0)
    torch.testing.assert_close(real.var(-1, unbiased=False), torch.ones(len(real)), atol=1e-3, rtol=0)


def test_recboles_init_n_0_002_everywhere_zero_biases():
    torch.manual_seed(0)
    m = SASRec(SASRecConfig(n_items=500, max_len=50, dim=64, ffn_dim=256))
    linears = [layer.weight for layer in m.modules() if isinstance(layer, torch.nn.Linear)]
    linears += [layer.self_attn.in_proj_weight for layer in m.encoder.layers]
    for weight in (torch.cat([w.flatten() for w in linears]), m.item_embedding.weight[:-1], m.position_embedding.weight):
        assert abs(weight.std().item() - 0.02) < 0.001
    biases = [p for name, p in m.named_parameters() if name.endswith("bias") and "norm" not in name]
    assert biases and all(b.abs().sum() == 0 for b in biases)


def test_changing_a_later_item_leaves_earlier_outputs_unchanged():
    """The causal mask: position t's output is blind to every item after t."""
    m = model()
    h = torch.tensor([[4, 5, 6, 7, 8, 9]])
    for t in range(5):
        later = h.clone()
        later[0, t + 1] = 20
        torch.testing.assert_close(m.encode(later)[0, : t + 1], m.encode(h)[0, : t + 1])
        assert not torch.allclose(m.encode(later)[0, t + 1], m.encode(h)[0, t + 1])


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
