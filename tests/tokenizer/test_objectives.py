"""The tokenizer methods: rqvae unchanged, letter and cost train to valid unique semantic IDs."""

import pytest
import torch

from pipeline_lib.loss_terms import weighted_sum
from pipeline_lib.tokenizer.config import CostConfig, LetterConfig, RQVAEConfig, TrainConfig
from pipeline_lib.tokenizer.contrastive import cost_contrastive_loss
from pipeline_lib.tokenizer.losses import sq_loss
from pipeline_lib.tokenizer.objectives import (
    CostObjective,
    LetterObjective,
    Objective,
    make_objective,
)
from pipeline_lib.tokenizer.semantic_ids import assign_semantic_ids
from pipeline_lib.tokenizer.training import new_rqvae, train_rqvae

CPU = torch.device("cpu")
CONFIG = RQVAEConfig(input_dim=12, hidden_dims=(16,), code_dim=4, levels=3, codebook_size=8)
TRAIN = TrainConfig(epochs=6, batch_size=16, dead_code_window=2)

# Codes of the tokenizer as trained before the methods existed (commit 03ca372, same seeds and data).
GOLDEN = [
    [2, 3, 7], [7, 4, 1], [2, 2, 0], [2, 0, 5], [5, 1, 7], [6, 2, 1], [3, 1, 5], [0, 6, 3], [4, 3, 5], [4, 2, 6],
    [3, 2, 7], [1, 1, 5], [7, 4, 1], [1, 0, 1], [1, 5, 5], [7, 2, 3], [3, 6, 1], [0, 6, 3], [5, 1, 4], [0, 7, 4],
    [0, 7, 4], [1, 0, 2], [2, 1, 3], [0, 7, 4], [5, 4, 3], [7, 4, 5], [2, 4, 7], [7, 1, 3], [7, 7, 5], [0, 2, 1],
    [0, 0, 1], [5, 3, 3], [5, 1, 1], [2, 0, 0], [4, 1, 3], [3, 1, 4], [2, 7, 6], [5, 5, 1], [3, 6, 2], [3, 1, 7],
    [0, 7, 1], [1, 1, 6], [5, 4, 7], [0, 3, 2], [6, 0, 4], [1, 1, 1], [2, 7, 5], [5, 5, 7],
]


def items(n: int = 48) -> torch.Tensor:
    return torch.randn(n, 12, generator=torch.Generator().manual_seed(0))


def train(objective: Objective | None, epochs: int = 6) -> tuple[torch.Tensor, list[float]]:
    model = new_rqvae(CONFIG, 3, CPU)
    config = TrainConfig(epochs=epochs, batch_size=16, dead_code_window=2)
    history = train_rqvae(model, items(), config, seed=3, progress=False, objective=objective)
    return model.encode(items()), history.loss


@pytest.mark.parametrize("objective", [None, Objective(), make_objective("rqvae", LetterConfig(), CostConfig(), 4, 3)])
def test_rqvae_method_reproduces_the_tokenizer_before_methods_existed(objective):
    codes, loss = train(objective)
    assert codes.tolist() == GOLDEN
    assert loss[-1] == pytest.approx(12.547324180603027, rel=1e-5)


@pytest.mark.parametrize("cf_dim", [4, 7])  # = code_dim (LETTER's setting, no map) and ≠ (a learnt linear map)
def test_letter_trains_to_valid_unique_semantic_ids(cf_dim):
    cf = torch.randn(48, cf_dim, generator=torch.Generator().manual_seed(5))
    objective = LetterObjective(LetterConfig(cf_weight=0.5, div_weight=0.1, n_clusters=3), cf, code_dim=4, seed=3)
    assert len(objective.parameters()) == (0 if cf_dim == 4 else 1)
    codes, loss = train(objective, epochs=4)
    assert all(torch.isfinite(torch.tensor(loss)))
    ids = assign_semantic_ids(codes, CONFIG.codebook_size)
    assert ids.shape == (48, 4) and len(torch.unique(ids, dim=0)) == 48
    assert ((ids[:, :3] >= 0) & (ids[:, :3] < CONFIG.codebook_size)).all()
    assert codes.tolist() != GOLDEN


def test_letter_projection_is_trained_but_not_part_of_the_saved_tokenizer():
    cf = torch.randn(48, 7, generator=torch.Generator().manual_seed(5))
    objective = LetterObjective(LetterConfig(cf_weight=1.0), cf, code_dim=4, seed=3)
    before = objective.projection.weight.detach().clone()
    model = new_rqvae(CONFIG, 3, CPU)
    train_rqvae(model, items(), TrainConfig(epochs=2, batch_size=16), seed=3, progress=False, objective=objective)
    assert not torch.equal(before, objective.projection.weight)
    assert not any(k.startswith("projection") for k in model.state_dict())


