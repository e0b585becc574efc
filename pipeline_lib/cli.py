"""What every stage script shares: argument parsing and turning input errors into one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.locking import exclusive_run, lock_name


def dataset_argparser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("dataset", help="dataset name: a key of `catalog` in params.yaml")
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` with deterministic kernels and the stage's output lock
    (:mod:`pipeline_lib.locking`); bad input or a busy lock ends it with a one-line message and exit code 2."""
    if "torch" in sys.modules:  # a stage without torch (download, tables) is spared its import (~1 s)
        from pipeline_lib.device import use_deterministic_algorithms

        use_deterministic_algorithms()
    try:
        with exclusive_run(lock_name(sys.argv)):
            main()
    except PipelineInputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
