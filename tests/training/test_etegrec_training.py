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
from pipeline_lib.evaluation import DecodeConfig
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
from pipeline_lib.training.etegrec import (
    FinetuneTrainer,
    JointData,
    JointTrainer,
    alternation_epochs,
    epoch_phase,
    etegrec_settings,
    finetune_checkpoint,
    joint_data,
    train_etegrec,
    validation_interval,
)

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
    "stopping": {"patience": 3},
    "etegrec": {
        "schedule": "alternate", "mu": 1e-3, "lam": 1e-4, "tau": 0.07, "sia": True, "psa": True,
        "cycle_epochs": 2, "recommender_lr": 5e-3, "tokenizer_lr": 1e-4, "recommender_warmup_steps": 2,
        "tokenizer_warmup_steps": 1, "batch_size": 32, "max_epochs": 4, "patience": 3, "bf16": False, "device": "cpu",
        "alignment_warmup_epochs": 1, "finetune_epochs": 2,
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
    alternation, finetune = train["alternation"], train["finetune"]
    assert (alternation["epochs"], alternation["best_epoch"], alternation["stopped_by"]) == (2, 1, "max_epochs")
    assert (finetune["epochs"], finetune["eval_every"], finetune["patience"]) == (2, 1, 3)  # patience: the rule's
    assert train["epochs"] == 4 and train["best_epoch"] == 2 + finetune["best_epoch"]
    assert train["valid"] == finetune["valid"] and train["stopped_by"] == "max_epochs"
    assert not paths.checkpoint(RUN).exists() and not finetune_checkpoint(paths.checkpoint(RUN)).exists()
    curve = pd.read_csv(paths.curve(RUN), sep="\t")
    assert curve["epoch"].tolist() == [0, 1, 2, 3] and curve["finetune"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert curve["trains_tokenizer"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert curve["valid_ndcg@10"].notna().tolist() == [False, True, True, True]
    # each term's epoch mean at the first and last epoch of each kind of epoch; the warm-up epoch 0 weighs none
    terms = alternation["loss_terms"]
    first_tokenizer = terms["tokenizer"]["first_epoch"]
    sia = first_tokenizer["terms"]["sia"]
    assert first_tokenizer["epoch"] == 0 and sia["weight"] == 0.0 and sia["weighted"] == 0.0 and sia["raw"] > 0
    assert first_tokenizer["total"] == pytest.approx(first_tokenizer["terms"]["sq"]["raw"])
    last_recommender = terms["recommender"]["last_epoch"]
    assert last_recommender["epoch"] == 1 and "sq" not in last_recommender["terms"]
    assert last_recommender["terms"]["sia"]["weight"] == pytest.approx(1e-3)  # μ once the warm-up is over
    assert last_recommender["terms"]["psa"]["weight"] == pytest.approx(1e-4)
    assert set(finetune["loss_terms"]["last_epoch"]["terms"]) == {"rec"}


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


def test_rule_patience_replaces_the_fine_tuning_patience_and_rec_softmax_sets_the_heads():
    settings = etegrec_settings(PARAMS, spec(PARAMS), input_dim=DIM, params_path="params.yaml")
    assert settings.optim.finetune_patience == 3 and settings.alignment.rec_softmax == "level"
    own = {key: value for key, value in PARAMS.items() if key != "stopping"}
    own["etegrec"] = {**PARAMS["etegrec"], "rec_softmax": "vocabulary"}
    settings = etegrec_settings(own, spec(own), input_dim=DIM, params_path="params.yaml")
    assert settings.optim.finetune_patience == 10 and settings.alignment.rec_softmax == "vocabulary"
    assert (settings.optim.finetune_epochs, settings.optim.finetune_lr) == (2, 5e-4)


@pytest.mark.parametrize(
    "schedule, cycle, every, interval",
    [("alternate", 2, None, 2), ("alternate", 3, 2, 3), ("alternate", 2, 2, 2), ("alternate", 2, 3, 4),
     ("alternate", 3, 6, 6), ("joint", 3, 2, 2)],
)
def test_alternation_validates_at_cycle_ends(schedule, cycle, every, interval):
    optim = JointOptimConfig(schedule=schedule, cycle_epochs=cycle, eval_every=every)
    assert validation_interval(optim) == interval


@pytest.mark.parametrize(
    "schedule, cycle, cap, epochs",
    [("alternate", 3, 200, 198), ("alternate", 3, 7, 6), ("alternate", 2, 4, 4), ("alternate", 3, 2, 2),
     ("joint", 3, 7, 7), ("frozen", 3, 7, 7)],
)
def test_the_alternation_cap_ends_on_a_cycle_end(schedule, cycle, cap, epochs):
    optim = JointOptimConfig(schedule=schedule, cycle_epochs=cycle, max_epochs=cap)
    assert alternation_epochs(optim) == epochs


def test_a_run_at_the_cap_ends_validated_after_a_recommender_epoch(tmp_path, monkeypatch):
    scripted_validation(monkeypatch, [0.1, 0.2, 0.3])
    optim = JointOptimConfig(**{**OPTIM, "max_epochs": 5, "patience": 5, "finetune_epochs": 0})
    _, result = run_joint(tmp_path, optim)
    curve = result.alternation.curve
    assert result.alternation.epochs_run == 4 and result.alternation.stopped_by == "max_epochs"
    assert curve[-1]["trains_tokenizer"] == 0.0 and "valid_ndcg@10" in curve[-1]


def test_warm_up_epochs_train_with_zero_alignment_weights():
    model, z = tiny_model()
    alignment = AlignmentConfig(mu=1.0, lam=1.0, alignment_warmup_epochs=2)
    trainer = JointTrainer(model, tiny_data(z), JointOptimConfig(**OPTIM), alignment, seed=0)
    rows = [trainer.run_epoch(epoch) for epoch in range(3)]
    assert [(row["mu"], row["lam"]) for row in rows] == [(0.0, 0.0), (0.0, 0.0), (1.0, 1.0)]
    assert rows[0]["train_loss"] == pytest.approx(rows[0]["sq_loss"]) and rows[0]["sia_loss"] > 0
    assert rows[1]["train_loss"] == pytest.approx(rows[1]["rec_loss"])
    assert rows[2]["train_loss"] == pytest.approx(rows[2]["sq_loss"] + rows[2]["sia_loss"] + rows[2]["psa_loss"])


def test_fine_tuning_trains_the_recommender_alone_on_l_rec():
    model, z = tiny_model()
    optim = JointOptimConfig(**{**OPTIM, "finetune_epochs": 3, "finetune_lr": 2e-3})
    tuner = FinetuneTrainer(model, tiny_data(z), optim, seed=0)
    assert tuner.scheduler.get_last_lr()[0] == 2e-3  # no warm-up
    frozen = [model.tokenizer, model.sequence_head, model.preference_head]
    before, rec0, ids0 = checksum(frozen), checksum([model.recommender]), model.semantic_ids.clone()
    row = tuner.run_epoch(0)
    assert set(row) == {"train_loss", "rec_loss", "lr_recommender", "trains_tokenizer"}
    assert row["train_loss"] == pytest.approx(row["rec_loss"])
    assert torch.equal(checksum(frozen), before) and torch.equal(model.semantic_ids, ids0)
    assert not torch.equal(checksum([model.recommender]), rec0)
    assert 0 < row["lr_recommender"] < 2e-3  # cosine decay over the 3 epochs


def scripted_validation(monkeypatch, scores: list[float]) -> None:
    """Validation NDCG@10 values in order, whatever the model ranks."""
    values = iter(scores)
    monkeypatch.setattr("pipeline_lib.training.etegrec.ranking_metrics", lambda *args: {"ndcg@10": next(values)})


def run_joint(tmp_path: Path, optim: JointOptimConfig, seed: int = 0) -> tuple[ETEGRec, object]:
    model, z = tiny_model(seed)
    result = train_etegrec(model, tiny_data(z), optim, AlignmentConfig(alignment_warmup_epochs=0),
                           DecodeConfig(beam_size=10, batch_size=64, ks=(10,)), seed, tmp_path / "last.safetensors",
                           "run", tmp_path / "curve.tsv")
    return model, result


def test_fine_tuning_starts_from_the_alternations_best_and_ends_at_its_own_best(tmp_path, monkeypatch):
    # alternation: validations after epochs 1 and 3 (C = 2), the first the best; fine-tuning: every epoch, the 2nd best
    scripted_validation(monkeypatch, [0.5, 0.1, 0.2, 0.3, 0.25])
    starts = []
    original = FinetuneTrainer.__init__

    def spy(self, model, *args):
        starts.append(checksum([model]))
        original(self, model, *args)

    monkeypatch.setattr(FinetuneTrainer, "__init__", spy)
    optim = JointOptimConfig(**{**OPTIM, "patience": 5, "finetune_epochs": 3, "finetune_patience": 5})
    model, result = run_joint(tmp_path, optim)
    alternation, finetune = result.alternation, result.finetune
    assert (alternation.best_epoch, finetune.best_epoch, finetune.epochs_run) == (1, 1, 3)
    reference, _ = tiny_model()
    reference.load_state_dict(alternation.best_weights["model"])
    assert torch.equal(starts[0], checksum([reference]))
    reference.load_state_dict(finetune.best_weights["model"])
    assert torch.equal(checksum([model]), checksum([reference]))
    curve = pd.read_csv(tmp_path / "curve.tsv", sep="\t")
    assert curve["valid_ndcg@10"].notna().tolist() == [False, True, False, True, True, True, True]


def test_no_fine_tuning_at_zero_epochs(tmp_path, monkeypatch):
    scripted_validation(monkeypatch, [0.1, 0.2])
    model, result = run_joint(tmp_path, JointOptimConfig(**{**OPTIM, "finetune_epochs": 0}))
    assert result.finetune is None and result.tested is result.alternation
    assert not finetune_checkpoint(tmp_path / "last.safetensors").exists()


def test_a_run_interrupted_in_the_fine_tuning_resumes_to_the_same_weights(tmp_path, monkeypatch):
    optim = JointOptimConfig(**{**OPTIM, "max_epochs": 2, "finetune_epochs": 3, "finetune_patience": 5})
    whole, _ = run_joint(tmp_path / "whole", optim)
    original = FinetuneTrainer.run_epoch

    def crash_at_epoch_2(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(self, epoch)

    monkeypatch.setattr(FinetuneTrainer, "run_epoch", crash_at_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run_joint(tmp_path / "resumed", optim)
    assert finetune_checkpoint(tmp_path / "resumed" / "last.safetensors").is_file()
    trained = []
    monkeypatch.setattr(FinetuneTrainer, "run_epoch", lambda self, epoch: trained.append(epoch) or original(self, epoch))
    monkeypatch.setattr(JointTrainer, "run_epoch", lambda self, epoch: trained.append(("alternation", epoch)))
    resumed, result = run_joint(tmp_path / "resumed", optim)
    assert trained == [2]  # the alternation was done, the fine-tuning resumed after its epoch 1
    assert result.finetune.epochs_run == 3 and torch.equal(checksum([resumed]), checksum([whole]))
