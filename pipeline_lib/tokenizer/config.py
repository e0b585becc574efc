"""The tokenizers' configs, each params key declared once (:func:`pipeline_lib.declare.param`): the RQ-VAE's
shape (``tokenize.model``, ``etegrec.rqvae``) and training (``tokenize.train``, ``etegrec.pretrain``), and the
LETTER / CoST objectives (``tokenize.letter``, ``tokenize.cost``). No torch here: :mod:`pipeline_lib.schema`
reads these cheaply."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Literal, get_args

from pipeline_lib.declare import check_declared, param

TokenizerMethod = Literal["rqvae", "letter", "cost"]
METHODS: tuple[str, ...] = get_args(TokenizerMethod)


@dataclass(frozen=True)
class RQVAEConfig:
    """Shape of an RQ-VAE: MLP sizes, L codebooks of K codes of dimension d, and the commitment weight β.

    ``hidden_dims`` are the encoder's hidden layer sizes (input_dim → hidden… → code_dim); the
    decoder mirrors them. The default (512, 256) gives ETEGRec's 3-layer MLPs (4.1.4); ``code_dim``
    equals the recommender's ``d_model`` because DECOR reuses the codebooks as token embeddings (eq. 9).
    ``input_dim`` is the item embeddings' width (from the data).
    """

    input_dim: int
    hidden_dims: tuple[int, ...] = param(
        (512, 256), items={"ge": 1}, description="encoder MLP hidden sizes (the decoder mirrors them)"
    )
    code_dim: int = param(128, ge=1, description="code vector size d (= model.d_model for DECOR)")
    levels: int = param(3, ge=1, description="codebooks L")
    codebook_size: int = param(256, ge=2, description="codes per codebook K")
    beta: float = param(0.25, ge=0, description="commitment loss weight β")

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_dims", tuple(self.hidden_dims))
        if self.input_dim < 1:
            raise ValueError(f"input_dim must be >= 1, got {self.input_dim!r}")
        check_declared(self)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RQVAEConfig:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class TrainConfig:
    """RQ-VAE training (``tokenize.train``, ``etegrec.pretrain``).

    ``kmeans_init``: initialise each codebook by k-means on the residuals of the first batch
    (enlarged to at least K items) before the first step. ``dead_code_window``: 0 keeps codes
    as trained (TIGER); N > 0 re-seeds, after every N epochs but the last, each code that no
    item chose during those N epochs onto the residual of a random item.
    """

    epochs: int = param(3000, ge=1, description="full passes over the items")
    batch_size: int = param(1024, ge=1, description="items per step")
    lr: float = param(1e-3, gt=0, description="AdamW learning rate")
    weight_decay: float = param(1e-4, ge=0, description="AdamW weight decay")
    kmeans_init: bool = param(True, description="k-means init of each codebook on the first batch's residuals")
    dead_code_window: int = param(0, ge=0, description="0 = keep codes; N = re-seed codes unused for N epochs")

    def __post_init__(self) -> None:
        check_declared(self)


@dataclass(frozen=True)
class LetterConfig:
    """``tokenize.letter``: L_LETTER = L_Sem + α·L_CF + β·L_Div (LETTER eq. 6; equation number not
    checked against the paper). Defaults: the official ``RQ-VAE/train_tokenizer.sh`` (α 0.01, β 1e-4)
    and ``RQ-VAE/trainer.py`` (``constrained_km``: 10 clusters; ``main.py``'s ``--n_clusters`` is never
    used); both temperatures 1 as the official losses have none. L_Sem is scaled as the official code
    scales it (``SQLoss.per_element``), so α and β weigh L_CF and L_Div as they do there."""

    cf_weight: float = param(0.01, ge=0, description="α, weight of the collaborative loss L_CF (eq. 4)")
    div_weight: float = param(1e-4, ge=0, description="β, weight of the diversity loss L_Div (eq. 5)")
    n_clusters: int = param(10, ge=2, description="k-means clusters of each codebook's codes (L_Div's positives)")
    cf_temperature: float = param(1.0, gt=0, description="L_CF softmax temperature (1 = LETTER's, none)")
    div_temperature: float = param(1.0, gt=0, description="L_Div softmax temperature (1 = LETTER's, none)")

    def __post_init__(self) -> None:
        check_declared(self)


@dataclass(frozen=True)
class CostConfig:
    """``tokenize.cost``: L_CoST = α·L_CL + L_RQ (CoST §3.2), plus ``mse_weight``·L_MSE (0 = the paper,
    which replaces the reconstruction loss). Defaults: given as the paper's §4.1 (α 0.1, τ 0.1). The
    section numbers and these values are not checked against the paper text."""

    weight: float = param(0.1, ge=0, description="α, weight of the contrastive loss L_CL (eq. 5)")
    temperature: float = param(0.1, gt=0, description="τ of L_CL (cosine similarities)")
    mse_weight: float = param(0.0, ge=0, description="weight of the MSE reconstruction beside L_CL; 0 = CoST's")

    def __post_init__(self) -> None:
        check_declared(self)
