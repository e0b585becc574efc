"""The loss-term log: epoch means over samples, raw and weighted, first and last epoch, and the weighted sum."""

import json

import pytest
import torch

from pipeline_lib.loss_terms import LossTermLog, weighted_sum


def t(value: float) -> torch.Tensor:
    return torch.tensor(value, requires_grad=True)


def test_weighted_sum_weighs_each_term_and_refuses_unmatched_names():
    assert weighted_sum({"a": t(2.0), "b": t(3.0)}, {"a": 0.5, "b": 2.0}).item() == 7.0
    with pytest.raises(KeyError, match="different terms"):
        weighted_sum({"a": t(2.0)}, {"a": 1.0, "b": 1.0})


def test_epoch_means_are_over_samples_and_weighted_is_weight_times_raw():
    log = LossTermLog({"recon": 1.0, "cf": 0.01})
    log.add({"recon": t(1.0), "cf": t(4.0)}, rows=3)  # a batch of 3 samples
    log.add({"recon": t(3.0), "cf": t(8.0)}, rows=1)  # a smaller last batch counts less
    first = log.end_epoch()
    assert first["epoch"] == 1
    assert first["terms"]["recon"] == {"raw": 1.5, "weight": 1.0, "weighted": 1.5}
    assert first["terms"]["cf"] == {"raw": 5.0, "weight": 0.01, "weighted": 0.05}
    assert first["total"] == pytest.approx(1.55)
    log.add({"recon": t(0.5), "cf": t(2.0)}, rows=2)
    log.end_epoch()
    log.add({"recon": t(0.25), "cf": t(1.0)}, rows=2)
    last = log.end_epoch()
    record = log.record()
    assert record == {"first_epoch": first, "last_epoch": last}
    assert (last["epoch"], last["terms"]["recon"]["raw"], last["terms"]["cf"]["weighted"]) == (3, 0.25, 0.01)
    json.dumps(record)  # plain floats, writable as metrics


def test_one_epoch_is_both_first_and_last_and_misuse_is_refused():
    log = LossTermLog({"a": 1.0})
    with pytest.raises(RuntimeError, match="no finished epoch"):
        log.record()
    with pytest.raises(RuntimeError, match="before any batch"):
        log.end_epoch()
    with pytest.raises(KeyError, match="differ"):
        log.add({"b": t(1.0)}, rows=1)
    log.add({"a": t(2.0)}, rows=4)
    log.end_epoch()
    assert log.record()["first_epoch"] is log.record()["last_epoch"]
    with pytest.raises(ValueError, match="at least one term"):
        LossTermLog({})
