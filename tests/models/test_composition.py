import pytest
import torch

from pipeline_lib.models.composition import AttentionPooling, TokenComposition


def test_attention_pooling_ignores_masked_context():
    torch.manual_seed(0)
    pool = AttentionPooling(d_model=8, attention_dim=5)
    context = torch.randn(2, 6, 8)
    mask = torch.tensor([[True, True, True, False, False, False], [True] * 6]).unsqueeze(1).expand(2, 3, 6).clone()
    mask[:, 0, 1:] = False
    u = pool(context, mask)
    assert u.shape == (2, 3, 8)
    changed = context.clone()
    changed[0, 3:] = 100.0  # masked for every position of user 0
    changed[1, 5] = -7.0  # visible for positions 1, 2 of user 1 but not position 0 (mask[:, 0] = first only)
    u2 = pool(changed, mask)
    torch.testing.assert_close(u2[0], u[0])
    torch.testing.assert_close(u2[1, 0], u[1, 0])
    assert not torch.allclose(u2[1, 1], u[1, 1])


def test_attention_pooling_of_one_element_is_mlp_of_it():
    pool = AttentionPooling(d_model=4, attention_dim=3)
    context = torch.randn(1, 2, 4)
    mask = torch.tensor([[[False, True]]])
    torch.testing.assert_close(pool(context, mask)[0, 0], pool.mlp_ctx(context[0, 1]))


def test_composition_weights_sum_to_one_per_position():
    comp = TokenComposition(d_model=8, alpha=0.3)
    weights = comp.weights(torch.randn(4, 3, 8), torch.randn(3, 16, 8))
    assert weights.shape == (4, 3, 16)
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 3))
    assert (weights >= 0).all()


def test_composition_is_residual_mix():
    torch.manual_seed(1)
    static, u, candidates = torch.randn(2, 3, 8), torch.randn(2, 3, 8), torch.randn(3, 10, 8)
    comp = TokenComposition(d_model=8, alpha=0.25)
    composed = torch.einsum("bpn,pnd->bpd", comp.weights(u, candidates), candidates)
    torch.testing.assert_close(comp(static, u, candidates), 0.25 * composed + 0.75 * static)
    comp.fixed_alpha = 0.0
    torch.testing.assert_close(comp(static, u, candidates), static)


def test_alpha_out_of_range():
    with pytest.raises(ValueError, match="alpha"):
        TokenComposition(d_model=4, alpha=1.5)


def test_scaled_logits_are_the_printed_ones_over_sqrt_d():
    """eq. 16 with ``scaled``: ⟨W_q u, W_k e⟩ / √d; without: the inner product as printed."""
    torch.manual_seed(2)
    u, candidates = torch.randn(2, 3, 16), torch.randn(3, 5, 16)
    printed = TokenComposition(d_model=16, alpha=0.5, scaled=False)
    scaled = TokenComposition(d_model=16, alpha=0.5, scaled=True)
    scaled.load_state_dict(printed.state_dict())
    logits = torch.einsum("bpd,pnd->bpn", printed.query(u), printed.key(candidates))
    torch.testing.assert_close(printed.weights(u, candidates), torch.softmax(logits, -1))
    torch.testing.assert_close(scaled.weights(u, candidates), torch.softmax(logits / 4.0, -1))


def test_alpha_is_fixed_by_default_and_learned_only_when_trainable():
    """Camera-ready §3.3: α is "fixed throughout the training" — no parameter; ``alpha_trainable`` learns sigmoid(a)."""
    fixed = TokenComposition(d_model=4, alpha=0.25)
    assert fixed.alpha == 0.25 and not any("alpha" in name for name, _ in fixed.named_parameters())
    learned = TokenComposition(d_model=4, alpha=0.25, alpha_trainable=True)
    assert [name for name, _ in learned.named_parameters() if "alpha" in name] == ["alpha_logit"]
    torch.testing.assert_close(learned.alpha, torch.tensor(0.25))
    static, u, candidates = torch.randn(2, 1, 4), torch.randn(2, 1, 4), torch.randn(1, 3, 4)
    learned(static, u, candidates).sum().backward()
    assert learned.alpha_logit.grad is not None and learned.alpha_logit.grad != 0
    with pytest.raises(ValueError, match="trainable alpha"):
        TokenComposition(d_model=4, alpha=0.0, alpha_trainable=True)
