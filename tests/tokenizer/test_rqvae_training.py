import pytest
import torch

from pipeline_lib.tokenizer.codebooks import kmeans_init, reseed_dead_codes
from pipeline_lib.tokenizer.config import RQVAEConfig, TrainConfig
from pipeline_lib.tokenizer.training import new_rqvae, train_rqvae

CPU = torch.device("cpu")
TINY = RQVAEConfig(input_dim=16, hidden_dims=(32,), code_dim=8, levels=3, codebook_size=8)


def clustered(
    n_clusters: int, per_cluster: int, dim: int, noise: float, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit-norm embeddings around ``n_clusters`` random directions (a stand-in for item categories)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n_clusters).repeat_interleave(per_cluster)
    x = torch.randn(n_clusters, dim, generator=g)[labels] + noise * torch.randn(len(labels), dim, generator=g)
    return x / x.norm(dim=1, keepdim=True), labels


def test_kmeans_init_separates_well_separated_clusters_at_level_one():
    x, labels = clustered(n_clusters=3, per_cluster=20, dim=16, noise=0.05)
    model = new_rqvae(RQVAEConfig(input_dim=16, hidden_dims=(32,), code_dim=8, levels=2, codebook_size=3), 0, CPU)
    kmeans_init(model, x, seed=0)
    codes = model.encode(x)[:, 0]
    code_of_cluster = [set(codes[labels == cluster].tolist()) for cluster in range(3)]
    assert all(len(c) == 1 for c in code_of_cluster)
    assert len(set.union(*code_of_cluster)) == 3


def test_kmeans_init_needs_at_least_k_embeddings():
    model = new_rqvae(TINY, 0, CPU)
    with pytest.raises(ValueError, match="8 codes needs at least 8 embeddings, got 5"):
        kmeans_init(model, torch.randn(5, 16), seed=0)


def test_dead_codes_move_onto_item_residuals_and_live_codes_stay():
    x, _ = clustered(n_clusters=4, per_cluster=10, dim=16, noise=0.3)
    model = new_rqvae(TINY, 0, CPU)
    kmeans_init(model, x, seed=0)
    before = model.quantizer.codebooks.detach().clone()
    used = torch.ones(3, 8, dtype=torch.bool)
    used[0, [2, 5]] = False
    used[2, 7] = False
    moved = reseed_dead_codes(model, x, used, torch.Generator().manual_seed(0))
    after = model.quantizer.codebooks.detach()
    assert moved == 3
    assert torch.equal(after[used], before[used])
    residuals = model.quantizer(model.encoder(x)).residuals.detach()
    for level, code in [(0, 2), (0, 5), (2, 7)]:
        assert (residuals[:, level] == after[level, code]).all(1).any()


def test_training_lowers_the_loss_and_is_deterministic_for_a_seed():
    x, _ = clustered(n_clusters=4, per_cluster=15, dim=16, noise=0.3)
    config = TrainConfig(epochs=30, batch_size=16, lr=3e-3, dead_code_window=5)

    def run(seed: int):
        model = new_rqvae(TINY, seed, CPU)
        history = train_rqvae(model, x, config, seed, progress=False)
        return model, history

    (m1, h1), (m2, h2), (m3, _) = run(7), run(7), run(8)
    assert h1.loss[-1] < 0.5 * h1.loss[0]
    assert h1.reseeded > 0
    assert h1.loss == h2.loss and h1.usage == h2.usage
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    assert torch.equal(m1.encode(x), m2.encode(x))
    assert not torch.equal(m1.quantizer.codebooks, m3.quantizer.codebooks)


def test_items_of_one_category_share_first_level_codes_far_more_often_than_chance():
    # Synthetic categories (16 × 25 items, 384-d like MiniLM) with the default K = 256 codebooks on 400 items.
    x, labels = clustered(n_clusters=16, per_cluster=25, dim=384, noise=0.8)
    model = new_rqvae(RQVAEConfig(input_dim=384, hidden_dims=(128,)), 0, CPU)
    train_rqvae(model, x, TrainConfig(epochs=40, batch_size=400), seed=0, progress=False)
    first = model.encode(x)[:, 0]

    same_code = first[:, None] == first[None, :]
    same_category = labels[:, None] == labels[None, :]
    pairs = ~torch.eye(len(x), dtype=torch.bool)
    share_within = same_code[same_category & pairs].float().mean()
    share_by_chance = (torch.bincount(first).float() / len(x)).pow(2).sum()  # two random items, same code
    assert share_within > 8 * share_by_chance
