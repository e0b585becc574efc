"""The ground of the params.yaml schema (:mod:`pipeline_lib.schema`): the names the code knows (``Literal``
types), the field types and validators shared by the sections, the ``Section`` / ``PartialSection`` bases and
:func:`partial`, which builds the per-dataset override models.
"""

import copy
import dataclasses
import re
from collections.abc import Iterable
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    create_model,
    model_serializer,
    model_validator,
)

from pipeline_lib.declare import PARAM, Param, declared
from pipeline_lib.declare import Device as DeclaredDevice

# The values of top-level keys (the other names the code knows are declared beside their code, e.g. models.config;
# tests check these against the code's own tables).
Variant = Literal[  # models.variants
    "tiger", "tokcomp", "tokcomp_bos", "pretrained", "pretrained_tokcomp", "decor", "letter", "cost", "tiger_hf"
]
TokenizerVariant = Literal["letter", "cost"]  # the variants on their own tokenizer (models.variants, .tokenizer)
BaselineModel = Literal["sasrec", "gru4rec", "bert4rec", "caser", "fdsa", "s3rec"]  # training.sequential's SEQUENTIAL_ + ATTRIBUTE_MODELS
ProtocolName = Literal["decor", "etegrec"]  # pipeline_lib.protocol.PROTOCOLS

_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {_show(value)}")
    return value


def _device(value: str) -> str:
    if not _DEVICE.fullmatch(value):
        raise ValueError(f"must be auto, cpu, cuda, cuda:N or mps, got {_show(value)}")
    return value


def _shared_tokenizer(values: list[str]) -> list[str]:
    own = [v for v in values if v in get_args(TokenizerVariant)]
    if own:
        raise ValueError(f"{', '.join(own)} train(s) on an own tokenizer: list it in tokenizer_variants, not variants")
    return values


def _with_sasrec(values: list[str]) -> list[str]:
    if "sasrec" not in values:
        raise ValueError("must include sasrec: ETEGRec and LETTER's tokenizer read its item embeddings")
    return values


def _unique(values: list[Any]) -> list[Any]:
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"must not repeat a name, got {', '.join(repeated)} twice")
    return values


Float = Annotated[float, Strict(False), AllowInfNan(False), BeforeValidator(_number)]
Device = Annotated[str, AfterValidator(_device)]
Url = Annotated[str, Field(pattern=r"^(https?|file)://\S+$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Section(BaseModel):
    """Base of every params model: unknown keys are errors; types strict as :mod:`pipeline_lib.schema` says."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PartialSection(Section):
    """Base of the partial models: every key optional; only the keys given are written back."""

    @model_serializer(mode="plain")
    def _given_keys_only(self) -> dict[str, Any]:
        values = {key: getattr(self, key) for key in type(self).model_fields if key in self.model_fields_set}
        return {key: v.model_dump() if isinstance(v, BaseModel) else v for key, v in values.items()}


@cache
def partial(model: type[Section]) -> type[PartialSection]:
    """``model`` with every field optional (absent = not overridden), types and ranges kept, nested
    sections partial too. Cross-field checks are left to the full model, which sees the merged section."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            annotation = partial(annotation)
        optional = copy.copy(info)
        optional.default, optional.default_factory = None, None
        fields[name] = (annotation, optional)
    return create_model(f"Partial{model.__name__}", __base__=PartialSection, __doc__=model.__doc__, **fields)


def section(
    config: type | tuple[type, ...],
    name: str,
    doc: str,
    *,
    only: Iterable[str] | None = None,
    extra: dict[str, tuple[Any, Any]] | None = None,
    nested: dict[str, type[Section]] | None = None,
) -> type[Section]:
    """The params section model of config dataclass ``config``: one field per field declared with
    :func:`pipeline_lib.declare.param` (``only``: just these), with its type (``float`` → :data:`Float`, a tuple
    or list → a YAML list), default, limits and description; ``extra``: keys a stage reads itself (name →
    (type, ``Field``)); ``nested``: sub-sections (name → section model). ``config.check`` (cross-field rules),
    when present, validates the section too."""
    configs = config if isinstance(config, tuple) else (config,)
    hints = {c: get_type_hints(c, include_extras=True) for c in configs}
    wanted = None if only is None else set(only)
    fields: dict[str, Any] = {}
    for owner, f in ((c, f) for c in configs for f in declared(c)):
        if wanted is not None and f.name not in wanted:
            continue
        spec: Param = f.metadata[PARAM]
        if f.default is not dataclasses.MISSING:
            default = list(f.default) if isinstance(f.default, tuple) else f.default
            info = Field(default, description=spec.description, **spec.limits)
        else:
            factory = f.default_factory
            info = Field(default_factory=lambda factory=factory: _plain(factory()), description=spec.description,
                         **spec.limits)
        fields[f.name] = (_schema_type(hints[owner][f.name], spec.items), info)
    fields |= extra or {}
    fields |= {key: (model, Field(default_factory=model)) for key, model in (nested or {}).items()}
    checks = [c.check for c in configs if hasattr(c, "check")]

    def _check(self: Section) -> Section:
        for check in checks:
            check(self)
        return self

    validators = {"check": model_validator(mode="after")(_check)} if checks else {}
    return create_model(name, __base__=Section, __doc__=doc, __validators__=validators, **fields)


def device_key() -> tuple[Any, Any]:
    """A stage's own ``device`` key (where it runs), for ``section(extra=…)``: its type and field."""
    return Device, Field("auto", description="auto = cuda when present")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _schema_type(annotation: Any, items: dict[str, Any]) -> Any:
    """A dataclass field's type as the schema reads YAML: floats as :data:`Float`, tuples as lists, element
    limits on list / dict values; ``X | None`` stays optional."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        inner = [_schema_type(arg, items) for arg in args if arg is not NoneType]
        return inner[0] | None if len(inner) == 1 and NoneType in args else Union[tuple(inner)]  # noqa: UP007
    if annotation is float:
        return Float
    if annotation is DeclaredDevice:
        return Device
    if origin in (tuple, list):
        element = _schema_type(args[0], {})
        return list[Annotated[element, Field(**items)] if items else element]
    if origin is dict:
        value = _schema_type(args[1], {})
        return dict[args[0], Annotated[value, Field(**items)] if items else value]
    return annotation


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
