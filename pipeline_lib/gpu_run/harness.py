"""The paper-profile GPU run (``scripts/gpu_paper_run.sh``): its params, a pre-flight check, and its report.

The script runs the stages as ``python -m stages.<name> <dataset> … --params params.yaml`` inside a work
folder (``.gpu_run/work``; ``.gpu_run/tiny`` for the CPU rehearsal), so the run's data, metrics and curves
stay apart from the repository's own ``data/`` and ``reports/metrics/``. This module

- ``params``: writes the run's params file — the repository's params.yaml with only the run's keys set
  (``datasets``, ``variants``, the dataset's path and ``profile: null``, ``train.time_budget_s``,
  ``train.diagnostics_every``, ``train.device``; with ``--tiny``, small models and one epoch as the
  dataset's ``overrides``) — and validates it against the schema;
- ``preflight``: prints the device and library versions, checks that CUDA is there when it must be,
  that the prepared data is in place, and trains one tiny recommender for one epoch on the device
  (a library mismatch fails here, in seconds, not after the tokenizer);
- ``report`` (after each model, so a run cut short still leaves one): collects the stage timings and the
  metric files (found by glob, so per-seed layouts such as ``eval/<variant>/seed_<s>.json`` work as well
  as ``eval/<variant>.json``) into ``report.md`` and ``metrics.json``, with copies of the small result
  files beside them (the script copies what the device's ``$OUT`` can bring back).

Bad input (a missing file, an unknown dataset, a bad value) is one line on stderr and exit code 2.
CLI: ``python -m pipeline_lib.gpu_run.harness {params,preflight,report} --help``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_json, write_json
from pipeline_lib.params import dataset_spec, stage_section
from pipeline_lib.schema import validate_params

VARIANTS: tuple[str, ...] = ("tiger", "decor")
PREPARED: tuple[str, ...] = ("raw", "filtered", "embed")  # stage outputs built on a CPU and carried to the device
COMPOSITION_KEYS: tuple[str, ...] = ("entropy", "max_weight", "distinct_argmax")
TIMES_FILES: tuple[str, ...] = ("times.prepare.tsv", "times.run.tsv")
RUN_KEYS: tuple[str, ...] = ("seed", "protocol", "max_history", "beam_size")
RESERVE_S = 75.0  # per model still to train: its last validation past the budget, saving, its evaluation
MIN_BUDGET_S = 15.0  # a fitted budget never goes below this

# The CPU rehearsal (--tiny): the same chain with models small enough for seconds per stage; with the
# script's tiny time budget each model stops after its first epoch's validation (stopped_by: time_budget).
TINY_OVERRIDES: dict[str, dict[str, Any]] = {
    "tokenize": {"model": {"hidden_dims": [32], "code_dim": 16}, "train": {"epochs": 2, "batch_size": 256}},
    "model": {"d_model": 16, "d_kv": 8, "num_heads": 2, "d_ff": 32, "encoder_layers": 1, "decoder_layers": 1,
              "dropout": 0.0, "fusion_dim": 16, "attention_dim": 16},
    "train": {"max_epochs": 2, "eval_every": 1, "patience": 2, "batch_size": 256},  # a tiny budget stops at 1
    "evaluate": {"beam_size": 10},
}


@dataclass(frozen=True)
class RunSettings:
    """What the script sets in the run's params; everything else stays as the repository's params.yaml has it."""

    dataset: str
    time_budget_s: float
    diagnostics_every: int
    device: str
    tiny: bool = False
    source: str | None = None  # the dataset's source folder (catalog.<dataset>.path), absolute; None = as it is
    eval_every: int | None = None  # None = params.yaml's train.eval_every


def run_params(base: dict[str, Any], settings: RunSettings) -> dict[str, Any]:
    """``base`` (params.yaml as loaded) with the run's keys set; a new dict, ``base`` is left as it was."""
    params = json.loads(json.dumps(base))  # a deep copy of plain YAML values
    catalog = params.get("catalog") or {}
    if settings.dataset not in catalog:
        known = ", ".join(sorted(catalog)) or "none"
        raise PipelineInputError("params.yaml", f"dataset {settings.dataset!r} is not in catalog (known: {known})")
    params["datasets"] = [settings.dataset]
    params["variants"] = list(VARIANTS)
    params["seeds"] = (params.get("seeds") or [2025])[:1]  # one training seed: the device lends minutes
    entry = catalog[settings.dataset]
    entry["profile"] = None
    if settings.source is not None:
        entry["path"] = settings.source
    if settings.tiny:
        entry["overrides"] = {**(entry.get("overrides") or {}), **TINY_OVERRIDES}
    train = params.setdefault("train", {})
    train["time_budget_s"] = settings.time_budget_s
    train["diagnostics_every"] = settings.diagnostics_every
    train["device"] = settings.device
    if settings.eval_every is not None:
        train["eval_every"] = settings.eval_every
    return params


