"""Where each stage's artifacts live; dvc.yaml declares the same paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def run_name(model: str, seed: int) -> str:
    """The name of one training seed's run of ``model`` (``decor/seed_2025``): pass it wherever a
    :class:`DatasetPaths` method takes a model, and its outputs land in a ``seed_<s>`` entry of the model's folder."""
    return f"{model}/seed_{seed}"


@dataclass(frozen=True)
class ResultFiles:
    """Where one dataset's results lie, the same layout under two roots: a dataset's ``reports/metrics/<name>`` and
    ``data/<name>/ranks`` (:attr:`DatasetPaths.results`), or an evidence campaign's folder (:meth:`of_campaign`).

    ``metrics`` holds ``eval/<run>.json``, ``train/<run>.json``, ``tokenizer.json``, ``tokenizer_<method>.json``
    and ``dataset_stats.json``; ``ranks`` holds ``<run>.parquet``, or is ``None`` where no ranks are kept. A run is
    ``<model>/seed_<s>`` (:func:`run_name`) or an unseeded model's name."""

    metrics: Path
    ranks: Path | None

    @classmethod
    def of_campaign(cls, folder: Path) -> ResultFiles:
        """A campaign folder ``reports/<name>/``: its metrics under ``metrics/``, no ranks files."""
        return cls(folder / "metrics", None)

    def eval_metrics(self, run: str) -> Path:
        return self.metrics / "eval" / f"{run}.json"

    def train_metrics(self, run: str) -> Path:
        return self.metrics / "train" / f"{run}.json"

    def user_ranks(self, run: str) -> Path | None:
        return None if self.ranks is None else self.ranks / f"{run}.parquet"

    def tokenizer_metrics_of(self, method: str | None) -> Path:
        """The shared RQ-VAE's metrics (``method`` None) or LETTER's / CoST's (``tokenizer_<method>.json``)."""
        return self.metrics / ("tokenizer.json" if method is None else f"tokenizer_{method}.json")

    @property
    def dataset_stats(self) -> Path:
        return self.metrics / "dataset_stats.json"


@dataclass(frozen=True)
class DatasetPaths:
    """Artifacts of one dataset: cached outputs under ``data/<name>``, metrics under ``reports/metrics/<name>``."""

    name: str
    root: Path = Path(".")

    @property
    def data(self) -> Path:
        return self.root / "data" / self.name

    @property
    def metrics(self) -> Path:
        return self.root / "reports" / "metrics" / self.name

    @property
    def results(self) -> ResultFiles:
        """The metrics and ranks files the tables read (the same layout as a campaign folder's)."""
        return ResultFiles(self.metrics, self.data / "ranks")

    # download
    @property
    def raw(self) -> Path:
        return self.data / "raw"

    @property
    def manifest(self) -> Path:
        return self.raw / "manifest.json"

    # filter
    @property
    def filtered(self) -> Path:
        return self.data / "filtered"

    @property
    def items(self) -> Path:
        return self.filtered / "items.parquet"

    @property
    def users(self) -> Path:
        return self.filtered / "users.parquet"

    @property
    def sequences(self) -> Path:
        return self.filtered / "sequences.parquet"

    @property
    def train(self) -> Path:
        return self.filtered / "train.parquet"

    @property
    def valid(self) -> Path:
        return self.filtered / "valid.parquet"

    @property
    def test(self) -> Path:
        return self.filtered / "test.parquet"

    @property
    def dataset_stats(self) -> Path:
        return self.results.dataset_stats

    # embed
    @property
    def embedded(self) -> Path:
        return self.data / "embed"

    @property
    def item_text(self) -> Path:
        return self.embedded / "item_text.parquet"

    @property
    def item_embeddings(self) -> Path:
        return self.embedded / "item_embeddings.safetensors"

    # tokenize
    @property
    def tokenizer(self) -> Path:
        return self.data / "tokenizer"

    @property
    def rqvae(self) -> Path:
        return self.tokenizer / "rqvae.safetensors"

    @property
    def semantic_ids(self) -> Path:
        return self.tokenizer / "semantic_ids.parquet"

    @property
    def tokenizer_metrics(self) -> Path:
        return self.results.tokenizer_metrics_of(None)

    # tokenize_letter / tokenize_cost: another tokenizer beside the shared one (None = the shared one)
    def tokenizer_of(self, method: str | None) -> Path:
        return self.tokenizer if method is None else self.data / f"tokenizer_{method}"

    def rqvae_of(self, method: str | None) -> Path:
        return self.tokenizer_of(method) / self.rqvae.name

    def semantic_ids_of(self, method: str | None) -> Path:
        return self.tokenizer_of(method) / self.semantic_ids.name

    def tokenizer_metrics_of(self, method: str | None) -> Path:
        return self.results.tokenizer_metrics_of(method)

    # train / evaluate (one directory per model: a generative variant or a baseline)
    def model_dir(self, model: str) -> Path:
        return self.data / "models" / model

    def model_weights(self, model: str) -> Path:
        return self.model_dir(model) / "model.safetensors"

    def item_embeddings_of(self, model: str) -> Path:
        """Item embeddings a trained model exports (SASRec's feed ETEGRec's tokenizer)."""
        return self.model_dir(model) / "item_embeddings.safetensors"

    def model_config(self, model: str) -> Path:
        return self.model_dir(model) / "config.json"

    def checkpoint(self, model: str) -> Path:
        return self.data / "checkpoints" / model / "last.safetensors"

    def curve(self, model: str) -> Path:
        return self.root / "reports" / "curves" / self.name / f"{model}.tsv"

    def steps(self, model: str) -> Path:
        """Composition diagnostics every ``train.diagnostics_every`` steps (header-only when off): apart from
        the curves, whose folder DVC plots per epoch."""
        return self.root / "reports" / "steps" / self.name / f"{model}.tsv"

    def train_metrics(self, model: str) -> Path:
        return self.results.train_metrics(model)

    def timings(self, model: str) -> Path:
        """Wall-clock timings of a model's training run (kept apart from the reproducible metrics)."""
        return self.root / "reports" / "timings" / self.name / f"{model}.json"

    def eval_metrics(self, model: str) -> Path:
        return self.results.eval_metrics(model)

    def user_ranks(self, model: str) -> Path:
        return self.data / "ranks" / f"{model}.parquet"
