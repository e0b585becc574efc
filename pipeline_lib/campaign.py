"""Evidence campaigns: a folder's job list of training runs, run two at a time, each finished run's results
copied into the folder, done runs skipped on a restart (``scripts/campaign.py``).

A campaign folder ``reports/<name>/`` holds ``jobs.yaml``::

    dataset: scientific2018_converged      # a catalog entry of params.yaml (its profile sets the sizes and rule)
    set: {protocol: etegrec}               # optional: params.yaml keys changed for this campaign (as dvc exp run -S)
    runs:                                  # in order; each model × seed is one job
      - {stage: train, model: tiger, seeds: [2025, 1, 2]}
      - {stage: baseline, model: sasrec, seeds: [2025]}
    compare: [[tiger, tiger_hf]]           # pairs the report tests (Welch over seeds)
    paper_column: Scientific               # optional: the paper's dataset column the report's tables show beside ours

Before the runs, the dataset's shared stages (download, filter, embed, tokenize) run once, by the stage
scripts themselves, with a fixed thread count so that the tokenizer regenerates byte for byte. With ``set``, every
stage reads ``data/<dataset>/campaign_params.yaml`` (params.yaml with those keys changed; ``--params``). Each run is
``python -m stages.<stage> <dataset> <model> --seed S`` with one thread (``cpu.threads_per_run``); its
checkpoint lets an interrupted run resume on the same machine (``pipeline_lib.training.loop``). A finished run's
train / eval metrics, timings and curve are copied to ``reports/<name>/{metrics/{train,eval},timings,curves}/
<model>/seed_<s>.*`` (the tokenizers' metrics, the dataset statistics and the popularity floor's metrics, on the
validation and the test users, to ``reports/<name>/metrics/``, as they are prepared or found) and a line with its
settings fingerprint goes to ``reports/<name>/runs.tsv``; a restart skips every run whose fingerprint is there (the
settings, not the code: a code change that should re-run a model is a new campaign folder or a deleted line).
``--reproduce`` re-runs recorded runs and compares their metrics with the folder's (:func:`reproduce`). Nothing is
committed by the campaign itself.
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import atomic_path, read_json
from pipeline_lib.params import dataset_spec, stage_section
from pipeline_lib.paths import DatasetPaths, ResultFiles, run_name
from pipeline_lib.schema import OVERRIDABLE, load_params, validate_params

PREPARE_STAGES: tuple[tuple[str, ...], ...] = (("download",), ("filter",), ("embed",), ("tokenize",))
PREPARE_THREADS = 2  # the shared stages' torch threads on every machine (their bytes depend on it)
LEDGER_FIELDS = ("model", "seed", "fingerprint", "stage", "wall_s", "finished_utc", "commit")


class RunSpec(BaseModel):
    """One entry of ``runs``: a model of a training stage and its seeds."""

    model_config = ConfigDict(extra="forbid")
    stage: Literal["train", "baseline", "etegrec"]
    model: str = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)


class JobList(BaseModel):
    """``jobs.yaml``."""

    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict, description="dotted params.yaml keys → values")
    runs: list[RunSpec] = Field(min_length=1)
    compare: list[tuple[str, str]] = Field(default_factory=list, description="model pairs the report tests")
    reference: str | None = Field(None, description="an earlier evidence folder the report compares model by model")
    paper_column: str | None = Field(
        None, description="the paper's dataset column (Scientific, Instrument, Game) the report's tables show beside "
                          "ours; none: ours alone")


OWN_TOKENIZER = ("letter", "cost")  # train variants on their own tokenizer: `python -m stages.tokenize <ds> <method>`


@dataclass(frozen=True)
class Job:
    """One training run: ``stage`` of ``model`` at ``seed``, after the jobs in ``needs`` (``model:seed``) and, for
    LETTER / CoST, after their tokenizer stage (``tokenizer``)."""

    stage: str
    model: str
    seed: int
    needs: tuple[str, ...] = ()
    tokenizer: str | None = None

    @property
    def key(self) -> str:
        return f"{self.model}:{self.seed}"

    @property
    def run(self) -> str:
        """The run's name in the stages' outputs (:func:`pipeline_lib.paths.run_name`)."""
        return run_name(self.model, self.seed)

    def command(self, dataset: str, params: Path) -> list[str]:
        model = [] if self.stage == "etegrec" else [self.model]
        return ["-m", f"stages.{self.stage}", dataset, *model, "--seed", str(self.seed), "--params", str(params)]


@dataclass
class Campaign:
    folder: Path
    dataset: str
    jobs: list[Job]
    params: dict[str, Any] = field(repr=False)  # validated, the job list's ``set`` applied
    raw_params: dict[str, Any] = field(repr=False, default_factory=dict)  # as written to params_path
    params_path: Path = Path("params.yaml")

    @property
    def ledger(self) -> Path:
        return self.folder / "runs.tsv"

    @property
    def log_dir(self) -> Path:
        """``data/<dataset>/campaign_logs``: the shared stages' and the runs' logs."""
        return DatasetPaths(self.dataset).data / "campaign_logs"


def with_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``raw`` params with each dotted key of ``overrides`` set (missing mappings created), as ``dvc exp run -S``."""
    out = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        node = out
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise PipelineInputError("jobs.yaml", f"{key} is not a mapping", field=f"set.{dotted}")
        node[last] = value
    return out