def fitted_budget(budget_s: float, left_s: float | None, models_left: int) -> float:
    """The training budget per model that keeps the run inside its deadline: ``budget_s``, or less when the
    ``left_s`` seconds left, less ``RESERVE_S`` per model, shared by the ``models_left`` models, are fewer
    (never under ``MIN_BUDGET_S``). ``left_s`` None = no deadline."""
    if left_s is None:
        return budget_s
    if models_left < 1:
        raise PipelineInputError(None, f"models left must be ≥ 1, got {models_left}")
    return min(budget_s, max(MIN_BUDGET_S, (left_s - RESERVE_S * models_left) / models_left))


def write_run_params(repo_params: Path, out: Path, settings: RunSettings) -> dict[str, Any]:
    """Write the run's params file ``out`` from ``repo_params``, after checking it against the schema."""
    if not repo_params.is_file():
        raise PipelineInputError(repo_params, "params file not found")
    params = run_params(yaml.safe_load(repo_params.read_text()), settings)
    validate_params(params, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(params, sort_keys=False))
    return params


# ---------------------------------------------------------------- pre-flight


def environment() -> dict[str, Any]:
    """Device name (``torch.cuda.get_device_name`` or ``cpu``), torch / CUDA / Python / transformers versions."""
    import torch
    import transformers

    cuda = torch.cuda.is_available()
    return {
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "python": sys.version.split()[0],
        "transformers": transformers.__version__,
    }


def smoke_train(device: str) -> float:
    """One epoch of a tiny DECOR on synthetic data on ``device`` (bf16 there as in the run), with validation
    by constrained beam search; returns its seconds. Exercises the libraries the stages use on that device."""
    import tempfile

    import torch

    from pipeline_lib.bench.synthetic import SyntheticSize, synthetic_split, synthetic_tokenizer
    from pipeline_lib.device import resolve_device
    from pipeline_lib.evaluation import DecodeConfig
    from pipeline_lib.models.config import GenRecConfig
    from pipeline_lib.models.generative import GenerativeRecommender
    from pipeline_lib.training.config import OptimConfig
    from pipeline_lib.training.generative import generative_data, train_generative

    began = time.perf_counter()
    where = resolve_device(device)
    split = synthetic_split(SyntheticSize(users=30, items=25, interactions=160), max_seq_len=5, seed=1)
    sids, codebooks = synthetic_tokenizer(25, levels=3, codebook_size=8, code_dim=8, seed=1)
    data, _ = generative_data(split, sids, 8, 5, where)
    config = GenRecConfig(codebook_size=8, d_model=16, d_kv=4, num_heads=2, d_ff=32, encoder_layers=1,
                          decoder_layers=1, code_dim=8, fusion_dim=8, attention_dim=8, dropout=0.0,
                          composition=True, alpha=0.5, bos_queries=2)
    model = GenerativeRecommender(config, codebooks).to(where)
    optim = OptimConfig(batch_size=16, warmup_steps=2, max_epochs=1, patience=1, diagnostics_every=1)
    with tempfile.TemporaryDirectory() as tmp:
        result = train_generative(model, data, optim, DecodeConfig(beam_size=10, batch_size=16), 0,
                                  Path(tmp) / "ckpt", "smoke", Path(tmp) / "curve.tsv",
                                  Path(tmp) / "steps.tsv")
    if result.epochs_run != 1 or "ndcg@10" not in result.best_metrics:
        raise RuntimeError(f"smoke training ended oddly: {result.epochs_run} epochs, metrics {result.best_metrics}")
    if where.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - began


def preflight(work: Path, dataset: str, require_cuda: bool, device: str) -> dict[str, Any]:
    """Check the run can start: the prepared stage outputs in ``work``, CUDA when ``require_cuda``, and a
    smoke training on ``device``. Prints and returns the environment."""
    missing = [name for name in PREPARED if not (work / "data" / dataset / name).is_dir()]
    if missing:
        raise PipelineInputError(
            work / "data" / dataset,
            f"prepared data missing ({', '.join(missing)}): run `scripts/gpu_paper_run.sh prepare` here and carry .gpu_run",
        )
    env = environment()
    print("environment: " + ", ".join(f"{k} {v}" for k, v in env.items()), flush=True)
    if require_cuda and env["device"] == "cpu":
        raise PipelineInputError(None, "no CUDA device visible to torch (GPU_RUN_REQUIRE_CUDA=0 allows a CPU run)")
    print(f"smoke training on {device}: {smoke_train(device):.1f} s", flush=True)
    return env


