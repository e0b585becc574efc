"""What every stage script shares: argument parsing and turning input errors into one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from pipeline_lib.errors import PipelineInputError, stage_error_line
from pipeline_lib.locking import exclusive_run, lock_name


def dataset_argparser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("dataset", help="dataset name: a key of `catalog` in params.yaml")
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def checked_choice(value: str, allowed: Iterable[str], argument: str, params_path: str | Path) -> str:
    """A positional argument DVC fills from a matrix key (``variants``, ``baseline_models``), checked after the
    params (whose schema names the key with the bad entry), so argparse's usage text never replaces that line.

    Raises:
        PipelineInputError: ``value`` is not one of ``allowed``.
    """
    known = sorted(allowed)
    if value not in known:
        raise PipelineInputError(params_path, f"unknown {argument} {value!r} (known: {', '.join(known)})",
                                 field=argument)
    return value


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` with deterministic kernels and the stage's output lock
    (:mod:`pipeline_lib.locking`); bad input, a busy lock or a full disk ends it with a one-line message and
    exit code 2."""
    if "torch" in sys.modules:  # a stage without torch (download, tables) is spared its import (~1 s)
        from pipeline_lib.device import use_deterministic_algorithms

        use_deterministic_algorithms()
    try:
        with exclusive_run(lock_name(sys.argv)):
            main()
    except (PipelineInputError, OSError) as err:
        line = stage_error_line(err)
        if line is None:
            raise
        print(line, file=sys.stderr)
        sys.exit(2)
