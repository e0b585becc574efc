"""Training the generative recommender (TIGER / DECOR variants) on device-resident samples."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup

from pipeline_lib.data.split import SplitData
from pipeline_lib.decoding.trie import SemanticIdTrie
from pipeline_lib.device import autocast
from pipeline_lib.evaluation import DecodeConfig, rank_generative
from pipeline_lib.metrics import ranking_metrics
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.models.vocab import SemanticVocab, history_tokens
from pipeline_lib.training.loop import LoopConfig, LoopResult, fit
from pipeline_lib.training.samples import (
    Samples,
    bucketed_batches,
    evaluation_samples,
    history_lengths,
    prefix_samples,
)


@dataclass(frozen=True)
class OptimConfig:
    """The ``train`` section: DECOR Table 5 (AdamW, lr 3e-3, wd 0.05, 10k warmup, cosine, clip 1.0, batch 256)."""

    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 0.05
    warmup_steps: int = 10_000
    max_epochs: int = 200
    patience: int = 20
    eval_every: int = 1
    grad_clip: float = 1.0
    bf16: bool = True


@dataclass(frozen=True)
class TrainData:
    """Everything training touches, already on the device."""

    train: Samples
    valid: Samples
    item_tokens: torch.Tensor  # [n_items + 1, levels]; the last row (item -1) is padding
    trie: SemanticIdTrie


def fingerprint(*parts: Any) -> str:
    """Identity of a training run: a checkpoint is resumed only by the run it came from."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            digest.update(part.detach().cpu().contiguous().numpy().tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def train_generative(
    model: GenerativeRecommender,
    data: TrainData,
    optim: OptimConfig,
    decode: DecodeConfig,
    seed: int,
    checkpoint: Path,
    curve_path: Path,
) -> LoopResult:
    """AdamW + warmup/cosine schedule, early stopping on validation NDCG@10 by constrained beam search."""
    device = data.item_tokens.device
    n_batches = -(-len(data.train) // optim.batch_size)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay, fused=device.type == "cuda"
    )
    scheduler = get_cosine_schedule_with_warmup(optimizer, optim.warmup_steps, optim.max_epochs * n_batches)

    lengths = history_lengths(data.train.histories)

    def run_epoch(epoch: int) -> dict[str, float]:
        model.train()
        batches = bucketed_batches(lengths, optim.batch_size, torch.Generator().manual_seed(seed + epoch))
        total = torch.zeros((), device=device)
        for index, width in tqdm(batches, desc=f"epoch {epoch}", leave=False):
            batch = data.train.select(index.to(device))
            with autocast(device, optim.bf16):
                histories = history_tokens(data.item_tokens, batch.histories[:, -width:])
                loss = model.loss(histories, data.item_tokens[batch.targets])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), optim.grad_clip)
            optimizer.step()
            scheduler.step()
            total += loss.detach()
        return {"train_loss": float(total) / n_batches, "lr": scheduler.get_last_lr()[0]}

    def validate() -> dict[str, float]:
        ranked = rank_generative(model, data.valid.histories, data.item_tokens, data.trie, decode, optim.bf16)
        return ranking_metrics(ranked, data.valid.targets, decode.ks)

    loop = LoopConfig(optim.max_epochs, optim.patience, optim.eval_every, monitor="ndcg@10")
    run_id = fingerprint(model.config.to_dict(), asdict(optim), asdict(decode), seed, data.item_tokens)
    return fit(loop, {"model": model}, {"optimizer": optimizer, "scheduler": scheduler}, run_epoch, validate,
               checkpoint, run_id, curve_path)


def generative_data(
    split: SplitData, sids: torch.Tensor, codebook_size: int, max_len: int, device: torch.device
) -> tuple[TrainData, Samples]:
    """Training prefixes, validation and test samples, item token table and trie, all on ``device``."""
    vocab = SemanticVocab(levels=sids.shape[1], codebook_size=codebook_size)
    data = TrainData(
        train=prefix_samples(split.train, max_len).to(device),
        valid=evaluation_samples(split.valid, max_len).to(device),
        item_tokens=vocab.item_token_table(sids).to(device),
        trie=SemanticIdTrie.from_semantic_ids(sids, vocab.codebook_size).to(device),
    )
    return data, evaluation_samples(split.test, max_len).to(device)
