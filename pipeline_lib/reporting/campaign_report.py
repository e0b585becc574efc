"""The report of an evidence campaign (``reports/<name>.md`` from ``reports/<name>/``): what is left to run, each
run's stopping, the per-model means ± sd, the comparisons the job list names, the paper's Tables 1–4 for the
campaign's dataset (:mod:`pipeline_lib.reporting.campaign_tables`), the seed-spread comparison over every measured
model, the loss-term magnitudes (:mod:`pipeline_lib.reporting.loss_terms`) and one plot of validation NDCG@10
against epoch per model.

    python -m pipeline_lib.reporting.campaign_report reports/scientific2018_converged

``reports/<name>/notes.md`` (hand-written: settings, rule, findings) is placed under the plan; everything else is
computed from the folder's files, so re-running it after each finished run keeps the report current.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from pipeline_lib.campaign import JobList, read_job_list
from pipeline_lib.cli import run_stage
from pipeline_lib.io import atomic_path, read_json
from pipeline_lib.reporting.campaign_folder import campaign_results, eval_files, read_ledger, seed_of, trained
from pipeline_lib.reporting.campaign_tables import tables_section
from pipeline_lib.reporting.figures import plt, save_png
from pipeline_lib.reporting.loss_terms import loss_terms_section
from pipeline_lib.reporting.results import Measured
from pipeline_lib.reporting.seed_comparison import TEST_METRICS, compare_pair, render

PLOT_NAME = "validation_ndcg10.png"


def plan_section(folder: Path, jobs: JobList, parallel: int = 2) -> list[str]:
    """Runs done and left; the hours left at the done runs' mean wall time per model (any model's where none)."""
    planned, dataset = [(run.model, seed) for run in jobs.runs for seed in run.seeds], jobs.dataset
    ledger = read_ledger(folder)
    left = [key for key in planned if key not in ledger]
    walls: dict[str, list[float]] = {}
    for (model, _), row in ledger.items():
        walls.setdefault(model, []).append(float(row["wall_s"]))
    every = [w for ws in walls.values() for w in ws]
    lines = ["## Plan", ""]
    if not left:
        return lines + [f"All {len(planned)} planned runs of `{dataset}` are done.", ""]
    if every:
        hours = sum(statistics.fmean(walls.get(model, every)) for model, _ in left) / 3600 / parallel
        estimate = f"about {hours:.1f} h at {parallel} runs at once (the done runs' mean wall time per model)"
    else:
        estimate = "no run finished yet, so no estimate"
    lines += [f"{len(planned) - len(left)} of {len(planned)} planned runs done; left: "
              + ", ".join(f"{model} seed {seed}" for model, seed in left) + f" — {estimate}.", ""]
    return lines


def runs_section(folder: Path) -> list[str]:
    """One row per finished run: best epoch, epochs, stopped by, seconds per epoch, wall minutes (the training epochs
    and validations of all its sessions where its timings say, else the ledger's last session), validation and test
    NDCG@10."""
    ledger = read_ledger(folder)
    rows = []
    for model, seeds in eval_files(folder).items():
        for seed, path in sorted(seeds.items()):
            train_path = folder / "metrics" / "train" / model / path.name
            train: dict[str, Any] = read_json(train_path) if train_path.is_file() else {}
            timing_path = folder / "timings" / model / path.name
            timing: dict[str, Any] = read_json(timing_path) if timing_path.is_file() else {}
            test = read_json(path)["test"]
            wall = timing.get("train_and_eval_seconds", ledger.get((model, seed), {}).get("wall_s"))
            rows.append([model, seed, train.get("best_epoch"), train.get("epochs"), train.get("stopped_by"),
                         f"{timing['seconds_per_epoch']:.0f}" if "seconds_per_epoch" in timing else "",
                         f"{float(wall) / 60:.1f}" if wall else "",
                         f"{train.get('valid', {}).get('ndcg@10', float('nan')):.4f}",
                         f"{test['recall@10']:.4f}", f"{test['ndcg@10']:.4f}"])
    headers = ["model", "seed", "best epoch", "epochs", "stopped by", "s / epoch", "wall min", "valid N@10",
               "test R@10", "test N@10"]
    return ["## Runs", "", "Epochs count from 0; `stopped by` patience = at the plateau, max_epochs = not converged. "
            "`wall min`: the training epochs and validations of every session of the run (timings' "
            "`train_and_eval_seconds`); for runs recorded before that field, the last session's process time "
            "(`runs.tsv`), which undercounts a resumed run.",
            "", tabulate(rows, headers=headers, tablefmt="github"), ""]


def means_section(models: dict[str, dict[str, Measured]]) -> list[str]:
    rows = []
    for model, values in models.items():
        cells = []
        for metric in TEST_METRICS:
            measured = values[metric]
            sd = "" if measured.sd is None else f" ± {measured.sd:.4f}"
            cells.append(f"{measured.mean:.4f}{sd}")
        rows.append([model, next(iter(values.values())).n, *cells])
    headers = ["model", "seeds", "R@5", "R@10", "N@5", "N@10"]
    return ["## Test metrics, mean ± sd over seeds", "", "All test users; sd is the sample sd over seeds.", "",
            tabulate(rows, headers=headers, tablefmt="github"), ""]


def compare_section(models: dict[str, dict[str, Measured]], pairs: list[tuple[str, str]]) -> list[str]:
    lines = ["## Named comparisons (Welch's t-test over seeds)", ""]
    for a, b in pairs:
        if a not in models or b not in models:
            lines.append(f"- {a} vs {b}: not both measured yet.")
            continue
        for metric in ("recall@10", "ndcg@10"):
            pair = compare_pair(a, b, models[a][metric], models[b][metric])
            p = "not tested (fewer than 2 seeds a side)" if pair.p_value is None else f"p = {pair.p_value:.3g}"
            lines.append(f"- {a} vs {b}, {metric}: {pair.mean_a:.4f} vs {pair.mean_b:.4f} "
                         f"({pair.difference:+.4f}; Welch {p}; seed ranges {'disjoint' if pair.disjoint else 'overlap'})")
    return lines + [""]


def _mean_epochs(folder: Path, model: str) -> str:
    trains = [read_json(p) for p in sorted((folder / "metrics" / "train" / model).glob("seed_*.json"))]
    best = [t["best_epoch"] for t in trains if "best_epoch" in t]
    return f"{statistics.fmean(best):.0f}" if best else "?"


def reference_section(folder: Path, models: dict[str, dict[str, Measured]], reference: Path) -> list[str]:
    """Model by model: this campaign's test means against an earlier evidence folder's (same file layout)."""
    earlier = trained(campaign_results(reference))
    rows = []
    for model, values in models.items():
        if model not in earlier:
            continue
        then, now = earlier[model], values
        rows.append([model, f"{then['ndcg@10'].mean:.4f} (n={then['ndcg@10'].n})", f"{now['ndcg@10'].mean:.4f}",
                     f"{now['ndcg@10'].mean - then['ndcg@10'].mean:+.4f}", f"{then['recall@10'].mean:.4f}",
                     f"{now['recall@10'].mean:.4f}", _mean_epochs(reference, model), _mean_epochs(folder, model)])
    headers = ["model", "N@10 then", "N@10 now", "change", "R@10 then", "R@10 now", "best epoch then",
               "best epoch now"]
    return [f"## Against `{reference}`", "", "Test means over each folder's seeds; best epoch: mean over seeds.", "",
            tabulate(rows, headers=headers, tablefmt="github") if rows else "No model in common yet.", ""]


def plot_curves(folder: Path, out: Path) -> bool:
    """One panel per model: validation NDCG@10 against epoch, one line per seed. False when no curve exists."""
    curves: dict[str, dict[int, pd.DataFrame]] = {}
    for path in sorted((folder / "curves").glob("*/seed_*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        if "valid_ndcg@10" in frame:
            curves.setdefault(path.parent.name, {})[seed_of(path)] = frame.dropna(subset=["valid_ndcg@10"])
    if not curves:
        return False
    fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 3.2), squeeze=False, sharey=True)
    for ax, (model, seeds) in zip(axes[0], curves.items()):
        for seed, frame in sorted(seeds.items()):
            ax.plot(frame["epoch"], frame["valid_ndcg@10"], marker=".", label=f"seed {seed}")
        ax.set_title(model)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("validation NDCG@10")
    fig.tight_layout()
    save_png(fig, out, dpi=110)
    return True


def campaign_report(folder: Path) -> str:
    """The Markdown of ``reports/<folder>.md`` (writes the curves' PNG into the folder)."""
    jobs = read_job_list(folder)
    results = campaign_results(folder, jobs)
    models = trained(results)
    lines = [f"# Evidence campaign `{folder.name}` (dataset `{jobs.dataset}`)", "",
             f"Generated by `python -m pipeline_lib.reporting.campaign_report {folder}` from `{folder}/`; the runs by "
             f"`python scripts/campaign.py {folder}` (job list `{folder}/jobs.yaml`).", ""]
    lines += plan_section(folder, jobs)
    notes = folder / "notes.md"
    if notes.is_file():
        lines += [notes.read_text().rstrip(), ""]
    if not models:
        return "\n".join(lines + ["No run has finished yet.", ""])
    lines += runs_section(folder) + means_section(models)
    if jobs.compare:
        lines += compare_section(models, jobs.compare)
    if jobs.reference is not None and Path(jobs.reference).is_dir():
        lines += reference_section(folder, models, Path(jobs.reference))
    lines += tables_section(folder, jobs, results)
    lines += render(results, ("recall@10", "ndcg@10"), list(models)).splitlines()
    lines += ["", *loss_terms_section(folder)]
    if plot_curves(folder, folder / PLOT_NAME):
        lines += ["## Validation curves", "", f"![validation NDCG@10 per epoch]({folder.name}/{PLOT_NAME})", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a campaign folder, e.g. reports/scientific2018_converged")
    args = parser.parse_args(argv)
    folder = args.folder.resolve().relative_to(Path.cwd()) if args.folder.is_absolute() else args.folder
    text = campaign_report(folder)
    out = folder.parent / f"{folder.name}.md"
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    run_stage(main)
