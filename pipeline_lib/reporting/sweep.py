"""DECOR Figure 3: R@10 and N@10 of DECOR against α (eq. 18) and against the BOS query number (eq. 19).

The points come from DVC experiments (``dvc exp run -S alpha=… -S bos_queries=…``), read from
``dvc exp show --json``. That document is a list of baseline commits, each
``{"rev", "name", "data": {"timestamp", "params": {"params.yaml": {"data": …}}, "metrics":
{"<path>": {"data": …}}}, "error", "experiments": [{"name", "executor": {"state"} | null,
"revs": [<same shape>]}]}``, the uncommitted ``workspace`` first.

A run's point is DECOR's test R@10 / N@10 averaged over the training seeds in the run's own params
``seeds`` whose metrics it has (``reports/metrics/<dataset>/eval/decor/seed_<s>.json``; files of other
seeds are ignored, and ``n_seeds`` says how many were averaged).

Which runs count: baselines and finished experiments (no ``error``, executor state not
queued / running / failed: DVC shows a failed run with the workspace's stale metrics). The
``workspace`` row is skipped — it is either an applied experiment, listed already, or
uncommitted state. Each run's own params resolve a null ``alpha`` / ``bos_queries`` to its
dataset's Table 5 value. As in the paper ("we fix the other to the best-performed value"), a run
is a point of the α panel when its BOS number is the dataset default, and of the BOS panel when
its α is; when several runs share a setting, the newest wins.

CLI: ``python -m pipeline_lib.reporting.sweep [--json FILE] [--out reports/figures]`` writes
``figure3_<dataset>.png`` per dataset and ``figure3_points.csv`` (every collected run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from pipeline_lib.cli import run_stage
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import atomic_path
from pipeline_lib.params import bos_query_count, composition_alpha, dataset_spec
from pipeline_lib.paths import DatasetPaths, run_name
from pipeline_lib.reporting.figures import FIGURES_DIR, save_png

ALPHA_GRID = (0.1, 0.25, 0.4, 0.55, 0.7)  # the paper's search region (Figure 3 caption)
BOS_GRID = (8, 16, 32, 64, 128)
VARIANT = "decor"
PARAMS_FILE = "params.yaml"
UNFINISHED = {"queued", "running", "failed"}
EXP_SHOW = "dvc exp show --json"


@dataclass(frozen=True)
class SweepPoint:
    """One finished run's DECOR test metrics on one dataset (means over ``n_seeds`` training seeds), with its
    resolved α and BOS number."""

    experiment: str  # DVC experiment name, or the baseline's branch / short rev
    rev: str
    timestamp: str  # ISO time of the run's commit ("" when DVC gives none)
    dataset: str
    alpha: float
    bos_queries: int
    alpha_default: float  # the dataset's Table 5 values, what a null param resolves to
    bos_default: int
    recall_at_10: float
    ndcg_at_10: float
    n_seeds: int


def _finished_runs(doc: Any, source: str) -> Iterator[dict[str, Any]]:
    """The baseline commits and finished experiments of a ``dvc exp show --json`` document."""
    if not isinstance(doc, list) or not all(isinstance(b, dict) and "rev" in b for b in doc):
        raise PipelineInputError(source, f"not a `{EXP_SHOW}` document (expected a list of revisions)")
    for baseline in doc:
        if baseline["rev"] == "workspace":
            continue
        yield baseline
        for exp_range in baseline.get("experiments") or []:
            if (exp_range.get("executor") or {}).get("state") in UNFINISHED:
                continue
            yield from exp_range.get("revs") or []


def _seed_metrics(metrics: dict[str, Any], seeds: list[int], dataset: str, where: str) -> list[dict[str, float]]:
    """``{"recall@10", "ndcg@10"}`` of each of ``seeds`` with DECOR metrics on ``dataset`` in a run's ``metrics``
    (``where``: the source and run, for errors)."""
    found = []
    for seed in seeds:
        metrics_path = DatasetPaths(dataset).eval_metrics(run_name(VARIANT, seed)).as_posix()
        data = (metrics.get(metrics_path) or {}).get("data")
        if not data:
            continue
        test = data.get("test") or {}
        if "recall@10" not in test or "ndcg@10" not in test:
            raise PipelineInputError(f"{where}: {metrics_path}", "no test.recall@10 / test.ndcg@10")
        found.append({"recall@10": float(test["recall@10"]), "ndcg@10": float(test["ndcg@10"])})
    return found


def _run_points(run: dict[str, Any], source: str) -> Iterator[SweepPoint]:
    data = run.get("data")
    if run.get("error") or not data:
        return
    params = ((data.get("params") or {}).get(PARAMS_FILE) or {}).get("data")
    if not params:
        return
    name = run.get("name") or run["rev"][:7]
    for dataset in params.get("datasets") or []:
        metrics, where = data.get("metrics") or {}, f"{source} ({name})"
        seeds = _seed_metrics(metrics, params.get("seeds") or [], dataset, where)
        if not seeds:
            continue
        spec = dataset_spec(params, dataset, f"{source} ({name}: {PARAMS_FILE})")
        try:
            alpha, bos = composition_alpha(params, spec), bos_query_count(params, spec)
        except (TypeError, ValueError):
            raise PipelineInputError(source, "alpha / bos_queries is not a number", field=name) from None
        yield SweepPoint(
            experiment=name,
            rev=run["rev"],
            timestamp=data.get("timestamp") or "",
            dataset=dataset,
            alpha=alpha,
            bos_queries=bos,
            alpha_default=float(spec.alpha),
            bos_default=int(spec.bos_queries),
            recall_at_10=statistics.fmean(m["recall@10"] for m in seeds),
            ndcg_at_10=statistics.fmean(m["ndcg@10"] for m in seeds),
            n_seeds=len(seeds),
        )


def sweep_points(doc: Any, source: str = EXP_SHOW) -> list[SweepPoint]:
    """Every finished run's DECOR point, per dataset it evaluated (see the module docstring)."""
    return [point for run in _finished_runs(doc, source) for point in _run_points(run, source)]


