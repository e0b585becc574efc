import time

import torch

from pipeline_lib.training.loop import LoopResult, run_summary


def test_run_summary_reports_best_epoch_and_mean_epoch_time():
    result = LoopResult(
        best_epoch=3,
        best_metrics={"ndcg@10": 0.2},
        best_weights={},
        curve=[{"epoch": 0, "epoch_seconds": 1.0}, {"epoch": 1, "epoch_seconds": 3.0}],
        epochs_run=2,
    )
    summary = run_summary(result, time.perf_counter() - 5.0, torch.device("cpu"), parameters=42)
    assert summary["best_epoch"] == 3 and summary["epochs"] == 2 and summary["valid"] == {"ndcg@10": 0.2}
    assert summary["seconds_per_epoch"] == 2.0 and summary["wall_seconds_this_run"] >= 5.0
    assert summary["device"] == "cpu" and summary["parameters"] == 42


def test_run_summary_of_a_run_without_epochs():
    empty = LoopResult(best_epoch=-1, best_metrics={}, best_weights={})
    assert run_summary(empty, time.perf_counter(), torch.device("cpu"), 0)["seconds_per_epoch"] == 0.0
