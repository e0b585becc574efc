"""Training and full-ranking evaluation of the sequential baselines: ID-based (SASRec, GRU4Rec, BERT4Rec, Caser)
and attribute-aware (FDSA, S³Rec; S³Rec's pre-training phase is ``pipeline_lib.training.s3rec``).

Each training example is one prefix of a training sequence (``prefix_samples``, the generative
models' examples) predicting its next item from the representation at the last position; with a
causal model that covers the same (history, next item) pairs as SASRec's all-position training,
each history laid out exactly as at inference. The loss is full-softmax cross-entropy over all items
(``ce``, the default here) or the original SASRec binary cross-entropy with one uniformly drawn
negative per example (``bce``). Evaluation scores every item, takes the top K and goes through the
metric code every model shares; history items stay rankable unless ``exclude_history`` is set.

Two optional hooks, both absent from SASRec and GRU4Rec: a model's ``output_bias`` [n_items] is added
to every item score (BERT4Rec's b^O, Caser's b'), and a model with its own objective defines
``training_loss(histories, targets)``, used on each batch of prefix samples instead of ``ce``/``bce``
(BERT4Rec's cloze task).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from pipeline_lib.data.attributes import AttributeTable
from pipeline_lib.data.samples import Samples, evaluation_samples, prefix_samples
from pipeline_lib.data.split import SplitData
from pipeline_lib.io import write_json, write_tensors
from pipeline_lib.metrics import ranking_metrics
from pipeline_lib.models.bert4rec import BERT4Rec
from pipeline_lib.models.caser import Caser
from pipeline_lib.models.config import BERT4RecConfig, CaserConfig, FDSAConfig, GRU4RecConfig, S3RecConfig, SASRecConfig
from pipeline_lib.models.fdsa import FDSA
from pipeline_lib.models.gru4rec import GRU4Rec
from pipeline_lib.models.s3rec import S3Rec
from pipeline_lib.models.sasrec import SASRec
from pipeline_lib.training.config import BaselineConfig
from pipeline_lib.training.loop import LoopConfig, LoopResult, fit

SequentialModel = SASRec | GRU4Rec | BERT4Rec | Caser | FDSA | S3Rec

# name → builder(n_items, max_len, the model's params sub-section)
SEQUENTIAL_MODELS: dict[str, Callable[[int, int, dict[str, Any]], SequentialModel]] = {
    "sasrec": lambda n_items, max_len, values: SASRec(SASRecConfig(n_items=n_items, max_len=max_len, **values)),
    "gru4rec": lambda n_items, max_len, values: GRU4Rec(GRU4RecConfig(n_items=n_items, **values)),
    "bert4rec": lambda n_items, max_len, values: BERT4Rec(
        BERT4RecConfig(n_items=n_items, max_len=max_len, **values)
    ),
    "caser": lambda n_items, max_len, values: Caser(CaserConfig(n_items=n_items, **values)),
}
# Attribute-aware models: builder(n_items, max_len, params sub-section, the item attribute table); the stage reads
# the table (pipeline_lib.data.attributes) only for these. FDSA reads its fields (categories, brand), S3Rec every id.
ATTRIBUTE_MODELS: dict[str, Callable[[int, int, dict[str, Any], AttributeTable], SequentialModel]] = {
    "fdsa": lambda n_items, max_len, values, attributes: FDSA(
        FDSAConfig(n_items=n_items, max_len=max_len, n_attributes=attributes.n_attributes, **values),
        attributes.of_kind("category"),
        attributes.of_kind("brand"),
    ),
    "s3rec": lambda n_items, max_len, values, attributes: S3Rec(
        S3RecConfig(n_items=n_items, max_len=max_len, n_attributes=attributes.n_attributes, **values), attributes.ids
    ),
}
def item_scores(model: SequentialModel, histories: Tensor) -> Tensor:
    """``[B, n_items]``: last-position representation · item embedding table (+ the model's ``output_bias``)."""
    scores = model(histories) @ model.item_embeddings().T
    bias = getattr(model, "output_bias", None)
    return scores if bias is None else scores + bias


def training_objective(model: SequentialModel, loss: str) -> str:
    """What the model trains on, for the run's metrics: ``cloze`` for a model with its own ``training_loss``
    (BERT4Rec, the only one), else the ``loss`` setting."""
    return "cloze" if hasattr(model, "training_loss") else loss


def sequential_loss(
    model: SequentialModel, histories: Tensor, targets: Tensor, loss: str, negatives: Tensor | None = None
) -> Tensor:
    """Mean over the batch of ``ce``: −log softmax(scores)[target] over all items, or
    ``bce``: −log σ(s⁺) − log(1 − σ(s⁻)) with ``negatives`` [B] the sampled items (SASRec's objective),
    s including the model's ``output_bias`` if it has one. A model's own ``training_loss`` replaces both."""
    own_loss = getattr(model, "training_loss", None)
    if own_loss is not None:
        return own_loss(histories, targets)
    if loss == "ce":
        return F.cross_entropy(item_scores(model, histories), targets)
    if negatives is None:
        raise ValueError("the bce loss needs one negative item per example")
    representation, table = model(histories), model.item_embeddings()
    positive = (representation * table[targets]).sum(dim=-1)
    negative = (representation * table[negatives]).sum(dim=-1)
    bias = getattr(model, "output_bias", None)
    if bias is not None:
        positive, negative = positive + bias[targets], negative + bias[negatives]
    return (F.softplus(-positive) + F.softplus(negative)).mean()


def sample_negatives(targets: Tensor, n_items: int, generator: torch.Generator) -> Tensor:
    """One item per target, uniform over the catalogue minus the target (drawn on the CPU, seeded)."""
    offsets = torch.randint(1, n_items, targets.shape, generator=generator).to(targets.device)
    return (targets + offsets) % n_items


@torch.no_grad()
def rank_sequential(
    model: SequentialModel, histories: Tensor, top_k: int, batch_size: int, exclude_history: bool = False
) -> Tensor:
    """Top-``top_k`` item ids [U, top_k] by score over the whole catalogue, in user batches on the model's device.

    ``exclude_history`` sets the scores of the items in each row of ``histories`` (the model's input
    window) to −inf first; off by default, since beam search over semantic IDs cannot exclude them either.
    """
    model.eval()
    n_items = model.config.n_items
    if not 1 <= top_k <= n_items:
        raise ValueError(f"top_k={top_k} outside 1..{n_items} (the catalogue size)")
    ranked = []
    for batch in tqdm(histories.split(batch_size), desc="ranking", leave=False):
        scores = item_scores(model, batch)
        if exclude_history:
            padded = F.pad(scores, (0, 1))  # column n_items absorbs the padding entries
            padded.scatter_(1, batch.masked_fill(batch < 0, n_items), float("-inf"))
            scores = padded[:, :n_items]
        ranked.append(scores.topk(top_k, dim=1).indices)
    return torch.cat(ranked)


def sequential_data(split: SplitData, max_len: int, device: torch.device) -> tuple[Samples, Samples, Samples]:
    """Training prefixes, validation and test samples (histories cut to ``max_len``), on ``device``."""
    return (
        prefix_samples(split.train, max_len).to(device),
        evaluation_samples(split.valid, max_len).to(device),
        evaluation_samples(split.test, max_len).to(device),
    )


def train_sequential(
    model: SequentialModel,
    train: Samples,
    valid: Samples,
    optim: BaselineConfig,
    ks: tuple[int, ...],
    seed: int,
    checkpoint: Path,
    fingerprint: str,
    curve_path: Path | None,
) -> LoopResult:
    """AdamW at a constant rate on shuffled prefix batches; early stopping on validation NDCG@10.

    ``checkpoint`` is resumed only if it holds ``fingerprint``, the run's identity
    (``pipeline_lib.training.fingerprint.run_fingerprint`` of its settings and inputs).
    """
    device = train.targets.device
    n_items = model.config.n_items
    n_batches = -(-len(train) // optim.batch_size)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay, fused=device.type == "cuda"
    )

    def run_epoch(epoch: int) -> dict[str, float]:
        model.train()
        generator = torch.Generator().manual_seed(seed + epoch)
        order = torch.randperm(len(train), generator=generator).to(device)
        negatives = sample_negatives(train.targets, n_items, generator) if optim.loss == "bce" else None
        total = torch.zeros((), device=device)
        for index in tqdm(order.split(optim.batch_size), desc=f"epoch {epoch}", leave=False):
            batch = train.select(index)
            batch_negatives = None if negatives is None else negatives[index]
            loss = sequential_loss(model, batch.histories, batch.targets, optim.loss, batch_negatives)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        return {"train_loss": float(total) / n_batches}

    def validate() -> dict[str, float]:
        ranked = rank_sequential(model, valid.histories, max(ks), optim.batch_size, optim.exclude_history)
        return ranking_metrics(ranked, valid.targets, ks)

    loop = LoopConfig(optim.max_epochs, optim.patience, optim.eval_every, monitor="ndcg@10")
    return fit(loop, {"model": model}, {"optimizer": optimizer}, run_epoch, validate, checkpoint, fingerprint, curve_path)


def save_sequential(weights_path: Path, config_path: Path, model: SequentialModel, name: str) -> None:
    """The weights (config as metadata) and a readable ``config.json`` beside them."""
    config = {"model": name, **asdict(model.config)}
    write_tensors(weights_path, dict(model.state_dict()), metadata={"config": json.dumps(config)})
    write_json(config_path, config)


def save_item_embeddings(path: Path, model: SequentialModel) -> None:
    """The ``[n_items, dim]`` item table as safetensors key ``embeddings`` (ETEGRec §4.1.4's tokenizer input)."""
    write_tensors(path, {"embeddings": model.item_embeddings().float()})
