"""A training stage's seeds side by side on a CPU: each seed's run in a worker process of its own.

A stage trains one model for every entry of ``seeds``. On a CPU each run uses ``cpu.threads_per_run`` torch
threads — a fixed number, because a run's numbers depend on its thread count (parallel float reductions), not
on how many runs share the machine — and up to ``cpu.parallel_runs`` runs go side by side, each in a process
forked from the stage after its imports and data loading (the pattern of PyTorch's own DataLoader workers:
fork, then ``torch.set_num_threads``). Single-threaded runs in separate processes also keep two stages that
share the cores (``dvc queue start -j 2``) from oversubscribing them with spinning OpenMP threads. On a GPU,
or in a data-parallel launch, the runs go one after another in the stage's process.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from pipeline_lib.declare import check_declared, param
from pipeline_lib.errors import stage_error_line


@dataclass(frozen=True)
class CpuConfig:
    """params ``cpu``: ``threads_per_run`` torch threads for each training run on a CPU (≥ 1; part of what a
    run computes, so of its fingerprint), ``parallel_runs`` runs side by side (≥ 1; ``None`` = the CPUs this
    process may use // ``threads_per_run``)."""

    threads_per_run: int = param(
        1, ge=1, description="torch threads of each training run (its numbers depend on it: part of its identity)"
    )
    parallel_runs: int | None = param(
        None, ge=1, description="a stage's seed runs side by side, each in its own process; null = CPUs // threads_per_run"
    )

    def __post_init__(self) -> None:
        check_declared(self)

    def run_threads(self, on_cpu: bool) -> int | None:
        """The thread count a run records in its fingerprint and train metrics: ``threads_per_run`` on a CPU (a
        CPU run's numbers depend on it), ``None`` elsewhere (where ``run_seeds`` leaves torch's count alone)."""
        return self.threads_per_run if on_cpu else None

    def side_by_side(self) -> int:
        """How many runs go side by side: ``parallel_runs``, or as many as the usable CPUs hold."""
        if self.parallel_runs is not None:
            return self.parallel_runs
        return max(1, len(os.sched_getaffinity(0)) // self.threads_per_run)


def cpu_config(params: dict[str, Any], params_path: str | Path) -> CpuConfig:
    """params ``cpu`` (checked by the schema; defaults where absent)."""
    from pipeline_lib.params import make_config

    return make_config(CpuConfig, dict(params.get("cpu") or {}), params_path, "cpu")


def run_seeds(run: Callable[[int], None], seeds: Sequence[int], cpu: CpuConfig, on_cpu: bool) -> None:
    """Call ``run(seed)`` for every seed, in order of ``seeds``.

    ``on_cpu`` (the device is the CPU and the launch has one process): every run gets ``cpu.threads_per_run``
    torch threads, and with more than one seed and ``cpu.side_by_side()`` > 1 the runs go to forked worker
    processes, at most that many at a time (where ``fork`` exists; elsewhere one after another). A worker's
    ``run`` sees everything the stage loaded before this call. Otherwise the runs go one after another here.

    Raises:
        SystemExit: a worker failed; its error line (or traceback) is already on stderr and its exit code is
            this one's (2 for bad input or a full disk); the runs still going are stopped.
    """
    import torch

    parallel = min(cpu.side_by_side(), len(seeds)) if on_cpu else 1
    if on_cpu:
        torch.set_num_threads(cpu.threads_per_run)
    if parallel == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for seed in seeds:
            run(seed)
        return
    context = multiprocessing.get_context("fork")
    waiting, running = list(seeds), []
    sys.stdout.flush()
    sys.stderr.flush()
    while waiting or running:
        while waiting and len(running) < parallel:
            worker = context.Process(target=_worker, args=(run, waiting.pop(0), cpu.threads_per_run))
            worker.start()
            running.append(worker)
        wait([w.sentinel for w in running])
        for worker in [w for w in running if not w.is_alive()]:
            running.remove(worker)
            if worker.exitcode != 0:
                for other in running:
                    other.kill()
                    other.join()
                sys.exit(worker.exitcode if worker.exitcode and worker.exitcode > 0 else 1)


def _worker(run: Callable[[int], None], seed: int, threads: int) -> None:
    """One seed's run in a forked process. It leaves by ``os._exit``, so that nothing inherited from the stage
    (the stage's output lock above all) is released or cleaned up by the worker."""
    import torch

    code = 0
    try:
        torch.set_num_threads(threads)
        run(seed)
    except BaseException as err:  # noqa: BLE001 — every failure must reach the stage as an exit code
        line = stage_error_line(err)
        if line is None:
            traceback.print_exc()
            code = 1
        else:
            print(line, file=sys.stderr)
            code = 2
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
