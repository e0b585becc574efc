"""The epoch loop every model trains with: validation, early stopping, best weights, curves, resume.

The caller supplies ``run_epoch(epoch) -> train stats`` and ``validate() -> metrics``; the loop
owns what happens between epochs. After each epoch it writes one resumable checkpoint holding
every stateful object (models, optimizers, schedulers), the RNG states, the best weights so far
and the curve, so an interrupted run restarted with the same fingerprint continues from the
last finished epoch and ends exactly where an uninterrupted run would. A checkpoint with another
fingerprint (``pipeline_lib.training.fingerprint``: different data or settings) is ignored and
overwritten by a run from scratch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import pandas as pd
import torch

from pipeline_lib.io import atomic_path
from pipeline_lib.training.state import load_state, save_state


class Stateful(Protocol):
    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class LoopConfig:
    max_epochs: int
    patience: int  # evaluations without improvement before stopping
    eval_every: int = 1
    monitor: str = "ndcg@10"
    time_budget_s: float | None = None  # > 0: stop after the first evaluation that ends past this many seconds


StopReason = Literal["max_epochs", "patience", "time_budget"]


@dataclass
class LoopResult:
    best_epoch: int
    best_metrics: dict[str, float]
    best_weights: dict[str, dict[str, torch.Tensor]]  # name → model state dict
    curve: list[dict[str, float]] = field(default_factory=list)
    epochs_run: int = 0
    stopped_by: StopReason = "max_epochs"


def run_summary(result: LoopResult, device: torch.device, parameters: int) -> dict[str, object]:
    """The fields every stage's ``train/<model>.json`` shares: best epoch and its validation metrics.

    Only what the same inputs reproduce bit for bit; wall-clock times go to :func:`run_timings`'s
    separate file, so a re-run writes the same metrics file and no downstream stage re-runs for it.
    """
    return {
        "best_epoch": result.best_epoch,
        "epochs": result.epochs_run,
        "stopped_by": result.stopped_by,
        "valid": result.best_metrics,
        "device": str(device),
        "parameters": parameters,
    }


def run_timings(result: LoopResult, started: float) -> dict[str, float]:
    """Wall-clock seconds of a run (``reports/timings/<dataset>/<model>.json``): the mean training epoch; the training
    epochs and validations of every session the run took (``train_and_eval_seconds``, from the curve, which a
    resumed run carries over: its whole cost, start-up and the test aside); and all of this process since ``started``
    (a resumed run's last session only)."""
    seconds = [row["epoch_seconds"] for row in result.curve]
    evals = [row["eval_seconds"] for row in result.curve if "eval_seconds" in row]
    return {
        "seconds_per_epoch": sum(seconds) / max(len(seconds), 1),
        "train_and_eval_seconds": sum(seconds) + sum(evals),
        "wall_seconds_this_run": time.perf_counter() - started,
    }


def _rng_state() -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(state["cpu"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"].cpu())


def write_curve(path: Path, curve: list[dict[str, float]]) -> None:
    """The training curve as TSV (one row per epoch), the format ``dvc plots`` reads."""
    with atomic_path(path) as tmp:
        pd.DataFrame(curve).to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def _weights(models: dict[str, torch.nn.Module]) -> dict[str, dict[str, torch.Tensor]]:
    return {name: {k: v.detach().clone() for k, v in m.state_dict().items()} for name, m in models.items()}


def fit(
    config: LoopConfig,
    models: dict[str, torch.nn.Module],
    others: dict[str, Stateful],
    run_epoch: Callable[[int], dict[str, float]],
    validate: Callable[[], dict[str, float]],
    checkpoint: Path,
    fingerprint: str,
    curve_path: Path | None = None,
    main_process: bool = True,
    agree: Callable[[bool], bool] | None = None,
) -> LoopResult:
    """Train until ``max_epochs``, ``patience`` evaluations without a better ``monitor`` value, or the
    first evaluation that ends more than ``time_budget_s`` seconds after this call began (the best
    weights so far are kept; ``result.stopped_by`` says which). The budget counts this process's time
    only: a resumed run gets the whole budget again.

    In a multi-process run every rank calls ``fit``; only the ``main_process`` writes the curve and
    the checkpoint. ``validate`` must return the same metrics on every rank (the sharded evaluation
    gathers all users' results before computing them), so all ranks stop at the same epoch; ``agree``
    turns one rank's "budget spent" into the ranks' common answer (any rank's yes), since clocks differ.
    """
    began_fit = time.perf_counter()
    stateful: dict[str, Stateful] = {**models, **others}
    start, best_value, bad_evals = 0, float("-inf"), 0
    result = LoopResult(best_epoch=-1, best_metrics={}, best_weights=_weights(models))
    if checkpoint.is_file():
        saved = load_state(checkpoint)
        if saved["fingerprint"] == fingerprint:
            for name, obj in stateful.items():
                obj.load_state_dict(saved["state"][name])
            _set_rng_state(saved["rng"])
            start, best_value, bad_evals = saved["epoch"] + 1, saved["best_value"], saved["bad_evals"]
            result = LoopResult(saved["best_epoch"], saved["best_metrics"], saved["best_weights"], saved["curve"], start)
            print(f"resuming from {checkpoint} after epoch {saved['epoch']}")
        else:
            print(f"{checkpoint} is from another run (its data or settings differ): training from scratch")
    for epoch in range(start, config.max_epochs):
        if bad_evals >= config.patience:
            result.stopped_by = "patience"
            break
        began = time.perf_counter()
        row: dict[str, float] = {"epoch": epoch, **run_epoch(epoch), "epoch_seconds": time.perf_counter() - began}
        evaluated = (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.max_epochs
        if evaluated:
            began_eval = time.perf_counter()
            metrics = validate()
            row.update({f"valid_{k}": v for k, v in metrics.items()})
            row["eval_seconds"] = time.perf_counter() - began_eval
            if metrics[config.monitor] > best_value:
                best_value, bad_evals = metrics[config.monitor], 0
                result.best_epoch, result.best_metrics, result.best_weights = epoch, metrics, _weights(models)
            else:
                bad_evals += 1
        result.curve.append(row)
        result.epochs_run = epoch + 1
        if main_process:
            if curve_path is not None:
                write_curve(curve_path, result.curve)
            save_state(
                checkpoint,
                {
                    "fingerprint": fingerprint,
                    "epoch": epoch,
                    "best_value": best_value,
                    "bad_evals": bad_evals,
                    "best_epoch": result.best_epoch,
                    "best_metrics": result.best_metrics,
                    "best_weights": result.best_weights,
                    "curve": result.curve,
                    "state": {name: obj.state_dict() for name, obj in stateful.items()},
                    "rng": _rng_state(),
                },
            )
        if evaluated and _budget_spent(config.time_budget_s, began_fit, agree):
            result.stopped_by = "time_budget" if epoch + 1 < config.max_epochs else "max_epochs"
            break
    if main_process and curve_path is not None:  # also a resumed run with no epoch left (DVC deleted the curve)
        write_curve(curve_path, result.curve)
    return result


def _budget_spent(budget_s: float | None, since: float, agree: Callable[[bool], bool] | None) -> bool:
    """Whether more than ``budget_s`` seconds passed since ``since`` (never, without a budget), agreed over the ranks."""
    if budget_s is None:
        return False
    spent = time.perf_counter() - since > budget_s
    return agree(spent) if agree is not None else spent
