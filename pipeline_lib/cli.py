"""What every stage script shares: argument parsing and turning input errors into one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from pipeline_lib.errors import PipelineInputError, stage_error_line
from pipeline_lib.locking import exclusive_run, lock_name
from pipeline_lib.params import DatasetSpec, dataset_spec
from pipeline_lib.paths import DatasetPaths
from pipeline_lib.schema import load_params


class DatasetStage(NamedTuple):
    """What a per-dataset stage starts from: its parsed arguments, the validated params (absent keys at their
    defaults), the dataset's catalogue entry (profiles merged into its overrides) and its paths under ``data/``."""

    args: argparse.Namespace
    params: dict[str, Any]
    spec: DatasetSpec
    paths: DatasetPaths


def dataset_argparser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("dataset", help="dataset name: a key of `catalog` in params.yaml")
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def dataset_stage(parser: argparse.ArgumentParser) -> DatasetStage:
    """The start every per-dataset stage shares: parse the command line (``parser`` from :func:`dataset_argparser`),
    load and validate ``--params``, find the dataset in ``catalog``.

    Raises:
        PipelineInputError: the params file is missing or invalid, or the dataset is not in its catalogue.
    """
    args = parser.parse_args()
    params = load_params(args.params)
    return DatasetStage(args, params, dataset_spec(params, args.dataset, args.params), DatasetPaths(args.dataset))


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
