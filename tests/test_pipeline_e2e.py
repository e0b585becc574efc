"""End to end: the whole ``dvc repro`` on the embedded demo data, in a throw-away copy of the repository.

Runs for minutes (it trains every model of the demo), so it is marked ``slow``. CI reproduces the demo once
in its checkout and points ``DECOR_E2E_RUN`` at it (``.ci/run``): the tests then check a copy of that run —
the same outputs the gate reads — instead of reproducing the demo a second time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SEEDS = (2025, 1)  # params.yaml `seeds`
RUN_ENV = "DECOR_E2E_RUN"  # a checkout in which the whole demo `dvc repro` has just run (CI's)

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@localhost",
           "GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@localhost"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def _dvc(*args: str, cwd: Path) -> str:
    return _run([sys.executable, "-m", "dvc", *args], cwd)


def _copy_repository(target: Path) -> None:
    """The files a clean clone would have (tracked, or new and not ignored), as a fresh git + DVC repo,
    without the committed ``reports/`` so that every metric checked below comes from this run."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if name.startswith("reports/"):
            continue
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    _run(["git", "init", "-q"], target)
    _run(["git", "add", "-A"], target)
    _run(["git", "commit", "-q", "-m", "copy"], target)


def _metric(repo: Path, model: str, seed: int | None = None) -> dict[str, float]:
    """Test metrics of ``model``'s run of ``seed`` (the popularity floor has no seed)."""
    name = f"{model}.json" if seed is None else f"{model}/seed_{seed}.json"
    return json.loads((repo / "reports/metrics/demo/eval" / name).read_text())["test"]


def _copy_reproduced_checkout(source: Path, target: Path) -> None:
    """A checkout's files with its DVC outputs and cache (not its git history or venv), as a fresh git repo."""
    shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".locks"))
    _run(["git", "init", "-q"], target)
    _run(["git", "add", "-A"], target)
    _run(["git", "commit", "-q", "-m", "copy"], target)


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose whole demo pipeline has run: a copy of ``$DECOR_E2E_RUN`` when set (its ``dvc status``
    must be clean, i.e. every output belongs to the committed dvc.yaml / params.yaml), else a fresh ``dvc repro``."""
    repo = tmp_path_factory.mktemp("repo")
    run = os.environ.get(RUN_ENV)
    if run:
        _copy_reproduced_checkout(Path(run).resolve(), repo)
    else:
        _copy_repository(repo)
        _dvc("repro", cwd=repo)
    return repo


def _trained_models(repo: Path) -> list[str]:
    """Every model the demo trains, from the run's params.yaml (Table 2 variants, Table 1 rows, ETEGRec)."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    return [*params["variants"], *params["tokenizer_variants"], *params["baseline_models"], "etegrec"]


def test_every_model_is_evaluated_per_seed_and_beats_popularity(reproduced: Path) -> None:
    assert yaml.safe_load((reproduced / "params.yaml").read_text())["seeds"] == list(SEEDS)
    floor = _metric(reproduced, "popularity")["recall@10"]
    models = _trained_models(reproduced)
    assert len(models) == 15  # 6 Table 2 variants, LETTER, CoST, 6 sequential baselines, ETEGRec
    below = []
    for seed in SEEDS:
        for model in models:
            metrics = _metric(reproduced, model, seed)
            assert set(metrics) == {"recall@5", "recall@10", "ndcg@5", "ndcg@10"}, (model, seed)
            if not metrics["recall@10"] > floor:
                below.append((model, seed, metrics["recall@10"]))
    assert below == [], f"at or below the popularity floor's Recall@10 {floor:.4f}: {below}"
    assert _metric(reproduced, "decor", SEEDS[0]) != _metric(reproduced, "decor", SEEDS[1])  # the seed reaches training
    table = (reproduced / "reports/tables/table1.md").read_text()
    assert " ± " in table and "ETEGRec" in table


def test_pipeline_is_up_to_date_after_repro(reproduced: Path) -> None:
    assert "up to date" in _dvc("status", cwd=reproduced)