# ---------------------------------------------------------------- report


def read_times(work: Path) -> list[dict[str, Any]]:
    """The script's stage timings: one row per stage (``phase``, ``stage``, ``seconds``, ``rc``), prepare first."""
    rows: list[dict[str, Any]] = []
    for name in TIMES_FILES:
        path = work / name
        if not path.is_file():
            continue
        with path.open(newline="") as f:
            for line, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
                if len(row) != 5:
                    raise PipelineInputError(path, f"expected 5 tab-separated fields, got {len(row)}", row=line)
                phase, stage, start, end, rc = row
                rows.append({"phase": phase, "stage": stage, "seconds": round(float(end) - float(start), 2),
                             "rc": int(rc)})
    return rows


def variant_of(relative: Path) -> str:
    """The variant a metric or curve file belongs to, from its path below its folder:
    ``tiger.json``, ``tiger.steps.tsv``, ``tiger/seed_2025.json`` → ``tiger``."""
    return relative.parts[0].split(".")[0]


def find_files(folder: Path, pattern: str, variant: str, exclude: str | None = None) -> list[Path]:
    """Files under ``folder`` matching ``pattern`` (``rglob``) that belong to ``variant``, sorted;
    names containing ``exclude`` are left out."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.rglob(pattern) if variant_of(p.relative_to(folder)) == variant]
    return sorted(p for p in found if exclude is None or exclude not in p.name)


def _first_json(paths: list[Path]) -> dict[str, Any]:
    return read_json(paths[0]) if paths else {}


def _steps_summary(path: Path | None) -> dict[str, Any]:
    """Rows logged in a ``.steps.tsv`` and its first and last rows' composition statistics."""
    if path is None or not path.is_file():
        return {"rows": 0}
    import pandas as pd

    frame = pd.read_csv(path, sep="\t")
    if frame.empty:
        return {"rows": 0}
    keep = [c for c in frame.columns if c == "step" or any(c.endswith(f"_{k}") for k in COMPOSITION_KEYS)]
    return {"rows": len(frame), "first": frame[keep].iloc[0].to_dict(), "last": frame[keep].iloc[-1].to_dict()}


def model_summary(work: Path, dataset: str, variant: str) -> tuple[dict[str, Any], list[Path]]:
    """One variant's epochs, stop reason, test metrics and composition diagnostics, and the files read."""
    metrics_dir = work / "reports" / "metrics" / dataset
    evals = find_files(metrics_dir / "eval", "*.json", variant)
    trains = find_files(metrics_dir / "train", "*.json", variant)
    timings = find_files(work / "reports" / "timings" / dataset, "*.json", variant)
    curves = find_files(work / "reports" / "curves" / dataset, "*.tsv", variant)
    steps = find_files(work / "reports" / "steps" / dataset, "*.tsv", variant)
    evaluation, train, timing = _first_json(evals), _first_json(trains), _first_json(timings)
    summary: dict[str, Any] = {
        "epochs": train.get("epochs"),
        "best_epoch": train.get("best_epoch"),
        "stopped_by": train.get("stopped_by"),
        "seconds_per_epoch": timing.get("seconds_per_epoch"),
        "train_seconds": timing.get("wall_seconds_this_run"),
        "valid": train.get("valid", {}),
        "test": evaluation.get("test", {}),
        # what the stages recorded of their run, where they do (per-seed runs: seed, protocol, history, beam)
        **{k: train.get(k, evaluation.get(k)) for k in RUN_KEYS if k in train or k in evaluation},
        "files": [p.relative_to(work).as_posix() for p in evals + trains + curves + steps],
    }
    if "composition" in evaluation:
        summary["composition"] = {
            site: {k: stats.get(k) for k in COMPOSITION_KEYS} for site, stats in evaluation["composition"].items()
        }
        summary["utilization"] = evaluation.get("utilization", {})
        summary["constant_context_gap"] = evaluation.get("constant_context_gap", {})
        summary["steps"] = _steps_summary(steps[0] if steps else None)
    chosen = evals[:1] + curves[:1] + (steps[:1] if "composition" in evaluation else [])
    return summary, chosen


