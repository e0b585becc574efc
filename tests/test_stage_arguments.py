"""Issue 28: a bad entry of a matrix key (``variants``, ``baseline_models``, ``seeds``) that DVC passes to a stage's
command line is reported by the params schema under its key — one line, exit 2 — not by argparse's usage text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())


def _stage(tmp_path: Path, overrides: dict, *argv: str) -> subprocess.CompletedProcess:
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({**PARAMS, **overrides}))
    return subprocess.run([sys.executable, "-m", *argv, "--params", str(params)], cwd=tmp_path, text=True,
                          capture_output=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("overrides, argv, line", [
    ({"variants": ["tiger", "foo"]}, ("stages.train", "demo", "foo", "--seed", "2025"),
     "field 'variants[1]': must be one of"),
    ({"baseline_models": ["sasrec", "foo"]}, ("stages.baseline", "demo", "foo", "--seed", "2025"),
     "field 'baseline_models[1]': must be one of"),
    ({"seeds": [2025, "abc"]}, ("stages.train", "demo", "tiger", "--seed", "abc"), "field 'seeds[1]':"),
    ({"seeds": "abc"}, ("stages.check_params",), "field 'seeds': must be a list, got 'abc'"),
    ({}, ("stages.train", "demo", "foo"), "field 'variant': unknown variant 'foo'"),
    ({}, ("stages.etegrec", "demo", "--seed", "abc"), "field '--seed': must be an integer ≥ 0, got 'abc'"),
])
def test_a_bad_matrix_value_is_one_line_naming_its_key(overrides, argv, line, tmp_path):
    done = _stage(tmp_path, overrides, *argv)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'params.yaml'}, ") and line in lines[0], lines


def test_the_params_check_writes_its_marker_only_for_valid_params(tmp_path):
    marker = tmp_path / "data/params_checked.txt"
    assert _stage(tmp_path, {"seeds": "abc"}, "stages.check_params").returncode == 2 and not marker.exists()
    done = _stage(tmp_path, {}, "stages.check_params")
    assert done.returncode == 0, done.stderr
    first = marker.read_bytes()
    assert _stage(tmp_path, {"alpha": 0.4}, "stages.check_params").returncode == 0
    assert marker.read_bytes() == first  # the same bytes: stages downstream of it stay cached
