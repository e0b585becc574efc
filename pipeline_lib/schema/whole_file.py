"""The whole params.yaml (:class:`Params`): its top-level keys, the dataset catalogue (:class:`CatalogEntry`),
the per-dataset overrides (:class:`Overrides`, ``OVERRIDABLE``), and :func:`params_error`, which turns a failed
validation into one line naming the key path."""

from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Self, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import Source
from pipeline_lib.schema.base import (
    BaselineModel,
    Float,
    PartialSection,
    ProtocolName,
    Section,
    Sha256,
    TokenizerVariant,
    Variant,
    _shared_tokenizer,
    _show,
    _unique,
    _with_sasrec,
    partial,
)
from pipeline_lib.schema.baselines import BaselinesSection, EtegrecSection
from pipeline_lib.schema.data import DemoSection, DownloadSection, EmbedSection, FilterSection
from pipeline_lib.schema.reports import FiguresSection, GateSection, TablesSection
from pipeline_lib.schema.tokenizer import TokenizeSection
from pipeline_lib.schema.training import (
    CpuSection,
    EvaluateSection,
    ModelSection,
    StoppingSection,
    TrainSection,
)

M = TypeVar("M", bound=BaseModel)

# ---------------------------------------------------------------- catalogue and the whole file


class Overrides(PartialSection):
    """Per-dataset values of the sections whose stages merge them (``profiles.<name>``,
    ``catalog.<name>.overrides``); any key of the section, all optional."""

    tokenize: partial(TokenizeSection) = None
    model: partial(ModelSection) = None
    train: partial(TrainSection) = None
    evaluate: partial(EvaluateSection) = None
    baselines: partial(BaselinesSection) = None
    etegrec: partial(EtegrecSection) = None
    figures: partial(FiguresSection) = None
    stopping: partial(StoppingSection) = None


class CatalogEntry(Section):
    """``catalog.<name>``: one dataset (DatasetSpec)."""

    source: Source = Field(description="demo (generated) | benchmark (5-core CSV) | raw (reviews) | lcrec (json)")
    alpha: Float = Field(ge=0, le=1, description="DECOR's α for this dataset (Table 5)")
    bos_queries: int = Field(ge=0, description="DECOR's BOS query count N for this dataset (Table 5)")
    category: str | None = Field(None, min_length=1, description="Amazon 2023 category (benchmark / raw sources)")
    path: str | None = Field(None, min_length=1, description="folder holding the files (lcrec source)")
    prefix: str | None = Field(None, min_length=1, description="file name prefix (lcrec source)")
    sha256: dict[str, Sha256] = Field(default_factory=dict, description="file name → expected sha256 (hex)")
    profile: str | list[str] | None = Field(
        None, description="a key of `profiles`, or a list of them applied in order, before `overrides`"
    )
    overrides: Overrides = Field(default_factory=Overrides, description="this dataset's section values")

    @model_validator(mode="after")
    def _source_needs(self) -> Self:
        needs = {"demo": (), "benchmark": ("category",), "raw": ("category",), "lcrec": ("path", "prefix")}
        missing = [key for key in needs[self.source] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"source {self.source} needs {' and '.join(missing)}")
        return self


