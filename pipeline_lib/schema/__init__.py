"""The schema of params.yaml: every key, its type, range, default and unit, as pydantic models.

This package is the reference for the parameters. One class per section, nested as params.yaml
nests them; each field's ``description`` gives its meaning and unit, its default is the value a
stage uses when the key is absent. :func:`pipeline_lib.params.load_params` validates the whole
file against :class:`Params` when a stage starts, before it writes anything, and turns the first
problems into one line naming the key path, e.g.
``params.yaml, field 'filter.k_core': must be ≥ 3, got 0``.

Strictness (``strict=True`` on every model, one exception):

- integers must be YAML integers: ``"5"``, ``5.0`` and ``true`` are rejected, as is ``"five"``;
- floats take integers and floats, and numeric strings such as ``1e-4`` (PyYAML reads an exponent
  without a dot as a string, and ``dvc exp run -S`` can write one), but not booleans, nan or inf;
- booleans must be ``true`` / ``false``; strings must be strings;
- unknown keys are an error everywhere (``extra="forbid"``), so a typo in a ``-S`` override stops
  the run instead of being ignored.

Per-dataset overrides (``profiles.<name>`` and ``catalog.<name>.overrides``) are partial: the
sections in :class:`Overrides`, built by :func:`partial` from the full models with every key
optional but the same types and ranges. Only those sections can be overridden per dataset; the
others (``filter``, ``embed``, ``download``, …) are read as they are by their stages. The merged
section of each dataset (section < profile < overrides) is validated against the full model too.

One declaration per parameter: a section whose stage builds a config dataclass (``model`` → ``GenRecConfig``,
``train`` → ``OptimConfig``, ``baselines.sasrec`` → ``SASRecConfig``, …) is assembled by :func:`section` from
that dataclass's fields declared with :func:`pipeline_lib.declare.param` (type, default, limits, description,
beside the code that uses them; the configs live in torch-free modules such as ``models/config.py``), plus the
keys a stage reads itself (``device``). Sections without a config (``download``, ``filter``, ``tokenize``'s
``method``, the top level, the catalogue) are declared here. To add a key: add it to params.yaml and declare it
once, in its config (``x: int = param(3, ge=1, description="…")``) or its section here; the full and the partial
override models follow.

Modules, each importing only those above it: ``base`` (field types, validators, the ``Section`` bases,
:func:`section`, :func:`partial`); ``training`` (model, train, evaluate, cpu, stopping); ``tokenizer``
(tokenize); ``data`` (demo, download, filter, embed); ``baselines`` (baselines, etegrec); ``reports`` (tables,
figures, gate); ``whole_file`` (:class:`Params`, the catalogue, the overrides, :func:`params_error`); ``loading``
(:func:`load_params`, :func:`validate_params`). This package exposes their public names.
"""

from pipeline_lib.schema.base import Device, Float, PartialSection, Section, Sha256, Url, partial, section
from pipeline_lib.schema.baselines import (
    BaselinesSection,
    BERT4RecSection,
    CaserSection,
    EtegrecSection,
    FDSASection,
    GRU4RecSection,
    S3RecSection,
    SASRecSection,
)
from pipeline_lib.schema.data import DemoSection, DownloadSection, EmbedSection, FilterSection
from pipeline_lib.schema.loading import DatasetStage, dataset_stage, load_params, validate_params
from pipeline_lib.schema.reports import FiguresSection, GateSection, TablesSection
from pipeline_lib.schema.tokenizer import (
    CostSection,
    LetterSection,
    RQVAESection,
    TokenizerTrainSection,
    TokenizeSection,
)
from pipeline_lib.schema.training import (
    BackboneSection,
    CpuSection,
    EvaluateSection,
    ModelSection,
    StoppingSection,
    TrainSection,
)
from pipeline_lib.schema.whole_file import OVERRIDABLE, CatalogEntry, Overrides, Params, params_error, validated

__all__ = [
    "BERT4RecSection", "BackboneSection", "BaselinesSection", "CaserSection", "CatalogEntry", "CostSection",
    "CpuSection", "DatasetStage", "dataset_stage", "DemoSection", "Device", "DownloadSection", "EmbedSection", "EtegrecSection", "EvaluateSection",
    "FDSASection", "FiguresSection", "FilterSection", "Float", "GRU4RecSection", "GateSection", "LetterSection",
    "ModelSection", "OVERRIDABLE", "Overrides", "Params", "PartialSection", "RQVAESection", "S3RecSection",
    "SASRecSection", "Section", "Sha256", "StoppingSection", "TablesSection", "TokenizeSection",
    "TokenizerTrainSection", "TrainSection", "Url", "load_params", "params_error", "partial", "section",
    "validate_params",
    "validated",
]