def read_exp_show(json_file: Path | None) -> tuple[Any, str]:
    """The parsed ``dvc exp show --json`` document: from ``json_file``, else by running DVC here."""
    if json_file is not None:
        if not json_file.is_file():
            raise PipelineInputError(json_file, "not found")
        text, source = json_file.read_text(), str(json_file)
    else:
        done = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json"], capture_output=True, text=True)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
            raise PipelineInputError(EXP_SHOW, f"failed: {lines[-1]}")
        text, source = done.stdout, EXP_SHOW
    try:
        return json.loads(text), source
    except json.JSONDecodeError as err:
        raise PipelineInputError(source, f"not valid JSON ({err.msg}, line {err.lineno})") from None


def _newest_per_setting(points: list[SweepPoint]) -> list[SweepPoint]:
    newest: dict[tuple[float, int], SweepPoint] = {}
    for point in sorted(points, key=lambda p: p.timestamp):
        newest[(point.alpha, point.bos_queries)] = point
    return list(newest.values())


def alpha_series(points: list[SweepPoint], dataset: str) -> list[SweepPoint]:
    """The α panel: ``dataset``'s runs at its default BOS number, one per α (the newest), by α."""
    chosen = [p for p in points if p.dataset == dataset and p.bos_queries == p.bos_default]
    return sorted(_newest_per_setting(chosen), key=lambda p: p.alpha)


def bos_series(points: list[SweepPoint], dataset: str) -> list[SweepPoint]:
    """The BOS panel: ``dataset``'s runs at its default α, one per BOS number (the newest), by N."""
    chosen = [p for p in points if p.dataset == dataset and p.alpha == p.alpha_default]
    return sorted(_newest_per_setting(chosen), key=lambda p: p.bos_queries)


def _panel(ax: plt.Axes, x: list[float], series: list[SweepPoint], grid: tuple[float, ...], default: float) -> None:
    if series:
        ax.plot(x, [p.recall_at_10 for p in series], marker="o", label="R@10")
        ax.plot(x, [p.ndcg_at_10 for p in series], marker="s", label="N@10")
    else:
        ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", va="center", color="grey")
    ax.axvline(default, color="grey", linestyle=":", label="Table 5 default")
    ticks = sorted(set(grid) | set(x))
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.grid(alpha=0.3)
    ax.legend()


def plot_sweep(points: list[SweepPoint], dataset: str, path: Path) -> None:
    """Figure 3 for one dataset: R@10 / N@10 against α (left) and the BOS query number (right)."""
    mine = [p for p in points if p.dataset == dataset]
    if not mine:
        raise PipelineInputError(path, f"no finished DECOR runs on dataset '{dataset}'")
    alpha_default, bos_default = mine[-1].alpha_default, mine[-1].bos_default
    by_alpha, by_bos = alpha_series(points, dataset), bos_series(points, dataset)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    _panel(left, [p.alpha for p in by_alpha], by_alpha, ALPHA_GRID, alpha_default)
    left.set(title=f"{dataset}: composition weight α (N = {bos_default})", xlabel="α (eq. 18)", ylabel="test metric")
    if all(p.bos_queries > 0 for p in by_bos):
        right.set_xscale("log", base=2)
    _panel(right, [p.bos_queries for p in by_bos], by_bos, BOS_GRID, bos_default)
    right.set(title=f"{dataset}: BOS query number (α = {alpha_default:g})", xlabel="N (eq. 19)", ylabel="test metric")
    counts = sorted({p.n_seeds for p in mine})
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}\u2013{counts[-1]}"
    figure.suptitle(f"DECOR hyperparameter sensitivity (Figure 3), mean over {seeds} seed(s) per point")
    save_png(figure, path)


def write_points_csv(points: list[SweepPoint], path: Path) -> None:
    columns = list(SweepPoint.__dataclass_fields__)
    frame = pd.DataFrame([asdict(p) for p in points], columns=columns)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _missing(series: list[SweepPoint], grid: tuple[float, ...], value: str) -> list[float]:
    have = {getattr(p, value) for p in series}
    return [g for g in grid if g not in have]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help=f"a saved `{EXP_SHOW}` output (default: run it here)")
    parser.add_argument("--out", type=Path, default=FIGURES_DIR, help=f"output folder (default: {FIGURES_DIR})")
    args = parser.parse_args(argv)
    doc, source = read_exp_show(args.json)
    points = sweep_points(doc, source)
    if not points:
        pattern = DatasetPaths("<dataset>").eval_metrics(VARIANT).with_suffix("") / "seed_<seed>.json"
        raise PipelineInputError(source, f"no finished run has {pattern} for a seed of its params `seeds`")
    write_points_csv(points, args.out / "figure3_points.csv")
    for dataset in dict.fromkeys(p.dataset for p in points):
        path = args.out / f"figure3_{dataset}.png"
        plot_sweep(points, dataset, path)
        gaps_alpha = _missing(alpha_series(points, dataset), ALPHA_GRID, "alpha")
        gaps_bos = _missing(bos_series(points, dataset), BOS_GRID, "bos_queries")
        seeds = sorted({p.n_seeds for p in points if p.dataset == dataset})
        print(f"{path}: missing α {gaps_alpha or 'none'}, missing N {gaps_bos or 'none'}, seeds per point {seeds}")


if __name__ == "__main__":
    run_stage(main)
