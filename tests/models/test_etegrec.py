
import pytest
import torch
import torch.nn.functional as F

from pipeline_lib.models.config import AlignmentConfig, GenRecConfig
from pipeline_lib.models.etegrec import (
    ETEGRec,
    Phase,
    code_log_probs,
    first_occurrences,
    load_etegrec,
    masked_mean,
    psa_loss,
    save_etegrec,
    sia_loss,
)
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.tokenizer.config import RQVAEConfig
from pipeline_lib.tokenizer.rqvae import RQVAE
from pipeline_lib.tokenizer.semantic_ids import assign_semantic_ids

N_ITEMS, DIM, K = 30, 12, 8
RQ = RQVAEConfig(input_dim=DIM, hidden_dims=(16,), code_dim=6, levels=3, codebook_size=K)
REC = GenRecConfig(levels=4, codebook_size=K, d_model=16, d_kv=4, num_heads=2, d_ff=32,
                   encoder_layers=1, decoder_layers=1, dropout=0.0)


def log_dists(seed: int, shape=(5, 3, K)) -> torch.Tensor:
    return torch.log_softmax(3 * torch.randn(shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_sia_is_zero_for_identical_distributions_and_symmetric():
    p, q = log_dists(0), log_dists(1)
    assert sia_loss(p, p.clone()) == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(sia_loss(p, q), sia_loss(q, p))
    assert sia_loss(p, q) > 0


def test_sia_is_both_kl_divergences_averaged_over_rows_and_levels_as_the_authors_batchmean():
    p, q = log_dists(2), log_dists(3)

    def kl(a, b):  # KL(a ‖ b), "batchmean" over the rows × levels flattened into one batch
        return F.kl_div(b.flatten(0, 1), a.flatten(0, 1), log_target=True, reduction="batchmean")

    torch.testing.assert_close(sia_loss(p, q), kl(p, q) + kl(q, p))
    per_level_sum = (F.kl_div(q, p, log_target=True, reduction="none") + F.kl_div(p, q, log_target=True,
                                                                               reduction="none")).sum((-2, -1)).mean()
    torch.testing.assert_close(3 * sia_loss(p, q), per_level_sum)  # eq. 15's Σ_l: L = 3 times as large


def test_psa_is_lower_for_aligned_pairs_than_for_mismatched_ones():
    g = torch.Generator().manual_seed(0)
    semantic = torch.randn(16, 10, generator=g)
    aligned = semantic + 0.1 * torch.randn(16, 10, generator=g)
    shuffled = aligned[torch.roll(torch.arange(16), 1)]
    assert psa_loss(aligned, semantic, tau=0.07) < 0.1 * psa_loss(shuffled, semantic, tau=0.07)
    # a perfectly aligned batch of orthogonal directions scores near zero; the loss is symmetric in its sides
    eye = torch.eye(8)
    assert psa_loss(eye, 3 * eye, tau=0.07) < 1e-3
    torch.testing.assert_close(psa_loss(aligned, semantic, 0.5), psa_loss(semantic, aligned, 0.5))


def test_psa_matches_eq16_written_out():
    g = torch.Generator().manual_seed(1)
    a, b, tau = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g), 0.2
    s = F.cosine_similarity(a[:, None], b[None], dim=-1) / tau  # s[i, j] = s(a_i, b_j)
    expected = -(torch.log_softmax(s, dim=1).diag() + torch.log_softmax(s, dim=0).diag()).mean()
    torch.testing.assert_close(psa_loss(a, b, tau), expected)


def test_first_occurrences_and_masked_mean():
    assert first_occurrences(torch.tensor([7, 3, 7, 5, 3])).tolist() == [1, 3, 0]
    hidden = torch.arange(12.0).view(2, 3, 2)
    mask = torch.tensor([[False, True, True], [True, False, False]])
    torch.testing.assert_close(masked_mean(hidden, mask), torch.tensor([[3.0, 4.0], [6.0, 7.0]]))


def joint(sia_space: str = "input") -> tuple[ETEGRec, torch.Tensor]:
    torch.manual_seed(0)
    model = ETEGRec(RQVAE(RQ), GenerativeRecommender(REC), N_ITEMS, sia_space)
    z = torch.randn(N_ITEMS, DIM, generator=torch.Generator().manual_seed(1))
    model.refresh_semantic_ids(z)
    return model, z


def batch(model: ETEGRec, z: torch.Tensor):
    g = torch.Generator().manual_seed(2)
    histories = torch.randint(0, N_ITEMS, (6, 3), generator=g)
    histories[0, :2] = -1
    targets = torch.tensor([4, 9, 4, 1, 22, 9])
    tokens = model.item_tokens()
    return tokens[histories].flatten(1), tokens[targets], targets, z[targets]


def grads(module: torch.nn.Module) -> set[str]:
    return {n for n, p in module.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}


def test_recommender_phase_trains_the_recommender_side_only_and_sia_reaches_its_encoder():
    model, z = joint()
    model.set_phase(Phase.RECOMMENDER)
    losses = model.losses(*batch(model, z), Phase.RECOMMENDER, AlignmentConfig())
    assert losses.sq is None and losses.rec is not None
    losses.objective(AlignmentConfig()).backward()
    assert not grads(model.tokenizer) and not any(p.requires_grad for p in model.tokenizer.parameters())
    assert {"weight", "bias"} <= grads(model.sequence_head) and {"weight", "bias"} <= grads(model.preference_head)

    model.zero_grad()
    only_sia = model.losses(*batch(model, z), Phase.RECOMMENDER, AlignmentConfig(psa=False))
    only_sia.sia.backward()
    assert any(name.startswith("block.0.layer.0") for name in grads(model.recommender.encoder))


def test_tokenizer_phase_trains_the_tokenizer_only():
    model, z = joint()
    model.set_phase(Phase.TOKENIZER)
    losses = model.losses(*batch(model, z), Phase.TOKENIZER, AlignmentConfig())
    assert losses.rec is None and losses.sq is not None
    losses.objective(AlignmentConfig()).backward()
    assert not grads(model.recommender) and not grads(model.sequence_head) and not grads(model.preference_head)
    assert "quantizer.codebooks" in grads(model.tokenizer)

    model.zero_grad()  # the alignment losses alone reach the encoder, the codebooks and the decoder
    alignment = model.losses(*batch(model, z), Phase.TOKENIZER, AlignmentConfig())
    (alignment.sia + alignment.psa).backward()
    assert {"quantizer.codebooks", "encoder.0.weight", "decoder.0.weight"} <= grads(model.tokenizer)


def test_objective_weights_the_alignment_losses_eq_17_18():
    model, z = joint()
    cfg = AlignmentConfig(mu=0.5, lam=0.25)
    rec = model.losses(*batch(model, z), Phase.RECOMMENDER, cfg)
    torch.testing.assert_close(rec.objective(cfg), rec.rec + 0.5 * rec.sia + 0.25 * rec.psa)
    tok = model.losses(*batch(model, z), Phase.TOKENIZER, cfg)
    torch.testing.assert_close(tok.objective(cfg), tok.sq.total + 0.5 * tok.sia + 0.25 * tok.psa)
    both = model.losses(*batch(model, z), Phase.JOINT, AlignmentConfig(sia=False, psa=False))
    assert both.sia is None and both.psa is None
    torch.testing.assert_close(both.objective(cfg), both.rec + both.sq.total)


def test_sia_compares_the_code_distributions_of_each_distinct_target_and_its_sequence():
    for space in ("input", "latent"):
        model, z = joint(space)
        history, target_tokens, targets, target_z = batch(model, z)
        only_sia = AlignmentConfig(psa=False)
        losses = model.losses(history, target_tokens, targets, target_z, Phase.RECOMMENDER, only_sia)
        encoded = model.recommender.hidden_states(history, target_tokens)[0]
        z_e = model.sequence_head(masked_mean(encoded.hidden, encoded.mask))
        latent = model.tokenizer.encoder(z_e) if space == "input" else z_e
        sequence = code_log_probs(model.tokenizer.quantizer(latent))
        target = code_log_probs(model.tokenizer(target_z).quant)
        rows = first_occurrences(targets)  # the authors' unique targets: rows 0, 1, 3, 4 of [4, 9, 4, 1, 22, 9]
        torch.testing.assert_close(losses.sia, sia_loss(target[rows], sequence[rows]))
        assert not torch.allclose(losses.sia, sia_loss(target, sequence))  # repeated targets' later rows left out


def test_sq_loss_is_the_authors_element_wise_mean_or_eq_8_sum():
    model, z = joint()
    history, target_tokens, targets, target_z = batch(model, z)
    rows = first_occurrences(targets)
    out = model.tokenizer(target_z[rows])
    x, v, e = target_z[rows], out.quant.residuals, out.quant.selected
    authors = F.mse_loss(out.recon, x) + torch.stack([
        F.mse_loss(e[:, level], v[:, level].detach()) + RQ.beta * F.mse_loss(v[:, level], e[:, level].detach())
        for level in range(RQ.levels)
    ]).mean()
    mean = model.losses(history, target_tokens, targets, target_z, Phase.TOKENIZER, AlignmentConfig())
    torch.testing.assert_close(mean.sq.total, authors)
    summed = model.losses(history, target_tokens, targets, target_z, Phase.TOKENIZER, AlignmentConfig(sq_reduction="sum"))
    eq_8 = (out.recon - x).pow(2).sum(-1).mean() + ((v - e).pow(2).sum((1, 2)) * (1 + RQ.beta)).mean()
    torch.testing.assert_close(summed.sq.total, eq_8)
    assert summed.sq.total > 5 * mean.sq.total  # the sum is the larger by about the dimensions


def test_refresh_derives_unique_ids_from_the_tokenizer_and_reports_changes():
    model, z = joint()
    assert model.refresh_semantic_ids(z) == 0.0
    torch.testing.assert_close(model.semantic_ids, assign_semantic_ids(model.tokenizer.encode(z), K))
    with torch.no_grad():
        model.tokenizer.quantizer.codebooks[0] = model.tokenizer.quantizer.codebooks[0].flip(0)
    assert model.refresh_semantic_ids(z) > 0
    assert len(torch.unique(model.semantic_ids, dim=0)) == N_ITEMS
    assert model.trie().n_items == N_ITEMS
    assert model.item_tokens()[:-1].tolist() == model.recommender.vocab.tokens(model.semantic_ids).tolist()


def test_mismatched_components_are_refused():
    with pytest.raises(ValueError, match="collision token"):
        ETEGRec(RQVAE(RQ), GenerativeRecommender(GenRecConfig(levels=3, codebook_size=K, d_model=16)), N_ITEMS)
    with pytest.raises(ValueError, match="sia_space"):
        AlignmentConfig(sia_space="output")


def test_save_and_load_round_trip(tmp_path):
    model, z = joint("latent")
    model.recommender.level_softmax = True  # the heads' normalisation is no config field: saved beside it
    save_etegrec(tmp_path / "model.safetensors", tmp_path / "config.json", model)
    loaded = load_etegrec(tmp_path / "model.safetensors")
    assert loaded.sia_space == "latent" and loaded.recommender.level_softmax
    assert torch.equal(loaded.semantic_ids, model.semantic_ids)
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_rec_loss_and_beam_scores_are_over_the_level_codes_or_the_whole_vocabulary():
    for level_softmax in (True, False):
        torch.manual_seed(0)
        recommender = GenerativeRecommender(REC, level_softmax=level_softmax)
        model = ETEGRec(RQVAE(RQ), recommender, N_ITEMS)
        z = torch.randn(N_ITEMS, DIM, generator=torch.Generator().manual_seed(1))
        model.refresh_semantic_ids(z)
        history, target_tokens, targets, target_z = batch(model, z)
        losses = model.losses(history, target_tokens, targets, target_z, Phase.RECOMMENDER, AlignmentConfig())
        _, decoded = recommender.hidden_states(history, target_tokens)
        logits = recommender.logits(decoded, recommender.embed.table())
        vocab = recommender.vocab
        if level_softmax:  # position j: cross-entropy over level j's K codes only
            expected = torch.stack([
                F.cross_entropy(logits[:, j, vocab.level_slice(j)], target_tokens[:, j] - vocab.level_offset(j))
                for j in range(REC.levels)
            ]).mean()
        else:
            expected = F.cross_entropy(logits.flatten(0, 1), target_tokens.flatten())
        torch.testing.assert_close(losses.rec, expected)
        scores = recommender.level_log_probs(decoded[:, 1], recommender.embed.table(), 1)  # [B, K] of level 1
        total = scores.logsumexp(-1)
        assert torch.allclose(total, torch.zeros_like(total), atol=1e-5) == level_softmax


def test_init_std_draws_the_recommender_side_from_a_small_normal_and_leaves_the_tokenizer():
    torch.manual_seed(0)
    tokenizer = RQVAE(RQ)
    before = {k: v.clone() for k, v in tokenizer.state_dict().items()}
    model = ETEGRec(tokenizer, GenerativeRecommender(REC), N_ITEMS, init_std=0.02)
    for module in model.recommender_side():
        for layer in module.modules():
            if isinstance(layer, (torch.nn.Linear, torch.nn.Embedding)) and layer.weight.numel() >= 256:
                assert 0.015 < float(layer.weight.detach().std()) < 0.025, layer
            if isinstance(layer, torch.nn.Linear) and layer.bias is not None:
                assert not layer.bias.any()
    assert all(torch.equal(before[k], v) for k, v in model.tokenizer.state_dict().items())
    own = ETEGRec(RQVAE(RQ), GenerativeRecommender(REC), N_ITEMS, init_std=None)
    assert float(own.recommender.embed.table().detach().std()) > 0.5  # the N(0, 1) token table of the other models


def test_defaults_are_the_authors_code_and_the_warm_up_zeroes_mu_and_lambda():
    config = AlignmentConfig()
    assert (config.mu, config.lam, config.sia_space, config.alignment_warmup_epochs) == (1e-4, 3e-4, "latent", 10)
    assert (config.sq_reduction, config.rec_softmax, config.init_std) == ("mean", "level", 0.02)
    assert (config.at_epoch(9).mu, config.at_epoch(9).lam) == (0.0, 0.0)
    assert config.at_epoch(10) == config and config.at_epoch(9).sia
    with pytest.raises(ValueError, match="sq_reduction"):
        AlignmentConfig(sq_reduction="max")
    with pytest.raises(ValueError, match="init_std must be > 0"):
        AlignmentConfig(init_std=0.0)