class Params(Section):
    """The whole params.yaml."""

    datasets: Annotated[list[str], AfterValidator(_unique)] = Field(
        default_factory=list, description="catalog names every per-dataset stage runs"
    )
    seed: int = Field(2025, ge=0, description="data seed: the demo catalogue, the RQ-VAE tokenizer, Figure 4's t-SNE")
    seeds: Annotated[list[Annotated[int, Field(ge=0)]], AfterValidator(_unique)] = Field(
        default_factory=lambda: [2025], min_length=1,
        description="training seeds: every trained model runs once per seed (a DVC matrix dimension)",
    )
    protocol: ProtocolName = Field(
        "decor", description="decor: history ≤ 20, beam 50 | etegrec: history ≤ 50, beam 20 (every model)"
    )
    alpha: Float | None = Field(None, ge=0, le=1, description="DECOR's α (eq. 18); null = catalog.<name>.alpha")
    bos_queries: int | None = Field(
        None, ge=0, description="BOS queries N (eq. 19); null = catalog.<name>.bos_queries, 0 = off"
    )
    catalog: dict[str, CatalogEntry] = Field(default_factory=dict, description="dataset name → entry")
    profiles: dict[str, Overrides] = Field(default_factory=dict, description="named sets of per-dataset overrides")
    demo: DemoSection = Field(default_factory=DemoSection)
    download: DownloadSection = Field(default_factory=DownloadSection)
    filter: FilterSection = Field(default_factory=FilterSection)
    embed: EmbedSection = Field(default_factory=EmbedSection)
    model: ModelSection = Field(default_factory=ModelSection)
    variants: Annotated[list[Variant], AfterValidator(_unique), AfterValidator(_shared_tokenizer)] = Field(
        default_factory=lambda: [v for v in get_args(Variant) if v not in get_args(TokenizerVariant)],
        min_length=1, description="Table 2 rows trained and evaluated on the shared tokenizer (stage train)",
    )
    tokenizer_variants: Annotated[list[TokenizerVariant], AfterValidator(_unique)] = Field(
        default_factory=lambda: list(get_args(TokenizerVariant)),
        description="Table 1 rows: TIGER on the LETTER / CoST tokenizer (stages train_tokenized, evaluate_tokenized)",
    )
    baseline_models: Annotated[list[BaselineModel], AfterValidator(_unique), AfterValidator(_with_sasrec)] = Field(
        default_factory=lambda: list(get_args(BaselineModel)),
        description="Table 1's sequential baselines (stage baseline); sasrec always (ETEGRec, LETTER read it)",
    )
    cpu: CpuSection = Field(default_factory=CpuSection)
    train: TrainSection = Field(default_factory=TrainSection)
    evaluate: EvaluateSection = Field(default_factory=EvaluateSection)
    tokenize: TokenizeSection = Field(default_factory=TokenizeSection)
    baselines: BaselinesSection = Field(default_factory=BaselinesSection)
    etegrec: EtegrecSection = Field(default_factory=EtegrecSection)
    stopping: StoppingSection = Field(default_factory=StoppingSection)
    tables: TablesSection = Field(default_factory=TablesSection)
    figures: FiguresSection = Field(default_factory=FiguresSection)
    gate: GateSection = Field(default_factory=GateSection)


OVERRIDABLE: dict[str, type[Section]] = {
    name: Params.model_fields[name].annotation for name in Overrides.model_fields  # type: ignore[misc]
}


# ---------------------------------------------------------------- errors


def params_error(
    err: ValidationError, path: str | Path, model: type[BaseModel] = Params, prefix: tuple[str, ...] = (), note: str = ""
) -> PipelineInputError:
    """One line for a failed validation of ``model`` at key path ``prefix``: the first problem with its
    key path, value and what is allowed, then any others, joined with "; "."""
    problems = []
    for error in err.errors():
        loc = tuple(error["loc"])
        problems.append((_key_path(prefix + loc), _problem(error, model, loc) + note))
    (field, first), rest = problems[0], problems[1:]
    return PipelineInputError(path, "; ".join([first, *(f"field '{f}': {p}" for f, p in rest)]), field=field or None)


def validated(model: type[M], values: dict[str, Any], path: str | Path, key: str) -> M:
    """``values`` of params section ``key`` as section ``model`` (the config of code above the schema, e.g.
    ``GateConfig``); a bad value is one :class:`PipelineInputError` line naming its key path."""
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise params_error(err, path, model, tuple(key.split("."))) from None


def _key_path(loc: tuple[str | int, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


_BOUNDS = {"greater_than_equal": ("ge", "≥"), "greater_than": ("gt", ">"), "less_than_equal": ("le", "≤"),
           "less_than": ("lt", "<")}
_KINDS = {"int_type": "an integer", "float_type": "a number", "float_parsing": "a number", "finite_number":
          "a finite number", "bool_type": "true or false", "string_type": "a string", "list_type": "a list",
          "dict_type": "a mapping", "model_type": "a mapping", "missing": None}


def _problem(error: Any, model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        return "unknown key" + (f" (known: {', '.join(known)})" if known else "")
    if kind in _BOUNDS:
        key, sign = _BOUNDS[kind]
        return f"must be {sign} {ctx[key]:g}, got {_show(value)}"
    if kind in _KINDS:
        return f"must be {_KINDS[kind]}, got {_show(value)}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}, got {_show(value)}"
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s), got {_show(value)}"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx['pattern']}, got {_show(value)}"
    if kind == "value_error":
        return str(ctx["error"])
    return f"{error['msg']}, got {_show(value)}"


def _known_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed at ``loc`` below ``model`` (empty when it is not a model)."""
    node: Any = model
    for part in loc:
        if isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = node.model_fields[part].annotation
        elif get_origin(node) is dict:
            node = get_args(node)[1]
        else:
            return []
        if get_origin(node) in (Union, UnionType):
            node = next(arg for arg in get_args(node) if arg is not type(None))
    return sorted(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []
