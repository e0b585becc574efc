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

To add a key: add a field to its section class (with a description and the default the code
uses); the partial override models follow automatically.

Modules, each importing only those above it: ``base`` (the ``Literal`` names, field types, validators, the
``Section`` bases, :func:`partial`); ``data`` (demo, download, filter, embed); ``training`` (model, train,
evaluate, cpu, stopping); ``tokenizer`` (tokenize); ``baselines`` (baselines, etegrec); ``reports`` (tables,
figures, gate); ``whole_file`` (:class:`Params`, the catalogue, the overrides, :func:`params_error`). This
package exposes all of their public names.
"""

from pipeline_lib.schema.base import (
    BaselineLoss,
    BaselineModel,
    BosQueryInit,
    BosStatic,
    Device,
    EmbedDtype,
    EtegrecSchedule,
    FeedForward,
    Float,
    PartialSection,
    ProtocolName,
    Section,
    Sha256,
    SiaSpace,
    Source,
    TableFormat,
    TextField,
    TokenizerMethod,
    TokenizerVariant,
    Url,
    Variant,
    partial,
)
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
from pipeline_lib.schema.data import (
    DemoSection,
    DownloadSection,
    EmbedSection,
    FilterSection,
)
from pipeline_lib.schema.reports import (
    FiguresSection,
    GateSection,
    TablesSection,
)
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
from pipeline_lib.schema.whole_file import (
    OVERRIDABLE,
    CatalogEntry,
    Overrides,
    Params,
    params_error,
)

__all__ = [
    "BERT4RecSection",
    "BackboneSection",
    "BaselineLoss",
    "BaselineModel",
    "BaselinesSection",
    "BosQueryInit",
    "BosStatic",
    "CaserSection",
    "CatalogEntry",
    "CostSection",
    "CpuSection",
    "DemoSection",
    "Device",
    "DownloadSection",
    "EmbedDtype",
    "EmbedSection",
    "EtegrecSchedule",
    "EtegrecSection",
    "EvaluateSection",
    "FDSASection",
    "FeedForward",
    "FiguresSection",
    "FilterSection",
    "Float",
    "GRU4RecSection",
    "GateSection",
    "LetterSection",
    "ModelSection",
    "OVERRIDABLE",
    "Overrides",
    "Params",
    "PartialSection",
    "ProtocolName",
    "RQVAESection",
    "S3RecSection",
    "SASRecSection",
    "Section",
    "Sha256",
    "SiaSpace",
    "Source",
    "StoppingSection",
    "TableFormat",
    "TablesSection",
    "TextField",
    "TokenizeSection",
    "TokenizerMethod",
    "TokenizerTrainSection",
    "TokenizerVariant",
    "TrainSection",
    "Url",
    "Variant",
    "params_error",
    "partial",
]
