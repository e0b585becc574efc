import torch

from pipeline_lib.tokenizer.config import RQVAEConfig
from pipeline_lib.tokenizer.losses import batch_loss
from pipeline_lib.tokenizer.rqvae import RQVAE


def small_model() -> tuple[RQVAE, torch.Tensor]:
    torch.manual_seed(0)
    model = RQVAE(RQVAEConfig(input_dim=6, hidden_dims=(5,), code_dim=4, levels=2, codebook_size=3))
    return model, torch.randn(8, 6)


def touched_by(term: str) -> set[str]:
    """Names of the parameter groups (encoder/decoder/codebooks) that get non-zero gradient from ``term``."""
    model, x = small_model()
    loss, _ = batch_loss(model, x)
    getattr(loss, term).backward()
    return {
        name.split(".")[0] if name.startswith(("encoder", "decoder")) else "codebooks"
        for name, p in model.named_parameters()
        if p.grad is not None and p.grad.abs().sum() > 0
    }


def test_reconstruction_trains_encoder_through_the_straight_through_estimator_and_decoder_not_codebooks():
    assert touched_by("recon") == {"encoder", "decoder"}


def test_codebook_term_trains_only_the_codebooks():
    assert touched_by("codebook") == {"codebooks"}


def test_commitment_term_trains_only_the_encoder():
    assert touched_by("commitment") == {"encoder"}


def test_codebook_gradient_reaches_exactly_the_selected_codes_of_each_level():
    model, x = small_model()
    loss, out = batch_loss(model, x)
    loss.codebook.backward()
    touched = {tuple(ix) for ix in (model.quantizer.codebooks.grad.abs().sum(-1) > 0).nonzero().tolist()}
    selected = {(level, int(c)) for level in range(2) for c in out.quant.codes[:, level]}
    assert touched == selected


def test_loss_values_follow_eq_6_to_8():
    model, x = small_model()
    loss, out = batch_loss(model, x)
    distance = sum((out.quant.residuals[:, level] - out.quant.selected[:, level]).pow(2).sum(-1) for level in range(2)).mean()
    torch.testing.assert_close(loss.codebook, distance)
    torch.testing.assert_close(loss.commitment, distance)
    torch.testing.assert_close(loss.recon, (x - out.recon).pow(2).sum(-1).mean())
    torch.testing.assert_close(loss.total, loss.recon + 1.25 * distance)


def test_decoder_sees_the_quantized_latent():
    model, x = small_model()
    out = model(x)
    torch.testing.assert_close(out.recon, model.decoder(out.quant.quantized))


def test_soft_code_distribution_is_differentiable_for_etegrec_alignment():
    model, x = small_model()
    model(x).quant.code_probs()[..., 0].sum().backward()
    assert model.quantizer.codebooks.grad.abs().sum() > 0
    assert all(p.grad.abs().sum() > 0 for p in model.encoder.parameters())
