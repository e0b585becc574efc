"""The magnitudes of the multi-term losses in an evidence campaign: each term at the first and the last epoch, and
how far apart the weighted terms are.

The runs record them as ``loss_terms`` — in the train metrics of a run (ETEGRec, S3Rec's pre-training:
``metrics/train/<model>/seed_<s>.json``) and in the tokenizer metrics of LETTER / CoST
(``metrics/tokenizer_<method>.json``, one per dataset, unseeded)::

    loss_terms: {first_epoch: {<term>: mean over the epoch, ...}, last_epoch: {...}}
    loss_terms: {<phase>: {first_epoch: {...}, last_epoch: {...}}, ...}     # per phase (ETEGRec)

A term is *weighted* when its name shows its weight: a ``·`` or ``*`` in it (``α·L_CF``, ``0.2*aap``) or a
``weighted`` part (``weighted_cf``, ``cf_weighted``), unless it is a total (named ``loss`` or with ``total`` in
its name); the others are raw terms and totals. The ratio of the
largest weighted term to the smallest (in absolute value) says whether the weights leave each term a part in the
sum (a term orders of magnitude below the others does not steer training).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tabulate import tabulate

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_json
from pipeline_lib.paths import ResultFiles
from pipeline_lib.reporting.campaign_folder import seed_of

EPOCHS = ("first_epoch", "last_epoch")
WEIGHTED = re.compile(r"[·*]|(^|_)weighted(_|$)")
TOTAL = re.compile(r"^loss$|total", re.IGNORECASE)
Phases = dict[str, dict[str, dict[str, float]]]  # phase ("" when not split) → epoch → term → value


def is_weighted(term: str) -> bool:
    """The name shows a weight (``·``, ``*``, ``weighted``) and is not a total's (``loss``, ``…total…``)."""
    return WEIGHTED.search(term) is not None and TOTAL.search(term) is None


def _epochs(raw: Any, path: Path, where: str) -> dict[str, dict[str, float]]:
    if not isinstance(raw, dict) or set(raw) != set(EPOCHS):
        raise PipelineInputError(path, f"expected the keys {', '.join(EPOCHS)}", field=where)
    out: dict[str, dict[str, float]] = {}
    for epoch in EPOCHS:
        terms = raw[epoch]
        if not isinstance(terms, dict):
            raise PipelineInputError(path, "expected a mapping of term → number", field=f"{where}.{epoch}")
        for term, value in terms.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PipelineInputError(path, f"expected a number, got {value!r}", field=f"{where}.{epoch}.{term}")
        out[epoch] = {term: float(value) for term, value in terms.items()}
    return out


def read_loss_terms(path: Path) -> Phases:
    """A metrics json's ``loss_terms`` as phase → epoch → term → value (phase ``""`` when not split); empty when the
    file has none. Raises ``PipelineInputError`` naming the file and key when it is malformed."""
    raw = read_json(path).get("loss_terms")
    if raw is None:
        return {}
    if isinstance(raw, dict) and set(raw) & set(EPOCHS):
        return {"": _epochs(raw, path, "loss_terms")}
    if not isinstance(raw, dict) or not raw:
        raise PipelineInputError(path, "expected first_epoch / last_epoch, or phases holding them", field="loss_terms")
    return {phase: _epochs(epochs, path, f"loss_terms.{phase}") for phase, epochs in raw.items()}


def loss_sources(folder: Path) -> dict[str, dict[int | None, Phases]]:
    """Every record of loss terms in the folder: label (the model, or ``<method> tokenizer``) → seed (None: the
    unseeded tokenizer) → its phases."""
    files = ResultFiles.of_campaign(folder)
    sources: dict[str, dict[int | None, Phases]] = {}
    for path in sorted((files.metrics / "train").glob("*/seed_*.json")):
        phases = read_loss_terms(path)
        if phases:
            sources.setdefault(path.parent.name, {})[seed_of(path)] = phases
    for path in sorted(files.metrics.glob("tokenizer_*.json")):
        phases = read_loss_terms(path)
        if phases:
            sources[f"{path.stem.removeprefix('tokenizer_')} tokenizer"] = {None: phases}
    return sources


def mean_terms(per_seed: dict[int | None, Phases]) -> Iterator[tuple[str, str, dict[str, list[float]]]]:
    """(phase, epoch, term → its values over the seeds that record it), phases in first-seen order."""
    phases = dict.fromkeys(phase for record in per_seed.values() for phase in record)
    for phase in phases:
        for epoch in EPOCHS:
            values: dict[str, list[float]] = {}
            for record in per_seed.values():
                for term, value in record.get(phase, {}).get(epoch, {}).items():
                    values.setdefault(term, []).append(value)
            yield phase, epoch, values


def weighted_spread(terms: dict[str, float]) -> tuple[str, str, float] | None:
    """(largest weighted term, smallest, |largest| / |smallest|) over the weighted terms (``inf`` when the smallest
    is 0); None with fewer than two weighted terms."""
    weighted = sorted((abs(value), term) for term, value in terms.items() if is_weighted(term))
    if len(weighted) < 2:
        return None
    (low, smallest), (high, largest) = weighted[0], weighted[-1]
    return largest, smallest, float("inf") if low == 0 else high / low


def loss_terms_section(folder: Path) -> list[str]:
    """Markdown: each term's mean over seeds at the first and the last epoch, then per model, phase and epoch the
    ratio of the largest weighted term to the smallest."""
    lines = ["## Loss-term magnitudes", ""]
    sources = loss_sources(folder)
    if not sources:
        return lines + ["No run in the folder records `loss_terms` yet (the train metrics of ETEGRec and S3Rec, the "
                        "tokenizer metrics of LETTER and CoST).", ""]
    terms_rows, ratio_rows = [], []
    for label, per_seed in sources.items():
        n = "tokenizer" if None in per_seed else str(len(per_seed))
        by_phase: dict[str, dict[str, dict[str, float]]] = {}
        for phase, epoch, values in mean_terms(per_seed):
            means = {term: statistics.fmean(v) for term, v in values.items()}
            by_phase.setdefault(phase, {})[epoch] = means
            spread = weighted_spread(means)
            ratio = ("no two weighted terms named" if spread is None else
                     f"{spread[0]} / {spread[1]} = {spread[2]:.3g}")
            ratio_rows.append([label, phase or "—", epoch.removesuffix("_epoch"), ratio])
        for phase, epochs in by_phase.items():
            for term in dict.fromkeys([*epochs.get("first_epoch", {}), *epochs.get("last_epoch", {})]):
                first, last = (epochs.get(epoch, {}).get(term) for epoch in EPOCHS)
                terms_rows.append([label, phase or "—", term, "yes" if is_weighted(term) else "", n,
                                   "" if first is None else f"{first:.4g}", "" if last is None else f"{last:.4g}"])
    return lines + [
        "Each term's mean over its epoch, averaged over the seeds (`tokenizer`: one per dataset, unseeded). A term is "
        "weighted when its name shows the weight (`·`, `*`, `weighted`).", "",
        tabulate(terms_rows, headers=["model", "phase", "term", "weighted", "seeds", "first epoch", "last epoch"],
                 tablefmt="github"), "",
        "Largest weighted term / smallest (absolute values of the seed means):", "",
        tabulate(ratio_rows, headers=["model", "phase", "epoch", "largest / smallest weighted"], tablefmt="github"),
        ""]