def _gate(repo: Path, metrics_dir: Path) -> subprocess.CompletedProcess:
    """The CI gate over ``metrics_dir`` against the committed baseline (of this checkout: the copy has none
    when it was reproduced from scratch without ``reports/``)."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline_lib.ci.gate", "--params", "params.yaml",
         "--baseline", str(REPO / ".ci/baseline.json"), "--metrics-dir", str(metrics_dir)],
        cwd=repo, capture_output=True, text=True,
    )


def test_gate_passes_this_run_and_fails_a_planted_regression(reproduced: Path, tmp_path: Path) -> None:
    """The gate reads the run the assertions above read; a Recall@10 drop beyond its tolerance fails it."""
    metrics = reproduced / "reports/metrics"
    passed = _gate(reproduced, metrics)
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-3000:]
    planted = tmp_path / "metrics"
    shutil.copytree(metrics, planted)
    target = planted / "demo/eval/decor/seed_2025.json"
    report = json.loads(target.read_text())
    report["test"]["recall@10"] -= 0.1  # the gate's Recall@ tolerance is 0.03
    target.write_text(json.dumps(report))
    failed = _gate(reproduced, planted)
    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    regressed = [line.split() for line in failed.stdout.splitlines() if line.endswith("regressed")]
    assert [row[:2] for row in regressed] == [["demo/eval/decor/seed_2025.json", "test.recall@10"]], failed.stdout


# Every cheap stage, and one stage of each trainer on the demo's tiny CPU-profile models.
RERUN_STAGES = ("check_params", "download@demo", "filter@demo", "embed@demo", "tokenize@demo", "popularity@demo",
                "train@demo-decor", "baseline@demo-sasrec", "etegrec@demo", "tables")
# Wall-clock timings: the only outputs allowed to differ between two runs; no stage depends on them.
TIMING_OUTPUTS = ("reports/timings/", "reports/curves/")


def _output_digests(repo: Path) -> dict[str, str]:
    """md5 of every file a stage writes (DVC outputs and metrics), checkpoints and timings aside."""
    digests = {}
    for top in ("data", "reports"):
        for path in sorted((repo / top).rglob("*")):
            name = path.relative_to(repo).as_posix()
            if path.is_file() and "/checkpoints/" not in name and not name.startswith(TIMING_OUTPUTS) \
                    and not name.endswith(".gitignore"):
                digests[name] = hashlib.md5(path.read_bytes()).hexdigest()
    return digests


def test_rerun_stages_write_identical_bytes_and_leave_the_pipeline_clean(reproduced: Path) -> None:
    """Issue: two runs of a stage with the same inputs must write the same bytes, or DVC re-runs downstream stages."""
    before = _output_digests(reproduced)
    for stage in RERUN_STAGES:
        _dvc("repro", "--force", "--single-item", stage, cwd=reproduced)
    after = _output_digests(reproduced)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"outputs that changed on a re-run with the same inputs: {changed}"
    assert "up to date" in _dvc("status", cwd=reproduced)
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.stat().st_mode & 0o777 for p in (reproduced / "data").rglob("*") if p.is_file()}
    assert modes == {0o666 & ~umask}, [oct(m) for m in modes]


def test_decor_composition_is_not_one_hot_and_its_ablation_is_reported(reproduced: Path) -> None:
    """Issue 12: the eq. 16 weights of the decoder inputs y_0, y_1 (``layer_1``, ``layer_2``) must not
    collapse to one code for every test context (y_2, predicting the collision token, may)."""
    report = json.loads((reproduced / "reports/metrics/demo/eval/decor/seed_2025.json").read_text())
    composition = report["composition"]
    assert set(composition) == {"bos", "layer_1", "layer_2", "layer_3"}
    for layer in ("layer_1", "layer_2"):
        stats = composition[layer]
        assert stats["max_weight"] < 0.99 or stats["distinct_argmax"] >= 2, (layer, stats)
    assert set(report["test_constant_context"]) == set(report["test"])
    assert set(report["constant_context_gap"]) == set(report["test"])
    curve = (reproduced / "reports/curves/demo/decor/seed_2025.tsv").read_text().splitlines()[0].split("\t")
    assert "valid_comp_layer_1_max_weight" in curve
    steps = reproduced / "reports/steps/demo/decor/seed_2025.tsv"
    assert steps.read_text().splitlines()[0] == "step"  # off by default


def test_alpha_sweep_reaches_the_saved_model_config(reproduced: Path) -> None:
    """``dvc exp run -S alpha=0.4`` retrains DECOR with alpha 0.4 (eq. 18) and saves it in its config."""
    config = reproduced / "data/demo/models/decor/seed_2025/config.json"
    assert json.loads(config.read_text())["alpha"] != 0.4
    _dvc("exp", "run", "-S", "alpha=0.4", "train@demo-decor", cwd=reproduced)
    assert json.loads(config.read_text())["alpha"] == 0.4


def test_seeds_override_trains_a_new_seed_and_a_seed_run_does_not_depend_on_the_others(reproduced: Path) -> None:
    """``dvc exp run -S 'seeds=[…]'`` re-runs a model's stage over the new list; seed 3 runs first in that process,
    and seed 2025's run after it equals the one the full demo made (each seed's run re-seeds everything it draws)."""
    before = _metric(reproduced, "tiger", 2025)
    _dvc("exp", "run", "-S", "seeds=[3,2025]", "-S", "alpha=null", "train@demo-tiger", cwd=reproduced)
    report = json.loads((reproduced / "reports/metrics/demo/eval/tiger/seed_3.json").read_text())
    assert report["seed"] == 3 and report["protocol"] == "decor" and report["max_history"] == 20
    assert report["test"] != before
    assert _metric(reproduced, "tiger", 2025) == before
