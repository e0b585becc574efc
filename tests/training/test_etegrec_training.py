import json
import runpy
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import save_file

from pipeline_lib.data.samples import evaluation_samples, prefix_samples
from pipeline_lib.data.split import split_dataset
from pipeline_lib.data.store import write_split
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.models.config import AlignmentConfig, GenRecConfig
from pipeline_lib.models.etegrec import ETEGRec, Phase
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.params import DatasetSpec
from pipeline_lib.paths import DatasetPaths, run_name
from pipeline_lib.protocol import PROTOCOLS
from pipeline_lib.tokenizer.config import RQVAEConfig
from pipeline_lib.tokenizer.rqvae import RQVAE
from pipeline_lib.tokenizer.semantic_ids import assign_semantic_ids
from pipeline_lib.training.config import JointOptimConfig
from pipeline_lib.training.etegrec import JointData, JointTrainer, epoch_phase, etegrec_settings, joint_data

N_ITEMS, DIM, K = 24, 10, 8
RUN, SASREC = run_name("etegrec", 1), run_name("sasrec", 1)  # the stage runs the first of `seeds`


def interactions(n_users: int = 40, n_items: int = N_ITEMS, seed: int = 0) -> pd.DataFrame:
    """Users walking through the catalogue in small steps, 5–12 interactions each (every item seen ≥ 5 times)."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for user in range(n_users):
        start, length = int(torch.randint(n_items, (1,), generator=g)), 5 + user % 8
        rows += [(f"u{user:03d}", f"i{(start + 3 * t) % n_items:03d}", t) for t in range(length)]
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def tiny_model(seed: int = 0) -> tuple[ETEGRec, torch.Tensor]:
    torch.manual_seed(seed)
    tokenizer = RQVAE(RQVAEConfig(input_dim=DIM, hidden_dims=(16,), code_dim=6, levels=3, codebook_size=K))
    recommender = GenerativeRecommender(GenRecConfig(levels=4, codebook_size=K, d_model=16, d_kv=4, num_heads=2,
                                                     d_ff=32, encoder_layers=1, decoder_layers=1, dropout=0.0))
    z = torch.randn(N_ITEMS, DIM, generator=torch.Generator().manual_seed(seed + 1))
    model = ETEGRec(tokenizer, recommender, N_ITEMS)
    model.refresh_semantic_ids(z)
    return model, z


def tiny_data(z: torch.Tensor) -> JointData:
    split = split_dataset(interactions(), max_seq_len=5)
    return JointData(prefix_samples(split.train, 5), evaluation_samples(split.valid, 5), z)


def checksum(modules) -> torch.Tensor:
    return torch.stack([p.detach().double().sum() + p.detach().double().square().sum() for m in modules
                        for p in m.parameters()])


OPTIM = dict(recommender_lr=1e-2, tokenizer_lr=1e-2, recommender_warmup_steps=0, tokenizer_warmup_steps=0,
             batch_size=16, max_epochs=4, bf16=False)


def test_epoch_phases_of_the_three_schedules():
    assert [epoch_phase(e, "alternate", 3) for e in range(6)] == [Phase.TOKENIZER] + [Phase.RECOMMENDER] * 2 + [
        Phase.TOKENIZER
    ] + [Phase.RECOMMENDER] * 2
    assert {epoch_phase(e, "joint", 2) for e in range(4)} == {Phase.JOINT}
    assert {epoch_phase(e, "frozen", 2) for e in range(4)} == {Phase.RECOMMENDER}
    with pytest.raises(ValueError, match="cycle_epochs"):
        JointOptimConfig(cycle_epochs=1)
    with pytest.raises(ValueError, match="schedule"):
        JointOptimConfig(schedule="sometimes")


def test_alternating_epochs_freeze_the_other_component_and_retokenize_after_tokenizer_epochs():
    model, z = tiny_model()
    trainer = JointTrainer(model, tiny_data(z), JointOptimConfig(**OPTIM), AlignmentConfig(mu=1.0, lam=1.0), seed=0)
    recommender_side = model.recommender_side()

    tok0, rec0, ids0 = checksum([model.tokenizer]), checksum(recommender_side), model.semantic_ids.clone()
    row = trainer.run_epoch(0)  # first epoch of a cycle: the tokenizer
    assert row["trains_tokenizer"] == 1.0 and "rec_loss" not in row and "sq_loss" in row
    assert torch.equal(checksum(recommender_side), rec0)
    assert not torch.equal(checksum([model.tokenizer]), tok0)
    fresh = assign_semantic_ids(model.tokenizer.encode(z), K)
    assert torch.equal(model.semantic_ids, fresh) and not torch.equal(fresh, ids0)
    assert row["ids_changed"] == pytest.approx((fresh != ids0).any(1).float().mean().item())

    tok1, rec1, ids1 = checksum([model.tokenizer]), checksum(recommender_side), model.semantic_ids.clone()
    row = trainer.run_epoch(1)  # the rest of the cycle: the recommender
    assert row["trains_tokenizer"] == 0.0 and "rec_loss" in row and "sq_loss" not in row and "ids_changed" not in row
    assert torch.equal(checksum([model.tokenizer]), tok1)
    assert not torch.equal(checksum(recommender_side), rec1)
    assert torch.equal(model.semantic_ids, ids1)
    assert trainer.schedulers["tokenizer"].last_epoch == trainer.n_batches  # only the tokenizer epoch stepped it


@pytest.mark.parametrize("schedule, tokenizer_moves", [("frozen", False), ("joint", True)])
def test_ablation_schedules(schedule, tokenizer_moves):
    model, z = tiny_model()
    trainer = JointTrainer(model, tiny_data(z), JointOptimConfig(schedule=schedule, **OPTIM), AlignmentConfig(), 0)
    tok0, rec0, ids0 = checksum([model.tokenizer]), checksum(model.recommender_side()), model.semantic_ids.clone()
    for epoch in range(2):
        trainer.run_epoch(epoch)
    assert not torch.equal(checksum(model.recommender_side()), rec0)
    assert torch.equal(checksum([model.tokenizer]), tok0) != tokenizer_moves
    if not tokenizer_moves:
        assert torch.equal(model.semantic_ids, ids0)


def test_epochs_are_deterministic_for_a_seed():
    rows, weights = [], []
    for _ in range(2):
        model, z = tiny_model()
        trainer = JointTrainer(model, tiny_data(z), JointOptimConfig(**OPTIM), AlignmentConfig(), seed=3)
        rows.append([trainer.run_epoch(e) for e in range(2)])
        weights.append(checksum([model.tokenizer, *model.recommender_side()]))
    assert rows[0] == rows[1] and torch.equal(weights[0], weights[1])


def test_joint_data_cuts_histories_from_the_full_sequences():
    split = split_dataset(interactions(), max_seq_len=3)  # the filter's tables keep 3 items
    data, test = joint_data(split, torch.zeros(N_ITEMS, DIM), max_history=6, device=torch.device("cpu"))
    sequences = split.sequences["item_ids"].map(list)
    assert test.targets.tolist() == [s[-1] for s in sequences]
    for row, s in zip(test.histories.tolist(), sequences):
        assert [i for i in row if i >= 0] == s[:-1][-6:]
    assert data.valid.targets.tolist() == [s[-2] for s in sequences]


PARAMS = {
    "seed": 1,
    "seeds": [1],
    "protocol": "etegrec",
    "catalog": {"demo": {"source": "demo", "alpha": 0.4, "bos_queries": 16,
                         "overrides": {"etegrec": {"rqvae": {"codebook_size": 8}, "max_epochs": 2}}}},
    "evaluate": {"beam_size": None, "batch_size": 64, "ks": [5, 10]},
    "etegrec": {
        "schedule": "alternate", "mu": 1e-3, "lam": 1e-4, "tau": 0.07, "sia": True, "psa": True,
        "cycle_epochs": 2, "recommender_lr": 5e-3, "tokenizer_lr": 1e-4, "recommender_warmup_steps": 2,
        "tokenizer_warmup_steps": 1, "batch_size": 32, "max_epochs": 4, "patience": 3, "bf16": False, "device": "cpu",
        "rqvae": {"hidden_dims": [16], "code_dim": 6, "levels": 3, "codebook_size": 16},
        "pretrain": {"epochs": 20, "batch_size": 32, "lr": 1e-3},
        "backbone": {"d_model": 16, "d_kv": 4, "num_heads": 2, "d_ff": 32, "encoder_layers": 1, "decoder_layers": 1},
    },
}


def spec(params: dict) -> DatasetSpec:
    entry = dict(params["catalog"]["demo"])
    entry.pop("source")
    return DatasetSpec(name="demo", source="demo", **entry)


def test_settings_merge_dataset_overrides_into_sub_sections():
    settings = etegrec_settings(PARAMS, spec(PARAMS), input_dim=DIM, params_path="params.yaml")
    assert settings.rqvae == RQVAEConfig(input_dim=DIM, hidden_dims=(16,), code_dim=6, levels=3, codebook_size=8)
    assert settings.recommender.levels == 4 and settings.recommender.codebook_size == 8
    assert settings.optim.max_epochs == 2 and settings.alignment.mu == 1e-3
    assert settings.protocol == PROTOCOLS["etegrec"] and settings.max_history == 50 and settings.decode.beam_size == 20
    assert settings.decode.batch_size == 64 and settings.decode.ks == (5, 10)


@pytest.mark.parametrize(
    "change, message",
    [({"lambda": 1.0}, "field 'etegrec'"), ({"tau": 0.0}, "tau must be > 0"),
     ({"rqvae": {"levels": 0}}, "etegrec.rqvae")],
)
def test_bad_settings_name_the_field(change, message):
    params = {**PARAMS, "etegrec": {**PARAMS["etegrec"], **change}}
    with pytest.raises(PipelineInputError, match=message):
        etegrec_settings(params, spec(params), input_dim=DIM, params_path="params.yaml")


def lay_out(tmp_path: Path, with_embeddings: bool = True) -> DatasetPaths:
    paths = DatasetPaths("demo", tmp_path)
    write_split(paths, split_dataset(interactions(n_users=60), max_seq_len=20))
    if with_embeddings:
        z = torch.randn(N_ITEMS, DIM, generator=torch.Generator().manual_seed(0))
        paths.model_dir(SASREC).mkdir(parents=True)
        save_file({"embeddings": z}, str(paths.item_embeddings_of(SASREC)))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    return paths


def run_stage(tmp_path: Path, monkeypatch) -> None:
    """Run the stage in-process, as ``python -m stages.etegrec demo --params params.yaml`` from ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["etegrec", "demo", "--params", "params.yaml"])
    runpy.run_module("stages.etegrec", run_name="__main__")


