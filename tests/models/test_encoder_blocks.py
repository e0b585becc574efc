import math

import torch
import torch.nn.functional as F

from pipeline_lib.models.encoder_blocks import attention_mask, init_linear_weights_, post_ln_encoder


def recbole_block(block: torch.nn.TransformerEncoderLayer, x: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
    """RecBole's TransformerLayer written out, with ``block``'s weights and no dropout:
    h = LN(x + MHA(x)), out = LN(h + W₂ GELU(W₁ h)), eps 1e-12, the LayerNorm after each residual."""
    attention, heads = block.self_attn, block.self_attn.num_heads
    q, k, v = F.linear(x, attention.in_proj_weight, attention.in_proj_bias).chunk(3, dim=-1)
    split = lambda t: t.view(*t.shape[:-1], heads, -1).transpose(-3, -2)  # noqa: E731  [B, heads, L, d_head]
    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(q.shape[-1] // heads)
    scores = scores.masked_fill(blocked.view(x.shape[0], heads, *blocked.shape[-2:]), float("-inf"))
    context = (scores.softmax(-1) @ split(v)).transpose(-3, -2).reshape(x.shape)
    hidden = F.layer_norm(x + attention.out_proj(context), x.shape[-1:], block.norm1.weight, block.norm1.bias, 1e-12)
    inner = F.gelu(block.linear1(hidden))
    return F.layer_norm(hidden + block.linear2(inner), x.shape[-1:], block.norm2.weight, block.norm2.bias, 1e-12)


def test_post_ln_block_is_recboles_layer():
    """Post-LN (LayerNorm after the residual), GELU feed-forward, eps 1e-12: a pre-LN or ReLU block fails this."""
    torch.manual_seed(0)
    encoder = post_ln_encoder(dim=16, heads=2, ffn_dim=24, blocks=2, dropout=0.0).eval()
    with torch.no_grad():  # LayerNorm gains and biases away from 1 / 0, so both norms are really checked
        for layer in encoder.layers:
            for norm in (layer.norm1, layer.norm2):
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(3, 5, 16)
    padding = torch.tensor([[True, True, False, False, False], [False] * 5, [True] * 4 + [False]])
    blocked = attention_mask(padding, heads=2, causal=True)
    expected = x
    for layer in encoder.layers:
        expected = recbole_block(layer, expected, blocked)
    with torch.no_grad():
        torch.testing.assert_close(encoder(x, mask=blocked), expected, atol=1e-5, rtol=1e-5)
    assert all(layer.norm1.eps == layer.norm2.eps == 1e-12 for layer in encoder.layers)


def test_init_draws_every_linear_from_n_0_002_with_zero_biases():
    torch.manual_seed(0)
    encoder = post_ln_encoder(dim=64, heads=2, ffn_dim=256, blocks=2, dropout=0.5)
    init_linear_weights_(encoder)
    layer = encoder.layers[0]
    for weight in (layer.self_attn.in_proj_weight, layer.self_attn.out_proj.weight, layer.linear1.weight,
                   layer.linear2.weight):
        assert abs(weight.std().item() - 0.02) < 0.002 and abs(weight.mean().item()) < 0.002
    for bias in (layer.self_attn.in_proj_bias, layer.self_attn.out_proj.bias, layer.linear1.bias, layer.linear2.bias):
        assert bias.abs().sum() == 0


def test_causal_mask_blocks_later_positions_and_padding_keys():
    padding = torch.tensor([[True, False, False]])
    blocked = attention_mask(padding, heads=2, causal=True)
    assert blocked.shape == (2, 3, 3)
    assert blocked[0].tolist() == [[False, True, True], [True, False, True], [True, False, False]]
    assert attention_mask(padding, heads=1, causal=False)[0].tolist() == [[False] * 3, [True, False, False],
                                                                          [True, False, False]]
