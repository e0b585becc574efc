"""The GPU paper-profile script (scripts/gpu_paper_run.sh) rehearsed end to end on a CPU with tiny models.

In a throw-away copy of the repository: ``GPU_RUN_TINY=1 bash scripts/gpu_paper_run.sh all`` runs
prepare (download, filter, embed of the demo data) and run (pre-flight, tokenize, train (and test) TIGER
and DECOR, report) as the device would, with ``$OUT`` set like the device tool's; the report and
metrics.json must hold numbers for both models. About a minute on 2 CPU cores: those tests are marked slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_pipeline_e2e import _copy_repository

METRICS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    repo, out = tmp_path_factory.mktemp("repo"), tmp_path_factory.mktemp("out")
    _copy_repository(repo)
    # a deadline far off: the per-model budget fitting runs, and keeps the tiny budget
    env = {**os.environ, "GPU_RUN_TINY": "1", "GPU_RUN_DEADLINE_S": "900", "OUT": str(out), "PYTHON": sys.executable}
    done = subprocess.run(["bash", "scripts/gpu_paper_run.sh", "all"], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return repo, out, done


@pytest.mark.slow
def test_report_and_metrics_hold_numbers_for_both_models(rehearsed):
    repo, _, _ = rehearsed
    folder = repo / "reports" / "gpu_paper_run_tiny"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["device"] == "cpu" and metrics["torch"] and metrics["failed_stage"] is None
    assert {"preflight", "tokenize", "train tiger", "train decor"} <= {r["stage"] for r in metrics["stages"]}
    assert metrics["settings"]["seeds"] == [2025]  # the stage trains every seed of params: the run keeps one
    assert all(r["rc"] == 0 and r["seconds"] >= 0 for r in metrics["stages"])
    for name in ("tiger", "decor"):
        model = metrics["models"][name]
        assert all(isinstance(model["test"][k], float) for k in METRICS), name
        assert (model["epochs"], model["stopped_by"]) == (1, "time_budget"), name  # tiny: 2 epochs, budget 1 ms
    composition = metrics["models"]["decor"]["composition"]
    assert {"layer_1", "layer_2"} <= set(composition)
    assert all(isinstance(v, (int, float)) for site in composition.values() for v in site.values())
    assert metrics["models"]["decor"]["steps"]["rows"] > 0  # diagnostics_every logged steps
    assert metrics["settings"]["model"]["d_model"] == 16 and metrics["settings"]["train"]["time_budget_s"] == 0.001
    report = (folder / "report.md").read_text()
    assert "| tiger |" in report and "| decor |" in report and "distinct argmax" in report


@pytest.mark.slow
def test_results_come_back_through_out_within_the_device_limits(rehearsed):
    _, out, _ = rehearsed
    names = sorted(p.name for p in out.iterdir())
    assert {"report.md", "metrics.json", "run.log"} <= set(names)
    for model in ("tiger", "decor"):  # eval_<model>.json, or eval_<model>_seed_<s>.json with per-seed outputs
        assert any(n.startswith(f"eval_{model}") and n.endswith(".json") for n in names), (model, names)
    assert len(names) <= 8 and all(p.is_file() for p in out.iterdir())


def test_the_paper_profile_params_are_table_5(tmp_path):
    """The non-tiny params the device run writes: Table 5 from params.yaml, only the run's keys changed."""
    from pipeline_lib.gpu_run.harness import RunSettings, write_run_params
    from pipeline_lib.params import dataset_spec, stage_section

    repo = Path(__file__).resolve().parents[1]
    settings = RunSettings("scientific2018", time_budget_s=120, diagnostics_every=100, device="cuda", source="/data/x")
    params = write_run_params(repo / "params.yaml", tmp_path / "params.yaml", settings)
    spec = dataset_spec(params, "scientific2018")
    model, train = stage_section(params, spec, "model"), stage_section(params, spec, "train")
    assert (model["d_model"], model["encoder_layers"], model["decoder_layers"]) == (128, 4, 4)
    assert (train["lr"], train["warmup_steps"], train["max_epochs"], train["patience"]) == (0.003, 10000, 200, 20)
    assert stage_section(params, spec, "evaluate")["beam_size"] in (50, None)  # None: the protocol's, decor = 50
    assert (train["time_budget_s"], train["diagnostics_every"], train["device"]) == (120, 100, "cuda")
    assert params["variants"] == ["tiger", "decor"] and spec.path == "/data/x" and spec.profile is None


def test_a_bad_value_is_one_line_and_exit_2(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_lib.gpu_run.harness", "params", "--dataset", "scientific2018",
         "--out", str(tmp_path / "p.yaml"), "--repo-params", str(repo / "params.yaml"), "--time-budget-s", "0",
         "--diagnostics-every", "100"],
        cwd=repo, capture_output=True, text=True,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "train.time_budget_s" in done.stderr


def test_the_budget_shrinks_to_fit_the_deadline():
    from pipeline_lib.gpu_run.harness import MIN_BUDGET_S, RESERVE_S, fitted_budget

    assert fitted_budget(120, None, 2) == 120
    assert fitted_budget(120, 2 * (RESERVE_S + 200), 2) == 120
    assert fitted_budget(120, 2 * (RESERVE_S + 50), 2) == 50
    assert fitted_budget(120, 10, 1) == MIN_BUDGET_S