def test_stage_trains_and_writes_metrics_model_tokenizer_and_ids(tmp_path, monkeypatch):
    paths = lay_out(tmp_path)
    run_stage(tmp_path, monkeypatch)
    metrics = json.loads(paths.eval_metrics(RUN).read_text())
    assert metrics["model"] == "etegrec" and metrics["seed"] == 1
    assert (metrics["protocol"], metrics["max_history"], metrics["beam_size"]) == ("etegrec", 50, 20)
    assert set(metrics["test"]) == {"recall@5", "ndcg@5", "recall@10", "ndcg@10"}
    ids = pd.read_parquet(paths.model_dir(RUN) / "semantic_ids.parquet")
    assert len(ids) == N_ITEMS and not ids.drop(columns="item_id").duplicated().any()
    assert (paths.model_dir(RUN) / "tokenizer.safetensors").is_file() and paths.model_weights(RUN).is_file()
    ranks = pd.read_parquet(paths.user_ranks(RUN))
    assert len(ranks) == 60
    assert metrics["test"]["recall@10"] == pytest.approx(((ranks["rank"] >= 1) & (ranks["rank"] <= 10)).mean())
    train = json.loads(paths.train_metrics(RUN).read_text())
    assert train["epochs"] == 2 and train["best_epoch"] == 1 and not paths.checkpoint(RUN).exists()
    curve = pd.read_csv(paths.curve(RUN), sep="\t")
    assert curve["trains_tokenizer"].tolist() == [1.0, 0.0] and curve["valid_ndcg@10"].notna().tolist() == [False, True]


def test_missing_sasrec_embeddings_stop_the_stage_with_one_line(tmp_path, monkeypatch, capsys):
    lay_out(tmp_path, with_embeddings=False)
    with pytest.raises(SystemExit) as exit_info:
        run_stage(tmp_path, monkeypatch)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "item_embeddings.safetensors" in err[0] and "baseline stage" in err[0]


def test_warmup_in_epochs_replaces_steps_per_component():
    """Profile converge's ETEGRec warm-up: epochs of the part it warms × its steps an epoch (the authors' 8000 / 4000
    scheduler steps are 15.7 / 7.9 epochs on Amazon 2023 Scientific), else the steps."""
    steps = JointOptimConfig(recommender_warmup_steps=8000, tokenizer_warmup_steps=4000)
    assert (steps.warmup("recommender", 66), steps.warmup("tokenizer", 66)) == (8000, 4000)
    epochs = JointOptimConfig(recommender_warmup_epochs=15.7, tokenizer_warmup_epochs=7.9)
    assert (epochs.warmup("recommender", 66), epochs.warmup("tokenizer", 66)) == (1036, 521)
    with pytest.raises(ValueError, match="recommender_warmup_epochs must be > 0"):
        JointOptimConfig(recommender_warmup_epochs=0.0)
