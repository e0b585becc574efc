"""A training stage's seed runs side by side on a CPU: forked workers, a fixed thread count, errors as exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.parallel import CpuConfig, run_seeds


def _recorder(folder: Path):
    def run(seed: int) -> None:
        (folder / f"{seed}.txt").write_text(f"{os.getpid()} {torch.get_num_threads()}")

    return run


def _seen(folder: Path) -> dict[int, tuple[int, int]]:
    return {int(p.stem): tuple(map(int, p.read_text().split())) for p in folder.glob("*.txt")}


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_runs_go_to_forked_workers_with_the_set_thread_count(tmp_path, restore_threads):
    run_seeds(_recorder(tmp_path), [2025, 1, 3], CpuConfig(threads_per_run=1, parallel_runs=2), on_cpu=True)
    seen = _seen(tmp_path)
    assert sorted(seen) == [1, 3, 2025]
    assert all(pid != os.getpid() for pid, _ in seen.values()) and len({pid for pid, _ in seen.values()}) == 3
    assert {threads for _, threads in seen.values()} == {1}


def test_one_seed_or_one_run_at_a_time_stays_in_this_process(tmp_path, restore_threads):
    run_seeds(_recorder(tmp_path), [7], CpuConfig(threads_per_run=2), on_cpu=True)
    run_seeds(_recorder(tmp_path), [8, 9], CpuConfig(threads_per_run=1, parallel_runs=1), on_cpu=True)
    seen = _seen(tmp_path)
    assert {seed: pid for seed, (pid, _) in seen.items()} == {7: os.getpid(), 8: os.getpid(), 9: os.getpid()}
    assert seen[7][1] == 2 and seen[8][1] == seen[9][1] == 1


def test_off_the_cpu_runs_go_one_after_another_here_with_the_threads_untouched(tmp_path, restore_threads):
    torch.set_num_threads(2)
    order = []
    run_seeds(order.append, [3, 1, 2], CpuConfig(threads_per_run=1, parallel_runs=4), on_cpu=False)
    assert order == [3, 1, 2] and torch.get_num_threads() == 2


def test_a_worker_s_bad_input_is_one_line_and_exit_2(tmp_path, capfd, restore_threads):
    def run(seed: int) -> None:
        if seed == 1:
            raise PipelineInputError("params.yaml", "must be ≥ 1, got 0", field="train.lr")

    with pytest.raises(SystemExit) as exited:
        run_seeds(run, [2025, 1], CpuConfig(parallel_runs=2), on_cpu=True)
    assert exited.value.code == 2
    assert capfd.readouterr().err.splitlines() == ["error: params.yaml, field 'train.lr': must be ≥ 1, got 0"]


def test_a_worker_s_bug_keeps_its_traceback_and_exits_1(tmp_path, capfd, restore_threads):
    def run(seed: int) -> None:
        raise ZeroDivisionError("planted")

    with pytest.raises(SystemExit) as exited:
        run_seeds(run, [2025, 1], CpuConfig(parallel_runs=2), on_cpu=True)
    assert exited.value.code == 1
    err = capfd.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: planted" in err


def test_side_by_side_follows_the_usable_cpus(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
    assert CpuConfig().side_by_side() == 5
    assert CpuConfig(threads_per_run=2).side_by_side() == 2
    assert CpuConfig(threads_per_run=8).side_by_side() == 1
    assert CpuConfig(parallel_runs=3).side_by_side() == 3
    with pytest.raises(ValueError, match="threads_per_run must be >= 1"):
        CpuConfig(threads_per_run=0)