def effective_settings(params_path: Path, dataset: str) -> dict[str, Any]:
    """The sections the run's stages used for ``dataset`` (its profile and overrides applied)."""
    if not params_path.is_file():
        return {}
    params = yaml.safe_load(params_path.read_text())
    spec = dataset_spec(params, dataset, params_path)
    sections = {name: stage_section(params, spec, name) for name in ("model", "train", "evaluate", "tokenize")}
    return {"alpha": spec.alpha if params.get("alpha") is None else params["alpha"],
            "bos_queries": spec.bos_queries if params.get("bos_queries") is None else params["bos_queries"],
            "filter": params.get("filter", {}), **{k: params[k] for k in ("protocol", "seeds") if k in params},
            **sections}


def collect(work: Path, dataset: str, command: str, failed: str | None) -> tuple[dict[str, Any], list[Path]]:
    """Everything the report shows, machine-readable, and the result files to copy beside it."""
    stages = read_times(work)
    models: dict[str, Any] = {}
    extra: list[Path] = []
    for variant in VARIANTS:
        models[variant], files = model_summary(work, dataset, variant)
        extra += files
    metrics = {
        "command": command,
        "dataset": dataset,
        **environment(),
        "failed_stage": failed,
        "stages": stages,
        "run_seconds": round(sum(r["seconds"] for r in stages if r["phase"] == "run"), 2),
        "settings": effective_settings(work / "params.yaml", dataset),
        "models": models,
    }
    return metrics, extra


def _number(value: Any, digits: int = 4) -> str:
    """A table cell: ``–`` for none, whole numbers without decimals, others to ``digits`` places."""
    if value is None:
        return "–"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_number(v) for v in row) + " |" for row in rows]
    return lines


def render(metrics: dict[str, Any]) -> str:
    """``report.md`` from ``collect``'s dictionary."""
    s = metrics["settings"]
    model, train, evaluate = s.get("model", {}), s.get("train", {}), s.get("evaluate", {})
    out = [
        f"# Paper-profile run on {metrics['dataset']}: TIGER and DECOR",
        "",
        f"**Command**: `{metrics['command']}`",
        "",
        f"**Device**: {metrics['device']}; torch {metrics['torch']} (CUDA {metrics['cuda']}), "
        f"transformers {metrics['transformers']}, Python {metrics['python']}.",
        "",
        f"**Settings** (Table 5): d_model {model.get('d_model')}, {model.get('encoder_layers')}+"
        f"{model.get('decoder_layers')} layers, lr {train.get('lr')}, warm-up {train.get('warmup_steps')} steps"
        f" (warmup_epochs {train.get('warmup_epochs')}), ≤ {train.get('max_epochs')} epochs, patience "
        f"{train.get('patience')}, validation every {train.get('eval_every')} epoch(s), beam "
        f"{evaluate.get('beam_size') or 'of protocol ' + str(s.get('protocol'))}, α {s.get('alpha')}, "
        f"BOS queries {s.get('bos_queries')}; "
        f"time budget {train.get('time_budget_s')} s of training per model, composition diagnostics every "
        f"{train.get('diagnostics_every')} steps.",
        "",
    ]
    if metrics["failed_stage"]:
        out += [f"**The run stopped: stage `{metrics['failed_stage']}` failed** (see run.log).", ""]
    out += ["## Wall time per stage", ""]
    out += _table(["phase", "stage", "seconds", "exit"],
                  [[r["phase"], r["stage"], f"{r['seconds']:.1f}", r["rc"]] for r in metrics["stages"]])
    out += ["", f"Run phase in all: {metrics['run_seconds']:.1f} s.", "", "## Training and test metrics", ""]
    rows = []
    for name, m in metrics["models"].items():
        test = m.get("test", {})
        rows.append([name, m.get("seed"), m.get("beam_size", evaluate.get("beam_size")), m.get("epochs"),
                     m.get("best_epoch"), m.get("stopped_by"), m.get("seconds_per_epoch"),
                     test.get("recall@5"), test.get("recall@10"), test.get("ndcg@5"), test.get("ndcg@10")])
    out += _table(["model", "seed", "beam", "epochs", "best epoch", "stopped by", "s/epoch", "R@5", "R@10", "N@5",
                   "N@10"], rows)
    decor = metrics["models"].get("decor", {})
    if decor.get("composition"):
        out += ["", "## DECOR composition diagnostics (eq. 16, teacher-forced test contexts)", ""]
        util = decor.get("utilization", {})
        out += _table(["site", "entropy", "max weight", "distinct argmax", "utilization"],
                      [[site, st["entropy"], st["max_weight"], st["distinct_argmax"], util.get(site)]
                       for site, st in decor["composition"].items()])
        gap = decor.get("constant_context_gap", {})
        if gap:
            out += ["", "Constant-context gap (test − composition with the mean context): "
                    + ", ".join(f"{k} {_number(v)}" for k, v in gap.items()) + "."]
        steps = decor.get("steps", {})
        if steps.get("rows"):
            first, last = steps["first"], steps["last"]
            out += ["", f"Per-step diagnostics: {steps['rows']} rows (steps {_number(first['step'])}–"
                    f"{_number(last['step'])}); first → last:", ""]
            keys = [k for k in first if k != "step"]
            out += _table(["statistic", "first", "last"], [[k, first[k], last[k]] for k in keys])
    out += ["", "Files: " + ", ".join(f"`{f}`" for m in metrics["models"].values() for f in m.get("files", [])), ""]
    return "\n".join(out)


