"""The ``gate`` section (the CI metric-diff gate, :mod:`pipeline_lib.ci.gate`), each key declared once
(:func:`pipeline_lib.declare.param`), and how its patterns match a metric key."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from pipeline_lib.declare import check_declared, param

HIGHER, LOWER, BOTH = "higher", "lower", "both"


@dataclass(frozen=True)
class GateConfig:
    """``gate``: the baseline file and the absolute tolerances (see :mod:`pipeline_lib.ci.gate` for the rules). A
    pattern with ``*``, ``?`` or ``[`` is a glob over the whole metric key, else a substring of it."""

    baseline: str = param(".ci/baseline.json", min_length=1, description="committed baseline metrics file")
    default_tolerance: float = param(0.02, ge=0, description="absolute tolerance when no pattern matches")
    tolerances: dict[str, float] = param(
        default_factory=lambda: {"max_collision_group": 1.0, "recall@": 0.03, "ndcg@": 0.03, "utilization": 0.05},
        items={"ge": 0},
        description="pattern → absolute tolerance; the first match wins",
    )
    higher_is_better: tuple[str, ...] = param(
        ("recall@", "ndcg@", "utilization"), description="fail only on a drop"
    )
    lower_is_better: tuple[str, ...] = param(("loss", "mse", "collision"), description="fail only on a rise")
    ignore: tuple[str, ...] = param(
        ("seconds", "wall_", "epochs", "best_epoch", "processes"),
        description="metrics left out (timings, run environment)",
    )

    def __post_init__(self) -> None:
        for name in ("higher_is_better", "lower_is_better", "ignore"):
            patterns = getattr(self, name)
            if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str) for p in patterns):
                raise TypeError(f"{name} must be a list of patterns, got {patterns!r}")
            object.__setattr__(self, name, tuple(patterns))
        check_declared(self)
        for pattern, tolerance in self.tolerances.items():
            if not tolerance >= 0:
                raise ValueError(f"tolerance for {pattern!r} must be a number ≥ 0, got {tolerance!r}")

    def ignored(self, key: str) -> bool:
        return any(_matches(p, key) for p in self.ignore)

    def tolerance(self, key: str) -> float:
        return float(next((t for p, t in self.tolerances.items() if _matches(p, key)), self.default_tolerance))

    def direction(self, key: str) -> str:
        if any(_matches(p, key) for p in self.higher_is_better):
            return HIGHER
        if any(_matches(p, key) for p in self.lower_is_better):
            return LOWER
        return BOTH


def _matches(pattern: str, key: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(key, pattern)
    return pattern in key
