"""One declaration per parameter: a config dataclass field that params.yaml sets says here, once, its default,
its limits and its meaning; :mod:`pipeline_lib.schema` assembles the params schema from these declarations
(:func:`pipeline_lib.schema.base.section`), and the dataclass checks the same limits when code builds it.

A field declared with :func:`param` is a params key of its section; a plain dataclass field (``n_items``, a
variant's switches) is resolved by the code and is not a params key. Cross-field rules go in a ``check(self)``
method that reads only declared fields and raises ``ValueError``: the dataclass runs it after construction and
the schema runs it on the section (the same line either way).
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, dataclass, field
from typing import Any, NewType

Device = NewType("Device", str)  # auto | cpu | cuda | cuda:N | mps: the schema checks the spelling
PARAM = "param"  # the metadata key of a declared field
RESOLVED = "resolved"  # the metadata key of a field the code fills in (from the data), with limits
_LIMITS = {"ge": (">=", lambda v, b: v >= b), "gt": (">", lambda v, b: v > b), "le": ("<=", lambda v, b: v <= b),
           "lt": ("<", lambda v, b: v < b)}


@dataclass(frozen=True)
class Param:
    """What the schema needs beyond a field's type and default: its meaning (with unit) and its limits, as
    pydantic ``Field`` arguments (``ge``, ``gt``, ``le``, ``lt``, ``min_length``, ``pattern``); ``items``:
    the limits of each element of a list / tuple field."""

    description: str
    limits: dict[str, Any]
    items: dict[str, Any]


def param(default: Any = MISSING, *, description: str, default_factory: Any = MISSING,
          items: dict[str, Any] | None = None, **limits: Any) -> Any:
    """A dataclass field that params.yaml sets: ``default`` (or ``default_factory``), ``description`` and limits.

    Example: ``d_model: int = param(128, ge=1, description="hidden size")``.
    """
    unknown = set(limits) - {*_LIMITS, "min_length", "pattern"}
    if unknown:
        raise TypeError(f"unknown limits {sorted(unknown)}")
    metadata = {PARAM: Param(description, dict(limits), dict(items or {}))}
    return field(default=default, default_factory=default_factory, metadata=metadata)


def resolved(*, kw_only: bool = False, **limits: Any) -> Any:
    """A required dataclass field that the code fills in, not params.yaml (``n_items`` from the data), with limits
    that :func:`check_declared` checks, e.g. ``n_items: int = resolved(ge=1)``."""
    return field(kw_only=kw_only, metadata={RESOLVED: Param("", dict(limits), {})})


def declared(config: type) -> list[dataclasses.Field]:
    """The fields of dataclass ``config`` declared with :func:`param`, in declaration order."""
    return [f for f in dataclasses.fields(config) if PARAM in f.metadata]


def check_declared(config: Any) -> None:
    """The limits of ``config``'s declared and resolved fields, then its ``check()``; ``ValueError`` naming the first field out
    of range, e.g. ``dim must be >= 1, got 0`` (``None`` passes: an optional key left unset)."""
    for f in dataclasses.fields(config):
        spec: Param | None = f.metadata.get(PARAM) or f.metadata.get(RESOLVED)
        if spec is None:
            continue
        value = getattr(config, f.name)
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        checks = [(f.name, value, spec.limits)] + [(f"{f.name}[{i}]", v, spec.items) for i, v in enumerate(values)
                                                    if spec.items]
        for name, v, limits in checks:
            bounds = {key: bound for key, bound in limits.items() if key in _LIMITS}
            if v is None or isinstance(v, (list, tuple, dict, str)) or not bounds:
                continue
            if not all(_LIMITS[key][1](v, bound) for key, bound in bounds.items()):
                raise ValueError(f"{name} must be {_allowed(bounds)}, got {v!r}")
    check = getattr(config, "check", None)
    if check is not None:
        check()


def _allowed(bounds: dict[str, float]) -> str:
    """``>= 1``, or an interval such as ``in [0, 1)`` when both ends are bounded."""
    low = next(((key, b) for key, b in bounds.items() if key in ("ge", "gt")), None)
    high = next(((key, b) for key, b in bounds.items() if key in ("le", "lt")), None)
    if low and high:
        return f"in {'[' if low[0] == 'ge' else '('}{low[1]:g}, {high[1]:g}{']' if high[0] == 'le' else ')'}"
    key, bound = low or high
    return f"{_LIMITS[key][0]} {bound:g}"
