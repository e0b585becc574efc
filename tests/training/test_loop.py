import time

import torch

from pipeline_lib.training.loop import LoopConfig, LoopResult, fit, run_summary, run_timings


def test_run_summary_reports_best_epoch_and_timings_apart():
    result = LoopResult(
        best_epoch=3,
        best_metrics={"ndcg@10": 0.2},
        best_weights={},
        curve=[{"epoch": 0, "epoch_seconds": 1.0}, {"epoch": 1, "epoch_seconds": 3.0}],
        epochs_run=2,
    )
    summary = run_summary(result, torch.device("cpu"), parameters=42)
    assert summary == {"best_epoch": 3, "epochs": 2, "stopped_by": "max_epochs", "valid": {"ndcg@10": 0.2},
                       "device": "cpu", "parameters": 42}
    timings = run_timings(result, time.perf_counter() - 5.0)
    assert timings["seconds_per_epoch"] == 2.0 and timings["wall_seconds_this_run"] >= 5.0


def test_run_summary_of_a_run_without_epochs():
    empty = LoopResult(best_epoch=-1, best_metrics={}, best_weights={})
    assert run_timings(empty, time.perf_counter())["seconds_per_epoch"] == 0.0


def _fit(tmp_path, **config):
    """``fit`` over a model with no training: validation NDCG@10 from a fixed sequence per evaluation."""
    from pipeline_lib.training.loop import LoopConfig, fit

    scores = iter([0.3, 0.2, 0.1, 0.1, 0.1, 0.1])
    model = torch.nn.Linear(1, 1)
    return fit(LoopConfig(**config), {"model": model}, {}, lambda epoch: {"train_loss": 0.0},
               lambda: {"ndcg@10": next(scores)}, tmp_path / "ckpt.safetensors", "run")


def test_stopped_by_names_patience_max_epochs_or_the_time_budget(tmp_path):
    assert _fit(tmp_path / "a", max_epochs=6, patience=2).stopped_by == "patience"
    assert _fit(tmp_path / "b", max_epochs=2, patience=5).stopped_by == "max_epochs"
    budget = _fit(tmp_path / "c", max_epochs=6, patience=5, eval_every=2, time_budget_s=1e-9)
    assert (budget.stopped_by, budget.epochs_run, budget.best_epoch) == ("time_budget", 2, 1)
    last = _fit(tmp_path / "d", max_epochs=1, patience=5, time_budget_s=1e-9)
    assert last.stopped_by == "max_epochs"  # the budget ran out at the last epoch: the run was complete anyway


def test_a_resumed_run_with_no_epochs_left_still_writes_its_curve(tmp_path):
    """Issue 28: DVC deletes the curve before re-running a stage; when the only checkpoint is the last epoch's
    (or one stopped by patience), the resumed run trains no epoch and must still write the curve it resumed."""
    from pipeline_lib.training.loop import LoopConfig, fit

    def run(curve, **config):
        model = torch.nn.Linear(1, 1)
        scores = iter([0.3, 0.2, 0.1, 0.1])
        return fit(LoopConfig(**config), {"model": model}, {}, lambda epoch: {"train_loss": 0.0},
                   lambda: {"ndcg@10": next(scores)}, tmp_path / f"{curve.stem}.safetensors", "run", curve)

    for name, config in (("done", {"max_epochs": 2, "patience": 5}), ("patience", {"max_epochs": 6, "patience": 2})):
        curve = tmp_path / f"{name}.tsv"
        first = run(curve, **config)
        written = curve.read_text()
        curve.unlink()  # what DVC does before it re-runs the stage; the checkpoint stays (persist)
        again = run(curve, **config)
        assert curve.read_text() == written, name
        assert (again.best_epoch, again.epochs_run, again.stopped_by) == (first.best_epoch, first.epochs_run,
                                                                         first.stopped_by), name


def test_a_resumed_run_counts_the_training_and_validation_time_of_every_session(tmp_path):
    """Each validated epoch's curve row has its eval_seconds; the timings' train_and_eval_seconds sums epochs and
    validations over the curve, which the checkpoint carries across an interruption."""
    model = torch.nn.Linear(1, 1, bias=False)

    def epoch(e: int) -> dict[str, float]:
        time.sleep(0.02)
        return {"train_loss": 1.0 / (e + 1)}

    def validate() -> dict[str, float]:
        time.sleep(0.03)
        return {"ndcg@10": 0.5}

    checkpoint = tmp_path / "last.safetensors"
    fit(LoopConfig(max_epochs=2, patience=5, eval_every=2), {"model": model}, {}, epoch, validate, checkpoint, "run")
    resumed = fit(LoopConfig(max_epochs=4, patience=5, eval_every=2), {"model": model}, {}, epoch, validate,
                  checkpoint, "run")
    assert [("eval_seconds" in row) for row in resumed.curve] == [False, True, False, True]
    total = run_timings(resumed, time.perf_counter())["train_and_eval_seconds"]
    assert total >= 4 * 0.02 + 2 * 0.03
    assert total == sum(row["epoch_seconds"] for row in resumed.curve) + sum(
        row["eval_seconds"] for row in resumed.curve if "eval_seconds" in row)
