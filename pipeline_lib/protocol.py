"""Evaluation protocols and training seeds: what every trained model shares.

A protocol fixes the history every model reads (training prefixes and test histories, the most
recent items) and the beam width of trie-constrained decoding:

- ``decor``: DECOR's own rows (its Table 1/2 setting): history ≤ 20 items, beam 50;
- ``etegrec``: the ETEGRec paper's setting (4.1): history ≤ 50 items, beam 20. The DECOR paper's
  baseline rows (TIGER, LETTER, SASRec, GRU4Rec, …, ETEGRec) are copied from ETEGRec's Table 3, so
  they were measured under this one.

params.yaml ``protocol`` names one for every model; ``evaluate.beam_size`` (null = the protocol's)
may override the beam, and then the run is reported as a custom setting. Every trained model runs once
per training seed (``seeds``), all seeds in its one stage, each seed's outputs under ``<model>/seed_<s>``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_lib.declare import check_declared, param
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import DatasetSpec, make_config, stage_section


@dataclass(frozen=True)
class DecodeConfig:
    """``evaluate``: the beam width, users per batch, metric cut-offs; a run decodes with its protocol's beam
    unless ``beam_size`` is set (:func:`decode_settings`). Raises ``ValueError`` when the beam is below max(ks)."""

    beam_size: int | None = param(
        None, ge=1, description="beams per user; null = the protocol's (decor 50, etegrec 20); at least max(ks)"
    )
    batch_size: int = param(256, ge=1, description="users per beam-search batch")
    ks: tuple[int, ...] = param(
        (5, 10), items={"ge": 1}, min_length=1, description="Recall@k / NDCG@k cut-offs, items"
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "ks", tuple(self.ks))
        check_declared(self)

    def check(self) -> None:
        if self.beam_size is not None and max(self.ks) > self.beam_size:
            raise ValueError(f"beam_size ({self.beam_size}) must be at least max(ks) ({max(self.ks)})")

    @property
    def top_k(self) -> int:
        return max(self.ks)


@dataclass(frozen=True)
class Protocol:
    """The setting a run used: ``name`` (a key of ``PROTOCOLS``), history length (items), beam width."""

    name: str
    max_history: int
    beam_size: int

    def record(self) -> dict[str, Any]:
        """The keys every eval JSON carries: ``protocol``, ``max_history``, ``beam_size``."""
        return {"protocol": self.name, "max_history": self.max_history, "beam_size": self.beam_size}


PROTOCOLS = {
    "decor": Protocol("decor", max_history=20, beam_size=50),
    "etegrec": Protocol("etegrec", max_history=50, beam_size=20),
}
# The filter stage keeps this many items of each evaluation history, so any protocol can cut its own.
LONGEST_HISTORY = max(p.max_history for p in PROTOCOLS.values())


def resolve_protocol(params: dict[str, Any], spec: DatasetSpec) -> Protocol:
    """params ``protocol`` with the dataset's ``evaluate.beam_size`` (its profile and overrides applied)
    when set (the schema has checked the name; :class:`DecodeConfig` checks the beam against the cut-offs)."""
    base = PROTOCOLS[params["protocol"]]
    beam = stage_section(params, spec, "evaluate").get("beam_size")
    return Protocol(base.name, base.max_history, base.beam_size if beam is None else int(beam))


def add_seed_argument(parser: argparse.ArgumentParser) -> None:
    """``--seed S``: run only training seed S (by default a training stage runs every entry of ``seeds``)."""
    # a string, checked after the params file (training_seed), so a bad value is one line naming `--seed`
    parser.add_argument("--seed", default=None, help="run only this training seed (default: every entry of `seeds`)")


def training_seeds(params: dict[str, Any], seed: str | None, params_path: str | Path) -> list[int]:
    """The training seeds a stage runs, in order: ``[seed]`` when given on the command line, else every entry of
    params ``seeds`` (one process for all of a model's seeds: each seed's run re-seeds torch, so it equals a
    run of that seed alone).

    Raises:
        PipelineInputError: ``--seed`` is not an integer ≥ 0.
    """
    if seed is None:
        return [int(s) for s in params["seeds"]]
    return [training_seed(params, seed, params_path)]


def training_seed(params: dict[str, Any], seed: str | None, params_path: str | Path) -> int:
    """``seed`` as given on the command line, else the first of params ``seeds``; must be an integer ≥ 0.

    Raises:
        PipelineInputError: ``--seed`` is not an integer ≥ 0 (call after :func:`load_params`, so that a bad
            entry of ``seeds`` is reported under its own key first).
    """
    if seed is None:
        return int(params["seeds"][0])
    try:
        value = int(seed)
    except ValueError:
        raise PipelineInputError(params_path, f"must be an integer ≥ 0, got {seed!r}", field="--seed") from None
    if value < 0:
        raise PipelineInputError(params_path, f"must be ≥ 0, got {value}", field="--seed")
    return value


def decode_settings(
    params: dict[str, Any], spec: DatasetSpec, params_path: str | Path = "params.yaml"
) -> tuple[Protocol, DecodeConfig]:
    """The dataset's protocol and its ``evaluate`` section as a :class:`DecodeConfig` with the protocol's beam."""
    protocol = resolve_protocol(params, spec)
    values = stage_section(params, spec, "evaluate") | {"beam_size": protocol.beam_size}
    return protocol, make_config(DecodeConfig, values, params_path, "evaluate")