def read_job_list(folder: str | Path) -> JobList:
    """The folder's ``jobs.yaml``, checked (absent, not YAML, unknown keys → PipelineInputError naming the key)."""
    path = Path(folder) / "jobs.yaml"
    if not path.is_file():
        raise PipelineInputError(path, "job list not found")
    try:
        return JobList.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValidationError) as err:
        first = err.errors()[0] if isinstance(err, ValidationError) else None
        where = ".".join(map(str, first["loc"])) if first else None
        raise PipelineInputError(path, first["msg"] if first else "not valid YAML", field=where) from None


def load_campaign(folder: str | Path, params_path: str | Path = "params.yaml") -> Campaign:
    """The folder's ``jobs.yaml`` checked (unknown keys, a dataset not in the catalog → PipelineInputError)."""
    folder = Path(folder)
    path = folder / "jobs.yaml"
    jobs = read_job_list(folder)
    if jobs.set:
        raw = with_overrides(yaml.safe_load(Path(params_path).read_text()), jobs.set)
        params = validate_params(raw, path)
        run_params = DatasetPaths(jobs.dataset).data / "campaign_params.yaml"
    else:
        raw, params, run_params = {}, load_params(params_path), Path(params_path)
    dataset_spec(params, jobs.dataset, path)
    expanded = []
    first_seed = params["seeds"][0]  # LETTER's tokenizer reads the item embeddings of SASRec's run of seeds[0]
    for run in jobs.runs:
        for seed in run.seeds:
            tokenizer = run.model if run.stage == "train" and run.model in OWN_TOKENIZER else None
            needs = (f"sasrec:{seed}",) if run.stage == "etegrec" else (
                (f"sasrec:{first_seed}",) if tokenizer == "letter" else ())
            expanded.append(Job(run.stage, run.model, seed, needs, tokenizer))
    return Campaign(folder, jobs.dataset, expanded, params, raw, run_params)


