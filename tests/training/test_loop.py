import time

import torch

from pipeline_lib.training.loop import LoopResult, run_summary, run_timings


def test_run_summary_reports_best_epoch_and_timings_apart():
    result = LoopResult(
        best_epoch=3,
        best_metrics={"ndcg@10": 0.2},
        best_weights={},
        curve=[{"epoch": 0, "epoch_seconds": 1.0}, {"epoch": 1, "epoch_seconds": 3.0}],
        epochs_run=2,
    )
    summary = run_summary(result, torch.device("cpu"), parameters=42)
    assert summary == {"best_epoch": 3, "epochs": 2, "valid": {"ndcg@10": 0.2}, "device": "cpu", "parameters": 42}
    timings = run_timings(result, time.perf_counter() - 5.0)
    assert timings["seconds_per_epoch"] == 2.0 and timings["wall_seconds_this_run"] >= 5.0


def test_run_summary_of_a_run_without_epochs():
    empty = LoopResult(best_epoch=-1, best_metrics={}, best_weights={})
    assert run_timings(empty, time.perf_counter())["seconds_per_epoch"] == 0.0
