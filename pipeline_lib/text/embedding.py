"""From item metadata to the aligned item embedding matrix the tokenizer reads."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from pipeline_lib.data.meta import ItemMeta
from pipeline_lib.text.encoder import encode_texts, load_encoder
from pipeline_lib.text.template import item_text, validate_fields

DTYPES = {"float32": torch.float32, "float16": torch.float16}


@dataclass(frozen=True)
class EmbedConfig:
    """The ``embed`` section of params.yaml."""

    model: str
    fields: list[str]
    max_chars: int
    batch_size: int
    dtype: str
    device: str
    require_title: bool

    def __post_init__(self) -> None:
        validate_fields(self.fields)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")


def item_texts(items: pd.DataFrame, meta: dict[str, ItemMeta], config: EmbedConfig) -> pd.DataFrame:
    """One text per item id, in item id order."""
    texts = [item_text(meta[asin], config.fields, config.max_chars) for asin in items["parent_asin"]]
    return pd.DataFrame({"item_id": items["item_id"], "parent_asin": items["parent_asin"], "text": texts})


def embed_items(texts: pd.DataFrame, config: EmbedConfig) -> torch.Tensor:
    """Row i is the embedding of item id i."""
    encoder = load_encoder(config.model, config.device)
    return encode_texts(encoder, texts["text"].tolist(), config.batch_size, DTYPES[config.dtype])
