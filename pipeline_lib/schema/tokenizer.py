"""params.yaml's ``tokenize`` section: the semantic-ID tokenizers (RQ-VAE, LETTER, CoST) and the RQ-VAE
shape and training ETEGRec shares."""

from typing import Annotated

from pydantic import Field

from pipeline_lib.schema.base import Device, Float, Section, TokenizerMethod


class RQVAESection(Section):
    """An RQ-VAE's shape (RQVAEConfig; ``input_dim`` is the embeddings' width): ``tokenize.model``, ``etegrec.rqvae``."""

    hidden_dims: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [512, 256], description="encoder MLP hidden sizes (the decoder mirrors them)"
    )
    code_dim: int = Field(128, ge=1, description="code vector size d (= model.d_model for DECOR)")
    levels: int = Field(3, ge=1, description="codebooks L")
    codebook_size: int = Field(256, ge=2, description="codes per codebook K")
    beta: Float = Field(0.25, ge=0, description="commitment loss weight β")


class TokenizerTrainSection(Section):
    """RQ-VAE training (TrainConfig): ``tokenize.train``, ``etegrec.pretrain``."""

    epochs: int = Field(3000, ge=1, description="full passes over the items")
    batch_size: int = Field(1024, ge=1, description="items per step")
    lr: Float = Field(1e-3, gt=0, description="AdamW learning rate")
    weight_decay: Float = Field(1e-4, ge=0, description="AdamW weight decay")
    kmeans_init: bool = Field(True, description="k-means init of each codebook on the first batch's residuals")
    dead_code_window: int = Field(0, ge=0, description="0 = keep codes; N = re-seed codes unused for N epochs")


class LetterSection(Section):
    """``tokenize.letter`` (LetterConfig): L_Sem + α·L_CF + β·L_Div (LETTER eq. 6; equation numbers unchecked
    against the paper); official code's values."""

    cf_weight: Float = Field(0.01, ge=0, description="α, weight of the collaborative loss L_CF (eq. 4)")
    div_weight: Float = Field(1e-4, ge=0, description="β, weight of the diversity loss L_Div (eq. 5)")
    n_clusters: int = Field(10, ge=2, description="k-means clusters of each codebook's codes (L_Div's positives)")
    cf_temperature: Float = Field(1.0, gt=0, description="L_CF softmax temperature (1 = LETTER's, none)")
    div_temperature: Float = Field(1.0, gt=0, description="L_Div softmax temperature (1 = LETTER's, none)")


class CostSection(Section):
    """``tokenize.cost`` (CostConfig): α·L_CL + L_RQ (CoST eq. 6); the paper's values (§4.1). Equation and
    section numbers unchecked against the paper."""

    weight: Float = Field(0.1, ge=0, description="α, weight of the contrastive loss L_CL (eq. 5)")
    temperature: Float = Field(0.1, gt=0, description="τ of L_CL (cosine similarities)")
    mse_weight: Float = Field(0.0, ge=0, description="weight of the MSE reconstruction beside L_CL; 0 = CoST's")


class TokenizeSection(Section):
    """``tokenize``: the semantic-ID tokenizers (stages tokenize, tokenize_letter, tokenize_cost; DECOR eq. 2–8)."""

    method: TokenizerMethod = Field(
        "rqvae",
        description="the shared tokenizer's loss (stage tokenize): rqvae | cost; letter needs stage tokenize_letter",
    )
    device: Device = Field("auto", description="auto = cuda when present")
    model: RQVAESection = Field(default_factory=RQVAESection)
    train: TokenizerTrainSection = Field(default_factory=TokenizerTrainSection)
    letter: LetterSection = Field(default_factory=LetterSection)
    cost: CostSection = Field(default_factory=CostSection)
