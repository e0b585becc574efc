"""Composition diagnostics in training: per-validation curve columns, per-step TSV, weight-decay groups."""

from pathlib import Path

import pandas as pd
import torch

from pipeline_lib.bench.synthetic import SyntheticSize, synthetic_split, synthetic_tokenizer
from pipeline_lib.evaluation import DecodeConfig
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.diagnostics import StepDiagnostics
from pipeline_lib.training.generative import GenerativeTrainer, generative_data, resume_settings, train_generative

K = 8
TINY = dict(codebook_size=K, d_model=16, d_kv=4, num_heads=2, d_ff=32, encoder_layers=1, decoder_layers=1,
            code_dim=6, fusion_dim=8, attention_dim=8, dropout=0.0, composition=True, alpha=0.5, bos_queries=3)
DECODE = DecodeConfig(beam_size=10, batch_size=16, ks=(5, 10))


def setup(**kw):
    split = synthetic_split(SyntheticSize(users=30, items=25, interactions=160), max_seq_len=5, seed=1)
    sids, codebooks = synthetic_tokenizer(25, levels=3, codebook_size=K, code_dim=6, seed=1)
    data, _ = generative_data(split, sids, K, 5, torch.device("cpu"))
    torch.manual_seed(1)
    return GenerativeRecommender(GenRecConfig(**(TINY | kw)), codebooks), data


def test_curve_gets_validation_diagnostics_and_steps_tsv_every_n_steps(tmp_path: Path):
    model, data = setup()
    optim = OptimConfig(batch_size=16, lr=0.01, warmup_steps=2, max_epochs=2, patience=5, bf16=False,
                        diagnostics_every=3)
    curve = tmp_path / "decor.tsv"
    steps_file = tmp_path / "steps" / "decor.tsv"
    train_generative(model, data, optim, DECODE, 0, tmp_path / "ckpt.safetensors", "run", curve, steps_file)
    rows = pd.read_csv(curve, sep="\t")
    for site in ("bos", "layer_1", "layer_2", "layer_3"):
        for stat in ("entropy", "max_weight", "distinct_argmax", "above_uniform_share", "logit_var_code",
                     "logit_var_context", "u_norm", "query_norm"):
            assert rows[f"valid_comp_{site}_{stat}"].notna().all(), (site, stat)
    assert (rows["valid_comp_layer_1_entropy"] <= torch.log(torch.tensor(K)).item() + 1e-6).all()
    steps = pd.read_csv(steps_file, sep="\t")
    n_steps = 2 * GenerativeTrainer(model, data, optim, 0).n_batches
    assert steps["step"].tolist() == list(range(3, n_steps + 1, 3))
    assert "comp_layer_3_max_weight" in steps.columns


def test_no_steps_tsv_by_default_or_without_composition(tmp_path: Path):
    model, data = setup()
    optim = OptimConfig(batch_size=16, lr=0.01, warmup_steps=2, max_epochs=1, patience=5, bf16=False)
    train_generative(model, data, optim, DECODE, 0, tmp_path / "a.safetensors", "a", tmp_path / "a.tsv",
                     tmp_path / "a.steps.tsv")
    assert not (tmp_path / "a.steps.tsv").exists()
    tiger, data = setup(composition=False, alpha=0.0, bos_queries=0)
    optim = OptimConfig(batch_size=16, lr=0.01, warmup_steps=2, max_epochs=1, patience=5, bf16=False,
                        diagnostics_every=1)
    train_generative(tiger, data, optim, DECODE, 0, tmp_path / "b.safetensors", "b", tmp_path / "b.tsv",
                     tmp_path / "b.steps.tsv")
    assert not (tmp_path / "b.steps.tsv").exists()
    assert not any(c.startswith("valid_comp_") for c in pd.read_csv(tmp_path / "b.tsv", sep="\t").columns)


