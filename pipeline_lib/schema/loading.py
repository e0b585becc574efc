"""Loading params.yaml: read it, validate it against :class:`Params`, fill in every absent key; and the start every
per-dataset stage shares (:func:`dataset_stage`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import ValidationError

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import DatasetSpec, dataset_spec, stage_section
from pipeline_lib.paths import DatasetPaths
from pipeline_lib.schema.whole_file import OVERRIDABLE, Params, params_error


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """params.yaml, validated against :mod:`pipeline_lib.schema` (see :func:`validate_params`), with every
    absent key at its default; a bad value is a :class:`PipelineInputError` naming its key path."""
    path = Path(path)
    if not path.is_file():
        raise PipelineInputError(path, "params file not found")
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise PipelineInputError(path, f"not valid YAML ({err.__class__.__name__})") from None
    if not isinstance(params, dict):
        raise PipelineInputError(path, "expected a mapping at the top level")
    return validate_params(params, path)


def validate_params(params: dict[str, Any], params_path: str | Path = "params.yaml") -> dict[str, Any]:
    """The whole parameter set checked against :class:`pipeline_lib.schema.Params`, absent keys filled in.

    Beyond each key's type and range: every name in ``datasets`` is in ``catalog``, every profile a
    catalog entry names exists, and each dataset's merged sections (section < profile < overrides,
    as :func:`stage_section` gives them to the stages) pass the full section models.
    """
    try:
        valid = Params.model_validate(params).model_dump()
    except ValidationError as err:
        raise params_error(err, params_path) from None
    for i, name in enumerate(valid["datasets"]):
        if name not in valid["catalog"]:
            known = ", ".join(sorted(valid["catalog"])) or "none"
            raise PipelineInputError(params_path, f"{name!r} is not in catalog (known: {known})", field=f"datasets[{i}]")
    for name in valid["catalog"]:
        spec = dataset_spec(valid, name, params_path)
        for section, model in OVERRIDABLE.items():
            try:
                model.model_validate(stage_section(valid, spec, section))
            except ValidationError as err:
                note = f" (dataset {name}, its profile and overrides applied)"
                raise params_error(err, params_path, model, (section,), note) from None
    return valid


class DatasetStage(NamedTuple):
    """What a per-dataset stage starts from: its parsed arguments, the validated params (absent keys at their
    defaults), the dataset's catalogue entry (profiles merged into its overrides) and its paths under ``data/``."""

    args: argparse.Namespace
    params: dict[str, Any]
    spec: DatasetSpec
    paths: DatasetPaths


def dataset_stage(parser: argparse.ArgumentParser) -> DatasetStage:
    """The start every per-dataset stage shares: parse the command line (``parser`` from :func:`pipeline_lib.cli.dataset_argparser`),
    load and validate ``--params``, find the dataset in ``catalog``.

    Raises:
        PipelineInputError: the params file is missing or invalid, or the dataset is not in its catalogue.
    """
    args = parser.parse_args()
    params = load_params(args.params)
    return DatasetStage(args, params, dataset_spec(params, args.dataset, args.params), DatasetPaths(args.dataset))
