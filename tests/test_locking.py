"""One writer per stage output: a second run of the same stage fails fast, naming the holder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.locking import exclusive_run, lock_name

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv, name", [
    (["/repo/stages/train.py", "demo", "tiger"], "train-demo-tiger"),
    (["/repo/stages/train.py", "--params", "p.yaml", "demo", "decor"], "train-demo-decor"),
    (["/repo/stages/filter.py", "demo", "--params=p.yaml"], "filter-demo"),
    (["/repo/stages/tables.py", "--out", "reports/tables"], "tables"),
    (["/repo/stages/train.py", "demo", "tiger", "--seed", "1"], "train-demo-tiger-seed1"),
    (["/repo/stages/etegrec.py", "--seed=2", "demo", "--params", "p.yaml"], "etegrec-seed2-demo"),
])
def test_lock_name_is_the_stage_its_positional_arguments_and_its_seed(argv, name):
    assert lock_name(argv) == name


def test_second_holder_fails_and_the_lock_is_released_after(tmp_path):
    with exclusive_run("train-demo-tiger", tmp_path):
        with pytest.raises(PipelineInputError, match=f"pid {os.getpid()}"):
            with exclusive_run("train-demo-tiger", tmp_path):
                pass
        with exclusive_run("train-demo-decor", tmp_path):  # another output: no contention
            pass
    with exclusive_run("train-demo-tiger", tmp_path):  # released
        pass


def test_a_running_stage_makes_a_second_one_exit_2_with_one_line(tmp_path):
    """A real stage process, started while another process holds its lock: one line, exit 2, nothing written."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pipeline_lib.locking import exclusive_run\n"
         "with exclusive_run('filter-demo'):\n    print('held', flush=True); time.sleep(60)"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "stages.filter", "demo"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert time.perf_counter() - started < 60  # failed fast, did not wait for the holder
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "another run is writing these outputs" in lines[0]
    assert f"pid {holder.pid}" in lines[0]
    assert not (tmp_path / "data").exists()
