"""scripts/gpu_bench.sh: the GPU benchmark against the Hugging Face reference, rehearsed on the CPU.

``GPU_BENCH_TINY=1`` runs the very commands of the device run (both variants, ``--reference hf``, each under
``timeout``) on a tiny synthetic catalogue on the CPU: about 30 s on 2 cores (must stay under 2 min), so it is
marked slow. Bad settings stop the script before any Python runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gpu_bench.sh"


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, env={**os.environ, "PYTHON": sys.executable, **env},
                          capture_output=True, text=True)


@pytest.mark.slow
def test_tiny_rehearsal_writes_both_reports_with_ratios(tmp_path):
    began = time.monotonic()
    done = run_script({"GPU_BENCH_TINY": "1", "OUT": str(tmp_path)})
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert time.monotonic() - began < 120
    for variant in ("tiger", "decor"):
        result = json.loads((tmp_path / f"cpu_demo-synthetic_{variant}.json").read_text())
        assert result["settings"]["repeats"] == 1 and result["eval"]["users"] == 8
        hf = result["hf_reference"]
        assert hf["repeats"] == 3 and hf["decode"]["users"] == 8 and hf["train"]["steps_per_repeat"] == 1
        assert {"users_per_s_beam_20", "users_per_s_beam_50", "train_samples_per_s"} <= set(hf["ratios"])
        assert "## Against the Hugging Face reference" in (tmp_path / f"cpu_demo-synthetic_{variant}.md").read_text()
    summary = (tmp_path / "summary.md").read_text()
    assert "| tiger |" in summary and "| decor |" in summary
    assert "--reference hf" in (tmp_path / "run.log").read_text()


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"GPU_BENCH_TIMEOUT_S": "abc"}, (), "GPU_BENCH_TIMEOUT_S must be a positive whole number"),
        ({"GPU_BENCH_HF_USERS": "0"}, (), "GPU_BENCH_HF_USERS"),
        ({}, ("run",), "unknown argument 'run'"),
        ({"OUT": ""}, (), "OUT"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(env, args, message, tmp_path):
    done = run_script({"GPU_BENCH_TINY": "1", "OUT": str(tmp_path), **env}, *args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())
