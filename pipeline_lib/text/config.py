"""The ``embed`` section, each key declared once (:func:`pipeline_lib.declare.param`): the item text template's
fields and the sentence encoder. No torch here: :mod:`pipeline_lib.schema` reads it cheaply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from pipeline_lib.declare import Device, param

TextField = Literal["title", "brand", "main_category", "categories", "features", "description", "details"]
EmbedDtype = Literal["float32", "float16"]
FIELDS: tuple[str, ...] = get_args(TextField)
DTYPE_NAMES: tuple[str, ...] = get_args(EmbedDtype)


@dataclass(frozen=True)
class EmbedConfig:
    """``embed``: item text template and the sentence encoder (stage embed). Raises ``ValueError`` for an empty
    or unknown field list or an unknown dtype."""

    model: str = param("offline-minilm", min_length=1, description="sentence-transformers model name or path")
    fields: list[TextField] = param(
        default_factory=lambda: ["title", "brand", "categories", "features", "description"],
        min_length=1,
        description="metadata fields in template order (pipeline_lib/text/template.py)",
    )
    max_chars: int = param(2000, ge=1, description="text length cap, characters")
    batch_size: int = param(128, ge=1, description="texts per encoder batch")
    dtype: EmbedDtype = param("float32", description="embedding dtype stored")
    device: Device = param("auto", description="auto = cuda when present")
    require_title: bool = param(True, description="a metadata row without a title is an error")

    def __post_init__(self) -> None:
        unknown = [f for f in self.fields if f not in FIELDS]
        if unknown or not self.fields:
            raise ValueError(f"text fields must be a non-empty subset of {', '.join(FIELDS)}; got {self.fields}")
        if self.dtype not in DTYPE_NAMES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPE_NAMES)}, got {self.dtype!r}")
