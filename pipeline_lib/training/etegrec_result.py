"""What an ETEGRec run reports of its two phases, the alternation and the fine-tuning: each phase's stopping
(best epoch, epochs, why it stopped, its validation cadence) and the magnitude of each loss term at its first
and last epoch, for the train metrics; and one curve of both phases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline_lib.loss_terms import epoch_entry
from pipeline_lib.training.loop import LoopResult, StopReason

# Each term of the objective → its curve column (the raw epoch mean) and the column of its weight as the epoch had
# it (None: weight 1): L_SQ, L_REC, μ·L_SIA, λ·L_PSA
TERM_COLUMNS = {"sq": ("sq_loss", None), "rec": ("rec_loss", None), "sia": ("sia_loss", "mu"),
                "psa": ("psa_loss", "lam")}


def epoch_terms(row: dict[str, float]) -> dict[str, Any]:
    """A curve row's loss terms (those its phase computed) as a ``loss_terms`` epoch entry
    (:func:`pipeline_lib.loss_terms.epoch_entry`); μ and λ as the epoch had them (0 in the alignment warm-up)."""
    raws, weights = {}, {}
    for name, (raw_column, weight_column) in TERM_COLUMNS.items():
        if raw_column not in row:
            continue
        raws[name] = row[raw_column]
        weights[name] = row[weight_column] if weight_column else 1.0
    return epoch_entry(int(row["epoch"]), raws, weights)


def first_and_last(rows: list[dict[str, float]]) -> dict[str, dict[str, float]] | None:
    """``{"first_epoch": …, "last_epoch": …}`` of :func:`epoch_terms` over ``rows`` (None when there are none)."""
    if not rows:
        return None
    return {"first_epoch": epoch_terms(rows[0]), "last_epoch": epoch_terms(rows[-1])}


def row_phase(row: dict[str, float]) -> str:
    """What an alternation epoch trained, from its curve row: tokenizer, recommender or joint (both)."""
    if not row["trains_tokenizer"]:
        return "recommender"
    return "joint" if "rec_loss" in row else "tokenizer"


def combined_stop(reasons: list[StopReason]) -> StopReason:
    """A run is at its plateau only when every phase stopped at its own: the first other reason, else patience."""
    return next((reason for reason in reasons if reason != "patience"), "patience")


@dataclass(frozen=True)
class JointResult:
    """Both phases' loop results and the validation cadence each ran under; ``finetune`` is None when
    ``finetune_epochs`` is 0."""

    alternation: LoopResult
    eval_every: int  # the alternation's validation interval in epochs (whole cycles)
    patience: int
    finetune: LoopResult | None
    finetune_eval_every: int
    finetune_patience: int

    @property
    def tested(self) -> LoopResult:
        """The phase whose best weights the test reads: the fine-tuning when it ran."""
        return self.finetune or self.alternation

    def curve(self) -> list[dict[str, float]]:
        """One row per epoch of both phases: the fine-tuning's epochs numbered on after the alternation's, every
        row marked ``finetune`` 0 or 1."""
        rows = [{**row, "finetune": 0.0} for row in self.alternation.curve]
        offset = self.alternation.epochs_run
        if self.finetune is not None:
            rows += [{**row, "epoch": row["epoch"] + offset, "finetune": 1.0} for row in self.finetune.curve]
        return rows

    def overall(self) -> LoopResult:
        """The whole run as one loop result, for :func:`pipeline_lib.training.loop.run_summary` and ``run_timings``:
        the tested phase's best metrics and weights at its epoch in :meth:`curve`'s numbering, the epochs of both
        phases, and ``stopped_by`` = patience only when both phases stopped at their plateau."""
        finetune = self.finetune
        offset = 0 if finetune is None else self.alternation.epochs_run
        reasons = [self.alternation.stopped_by] + ([] if finetune is None else [finetune.stopped_by])
        return LoopResult(
            best_epoch=self.tested.best_epoch + offset,
            best_metrics=self.tested.best_metrics,
            best_weights=self.tested.best_weights,
            curve=self.curve(),
            epochs_run=self.alternation.epochs_run + (0 if finetune is None else finetune.epochs_run),
            stopped_by=combined_stop(reasons),
        )

    def phases(self) -> dict[str, Any]:
        """The train metrics' ``alternation`` and ``finetune`` (None when off) entries: best epoch, epochs,
        stopped_by, validation metrics, cadence, and ``loss_terms``: the terms' epoch means at the first and
        the last epoch, per kind of epoch for the alternation (tokenizer / recommender / joint). Epochs count
        from 0 within each phase."""
        kinds = dict.fromkeys(row_phase(row) for row in self.alternation.curve)
        alternation = {
            **_stopping(self.alternation, self.eval_every, self.patience),
            "loss_terms": {kind: first_and_last([r for r in self.alternation.curve if row_phase(r) == kind])
                           for kind in kinds},
        }
        finetune = None
        if self.finetune is not None:
            finetune = {
                **_stopping(self.finetune, self.finetune_eval_every, self.finetune_patience),
                "loss_terms": first_and_last(self.finetune.curve),
            }
        return {"alternation": alternation, "finetune": finetune}


def _stopping(result: LoopResult, eval_every: int, patience: int) -> dict[str, Any]:
    return {
        "best_epoch": result.best_epoch,
        "epochs": result.epochs_run,
        "stopped_by": result.stopped_by,
        "valid": result.best_metrics,
        "eval_every": eval_every,
        "patience": patience,
    }
