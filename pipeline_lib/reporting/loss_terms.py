"""The magnitudes of the multi-term losses in an evidence campaign: each term at the first and the last epoch, and
how far apart the weighted terms are.

The runs record them as ``loss_terms`` (:mod:`pipeline_lib.loss_terms`): a record ``{first_epoch: entry,
last_epoch: entry}``, each entry ``{"epoch", "total", "terms": {name: {"raw", "weight", "weighted"}}}``, or a
mapping of kinds of epoch to records. They sit in the tokenizer metrics (top level: the shared RQ-VAE, LETTER,
CoST; ``metrics/tokenizer*.json`` of the folder, one per dataset, unseeded) and in the train metrics of a run
(S3Rec: ``pretraining``; ETEGRec: ``alternation`` per kind of epoch and ``finetune``). The phase a record belongs
to is the path of keys above it.
"""

from __future__ import annotations

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
FIELDS = ("raw", "weight", "weighted")
Record = dict[str, dict[str, dict[str, float]]]  # epoch → term → {raw, weight, weighted}


def _checked(record: Any, path: Path, where: str) -> Record:
    if not isinstance(record, dict) or set(record) != set(EPOCHS):
        raise PipelineInputError(path, f"expected the keys {', '.join(EPOCHS)}", field=where)
    out: Record = {}
    for epoch in EPOCHS:
        terms = record[epoch].get("terms") if isinstance(record[epoch], dict) else None
        if not isinstance(terms, dict):
            raise PipelineInputError(path, "expected an entry with a mapping 'terms'", field=f"{where}.{epoch}")
        for term, values in terms.items():
            if not isinstance(values, dict) or any(
                isinstance(values.get(f), bool) or not isinstance(values.get(f), int | float) for f in FIELDS
            ):
                raise PipelineInputError(path, f"expected numbers {', '.join(FIELDS)}", field=f"{where}.{epoch}.terms.{term}")
        out[epoch] = {term: {f: float(values[f]) for f in FIELDS} for term, values in terms.items()}
    return out


def _records(data: Any, path: Path, keys: tuple[str, ...] = ()) -> Iterator[tuple[str, Record]]:
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if key != "loss_terms":
            yield from _records(value, path, (*keys, key))
        elif isinstance(value, dict) and set(EPOCHS) & set(value):
            yield "/".join(keys), _checked(value, path, ".".join((*keys, key)))
        elif isinstance(value, dict):
            for kind, record in value.items():
                if record is not None:
                    yield "/".join((*keys, kind)), _checked(record, path, ".".join((*keys, key, kind)))
        else:
            raise PipelineInputError(path, "expected a record or kinds of epoch holding records",
                                     field=".".join((*keys, key)))


def read_loss_terms(path: Path) -> dict[str, Record]:
    """Every ``loss_terms`` record of a metrics json: phase (``""`` at the top level) → record. Raises
    ``PipelineInputError`` naming the file and key when one is malformed."""
    return dict(_records(read_json(path), path))


def loss_sources(folder: Path) -> dict[str, dict[int | None, dict[str, Record]]]:
    """label (the model, or ``<method> tokenizer``) → seed (None: an unseeded tokenizer) → phase → record."""
    files = ResultFiles.of_campaign(folder)
    sources: dict[str, dict[int | None, dict[str, Record]]] = {}
    for path in sorted((files.metrics / "train").glob("*/seed_*.json")):
        if records := read_loss_terms(path):
            sources.setdefault(path.parent.name, {})[seed_of(path)] = records
    for path in sorted(files.metrics.glob("tokenizer*.json")):
        if records := read_loss_terms(path):
            method = path.stem.removeprefix("tokenizer").removeprefix("_") or "shared (RQ-VAE)"
            sources[f"{method} tokenizer"] = {None: records}
    return sources


def seed_means(per_seed: dict[int | None, dict[str, Record]]) -> dict[str, Record]:
    """phase → epoch → term → each field's mean over the seeds that record it."""
    values: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = {}
    for records in per_seed.values():
        for phase, record in records.items():
            for epoch, terms in record.items():
                for term, fields in terms.items():
                    slot = values.setdefault(phase, {}).setdefault(epoch, {}).setdefault(term, {})
                    for name, value in fields.items():
                        slot.setdefault(name, []).append(value)
    return {phase: {epoch: {term: {name: statistics.fmean(v) for name, v in fields.items()}
                            for term, fields in terms.items()} for epoch, terms in record.items()}
            for phase, record in values.items()}


def weighted_spread(terms: dict[str, dict[str, float]]) -> tuple[str, str, float] | None:
    """(largest weighted term, smallest, |largest| / |smallest|) over the terms with a non-zero weight (``inf``
    when the smallest is 0); None with fewer than two such terms."""
    weighted = sorted((abs(fields["weighted"]), term) for term, fields in terms.items() if fields["weight"] != 0)
    if len(weighted) < 2:
        return None
    (low, smallest), (high, largest) = weighted[0], weighted[-1]
    return largest, smallest, float("inf") if low == 0 else high / low


def _weight(first: dict[str, float] | None, last: dict[str, float] | None) -> str:
    weights = dict.fromkeys(f"{fields['weight']:.3g}" for fields in (first, last) if fields is not None)
    return " → ".join(weights)


def loss_terms_section(folder: Path) -> list[str]:
    """Markdown: each term's raw and weighted epoch mean at the first and the last epoch (mean over seeds), then
    per model, phase and epoch the ratio of the largest weighted term to the smallest."""
    lines = ["## Loss-term magnitudes", ""]
    sources = loss_sources(folder)
    if not sources:
        return lines + ["No file in the folder records `loss_terms` yet (the tokenizer metrics; the train metrics "
                        "of S3Rec and ETEGRec).", ""]
    term_rows, ratio_rows = [], []
    for label, per_seed in sources.items():
        seeds = "—" if None in per_seed else str(len(per_seed))
        for phase, record in seed_means(per_seed).items():
            first, last = (record.get(epoch, {}) for epoch in EPOCHS)
            for term in dict.fromkeys([*first, *last]):
                cells = [f"{fields[name]:.4g}" if fields else "" for name in ("raw", "weighted")
                         for fields in (first.get(term), last.get(term))]
                term_rows.append([label, phase or "—", term, seeds, _weight(first.get(term), last.get(term)), *cells])
            for epoch in EPOCHS:
                spread = weighted_spread(record.get(epoch, {}))
                ratio = "fewer than two weighted terms" if spread is None else f"{spread[0]} / {spread[1]} = {spread[2]:.3g}"
                ratio_rows.append([label, phase or "—", epoch.removesuffix("_epoch"), ratio])
    headers = ["model", "phase", "term", "seeds", "weight", "raw first", "raw last", "weighted first", "weighted last"]
    return lines + [
        "Each term's mean over its epoch (first and last epoch of the phase), averaged over the seeds (`—`: a "
        "tokenizer, one per dataset); weighted = weight × raw, what the objective adds up. A weight `a → b` changed "
        "between the two epochs (ETEGRec's μ, λ are 0 in its alignment warm-up).", "",
        tabulate(term_rows, headers=headers, tablefmt="github"), "",
        "Largest weighted term / smallest, over the terms with a non-zero weight (seed means):", "",
        tabulate(ratio_rows, headers=["model", "phase", "epoch", "largest / smallest weighted"], tablefmt="github"),
        ""]
