"""The ``stopping`` rule: one E / P / cap for every training section, and the seeded validation subset."""

import pytest
import torch

from pipeline_lib.data.samples import Samples
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import dataset_spec
from pipeline_lib.schema import validate_params
from pipeline_lib.training.config import StoppingRule
from pipeline_lib.training.loop import LoopConfig, fit
from pipeline_lib.training.stopping import stopping_rule, validation_subset


def samples(n: int) -> Samples:
    return Samples(torch.arange(n * 3).view(n, 3), torch.arange(n), torch.arange(n) + 100)


def test_the_rule_replaces_only_the_keys_it_sets():
    section = {"max_epochs": 8, "patience": 1, "eval_every": 4, "lr": 0.01}
    assert StoppingRule().applied(section) == section
    rule = StoppingRule(eval_every=2, patience=5)
    assert rule.applied(section) == {"max_epochs": 8, "patience": 5, "eval_every": 2, "lr": 0.01}
    with pytest.raises(ValueError, match="patience must be >= 1"):
        StoppingRule(patience=0)


def test_validation_subset_is_fixed_by_the_seed_and_keeps_order():
    valid = samples(50)
    assert validation_subset(StoppingRule(), valid) is valid and validation_subset(StoppingRule(valid_users=80), valid) is valid
    first, again = validation_subset(StoppingRule(valid_users=10), valid), validation_subset(StoppingRule(valid_users=10), valid)
    assert len(first) == 10 and torch.equal(first.users, again.users)
    assert torch.equal(first.users, first.users.sort().values)
    assert torch.equal(first.histories, valid.histories[first.targets])  # rows stay together
    other = validation_subset(StoppingRule(valid_users=10, seed=1), valid)
    assert not torch.equal(first.users, other.users)


def test_profile_converge_sets_one_rule_for_every_model_and_the_data_seed_seeds_the_subset():
    from pipeline_lib.schema import load_params

    params = load_params("params.yaml")
    params["catalog"]["demo"]["profile"] = ["cpu", "converge"]
    params["seed"] = 7
    params = validate_params(params)
    rule = stopping_rule(params, dataset_spec(params, "demo"), "params.yaml")
    converge = params["profiles"]["converge"]["stopping"]
    assert (rule.eval_every, rule.patience, rule.max_epochs) == (converge["eval_every"], converge["patience"],
                                                                 converge["max_epochs"])
    assert rule.seed == 7


def test_a_bad_rule_value_is_refused_under_its_key():
    from pipeline_lib.schema import load_params

    params = load_params("params.yaml")
    params["stopping"]["patience"] = 0
    with pytest.raises(PipelineInputError, match="stopping.patience"):
        validate_params(params)


def test_fit_stops_after_p_validations_restores_the_best_and_marks_the_cap(tmp_path):
    """Stop after P validations without improvement; the best validation's weights are returned; a run that
    is still improving at the cap reports stopped_by max_epochs (not converged)."""
    model = torch.nn.Linear(1, 1, bias=False)

    def run(scores, **config):
        values = iter(scores)

        def epoch(e):
            with torch.no_grad():
                model.weight.fill_(float(e))  # the weights remember the epoch
            return {"train_loss": 0.0}

        return fit(LoopConfig(**config), {"model": model}, {}, epoch, lambda: {"ndcg@10": next(values)},
                   tmp_path / f"{len(scores)}-{config['max_epochs']}.pt", "run")

    stopped = run([0.1, 0.3, 0.2, 0.2, 0.2, 0.9], max_epochs=12, patience=3, eval_every=2)
    assert (stopped.stopped_by, stopped.best_epoch, stopped.epochs_run) == ("patience", 3, 10)  # validations at epochs 1, 3, 5, 7, 9: the last three no better
    assert float(stopped.best_weights["model"]["weight"]) == 3.0
    capped = run([0.1, 0.2, 0.3], max_epochs=6, patience=3, eval_every=2)
    assert (capped.stopped_by, capped.best_epoch) == ("max_epochs", 5)