def test_letter_clusters_every_codebook_at_each_epoch():
    objective = LetterObjective(LetterConfig(n_clusters=3), torch.randn(48, 4), code_dim=4, seed=0)
    model = new_rqvae(CONFIG, 3, CPU)
    objective.start_epoch(model, 0)
    assert objective.clusters.shape == (3, 8) and set(objective.clusters.unique().tolist()) <= {0, 1, 2}


def test_cost_trains_to_valid_unique_semantic_ids_and_drops_the_mse_by_default():
    codes, loss = train(CostObjective(CostConfig()), epochs=4)
    ids = assign_semantic_ids(codes, CONFIG.codebook_size)
    assert len(torch.unique(ids, dim=0)) == 48 and all(torch.isfinite(torch.tensor(loss)))
    model = new_rqvae(CONFIG, 3, CPU)
    x = items()
    sq = sq_loss(x, model(x), model.config.beta)
    objective = CostObjective(CostConfig(weight=0.0))
    terms, _ = objective(model, x, torch.arange(48))
    torch.testing.assert_close(weighted_sum(terms, objective.weights), sq.rq)  # α = 0, mse_weight = 0: L_RQ alone
    objective = CostObjective(CostConfig(weight=0.0, mse_weight=1.0))
    terms, _ = objective(model, x, torch.arange(48))
    torch.testing.assert_close(weighted_sum(terms, objective.weights), sq.total)
    objective = CostObjective(CostConfig(weight=0.3, mse_weight=0.5))
    terms, _ = objective(model, x, torch.arange(48))
    assert objective.weights == {"rq": 1.0, "recon": 0.5, "cl": 0.3}
    torch.testing.assert_close(terms["cl"], cost_contrastive_loss(x, model(x).recon, 0.1))


def test_per_element_sq_loss_is_the_official_letter_and_etegrec_mean():
    model = new_rqvae(CONFIG, 3, CPU)
    x = items()
    out = model(x)
    loss = sq_loss(x, out, model.config.beta)
    v, e = out.quant.residuals, out.quant.selected
    official = torch.nn.functional.mse_loss(out.recon, x) + torch.stack([  # LETTER's rqvae.py / vq.py per level
        torch.nn.functional.mse_loss(e[:, level], v[:, level].detach())
        + model.config.beta * torch.nn.functional.mse_loss(v[:, level], e[:, level].detach())
        for level in range(CONFIG.levels)
    ]).mean()
    scaled = loss.per_element(CONFIG.input_dim, model.quantizer.codebooks.shape)
    torch.testing.assert_close(scaled.total, official)
    torch.testing.assert_close(scaled.recon, torch.nn.functional.mse_loss(out.recon, x))


def test_configs_refuse_bad_values_and_letter_needs_cf_embeddings():
    with pytest.raises(ValueError, match="n_clusters"):
        LetterConfig(n_clusters=1)
    with pytest.raises(ValueError, match="temperature"):
        CostConfig(temperature=0.0)
    with pytest.raises(ValueError, match="collaborative"):
        make_objective("letter", LetterConfig(), CostConfig(), 4, 0)


@pytest.mark.parametrize(
    ("method", "weights"),
    [
        ("rqvae", {"recon": 1.0, "rq": 1.0}),
        ("letter", {"sem_recon": 1.0, "sem_rq": 1.0, "cf": 0.5, "div": 0.1}),
        ("cost", {"rq": 1.0, "recon": 0.0, "cl": 0.2}),
    ],
)
def test_training_logs_each_term_raw_and_weighted_at_the_first_and_last_epoch(method, weights):
    cf = torch.randn(48, 4, generator=torch.Generator().manual_seed(5))
    letter = LetterConfig(cf_weight=0.5, div_weight=0.1, n_clusters=3)
    objective = make_objective(method, letter, CostConfig(weight=0.2), 4, 3, cf)
    model = new_rqvae(CONFIG, 3, CPU)
    history = train_rqvae(model, items(), TrainConfig(epochs=3, batch_size=16), seed=3, progress=False,
                          objective=objective)
    first, last = history.loss_terms["first_epoch"], history.loss_terms["last_epoch"]
    assert (first["epoch"], last["epoch"]) == (1, 3)
    for entry in (first, last):
        assert list(entry["terms"]) == list(weights)
        for name, term in entry["terms"].items():
            assert term["weight"] == weights[name] and term["weighted"] == weights[name] * term["raw"]
        assert entry["total"] == pytest.approx(sum(term["weighted"] for term in entry["terms"].values()))
    assert all(first["terms"][name]["raw"] != last["terms"][name]["raw"] for name in weights)
