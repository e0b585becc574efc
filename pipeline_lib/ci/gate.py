"""CI metric-diff gate: the current metrics under ``reports/metrics/`` against a committed baseline.

Every JSON file under the metrics folder is flattened to ``<path>:<dotted key>`` →  number, the
path relative to the folder (``demo/eval/tiger.json:test.recall@10``); strings, booleans and lists
are not metrics and are skipped. The baseline file holds the same flat mapping
(``--write-baseline`` creates or refreshes it from the current metrics).

Rules (the ``gate`` section of params.yaml; each field falls back to ``GateConfig``'s default):

- a pattern matches a key when it is a substring of it, or — when it holds ``*``, ``?`` or
  ``[`` — when it matches the whole key as a shell glob (``fnmatch``);
- ``ignore``: keys left out entirely (timings: they vary run to run);
- tolerances are **absolute** differences: the metrics gated are mostly rates in [0, 1], where a
  relative tolerance would be meaningless near zero (a demo TIGER R@10 of 0.02 ± 0.01 is noise,
  not a 50 % regression). ``tolerances`` maps patterns to tolerances, the first matching pattern
  in file order wins, else ``default_tolerance``;
- direction: a key matching ``higher_is_better`` fails only when it drops by more than its
  tolerance, one matching ``lower_is_better`` only when it rises by more; any other key (dataset
  counts, parameter counts) fails when it moves either way by more than its tolerance;
- a baseline key missing from the current run fails; a new key is reported and passes;
- a NaN where the baseline has a number fails.

CLI: ``python -m pipeline_lib.ci.gate [--baseline FILE] [--params params.yaml]
[--metrics-dir reports/metrics] [--write-baseline] [--all]``; exit 0 = pass, 1 = regression or
missing metric, 2 = bad input.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from pipeline_lib.cli import run_stage
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_json, write_json
from pipeline_lib.schema import GateSection, load_params, validated

METRICS_DIR = Path("reports") / "metrics"
FAILING = ("regressed", "changed", "missing")


HIGHER, LOWER, BOTH = "higher", "lower", "both"


class GateConfig(GateSection):
    """The ``gate`` section with its matching rules: a pattern with ``*``, ``?`` or ``[`` is a glob over the whole
    metric key, else a substring of it."""

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


def gate_config(params: dict[str, Any], params_path: str | Path = "params.yaml") -> GateConfig:
    """``GateConfig`` from params' ``gate`` section; an absent section or field keeps the default."""
    section = params.get("gate") or {}
    if not isinstance(section, dict):
        raise PipelineInputError(params_path, "expected a mapping", field="gate")
    return validated(GateConfig, section, params_path, "gate")


def flatten_metrics(obj: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested mapping → ``{"a.b.c": value}`` (bools, strings, lists skipped)."""
    if isinstance(obj, dict):
        flat: dict[str, float] = {}
        for key, value in obj.items():
            flat.update(flatten_metrics(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return {prefix: obj}
    return {}


def collect_metrics(metrics_dir: Path = METRICS_DIR) -> dict[str, float]:
    """Every JSON file under ``metrics_dir``, flattened to ``<relative path>:<dotted key>`` → value."""
    if not metrics_dir.is_dir():
        raise PipelineInputError(metrics_dir, "metrics folder not found; run the pipeline first (dvc repro)")
    metrics: dict[str, float] = {}
    for path in sorted(metrics_dir.rglob("*.json")):
        try:
            doc = read_json(path)
        except json.JSONDecodeError as err:
            raise PipelineInputError(path, f"not valid JSON ({err.msg}, line {err.lineno})") from None
        name = path.relative_to(metrics_dir).as_posix()
        metrics.update({f"{name}:{key}": value for key, value in flatten_metrics(doc).items()})
    return metrics


def read_baseline(path: Path) -> dict[str, float]:
    if not path.is_file():
        raise PipelineInputError(path, "baseline not found; create it with --write-baseline")
    try:
        doc = read_json(path)
    except json.JSONDecodeError as err:
        raise PipelineInputError(path, f"not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(doc, dict):
        raise PipelineInputError(path, "expected a flat mapping of metric key → number")
    for key, value in doc.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PipelineInputError(path, f"expected a number, got {value!r}", field=key)
    return doc


@dataclass(frozen=True)
class MetricCheck:
    key: str
    baseline: float | None
    current: float | None
    tolerance: float
    direction: str
    status: str  # ok | improved | regressed | changed | missing | new

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


def _status(baseline: float | None, current: float | None, tolerance: float, direction: str) -> str:
    if current is None:
        return "missing"
    if baseline is None:
        return "new"
    if math.isnan(current):
        return "ok" if math.isnan(baseline) else "regressed"
    if math.isnan(baseline):
        return "improved"
    change = current - baseline
    if abs(change) <= tolerance:
        return "ok"
    if direction == BOTH:
        return "changed"
    worse = change < 0 if direction == HIGHER else change > 0
    return "regressed" if worse else "improved"


def check_metrics(baseline: dict[str, float], current: dict[str, float], config: GateConfig) -> list[MetricCheck]:
    """One check per key of either mapping (ignored keys left out), in key order."""
    checks = []
    for key in sorted(set(baseline) | set(current)):
        if config.ignored(key):
            continue
        tolerance, direction = config.tolerance(key), config.direction(key)
        old, new = baseline.get(key), current.get(key)
        checks.append(MetricCheck(key, old, new, tolerance, direction, _status(old, new, tolerance, direction)))
    return checks


def _number(value: float | None, signed: bool = False) -> str:
    return "—" if value is None else f"{value:+.6g}" if signed else f"{value:.6g}"


def render_checks(checks: list[MetricCheck], show_all: bool = False) -> str:
    """A ``dvc metrics diff``-style table: every check with ``show_all``, else those that moved or fail."""
    rows = [
        [*c.key.split(":", 1), _number(c.baseline), _number(c.current), _number(c.change, signed=True),
         f"{c.tolerance:g}", c.status]
        for c in checks
        if show_all or c.status != "ok" or c.change
    ]
    if not rows:
        return "no metric changed"
    return tabulate(rows, headers=["Path", "Metric", "Baseline", "Current", "Change", "Tolerance", "Status"])


def summary(checks: list[MetricCheck]) -> str:
    counts = {s: sum(c.status == s for c in checks) for s in ("regressed", "changed", "missing", "improved", "new")}
    verdict = "FAIL" if any(c.failed for c in checks) else "PASS"
    details = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"gate {verdict}: {len(checks)} metrics checked" + (f" ({details})" if details else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file with the `gate` section")
    parser.add_argument("--baseline", type=Path, help="baseline JSON (default: gate.baseline in params)")
    parser.add_argument("--metrics-dir", type=Path, default=METRICS_DIR, help=f"default: {METRICS_DIR}")
    parser.add_argument("--write-baseline", action="store_true", help="write the current metrics as the baseline")
    parser.add_argument("--all", action="store_true", help="list unchanged metrics too")
    args = parser.parse_args(argv)
    config = gate_config(load_params(args.params), args.params)
    baseline_path = args.baseline or Path(config.baseline)
    current = collect_metrics(args.metrics_dir)
    if args.write_baseline:
        write_json(baseline_path, {k: v for k, v in current.items() if not config.ignored(k)})
        print(f"wrote {baseline_path}")
        return
    checks = check_metrics(read_baseline(baseline_path), current, config)
    print(render_checks(checks, args.all))
    print(summary(checks))
    if any(c.failed for c in checks):
        raise SystemExit(1)


if __name__ == "__main__":
    run_stage(main)