def _flat_name(work: Path, path: Path) -> str:
    """A result file's name in the report folder: ``reports/curves/ds/decor.steps.tsv`` → ``curves_decor.steps.tsv``,
    ``reports/metrics/ds/eval/tiger/seed_1.json`` → ``eval_tiger_seed_1.json``."""
    parts = path.relative_to(work).parts
    kind = "curves" if parts[1] == "curves" else parts[3]  # reports/metrics/<ds>/<kind>/…
    below = parts[3:] if kind == "curves" else parts[4:]
    return "_".join((kind, *below))


def write_report(work: Path, dataset: str, out_dir: Path, command: str, failed: str | None) -> dict[str, Any]:
    """``report.md``, ``metrics.json`` and the result files' copies in ``out_dir`` (scripts/gpu_paper_run.sh copies
    what the device's ``$OUT`` can bring back)."""
    metrics, extra = collect(work, dataset, command, failed)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text(render(metrics))
    write_json(out_dir / "metrics.json", metrics)
    written = [out_dir / "report.md", out_dir / "metrics.json"]
    for path in extra:
        target = out_dir / _flat_name(work, path)
        shutil.copyfile(path, target)
        written.append(target)
    print(f"report: {out_dir / 'report.md'}", flush=True)
    return metrics


# ---------------------------------------------------------------- CLI


def _settings(args: argparse.Namespace) -> RunSettings:
    budget = fitted_budget(args.time_budget_s, args.deadline_left_s, args.models_left)
    if budget != args.time_budget_s:
        print(f"time budget {budget:.0f} s per model ({args.deadline_left_s:.0f} s left for {args.models_left})")
    return RunSettings(dataset=args.dataset, time_budget_s=budget, diagnostics_every=args.diagnostics_every,
                       device=args.device, tiny=args.tiny, source=args.source, eval_every=args.eval_every)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    params = sub.add_parser("params", help="write the run's params file")
    params.add_argument("--dataset", required=True)
    params.add_argument("--out", type=Path, required=True, help="the params file to write")
    params.add_argument("--repo-params", type=Path, default=Path("params.yaml"))
    params.add_argument("--time-budget-s", type=float, required=True)
    params.add_argument("--diagnostics-every", type=int, required=True)
    params.add_argument("--device", default="auto")
    params.add_argument("--eval-every", type=int, default=None)
    params.add_argument("--source", default=None, help="the dataset's source folder (catalog.<dataset>.path)")
    params.add_argument("--tiny", action="store_true", help="small models, one epoch: the CPU rehearsal")
    params.add_argument("--deadline-left-s", type=float, default=None, help="seconds the run has left (fits the budget)")
    params.add_argument("--models-left", type=int, default=1, help="models still to train within them")
    check = sub.add_parser("preflight", help="environment, prepared data, one tiny training on the device")
    check.add_argument("--work", type=Path, required=True)
    check.add_argument("--dataset", required=True)
    check.add_argument("--device", default="auto")
    check.add_argument("--require-cuda", action="store_true")
    report = sub.add_parser("report", help="report.md and metrics.json from a run's work folder")
    report.add_argument("--work", type=Path, required=True)
    report.add_argument("--dataset", required=True)
    report.add_argument("--out-dir", type=Path, required=True)
    report.add_argument("--run-command", default="", help="the command line to quote in the report")
    report.add_argument("--failed", default=None, help="the stage that failed, if one did")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    actions: dict[str, Callable[[], Any]] = {
        "params": lambda: write_run_params(args.repo_params, args.out, _settings(args)),
        "preflight": lambda: preflight(args.work, args.dataset, args.require_cuda, args.device),
        "report": lambda: write_report(args.work, args.dataset, args.out_dir, args.run_command, args.failed),
    }
    try:
        actions[args.command]()
    except PipelineInputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
