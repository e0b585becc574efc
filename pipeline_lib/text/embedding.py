"""From item metadata to the aligned item embedding matrix the tokenizer reads."""

from __future__ import annotations

import pandas as pd
import torch

from pipeline_lib.data.meta import ItemMeta
from pipeline_lib.text.config import EmbedConfig
from pipeline_lib.text.encoder import encode_texts, load_encoder
from pipeline_lib.text.template import item_text

DTYPES = {"float32": torch.float32, "float16": torch.float16}


def item_texts(items: pd.DataFrame, meta: dict[str, ItemMeta], config: EmbedConfig) -> pd.DataFrame:
    """One text per item id, in item id order."""
    texts = [item_text(meta[asin], config.fields, config.max_chars) for asin in items["parent_asin"]]
    return pd.DataFrame({"item_id": items["item_id"], "parent_asin": items["parent_asin"], "text": texts})


def embed_items(texts: pd.DataFrame, config: EmbedConfig) -> torch.Tensor:
    """Row i is the embedding of item id i."""
    encoder = load_encoder(config.model, config.device)
    return encode_texts(encoder, texts["text"].tolist(), config.batch_size, DTYPES[config.dtype])
