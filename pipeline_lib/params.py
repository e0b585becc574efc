"""The parameters as the stages read them, once :func:`pipeline_lib.schema.load_params` has validated them: each
dataset's catalogue entry (its profiles merged), a section with the dataset's overrides, a config built from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from pipeline_lib.errors import PipelineInputError

Source = Literal["demo", "benchmark", "raw", "lcrec"]  # the loaders of pipeline_lib.data.sources
SOURCES: tuple[str, ...] = get_args(Source)
T = TypeVar("T")


@dataclass(frozen=True)
class DatasetSpec:
    """One entry of ``catalog`` in params.yaml.

    ``source`` selects the loader: ``demo`` (generated Amazon-2023-format files), ``benchmark``
    (official 5-core rating-only CSV + metadata), ``raw`` (raw reviews + metadata) or ``lcrec``
    (processed LC-Rec / LETTER json). ``alpha`` and ``bos_queries`` are the dataset's DECOR
    defaults (paper Table 5), used unless the top-level params override them. ``overrides``
    holds per-dataset values for other sections (``{"train": {"max_epochs": 30}}``), which win
    over the section's global values. ``profile`` names an entry of the top-level ``profiles``
    (a reusable set of such overrides, e.g. ``cpu``), or a list of them merged in order (``[cpu, converge]``:
    the later wins); the dataset's own ``overrides`` win over them.
    """

    name: str
    source: str
    alpha: float
    bos_queries: int
    category: str | None = None
    path: str | None = None
    prefix: str | None = None
    sha256: dict[str, str] = field(default_factory=dict)
    profile: str | list[str] | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


def dataset_spec(params: dict[str, Any], name: str, params_path: str | Path = "params.yaml") -> DatasetSpec:
    catalog = params.get("catalog") or {}
    if name not in catalog:
        known = ", ".join(sorted(catalog)) or "none"
        raise PipelineInputError(params_path, f"dataset '{name}' is not in catalog (known: {known})", field="catalog")
    entry = dict(catalog[name])
    source = entry.pop("source", None)
    if source not in SOURCES:
        raise PipelineInputError(
            params_path, f"source must be one of {', '.join(SOURCES)}, got {source!r}", field=f"catalog.{name}.source"
        )
    profile = entry.get("profile")
    names = [] if profile is None else [profile] if isinstance(profile, str) else list(profile)
    profiles = params.get("profiles") or {}
    merged: dict[str, Any] = {}
    for i, chosen in enumerate(names):
        if chosen not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            where = f"catalog.{name}.profile" + (f"[{i}]" if not isinstance(profile, str) else "")
            raise PipelineInputError(params_path, f"unknown profile {chosen!r} (known: {known})", field=where)
        merged = _merged(merged, profiles[chosen] or {})
    if names:
        entry["overrides"] = _merged(merged, entry.get("overrides") or {})
    try:
        return DatasetSpec(name=name, source=source, **entry)
    except TypeError as err:
        raise PipelineInputError(params_path, str(err), field=f"catalog.{name}") from None


def composition_alpha(params: dict[str, Any], spec: DatasetSpec) -> float:
    """DECOR's α (eq. 18): the top-level ``alpha`` when set, else the dataset's Table 5 value."""
    alpha = params.get("alpha")
    return float(spec.alpha if alpha is None else alpha)


def bos_query_count(params: dict[str, Any], spec: DatasetSpec) -> int:
    """Number of learnable BOS queries (eq. 19): top-level ``bos_queries`` when set, else Table 5."""
    n = params.get("bos_queries")
    return int(spec.bos_queries if n is None else n)


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        both_dicts = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merged(merged[key], value) if both_dicts else value
    return merged


def stage_section(params: dict[str, Any], spec: DatasetSpec, section: str) -> dict[str, Any]:
    """A params section with the dataset's overrides for it applied on top, sub-sections merged key by key."""
    return _merged(params.get(section) or {}, spec.overrides.get(section) or {})


def make_config(factory: Callable[..., T], values: dict[str, Any], params_path: str | Path, section: str) -> T:
    """Build a config dataclass from a params section; unknown keys or bad values → one-line error."""
    try:
        return factory(**values)
    except (TypeError, ValueError, RuntimeError) as err:
        raise PipelineInputError(params_path, str(err), field=section) from None