def test_step_diagnostics_resume_drops_the_rows_of_steps_to_redo(tmp_path: Path):
    model, data = setup()
    path = tmp_path / "x.steps.tsv"
    pd.DataFrame({"step": [2, 4, 6], "comp_layer_1_entropy": [1.0, 1.0, 1.0]}).to_csv(path, sep="\t", index=False)
    log = StepDiagnostics(model, data.valid.histories, data.valid.targets, data.item_tokens, 2, path)
    model.train()
    log(3)  # not a multiple of 2: nothing
    log(4)  # resumed at step 4: the old rows of steps ≥ 4 go
    assert model.training
    steps = pd.read_csv(path, sep="\t")
    assert steps["step"].tolist() == [2, 4]
    assert steps["comp_layer_1_entropy"].iloc[1] != 1.0


def test_trainer_param_groups_follow_weight_decay_exclude():
    model, data = setup()
    optim = OptimConfig(batch_size=16, weight_decay=0.05, bf16=False)
    assert [g["weight_decay"] for g in GenerativeTrainer(model, data, optim, 0).optimizer.param_groups] == [0.05]
    model, data = setup(weight_decay_exclude=True)
    groups = GenerativeTrainer(model, data, optim, 0).optimizer.param_groups
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0]
    assert any(p is model.bos.queries for p in groups[1]["params"])


def test_empty_steps_file_is_a_readable_header(tmp_path: Path):
    from pipeline_lib.training.diagnostics import write_empty_steps

    path = tmp_path / "new" / "tiger.steps.tsv"
    write_empty_steps(path)
    assert list(pd.read_csv(path, sep="\t").columns) == ["step"] and pd.read_csv(path, sep="\t").empty


class _TwoRanks:
    """Rank 0 of a pretend two-process run: its shard is the whole batch, and the other rank's
    ``context_mean`` is ``other`` (what an all-reduce would add)."""

    def __init__(self, other: torch.Tensor):
        self.rank, self.world_size, self.is_main, self.other = 0, 2, True, other

    def broadcast_module(self, module):
        pass

    def shard(self, index):
        return index, 1.0

    def sum_gradients(self, module):
        pass

    def sum(self, value):
        return value + (self.other if value.shape == self.other.shape else value)


def test_center_context_running_mean_is_averaged_over_ranks_each_epoch():
    model, data = setup(composition_center_context=True)
    other = torch.full_like(model.composition.context_mean, 3.0)
    trainer = GenerativeTrainer(model, data, OptimConfig(batch_size=16, bf16=False), 0, _TwoRanks(other))
    reference, _ = setup(composition_center_context=True)
    GenerativeTrainer(reference, data, OptimConfig(batch_size=16, bf16=False), 0).run_epoch(0)
    trainer.run_epoch(0)
    own = reference.composition.context_mean  # the same epoch in one process: this rank's own running mean
    assert own.abs().sum() > 0
    torch.testing.assert_close(model.composition.context_mean, (own + other) / 2)


def test_time_budget_stops_after_the_first_validation_and_keeps_the_best_weights(tmp_path: Path):
    """``train.time_budget_s``: a tiny budget ends the run at the first validation, recorded as ``time_budget``;
    without one the run goes to ``max_epochs``; the budget is not part of the resume settings."""
    model, data = setup()
    optim = OptimConfig(batch_size=16, lr=0.01, warmup_steps=2, max_epochs=3, patience=5, bf16=False,
                        time_budget_s=1e-9)
    result = train_generative(model, data, optim, DECODE, 0, tmp_path / "a.safetensors", "a", tmp_path / "a.tsv",
                              tmp_path / "a.steps.tsv")
    assert (result.epochs_run, result.best_epoch, result.stopped_by) == (1, 0, "time_budget")
    assert len(pd.read_csv(tmp_path / "a.tsv", sep="\t")) == 1
    assert set(result.best_weights["model"]) == set(model.state_dict())
    model, data = setup()
    unlimited = OptimConfig(batch_size=16, lr=0.01, warmup_steps=2, max_epochs=3, patience=5, bf16=False)
    result = train_generative(model, data, unlimited, DECODE, 0, tmp_path / "b.safetensors", "b", tmp_path / "b.tsv",
                              tmp_path / "b.steps.tsv")
    assert (result.epochs_run, result.stopped_by) == (3, "max_epochs")
    assert resume_settings(optim) == resume_settings(unlimited)
