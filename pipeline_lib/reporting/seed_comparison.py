"""Which differences between models exceed the seed spread, on one dataset and metric.

Every pair of measured models is compared on the per-seed values of its test metric: the difference
of means, Welch's two-sided t-test over the seeds (:func:`welch_t_test`) and whether the two seed
ranges ``[min, max]`` are disjoint. With 2–3 seeds per model the test has little power; disjoint
ranges are the plainer statement ("every seed of A beat every seed of B"). Nothing here ranks the
methods: it says which gaps the seeds can and cannot tell apart.

CLI: ``python -m pipeline_lib.reporting.seed_comparison <dataset> [--metrics ndcg@10 recall@10] [--out FILE.md]``
(reads params ``seeds`` / ``variants`` like the tables stage; prints Markdown, or writes it to ``--out``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from tabulate import tabulate

from pipeline_lib.cli import run_stage
from pipeline_lib.io import atomic_path
from pipeline_lib.reporting.results import DatasetResults, Measured, collect_results
from pipeline_lib.reporting.significance import welch_t_test
from pipeline_lib.reporting.table_vocabulary import BASELINE_RUNS, MEASURES
from pipeline_lib.schema import load_params

DEFAULT_METRICS = ("ndcg@10", "recall@10")
TEST_METRICS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")


@dataclass(frozen=True)
class PairComparison:
    """Model ``a`` against model ``b`` on one metric: means over seeds, Welch's p (``None``: not tested, a side
    has fewer than 2 values, e.g. the unseeded popularity floor), disjoint seed ranges."""

    a: str
    b: str
    mean_a: float
    mean_b: float
    p_value: float | None
    disjoint: bool

    @property
    def difference(self) -> float:
        return self.mean_a - self.mean_b


def compare_pair(a: str, b: str, values_a: Measured, values_b: Measured) -> PairComparison:
    """``a`` vs ``b`` from their per-seed values (any number of seeds each; one seed gives p = 1)."""
    x, y = np.array(list(values_a.per_seed.values())), np.array(list(values_b.per_seed.values()))
    disjoint = bool(x.min() > y.max() or y.min() > x.max())
    p_value = welch_t_test(x, y).p_value if min(len(x), len(y)) >= 2 else None
    return PairComparison(a, b, float(x.mean()), float(y.mean()), p_value, disjoint)


def compare_models(results: DatasetResults, metric: str, models: list[str]) -> list[PairComparison]:
    """Every pair of the ``models`` measured on ``metric``, the higher mean first in each pair."""
    measured = [m for m in models if metric in results.values.get(m, {})]
    pairs = []
    for a, b in combinations(measured, 2):
        pair = compare_pair(a, b, results.values[a][metric], results.values[b][metric])
        if pair.difference < 0:
            pair = compare_pair(b, a, results.values[b][metric], results.values[a][metric])
        pairs.append(pair)
    return sorted(pairs, key=lambda p: -p.difference)


def _spread(values: Measured, decimals: int) -> list[str]:
    seeds = sorted(values.per_seed.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    sd = "—" if values.sd is None else f"{values.sd:.{decimals}f}"
    low, high = min(values.per_seed.values()), max(values.per_seed.values())
    return [f"{values.mean:.{decimals}f}", sd, f"{low:.{decimals}f}–{high:.{decimals}f}", str(values.n),
            ", ".join(f"{value:.{decimals}f}" for _, value in seeds)]


def _evidence(pair: PairComparison) -> str:
    welch = "Welch not tested" if pair.p_value is None else f"Welch p = {pair.p_value:.3g}"
    return f"{welch}, seed ranges {'disjoint' if pair.disjoint else 'overlap'}"


def render(results: DatasetResults, metrics: tuple[str, ...], models: list[str], level: float = 0.05) -> str:
    """Markdown: per metric, each model's mean, sd, seed range and values, then the pairs whose gap the
    seeds resolve (disjoint ranges or Welch p < ``level``) and a count of those they do not."""
    lines = [f"## Seed spread against the gaps between models ({results.name})", ""]
    for metric in metrics:
        label, decimals = MEASURES[metric].label, MEASURES[metric].decimals
        rows = [[m, *_spread(results.values[m][metric], decimals)] for m in models if metric in results.values.get(m, {})]
        rows.sort(key=lambda row: -float(row[1]))
        lines += [f"### {label}", "", tabulate(rows, headers=["model", "mean", "sd", "seed range", "n", "per seed"],
                                                tablefmt="github"), ""]
        pairs = compare_models(results, metric, models)
        resolved = [p for p in pairs if p.disjoint or (p.p_value is not None and p.p_value < level)]
        if resolved:
            lines.append(f"Gaps larger than the seed spread ({label}; disjoint seed ranges or Welch p < {level}):")
            lines.append("")
            lines += [f"- {p.a} > {p.b}: {p.difference:+.{decimals}f} ({_evidence(p)})" for p in resolved]
        else:
            lines.append(f"No gap in {label} is larger than the seed spread.")
        lines += ["", f"Within the seed spread: {len(pairs) - len(resolved)} of {len(pairs)} pairs "
                      f"(overlapping seed ranges, Welch p ≥ {level} or not tested).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="dataset name (its metrics under reports/metrics/<dataset>)")
    parser.add_argument("--params", default="params.yaml", help="params file (seeds, variants, tables)")
    parser.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS), choices=TEST_METRICS,
                        help="test metrics to compare")
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of printing it")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    models = list(dict.fromkeys([*params["variants"], *BASELINE_RUNS]))
    metrics = tuple(args.metrics)
    results = collect_results(args.dataset, models, metrics, ".", params["seeds"])
    text = render(results, metrics, models, params["tables"]["significance_level"])
    if args.out is None:
        print(text)
        return
    with atomic_path(args.out) as tmp:
        tmp.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_stage(main)
