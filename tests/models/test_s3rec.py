import pytest
import torch

from pipeline_lib.data.samples import Samples
from pipeline_lib.models.config import S3REC_OBJECTIVES as OBJECTIVES
from pipeline_lib.models.config import S3RecConfig
from pipeline_lib.models.s3rec import S3Rec
from pipeline_lib.training.config import BaselineConfig
from pipeline_lib.training.s3rec import pretrain_batch, pretrain_s3rec, pretraining_sequences
from pipeline_lib.training.sequential import sequential_loss

N_ITEMS, N_ATTRIBUTES = 24, 6


def attributes() -> torch.Tensor:
    """Item i has attribute 1 + i % 6 and, for even i, also 1 + (i // 2) % 6."""
    table = torch.zeros(N_ITEMS, 2, dtype=torch.long)
    table[:, 0] = 1 + torch.arange(N_ITEMS) % N_ATTRIBUTES
    table[::2, 1] = 1 + (torch.arange(0, N_ITEMS, 2) // 2) % N_ATTRIBUTES
    return table


def model(**kw) -> S3Rec:
    torch.manual_seed(0)
    values = {"n_items": N_ITEMS, "max_len": 8, "n_attributes": N_ATTRIBUTES, "dim": 16, "ffn_dim": 32,
              "dropout": 0.0, **kw}
    return S3Rec(S3RecConfig(**values), attributes()).eval()


def histories() -> torch.Tensor:
    return torch.tensor([[-1, -1, -1, 3, 7, 1], [4, 5, 6, 7, 8, 9], [-1, -1, -1, -1, -1, 23]])


def successor_runs(n: int = 64, length: int = 8) -> torch.Tensor:
    """Toy sequences: item i is always followed by i + 1 (mod N_ITEMS); some rows left-padded."""
    g = torch.Generator().manual_seed(1)
    runs = (torch.randint(0, N_ITEMS, (n,), generator=g)[:, None] + torch.arange(length)) % N_ITEMS
    short = torch.arange(length)[None, :] < torch.randint(0, length - 2, (n,), generator=g)[:, None]
    return runs.masked_fill(short, -1)


def test_shapes_and_item_table_leaves_out_padding_and_mask():
    m = model()
    assert m.encode(histories()).shape == (3, 6, 16) and m(histories()).shape == (3, 16)
    assert m.item_embeddings().shape == (N_ITEMS, 16) and m.mask_token == N_ITEMS + 1
    assert torch.isfinite(m.encode(histories(), causal=False)).all()


def test_causal_path_has_no_future_leakage_and_the_pretraining_path_does():
    m = model()
    h = histories()
    changed = h.clone()
    changed[:, 4:] = torch.tensor([[11, 12], [13, 14], [15, 16]])
    real = h[:, :4] >= 0
    torch.testing.assert_close(m.encode(changed)[:, :4][real], m.encode(h)[:, :4][real])
    bidirectional = m.encode(changed, causal=False)[:, :4][real]
    assert not torch.allclose(bidirectional, m.encode(h, causal=False)[:, :4][real])


@pytest.mark.parametrize("causal", [True, False])
def test_left_padding_is_ignored(causal):
    m = model()
    h = histories()
    wider = torch.cat([torch.full((3, 2), -1), h], dim=1)
    torch.testing.assert_close(m.encode(wider, causal)[:, 2:][h >= 0], m.encode(h, causal)[h >= 0], atol=1e-5,
                               rtol=1e-5)


def test_pretrain_batch_masks_real_positions_and_cuts_segments():
    sequences = successor_runs(200)
    batch = pretrain_batch(sequences, N_ITEMS, 0.3, torch.Generator().manual_seed(0), False)
    real, mask = sequences >= 0, N_ITEMS + 1
    masked = batch.masked == mask
    assert not (masked & ~real).any() and 0.2 < masked.sum() / real.sum() < 0.4
    assert torch.equal(batch.masked[~masked], sequences[~masked])
    assert (batch.negatives != sequences)[masked].all() and (batch.negatives[masked] < N_ITEMS).all()
    assert torch.equal(batch.has_segment, real.sum(1) >= 2)
    segment = (batch.segment_context == mask)
    for row in range(len(sequences)):
        cols = segment[row].nonzero().flatten()
        n = int(real[row].sum())
        assert 1 <= len(cols) <= n // 2 and torch.equal(cols, torch.arange(cols[0], cols[-1] + 1))
        assert torch.equal(batch.positive_segment[row, cols], sequences[row, cols])
        assert (batch.positive_segment[row][real[row] & ~segment[row]] == mask).all()
        assert (batch.negative_segment[row][~segment[row]] == batch.positive_segment[row][~segment[row]]).all()
        assert (batch.negative_segment[row, cols] >= 0).all()
    assert (batch.positive_segment[~real] == -1).all() and (batch.negative_segment[~real] == -1).all()


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_each_pretraining_objective_is_finite_and_decreases(objective):
    m = model().train()
    sequences = successor_runs()
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(m.parameters(), lr=5e-3)
    values = []
    for _ in range(100):
        losses = m.pretrain_losses(pretrain_batch(sequences, N_ITEMS, 0.2, generator, True))
        assert all(torch.isfinite(v) for v in losses.values())
        values.append(losses[objective].item())
        optimizer.zero_grad()
        losses[objective].backward()  # the objective alone
        optimizer.step()
    first, last = sum(values[:10]) / 10, sum(values[-10:]) / 10
    # the pairwise losses −log σ(σ(f⁺) − σ(f⁻)) start near log 2 per pair and cannot go below −log σ(1) ≈ 0.31
    assert last < 0.85 * first, (first, last)


def test_pretraining_loop_weights_and_curve():
    m = model()
    train = Samples(successor_runs(40)[:, :-1], successor_runs(40)[:, -1], torch.arange(40))
    sequences = pretraining_sequences(train)
    assert sequences.shape == (40, 7) and torch.equal(sequences[:, -1], train.targets)
    record = pretrain_s3rec(m, sequences, BaselineConfig(batch_size=16, lr=5e-3), seed=0)
    first, last = record["loss_terms"]["first_epoch"], record["loss_terms"]["last_epoch"]
    assert record["epochs"] == m.config.pretrain_epochs and (first["epoch"], last["epoch"]) == (1, record["epochs"])
    weights = {"aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 0.5}  # the authors' run_pretrain.py
    for entry in (first, last):
        assert list(entry["terms"]) == list(OBJECTIVES)
        for name, term in entry["terms"].items():
            assert term["weight"] == weights[name] and term["weighted"] == weights[name] * term["raw"]
        assert entry["total"] == pytest.approx(sum(weights[n] * entry["terms"][n]["raw"] for n in OBJECTIVES))
    assert last["total"] < first["total"]
    assert all(first["terms"][n]["raw"] != last["terms"][n]["raw"] for n in OBJECTIVES)
    again = model()
    # pre-training runs at the model's pretrain_lr, not the fine-tuning lr of the shared section; same seed, same record
    assert pretrain_s3rec(again, sequences, BaselineConfig(batch_size=16, lr=5e-1), 0) == record
    assert pretrain_s3rec(model(pretrain_lr=5e-3), sequences, BaselineConfig(batch_size=16), 0) != record
    assert pretrain_s3rec(model(pretrain_epochs=0), sequences, BaselineConfig(batch_size=16), 0) == {"epochs": 0}


def test_finetuning_loss_decreases_on_a_successor_task():
    m = model().train()
    runs = successor_runs()
    optimizer = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = sequential_loss(m, runs[:, :-1], runs[:, -1], "ce")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bad_config_and_attribute_table_fail():
    with pytest.raises(ValueError, match="mask_ratio"):
        S3RecConfig(n_items=5, max_len=4, n_attributes=2, mask_ratio=0.0)
    with pytest.raises(ValueError, match="sp_weight must be >= 0"):
        S3RecConfig(n_items=5, max_len=4, n_attributes=2, sp_weight=-1.0)
    with pytest.raises(ValueError, match="pretrain_epochs must be >= 0"):
        S3RecConfig(n_items=5, max_len=4, n_attributes=2, pretrain_epochs=-1)
    with pytest.raises(ValueError, match="n_attributes"):
        S3Rec(S3RecConfig(n_items=N_ITEMS, max_len=4, n_attributes=3, dim=8), attributes())


def test_audited_defaults_weights_and_forced_last_mask():
    """The authors' run_pretrain.py and RecBole's S3Rec.yaml: AAP 0.2, MIP 1, MAP 1, SP 0.5; the authors' loader masks
    each instance's last item."""
    config = S3RecConfig(n_items=5, max_len=4, n_attributes=2)
    assert config.weights() == {"aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 0.5} and config.mask_last
    sequences = successor_runs()
    forced = pretrain_batch(sequences, N_ITEMS, 0.01, torch.Generator().manual_seed(0), True)
    free = pretrain_batch(sequences, N_ITEMS, 0.01, torch.Generator().manual_seed(0), False)
    mask = forced.masked == N_ITEMS + 1
    assert mask[:, -1].all() and not (free.masked == N_ITEMS + 1)[:, -1].all()