def resolved_settings(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """Every setting a run of ``dataset`` reads: the catalog entry, each section with the dataset's profile and
    overrides applied, and the top-level keys the stages read."""
    spec = dataset_spec(params, dataset)
    sections = {name: stage_section(params, spec, name) for name in sorted(OVERRIDABLE)}
    top = {key: params.get(key) for key in ("seed", "protocol", "alpha", "bos_queries", "filter", "embed", "cpu")}
    return {"catalog": params["catalog"][dataset], "sections": sections, **top}


def shared_stage_settings(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """What the shared stages (download, filter, embed, tokenize) read: where the data is, its checks, the data seed,
    the filter / embed / download / demo sections and the dataset's tokenize section — not the training settings."""
    spec = dataset_spec(params, dataset)
    source = {key: getattr(spec, key) for key in ("source", "category", "path", "prefix", "sha256")}
    top = {key: params.get(key) for key in ("seed", "filter", "embed", "download", "demo")}
    return {"source": source, "tokenize": stage_section(params, spec, "tokenize"), **top}


# The sections each training stage reads (beside the top-level keys and the catalog entry): a run's fingerprint
# holds only these, so a key added to another section (a default-valued one included) leaves it done.
STAGE_SECTIONS = {"train": ("model", "train", "evaluate", "stopping", "tokenize"),
                  "baseline": ("baselines", "evaluate", "stopping"),
                  "etegrec": ("etegrec", "evaluate", "stopping", "baselines")}


def job_settings(settings: dict[str, Any], job: Job) -> dict[str, Any]:
    """``settings`` (:func:`resolved_settings`) cut to what ``job`` reads: its stage's sections, and of
    ``baselines`` the shared keys and its model's own (ETEGRec: SASRec's, whose item embeddings it reads)."""
    sections = {name: settings["sections"][name] for name in STAGE_SECTIONS[job.stage]}
    if "baselines" in sections:
        model = job.model if job.stage == "baseline" else "sasrec"
        shared = {key: value for key, value in sections["baselines"].items() if not isinstance(value, dict)}
        sections["baselines"] = shared | {model: sections["baselines"].get(model)}
    return {**settings, "sections": sections}


def fingerprint(settings: dict[str, Any], job: Job | None) -> str:
    """sha256 of the settings the job reads (:func:`job_settings`) and the job; ``job`` None: ``settings`` are the
    shared stages'."""
    if job is not None:
        settings = job_settings(settings, job)
    identity = {"settings": settings, "job": None if job is None else [job.stage, job.model, job.seed]}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def done_fingerprints(ledger: Path) -> set[str]:
    if not ledger.is_file():
        return set()
    with ledger.open(newline="") as fh:
        return {row["fingerprint"] for row in csv.DictReader(fh, delimiter="\t")}


def _append_ledger(ledger: Path, row: dict[str, Any]) -> None:
    new = not ledger.is_file()
    with ledger.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, LEDGER_FIELDS, delimiter="\t", lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow(row)


def copy_existing(pairs: dict[Path, Path]) -> list[Path]:
    """Copy each ``source → target`` whose source exists (parents made); returns the targets copied."""
    copied = []
    for source, target in pairs.items():
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(target)
    return copied


def collect_outputs(paths: DatasetPaths, folder: Path, model: str, seed: int) -> list[Path]:
    """Copy a finished run's train / eval metrics, timings and curve into the campaign folder; returns the copies."""
    name, kept = run_name(model, seed), ResultFiles.of_campaign(folder)
    return copy_existing({
        paths.train_metrics(name): kept.train_metrics(name),
        paths.eval_metrics(name): kept.eval_metrics(name),
        paths.timings(name): folder / "timings" / model / f"seed_{seed}.json",
        paths.curve(name): folder / "curves" / model / f"seed_{seed}.tsv",
    })


def collect_tokenizer_metrics(paths: DatasetPaths, folder: Path, methods: Sequence[str | None]) -> list[Path]:
    """Copy the tokenizer metrics of ``methods`` (None: the shared RQ-VAE's, with the dataset statistics; else
    LETTER's / CoST's ``tokenizer_<method>.json``) into the folder's ``metrics/`` (the same names as
    ``reports/metrics/<dataset>/``, for the report's Tables 3–4 and loss terms); returns the copies."""
    kept = ResultFiles.of_campaign(folder)
    pairs = {paths.tokenizer_metrics_of(method): kept.tokenizer_metrics_of(method) for method in methods}
    if None in methods:
        pairs[paths.dataset_stats] = kept.dataset_stats
    return copy_existing(pairs)


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


def _env(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "TQDM_MININTERVAL": "30"}


def _stamped(stamp: Path, wanted: str, output: Path) -> bool:
    """Whether a preparation step is done for these inputs: ``stamp`` holds their fingerprint ``wanted`` and the
    step's ``output`` exists."""
    return stamp.is_file() and stamp.read_text().strip() == wanted and output.is_file()


def prepare(campaign: Campaign, python: str, log_dir: Path) -> None:
    """The shared stages, unless their stamp holds these settings' fingerprint and their outputs exist; then the
    popularity floor (seconds, deterministic: run every time, so it always scores the present split) and the copies
    of its metrics, the shared tokenizer's and the dataset statistics into the campaign folder."""
    paths = DatasetPaths(campaign.dataset)
    stamp = paths.data / "campaign_prepared.txt"
    wanted = fingerprint(shared_stage_settings(campaign.params, campaign.dataset), None)
    if _stamped(stamp, wanted, paths.semantic_ids):
        print(f"shared stages of {campaign.dataset}: done ({stamp})", flush=True)
    else:
        for stage in PREPARE_STAGES:
            run_shared_stage(campaign, stage, python, log_dir)
        stamp.write_text(wanted + "\n")
    run_shared_stage(campaign, ("popularity",), python, log_dir)
    copy_existing({paths.eval_metrics("popularity"): ResultFiles.of_campaign(campaign.folder).eval_metrics("popularity")})
    collect_tokenizer_metrics(paths, campaign.folder, [None])


def tokenizer_inputs(campaign: Campaign, method: str) -> str:
    """sha256 of what LETTER's / CoST's tokenizer stage reads: the shared stages' settings (the tokenize section
    included) and, for LETTER, the bytes of the SASRec item embeddings of ``seeds[0]`` (a re-run SASRec changes them)."""
    paths = DatasetPaths(campaign.dataset)
    identity = {"method": method, "shared": fingerprint(shared_stage_settings(campaign.params, campaign.dataset), None)}
    if method == "letter":
        sasrec = paths.item_embeddings_of(run_name("sasrec", campaign.params["seeds"][0]))
        identity["sasrec"] = hashlib.sha256(sasrec.read_bytes()).hexdigest() if sasrec.is_file() else None
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def prepare_tokenizer(campaign: Campaign, method: str, python: str, log_dir: Path) -> None:
    """LETTER's / CoST's tokenizer stage (data/<ds>/tokenizer_<method>), unless its stamp holds the fingerprint of
    its present inputs (:func:`tokenizer_inputs`) and its semantic IDs exist; either way its metrics are copied into
    the campaign folder (:func:`collect_tokenizer_metrics`)."""
    paths = DatasetPaths(campaign.dataset)
    stamp = paths.data / f"campaign_tokenizer_{method}.txt"
    wanted = tokenizer_inputs(campaign, method)
    if not _stamped(stamp, wanted, paths.semantic_ids_of(method)):
        run_shared_stage(campaign, ("tokenize", method), python, log_dir)
        stamp.write_text(wanted + "\n")
    collect_tokenizer_metrics(paths, campaign.folder, [method])


def run_shared_stage(campaign: Campaign, stage: tuple[str, ...], python: str, log_dir: Path) -> None:
    """``python -m stages.<stage[0]> <dataset> <stage[1:]> --params …`` with ``PREPARE_THREADS`` threads, its output in
    ``log_dir/prepare_<stage parts>.log``; a failure is a PipelineInputError naming the log."""
    name = " ".join(stage)
    log = log_dir / f"prepare_{'_'.join(stage)}.log"
    print(f"{_now()} {name} {campaign.dataset} (log {log})", flush=True)
    command = [python, "-m", f"stages.{stage[0]}", campaign.dataset, *stage[1:], "--params", str(campaign.params_path)]
    with log.open("w") as fh:
        code = subprocess.call(command, stdout=fh, stderr=subprocess.STDOUT, env=_env(PREPARE_THREADS))
    if code != 0:
        raise PipelineInputError(log, f"stage {name} failed (exit {code}); see the log")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def execute(
    campaign: Campaign, jobs: list[Job], finished: set[str], parallel: int, python: str,
    on_done: Callable[[Job, float], None],
) -> list[str]:
    """Run ``jobs`` ``parallel`` at a time, each once the keys of its ``needs`` are in ``finished`` (which grows) and
    its own tokenizer is prepared, one thread each, its output appended to ``data/<ds>/campaign_logs/<model>_seed_<s>
    .log``; ``on_done(job, wall seconds)`` after each success. Returns the failed keys and those left waiting on one."""
    log_dir = campaign.log_dir
    todo, running, failed = list(jobs), {}, []
    while todo or running:
        ready = [job for job in todo if all(need in finished for need in job.needs)]
        while ready and len(running) < parallel:
            job = ready.pop(0)
            todo.remove(job)
            if job.tokenizer is not None:
                prepare_tokenizer(campaign, job.tokenizer, python, log_dir)
            log = log_dir / f"{job.model}_seed_{job.seed}.log"
            print(f"{_now()} start {job.key} (log {log})", flush=True)
            with log.open("a") as fh:
                process = subprocess.Popen([python, *job.command(campaign.dataset, campaign.params_path)], stdout=fh,
                                           stderr=subprocess.STDOUT, env=_env(1))
            running[job.key] = (job, process, time.perf_counter())
        if not running:  # what is left waits on a failed job
            print(f"{_now()} not started (a run they need failed): {', '.join(job.key for job in todo)}", flush=True)
            failed += [job.key for job in todo]
            break
        time.sleep(5)
        for key, (job, process, started) in list(running.items()):
            if process.poll() is None:
                continue
            del running[key]
            wall = time.perf_counter() - started
            if process.returncode != 0:
                print(f"{_now()} FAILED {key} (exit {process.returncode}, {wall:.0f} s)", flush=True)
                failed.append(key)
                continue
            on_done(job, wall)
            finished.add(key)
            print(f"{_now()} done {key} ({wall:.0f} s)", flush=True)
    return failed


def _start(campaign: Campaign, python: str) -> None:
    """The job list's ``set`` written where the stages read it, the log folder made, the shared stages prepared."""
    campaign.log_dir.mkdir(parents=True, exist_ok=True)
    if campaign.raw_params:  # the job list's `set`: every stage reads this file
        with atomic_path(campaign.params_path) as tmp:
            tmp.write_text(yaml.safe_dump(campaign.raw_params, sort_keys=False, allow_unicode=True))
    prepare(campaign, python, campaign.log_dir)


def run_campaign(campaign: Campaign, parallel: int, python: str, only: Sequence[str] = ()) -> int:
    """Prepare, then run every job not done (``only``: these ``model:seed`` keys), ``parallel`` at a time; returns
    the number of failed jobs. Each finished job's outputs are collected and its ledger line written at once."""
    paths = DatasetPaths(campaign.dataset)
    settings = resolved_settings(campaign.params, campaign.dataset)
    done = done_fingerprints(campaign.ledger)
    todo = [job for job in campaign.jobs if fingerprint(settings, job) not in done and (not only or job.key in only)]
    finished = {job.key for job in campaign.jobs if fingerprint(settings, job) in done}
    print(f"{campaign.folder}: {len(campaign.jobs)} runs, {len(finished)} done, {len(todo)} to run", flush=True)
    if not todo:
        return 0
    _start(campaign, python)

    def record(job: Job, wall: float) -> None:
        collect_outputs(paths, campaign.folder, job.model, job.seed)
        _append_ledger(campaign.ledger, {"model": job.model, "seed": job.seed, "stage": job.stage,
                                         "fingerprint": fingerprint(settings, job), "wall_s": f"{wall:.0f}",
                                         "finished_utc": _now(), "commit": _commit()})

    return len(execute(campaign, todo, finished, parallel, python, record))


def differences(kept: Any, made: Any, at: str = "") -> list[str]:
    """Where two JSON values differ, as ``key.path: kept → made`` lines (empty when equal)."""
    if isinstance(kept, dict) and isinstance(made, dict):
        return [line for key in sorted(set(kept) | set(made), key=str)
                for line in differences(kept.get(key), made.get(key), f"{at}.{key}" if at else str(key))]
    return [] if kept == made else [f"{at or '(whole file)'}: {kept!r} → {made!r}"]


def reproduce(campaign: Campaign, keys: Sequence[str], parallel: int, python: str) -> int:
    """Re-run the recorded runs ``keys`` (``model:seed``) here (from scratch on a fresh clone; a checkpoint of the same
    settings left on this machine is resumed, which ends where a run from scratch does) and compare their train and eval metrics with
    the folder's copies, key by key; the folder and its ledger are left as they are. A run needing another
    (ETEGRec its seed's SASRec, LETTER the first seed's) whose outputs are absent here runs it first, compared too.
    Returns the number of runs that failed or differ (0: every metric reproduced exactly)."""
    paths, kept = DatasetPaths(campaign.dataset), ResultFiles.of_campaign(campaign.folder)
    by_key = {job.key: job for job in campaign.jobs}
    unknown = [key for key in keys if key not in by_key]
    if unknown:
        raise PipelineInputError(campaign.folder / "jobs.yaml", f"no such run: {', '.join(unknown)}")
    wanted: list[str] = []
    for key in keys:
        needs = [need for need in by_key[key].needs if not paths.eval_metrics(by_key[need].run).is_file()]
        wanted += [k for k in (*needs, key) if k not in wanted]
    missing = [key for key in wanted if not kept.eval_metrics(by_key[key].run).is_file()]
    if missing:
        raise PipelineInputError(campaign.folder, f"nothing recorded to compare with for {', '.join(missing)}")
    _start(campaign, python)
    differing: list[str] = []

    def compare(job: Job, wall: float) -> None:
        name = job.run
        lines = [f"{kind} {line}" for kind, made, copy in (("train", paths.train_metrics(name), kept.train_metrics(name)),
                                                           ("eval", paths.eval_metrics(name), kept.eval_metrics(name)))
                 if copy.is_file() for line in differences(read_json(copy), read_json(made))]
        verdict = "reproduced: train and eval metrics identical" if not lines else f"DIFFERS in {len(lines)} values"
        print(f"{_now()} {job.key} {verdict}", *lines[:20], sep="\n  ", flush=True)
        if lines:
            differing.append(job.key)

    present = {need for key in wanted for need in by_key[key].needs if need not in wanted}  # outputs found here
    failed = execute(campaign, [by_key[key] for key in wanted], present, parallel, python, compare)
    return len(failed) + len(differing)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="a campaign folder with jobs.yaml, e.g. reports/scientific2018_converged")
    parser.add_argument("--parallel", type=int, default=2, help="runs at once (one thread each; default 2)")
    parser.add_argument("--only", nargs="*", default=(), help="only these runs, as model:seed (e.g. tiger:2025)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--list", action="store_true", help="print each run's state and fingerprint, run nothing")
    parser.add_argument("--reproduce", nargs="+", metavar="MODEL:SEED",
                        help="re-run these recorded runs and compare their metrics with the folder's; exit 1 if any differ")
    args = parser.parse_args(argv)
    if args.parallel < 1:
        parser.error(f"--parallel must be ≥ 1, got {args.parallel}")
    campaign = load_campaign(args.folder, args.params)
    if args.list:
        settings = resolved_settings(campaign.params, campaign.dataset)
        done = done_fingerprints(campaign.ledger)
        for job in campaign.jobs:
            digest = fingerprint(settings, job)
            print(f"{job.key}\t{'done' if digest in done else 'to run'}\t{digest[:12]}")
        return 0
    if args.reproduce:
        return 1 if reproduce(campaign, args.reproduce, args.parallel, sys.executable) else 0
    return 1 if run_campaign(campaign, args.parallel, sys.executable, args.only) else 0
