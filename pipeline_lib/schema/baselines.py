"""params.yaml's ``baselines`` (the sequential baselines, one section per model) and ``etegrec`` sections."""

from typing import Self

from pydantic import Field, model_validator

from pipeline_lib.schema.base import (
    BaselineLoss,
    Device,
    EtegrecSchedule,
    Float,
    Section,
    SiaSpace,
    _dropout,
    _probability,
)
from pipeline_lib.schema.tokenizer import RQVAESection, TokenizerTrainSection
from pipeline_lib.schema.training import BackboneSection

# ---------------------------------------------------------------- baselines


class _AttentionSection(Section):
    """The shared shape of the Transformer baselines (RecBole's defaults, dim 128 as ETEGRec 4.1.5)."""

    dim: int = Field(128, ge=1, description="item (and attribute) embedding size (divisible by heads)")
    blocks: int = Field(2, ge=1, description="transformer blocks (per stream for FDSA)")
    heads: int = Field(2, ge=1, description="attention heads")
    ffn_dim: int = Field(256, ge=1, description="feed-forward hidden size")
    dropout: Float = _dropout(0.5)

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> Self:
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")
        return self


class SASRecSection(_AttentionSection):
    """``baselines.sasrec`` (SASRecConfig)."""

    dim: int = Field(256, ge=1, description="item embedding size (divisible by heads)")


class GRU4RecSection(Section):
    """``baselines.gru4rec`` (GRU4RecConfig)."""

    embedding_dim: int = Field(128, ge=1, description="item embedding size")
    hidden_size: int = Field(128, ge=1, description="GRU state size")
    layers: int = Field(1, ge=1, description="GRU layers")
    dropout: Float = _dropout(0.3)


class BERT4RecSection(_AttentionSection):
    """``baselines.bert4rec`` (BERT4RecConfig; RecBole's BERT4Rec defaults at ETEGRec's 128-d embeddings)."""

    ffn_dim: int = Field(512, ge=1, description="feed-forward hidden size")
    dropout: Float = _dropout(0.2)
    mask_prob: Float = Field(0.2, gt=0, lt=1, description="cloze: probability that an item becomes [MASK]")
    last_only_prob: Float = _probability(0.5, "cloze: probability that a sample masks only its last item")
    lr: Float | None = Field(None, gt=0, description="BERT4Rec's own learning rate; null = baselines.lr")


class CaserSection(Section):
    """``baselines.caser`` (CaserConfig; RecBole's Caser defaults at ETEGRec's 128-d embeddings, the paper's L)."""

    dim: int = Field(128, ge=1, description="item embedding size d (also z's)")
    L: int = Field(5, ge=1, description="the most recent items convolved (older ones are not read)")
    n_h: int = Field(16, ge=1, description="horizontal filters per height 1..L")
    n_v: int = Field(8, ge=1, description="vertical filters")
    dropout: Float = _dropout(0.4)


class FDSASection(_AttentionSection):
    """``baselines.fdsa`` (FDSAConfig): item- and feature-level self-attention streams."""


class S3RecSection(_AttentionSection):
    """``baselines.s3rec`` (S3RecConfig): the encoder, its pre-training phase and RecBole's loss weights."""

    pretrain_epochs: int = Field(100, ge=0, description="self-supervised pre-training epochs before fine-tuning")
    pretrain_lr: Float = Field(1e-3, gt=0, description="pre-training AdamW learning rate (RecBole's; fine-tuning: baselines.lr)")
    pretrain_batch_size: int | None = Field(None, ge=1, description="pre-training batch size; null = baselines.batch_size")
    mask_ratio: Float = Field(0.2, gt=0, lt=1, description="probability that an item is masked for MIP/MAP")
    aap_weight: Float = Field(1.0, ge=0, description="weight of associated attribute prediction")
    mip_weight: Float = Field(0.2, ge=0, description="weight of masked item prediction")
    map_weight: Float = Field(1.0, ge=0, description="weight of masked attribute prediction")
    sp_weight: Float = Field(0.5, ge=0, description="weight of segment prediction")


class BaselinesSection(Section):
    """``baselines``: sequential baselines (stage baseline; BaselineConfig + one section per model)."""

    batch_size: int = Field(256, ge=1, description="training samples per step; also users per ranking batch")
    lr: Float = Field(1e-3, gt=0, description="Adam(W) learning rate, constant")
    weight_decay: Float = Field(0.0, ge=0, description="0 = plain Adam")
    max_epochs: int = Field(200, ge=1, description="epochs")
    patience: int = Field(10, ge=1, description="validations without a better NDCG@10 before stopping")
    eval_every: int = Field(1, ge=1, description="epochs between validation runs")
    loss: BaselineLoss = Field("ce", description="ce = full softmax | bce = 1 sampled negative + binary CE")
    exclude_history: bool = Field(False, description="true = history items scored -inf")
    device: Device = Field("auto", description="auto = cuda when present")
    sasrec: SASRecSection = Field(default_factory=SASRecSection)
    gru4rec: GRU4RecSection = Field(default_factory=GRU4RecSection)
    bert4rec: BERT4RecSection = Field(default_factory=BERT4RecSection)
    caser: CaserSection = Field(default_factory=CaserSection)
    fdsa: FDSASection = Field(default_factory=FDSASection)
    s3rec: S3RecSection = Field(default_factory=S3RecSection)


# ---------------------------------------------------------------- ETEGRec


class EtegrecSection(Section):
    """``etegrec``: ETEGRec's tokenizer + recommender and their alternating optimisation (stage etegrec)."""

    schedule: EtegrecSchedule = Field("alternate", description="alternate (3.4) | joint (w/o AT) | frozen tokenizer")
    sia: bool = Field(True, description="false = Table 4 'w/o L_SIA'")
    psa: bool = Field(True, description="false = Table 4 'w/o L_PSA'")
    mu: Float = Field(3e-4, ge=0, description="L_SIA weight μ")
    lam: Float = Field(1e-4, ge=0, description="L_PSA weight λ")
    tau: Float = Field(0.07, gt=0, description="PSA temperature")
    sia_space: SiaSpace = Field("input", description="input: z^E through the tokenizer encoder | latent: to the quantizer")
    cycle_epochs: int = Field(2, ge=2, description="C: epochs per cycle (one tokenizer epoch, then recommender epochs)")
    eval_every: int | None = Field(None, ge=1, description="epochs between validations; null = once per cycle")
    recommender_lr: Float = Field(5e-3, gt=0, description="AdamW learning rate of the recommender")
    tokenizer_lr: Float = Field(1e-4, gt=0, description="AdamW learning rate of the tokenizer")
    weight_decay: Float = Field(0.05, ge=0, description="AdamW weight decay (both)")
    recommender_warmup_steps: int = Field(8000, ge=0, description="linear warmup, recommender steps")
    tokenizer_warmup_steps: int = Field(4000, ge=0, description="linear warmup, tokenizer steps")
    batch_size: int = Field(512, ge=1, description="training samples per step")
    max_epochs: int = Field(400, ge=1, description="epochs")
    patience: int = Field(15, ge=1, description="validations (= cycles) without a better NDCG@10")
    grad_clip: Float = Field(1.0, gt=0, description="gradient norm clip")
    bf16: bool = Field(True, description="bf16 autocast on a GPU")
    device: Device = Field("auto", description="auto = cuda when present")
    rqvae: RQVAESection = Field(default_factory=RQVAESection)
    pretrain: TokenizerTrainSection = Field(default_factory=TokenizerTrainSection)
    backbone: BackboneSection = Field(default_factory=BackboneSection)
