import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_lib.ci import gate
from pipeline_lib.ci.gate import GateConfig, check_metrics, collect_metrics, flatten_metrics, gate_config
from pipeline_lib.errors import PipelineInputError

METRICS = {
    "demo/eval/tiger.json": {"model": "tiger", "dataset": "demo", "test": {"recall@10": 0.30, "ndcg@10": 0.20},
                             "utilization": {"layer_1": 0.5}},
    "demo/train/tiger.json": {"best_epoch": 4, "device": "cpu", "parameters": 1000, "seconds_per_epoch": 3.5,
                              "wall_seconds_this_run": 20.0, "valid": {"recall@10": 0.31}},
    "demo/tokenizer.json": {"recon_mse": 0.10, "n_items": 398, "collision_rate": 0.05},
    "demo/dataset_stats.json": {"users": 1078, "items": 398},
}


def write_metrics(root: Path, metrics: dict) -> Path:
    folder = root / "reports" / "metrics"
    for name, doc in metrics.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(doc))
    return folder


def edited(path: str, key: str, value) -> dict:
    """METRICS with one (dotted) key of one file set to ``value`` (None deletes it)."""
    metrics = json.loads(json.dumps(METRICS))
    *parents, leaf = key.split(".")
    node = metrics[path]
    for part in parents:
        node = node[part]
    if value is None:
        del node[leaf]
    else:
        node[leaf] = value
    return metrics


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A working dir with params.yaml (no gate section: defaults), metrics and a baseline from them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    write_metrics(tmp_path, METRICS)
    gate.main(["--write-baseline"])
    return tmp_path


def run_gate(repo: Path, metrics: dict, capsys) -> tuple[int, str]:
    write_metrics(repo, metrics)
    try:
        gate.main([])
        code = 0
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().out


def test_flatten_keeps_numeric_leaves_only():
    flat = flatten_metrics({"a": {"b": 1, "c": "x", "d": True, "e": [1, 2]}, "f": 0.5})
    assert flat == {"a.b": 1, "f": 0.5}


def test_collect_names_keys_by_relative_path(tmp_path):
    flat = collect_metrics(write_metrics(tmp_path, METRICS))
    assert flat["demo/eval/tiger.json:test.recall@10"] == 0.30
    assert flat["demo/train/tiger.json:valid.recall@10"] == 0.31
    assert not any(key.endswith(":model") or key.endswith(":device") for key in flat)


def test_baseline_leaves_timings_out(repo):
    baseline = json.loads((repo / ".ci" / "baseline.json").read_text())
    assert "demo/eval/tiger.json:test.ndcg@10" in baseline
    assert not [k for k in baseline if "seconds" in k or "best_epoch" in k]


def test_unchanged_metrics_pass(repo, capsys):
    code, out = run_gate(repo, METRICS, capsys)
    assert code == 0 and "gate PASS" in out


def test_planted_regression_fails(repo, capsys):
    code, out = run_gate(repo, edited("demo/eval/tiger.json", "test.recall@10", 0.26), capsys)
    assert code == 1 and "regressed" in out and "gate FAIL" in out
    assert "demo/eval/tiger.json" in out and "test.recall@10" in out and "-0.04" in out


def test_drop_within_tolerance_passes(repo, capsys):
    code, out = run_gate(repo, edited("demo/eval/tiger.json", "test.recall@10", 0.28), capsys)
    assert code == 0 and "test.recall@10" in out  # shown as moved, status ok


def test_improvement_passes(repo, capsys):
    code, out = run_gate(repo, edited("demo/eval/tiger.json", "test.ndcg@10", 0.40), capsys)
    assert code == 0 and "improved" in out


def test_missing_metric_fails(repo, capsys):
    code, out = run_gate(repo, edited("demo/eval/tiger.json", "test.ndcg@10", None), capsys)
    assert code == 1 and "missing" in out


def test_missing_metrics_file_fails(repo, capsys):
    (repo / "reports" / "metrics" / "demo" / "tokenizer.json").unlink()
    code, out = run_gate(repo, {}, capsys)
    assert code == 1 and "3 missing" in out


def test_timing_keys_are_ignored(repo, capsys):
    slower = edited("demo/train/tiger.json", "seconds_per_epoch", 99.0)
    slower["demo/train/tiger.json"]["wall_seconds_this_run"] = 9999.0
    slower["demo/train/tiger.json"]["best_epoch"] = 9
    code, out = run_gate(repo, slower, capsys)
    assert code == 0 and "seconds" not in out


def test_two_sided_and_lower_is_better_metrics(repo, capsys):
    code, out = run_gate(repo, edited("demo/dataset_stats.json", "users", 1079), capsys)
    assert code == 1 and "changed" in out
    code, _ = run_gate(repo, edited("demo/tokenizer.json", "recon_mse", 0.05), capsys)
    assert code == 0
    code, out = run_gate(repo, edited("demo/tokenizer.json", "recon_mse", 0.15), capsys)
    assert code == 1 and "regressed" in out


def test_new_metric_passes(repo, capsys):
    code, out = run_gate(repo, edited("demo/eval/tiger.json", "test.recall@20", 0.4), capsys)
    assert code == 0 and "new" in out


def test_nan_fails():
    checks = check_metrics({"a.json:test.recall@10": 0.3}, {"a.json:test.recall@10": math.nan}, GateConfig())
    assert [c.status for c in checks] == ["regressed"]


def test_tolerances_first_match_and_globs():
    config = GateConfig(default_tolerance=0.01, tolerances={"*/eval/*:test.recall@*": 0.2, "recall@": 0.05})
    assert config.tolerance("demo/eval/tiger.json:test.recall@10") == 0.2
    assert config.tolerance("demo/train/tiger.json:valid.recall@10") == 0.05
    assert config.tolerance("demo/dataset_stats.json:users") == 0.01
    assert config.direction("demo/eval/x.json:test.ndcg@5") == gate.HIGHER
    assert config.direction("demo/tokenizer.json:recon_mse") == gate.LOWER
    assert config.direction("demo/dataset_stats.json:users") == gate.BOTH


def test_gate_section_from_params(repo, capsys):
    (repo / "params.yaml").write_text('gate:\n  tolerances: {"recall@": 0.1}\n  ignore: [seconds, "*train*"]\n')
    code, _ = run_gate(repo, edited("demo/eval/tiger.json", "test.recall@10", 0.22), capsys)
    assert code == 0  # a drop of 0.08 is within the configured 0.1
    config = gate_config({"gate": {"default_tolerance": 0.5}})
    assert config.default_tolerance == 0.5 and config.ignore == GateConfig().ignore
    with pytest.raises(PipelineInputError, match="gate"):
        gate_config({"gate": {"tolerances": {"recall@": -1}}})
    with pytest.raises(PipelineInputError, match="gate"):
        gate_config({"gate": {"ignore": "seconds"}})


def test_missing_baseline_is_an_input_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    write_metrics(tmp_path, METRICS)
    with pytest.raises(PipelineInputError, match="--write-baseline"):
        gate.main([])


def test_cli_exit_code_on_regression(repo):
    write_metrics(repo, edited("demo/eval/tiger.json", "test.recall@10", 0.1))
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "pipeline_lib.ci.gate"], cwd=repo, capture_output=True,
                          text=True, env={"PYTHONPATH": str(root), "PATH": "", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 1, done.stderr
    assert "regressed" in done.stdout
