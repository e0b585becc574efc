"""LETTER's L_CF / L_Div and CoST's L_CL on tiny tensors: finite, and lower where the paper wants them lower."""

import torch

from pipeline_lib.tokenizer.contrastive import (
    cluster_positives,
    cost_contrastive_loss,
    letter_cf_loss,
    letter_diversity_loss,
)

G = torch.Generator().manual_seed(0)


def test_cf_loss_prefers_each_item_aligned_with_its_own_collaborative_embedding():
    h = torch.randn(8, 6, generator=G)
    aligned = letter_cf_loss(2 * h, h)
    shuffled = letter_cf_loss(2 * h[torch.roll(torch.arange(8), 1)], h)
    assert torch.isfinite(aligned) and aligned < shuffled


def test_cf_loss_gradient_pulls_the_quantized_embedding_towards_its_own():
    h = torch.nn.functional.normalize(torch.randn(6, 4, generator=G), dim=-1)
    z = torch.zeros(6, 4, requires_grad=True)
    letter_cf_loss(z, h).backward()
    # a descent step along −grad raises ⟨z_i, h_i⟩ for every item
    assert ((-z.grad * h).sum(1) > 0).all()


def test_cost_loss_is_lower_for_matching_reconstructions_and_scale_free():
    x = torch.randn(8, 5, generator=G)
    matched = cost_contrastive_loss(x, 3 * x + 0.01 * torch.randn(8, 5, generator=G))
    mismatched = cost_contrastive_loss(x, x.flip(0))
    assert torch.isfinite(matched) and matched < mismatched
    assert torch.allclose(cost_contrastive_loss(x, x), cost_contrastive_loss(x, 5 * x))  # cosine similarity


def test_cluster_positives_draw_another_code_of_the_same_cluster_or_none():
    clusters = torch.tensor([0, 0, 1, 1, 1, 2])  # code 5 is alone in cluster 2
    codes = torch.tensor([0, 2, 3, 5, 1])
    positives = cluster_positives(codes, clusters, torch.Generator().manual_seed(1))
    assert positives.tolist()[0] == 1 and positives.tolist()[4] == 0 and positives.tolist()[3] == -1
    assert positives[1] in (3, 4) and positives[2] in (2, 4)


def test_diversity_loss_is_lower_when_the_code_lies_near_its_cluster_positive():
    codebook = torch.tensor([[1.0, 0.0], [0.9, 0.1], [-1.0, 0.0], [0.0, 1.0]])
    codes, positives = torch.tensor([0]), torch.tensor([1])
    near = letter_diversity_loss(codebook[codes], codes, codebook, positives)
    far = letter_diversity_loss(codebook[codes], codes, codebook, torch.tensor([2]))
    assert torch.isfinite(near) and near < far


def test_diversity_loss_masks_the_own_code_and_leaves_out_items_without_a_positive():
    codebook = torch.randn(4, 3, generator=G, requires_grad=True)
    codes = torch.tensor([0, 1])
    loss = letter_diversity_loss(codebook[codes], codes, codebook, torch.tensor([2, -1]))
    others = codebook[0] @ codebook[1:].T  # item 0 against codes 1, 2, 3 only; item 1 has no positive
    expected = -torch.log_softmax(others, 0)[1]
    assert torch.allclose(loss, expected)
    none = letter_diversity_loss(codebook[codes], codes, codebook, torch.tensor([-1, -1]))
    assert none.item() == 0.0 and none.requires_grad
