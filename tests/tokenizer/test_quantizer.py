import torch

from pipeline_lib.tokenizer.quantizer import ResidualQuantizer, squared_distances


def hand_made_quantizer() -> ResidualQuantizer:
    quantizer = ResidualQuantizer(levels=2, codebook_size=3, code_dim=2).double()
    with torch.no_grad():
        quantizer.codebooks.copy_(
            torch.tensor([[[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
        )
    return quantizer


def test_residual_quantization_picks_the_known_nearest_codes():
    z = torch.tensor([[10.9, 0.2], [0.3, 9.0]], dtype=torch.float64)
    out = hand_made_quantizer()(z)

    # item 0: nearest level-1 code (10, 0), residual (0.9, 0.2) → nearest level-2 code (1, 0)
    # item 1: nearest level-1 code (0, 10), residual (0.3, -1.0) → nearest level-2 code (0, 0)
    assert out.codes.tolist() == [[1, 1], [2, 0]]
    expected_residuals = torch.tensor([[[10.9, 0.2], [0.9, 0.2]], [[0.3, 9.0], [0.3, -1.0]]], dtype=torch.float64)
    torch.testing.assert_close(out.residuals, expected_residuals)
    torch.testing.assert_close(out.quantized, torch.tensor([[11.0, 0.0], [0.0, 10.0]], dtype=torch.float64))
    torch.testing.assert_close(out.distances[0, 1], torch.tensor([0.85, 0.05, 1.45], dtype=torch.float64))


def test_code_probs_are_a_softmax_of_negative_squared_distances():
    z = torch.tensor([[10.9, 0.2]], dtype=torch.float64)
    probs = hand_made_quantizer()(z).code_probs()
    level_2 = torch.exp(-torch.tensor([0.85, 0.05, 1.45], dtype=torch.float64))
    torch.testing.assert_close(probs[0, 1], level_2 / level_2.sum())
    torch.testing.assert_close(probs.sum(-1), torch.ones(1, 2, dtype=torch.float64))


def test_ties_go_to_the_lowest_code():
    quantizer = hand_made_quantizer()
    out = quantizer(torch.tensor([[6.0, 6.0]], dtype=torch.float64))  # equidistant from (10, 0) and (0, 10)
    assert out.codes[0, 0] == 1


def test_squared_distances_match_cdist():
    g = torch.Generator().manual_seed(0)
    v, e = torch.randn(7, 5, generator=g), torch.randn(4, 5, generator=g)
    torch.testing.assert_close(squared_distances(v, e), torch.cdist(v, e).pow(2), atol=1e-5, rtol=1e-5)
