"""Magnitudes of a multi-term loss: each term's epoch mean, raw and weighted, at the first and the last epoch.

A loss ``L = Σ_n w_n · T_n`` is logged per term so that one can see whether the weights give each term the role
its paper describes (a term that dominates by orders of magnitude, or vanishes, shows up). One accumulator serves
every multi-term objective (the LETTER / CoST / RQ-VAE tokenizer losses, S³Rec's pre-training); the record it
returns is the ``loss_terms`` entry of their metrics JSON::

    {"first_epoch": {"epoch": 1, "total": …, "terms": {name: {"raw": …, "weight": …, "weighted": …}, …}},
     "last_epoch": {…}}

``raw`` is the term's mean over the epoch's samples, ``weighted`` = ``weight × raw`` and ``total`` = Σ weighted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor


def weighted_sum(terms: Mapping[str, Tensor], weights: Mapping[str, float]) -> Tensor:
    """``Σ_n weights[n] · terms[n]`` in ``weights``' order (scalars → scalar); a term without a weight is an error."""
    missing = set(terms) ^ set(weights)
    if missing:
        raise KeyError(f"terms and weights name different terms: {sorted(missing)}")
    return sum(weight * terms[name] for name, weight in weights.items())


def epoch_entry(epoch: int, raws: Mapping[str, float], weights: Mapping[str, float]) -> dict[str, Any]:
    """One epoch's record: ``{"epoch", "total", "terms": {name: {"raw", "weight", "weighted"}}}`` of the terms
    ``raws`` (name → epoch mean) under ``weights`` (name → weight); ``total`` = Σ weighted."""
    terms = {name: {"raw": raw, "weight": weights[name], "weighted": weights[name] * raw} for name, raw in raws.items()}
    return {"epoch": epoch, "total": sum(term["weighted"] for term in terms.values()), "terms": terms}


class LossTermLog:
    """Accumulates one epoch's per-batch raw terms (each a mean over the batch's ``rows`` samples, so the epoch
    mean is over samples, not batches) and keeps the first and the latest finished epoch."""

    def __init__(self, weights: Mapping[str, float]):
        if not weights:
            raise ValueError("a loss needs at least one term")
        self.weights = dict(weights)
        self.epochs = 0
        self.first: dict[str, Any] | None = None
        self.last: dict[str, Any] | None = None
        self._sums: Tensor | None = None
        self._rows = 0

    def add(self, terms: Mapping[str, Tensor], rows: int) -> None:
        """One batch: ``terms`` name → scalar tensor (the raw term, a mean over ``rows`` samples)."""
        if set(terms) != set(self.weights):
            raise KeyError(f"terms {sorted(terms)} differ from the logged terms {sorted(self.weights)}")
        batch = torch.stack([terms[name].detach().to(torch.float64) for name in self.weights]) * rows
        self._sums = batch if self._sums is None else self._sums + batch
        self._rows += rows

    def end_epoch(self) -> dict[str, Any]:
        """Close the epoch: its entry (``epoch`` 1-based, ``total``, ``terms``), kept as ``last`` (and ``first``)."""
        if self._sums is None or self._rows == 0:
            raise RuntimeError("end_epoch before any batch of the epoch was added")
        means = (self._sums / self._rows).tolist()
        self._sums, self._rows = None, 0
        self.epochs += 1
        entry = epoch_entry(self.epochs, dict(zip(self.weights, means, strict=True)), self.weights)
        self.first = self.first or entry
        self.last = entry
        return entry

    def record(self) -> dict[str, Any]:
        """``{"first_epoch": …, "last_epoch": …}`` (the same entry twice after a single epoch)."""
        if self.first is None or self.last is None:
            raise RuntimeError("no finished epoch to record")
        return {"first_epoch": self.first, "last_epoch": self.last}
