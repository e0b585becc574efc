"""The models' configs, each parameter declared once (:func:`pipeline_lib.declare.param`): the generative
recommender (``model``, ``etegrec.backbone``), the sequential baselines (``baselines.<model>``) and ETEGRec's
alignment losses. Fields without a declaration (``n_items``, ``max_len``, a variant's switches) come from the
data or the variant, not from params.yaml. No torch here: :mod:`pipeline_lib.schema` reads these cheaply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal, get_args

from pipeline_lib.declare import check_declared, param, resolved

FeedForward = Literal["relu", "gelu", "gelu_new", "silu", "gated-relu", "gated-gelu", "gated-gelu_new", "gated-silu"]
BosQueryInit = Literal["normal", "token_scale"]
BosStatic = Literal["zero", "learned"]
SiaSpace = Literal["input", "latent"]
SqReduction = Literal["mean", "sum"]
RecSoftmax = Literal["level", "vocabulary"]
BOS_QUERY_INITS: tuple[str, ...] = get_args(BosQueryInit)
BOS_STATICS: tuple[str, ...] = get_args(BosStatic)
SIA_SPACES: tuple[str, ...] = get_args(SiaSpace)
SQ_REDUCTIONS: tuple[str, ...] = get_args(SqReduction)
REC_SOFTMAXES: tuple[str, ...] = get_args(RecSoftmax)
S3REC_OBJECTIVES = ("aap", "mip", "map", "sp")


def _dropout(default: float) -> float:
    return param(default, ge=0, lt=1, description="dropout probability, in [0, 1)")


# ---------------------------------------------------------------- the generative recommender


@dataclass(frozen=True)
class GenRecConfig:
    """The DECOR / TIGER recommender: backbone defaults follow TIGER (4 + 4 layers, 6 heads × 64, FFN 1024) with
    DECOR's d_model 128 (Table 5); the DECOR switches default to the paper (the camera-ready where the arXiv text
    is silent). ``levels``, ``codebook_size``, ``code_dim`` come from the tokenizer; ``fusion``, ``composition``,
    ``alpha``, ``bos_queries`` from the variant and the dataset (models.variants)."""

    levels: int = 4
    codebook_size: int = 256
    d_model: int = param(128, ge=1, description="hidden size")
    d_kv: int = param(64, ge=1, description="size of each attention head")
    num_heads: int = param(6, ge=1, description="attention heads")
    d_ff: int = param(1024, ge=1, description="feed-forward hidden size")
    encoder_layers: int = param(4, ge=1, description="encoder blocks")
    decoder_layers: int = param(4, ge=1, description="decoder blocks")
    dropout: float = _dropout(0.1)
    feed_forward_proj: FeedForward = param("relu", description="T5 feed-forward activation")
    fusion: bool = False
    code_dim: int = 128
    fusion_dim: int = param(128, ge=1, description="d' of eq. 10")
    composition: bool = False
    alpha: float = 0.25
    composition_scaled: bool = param(False, description="true = eq. 16 logits × 1/√d; false = as printed")
    attention_dim: int = param(128, ge=1, description="d' of eq. 14")
    bos_queries: int = 0
    composition_center_context: bool = param(
        False, description="true = u − ū before W_q (eq. 16): batch mean in training, running mean in evaluation"
    )
    composition_self_context: bool = param(
        False, description="true = y_j's own embedding in its composition context (eq. 13); false = eq. 16–17"
    )
    bos_residual: bool = param(
        False, description="true = ê_BOS = α·Φ(…) + (1 − α)·e_BOS; false = eq. 19 as printed"
    )
    bos_query_init: BosQueryInit = param(
        "normal", description="normal = N(0, 1) entries | token_scale = each ‖q‖ = the token table's mean row norm"
    )
    weight_decay_exclude: bool = param(
        False, description="true = no AdamW decay on LayerNorm, biases, embedding tables, Q_BOS; false = decay all"
    )
    tie_lm_head: bool = param(
        True, description="true = the token table (fused embeddings) is the prediction head (camera-ready §3.6)"
    )
    tied_head_scale: bool = param(
        False, description="with tie_lm_head: decoder states × d_model^-0.5 before the head (T5's tied convention)"
    )
    bos_static: BosStatic = param(
        "zero", description="e_BOS in ê_BOS = Φ(e_BOS, u, Q_BOS): zero (camera-ready §3.4.1) | learned = the table's row"
    )
    alpha_trainable: bool = param(False, description="true = α of eq. 18 learned; false = fixed (camera-ready)")

    def __post_init__(self) -> None:
        check_declared(self)
        if self.bos_queries and not self.composition:
            raise ValueError("BOS queries are composed by Φ: they need composition=True")
        if self.bos_query_init not in BOS_QUERY_INITS:
            raise ValueError(f"bos_query_init must be one of {BOS_QUERY_INITS}, got {self.bos_query_init!r}")
        if self.bos_static not in BOS_STATICS:
            raise ValueError(f"bos_static must be one of {BOS_STATICS}, got {self.bos_static!r}")

    def to_dict(self) -> dict:
        return asdict(self)


# The T5 encoder-decoder keys ETEGRec's recommender shares (``etegrec.backbone``)
BACKBONE_KEYS = ("d_model", "d_kv", "num_heads", "d_ff", "encoder_layers", "decoder_layers", "dropout",
                 "feed_forward_proj", "tie_lm_head", "tied_head_scale")


# ---------------------------------------------------------------- sequential baselines


@dataclass(frozen=True)
class AttentionBaselineConfig:
    """The sizes every self-attention baseline's config shares (SASRec, BERT4Rec, FDSA, S³Rec): ``n_items`` and
    ``max_len`` come from the data, the rest from ``baselines.<model>`` (RecBole's defaults at ETEGRec §4.1.5's
    128-d item embeddings; each model overrides its own). Raises ``ValueError`` naming the field: ``n_items``,
    ``max_len`` and the sizes ≥ 1, ``dim`` divisible by ``heads``, ``dropout`` in [0, 1)."""

    n_items: int = resolved(ge=1)
    max_len: int = resolved(ge=1)
    dim: int = param(128, ge=1, description="item (and attribute) embedding size (divisible by heads)")
    blocks: int = param(2, ge=1, description="transformer blocks (per stream for FDSA)")
    heads: int = param(2, ge=1, description="attention heads")
    ffn_dim: int = param(256, ge=1, description="feed-forward hidden size")
    dropout: float = _dropout(0.5)

    def __post_init__(self) -> None:
        check_declared(self)

    def check(self) -> None:
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")


@dataclass(frozen=True)
class SASRecConfig(AttentionBaselineConfig):
    """``baselines.sasrec``: 256-d item embeddings, as ETEGRec §4.1.4 feeds its tokenizer with them."""

    dim: int = param(256, ge=1, description="item embedding size (divisible by heads)")


@dataclass(frozen=True)
class BERT4RecConfig(AttentionBaselineConfig):
    """``baselines.bert4rec``: RecBole's BERT4Rec defaults at ETEGRec's 128-d embeddings; FFN 4 × dim, as
    BERT4Rec (§3.3) and RecBole (64 → 256)."""

    ffn_dim: int = param(512, ge=1, description="feed-forward hidden size")
    dropout: float = _dropout(0.2)
    mask_prob: float = param(0.2, gt=0, lt=1, description="cloze: probability that an item becomes [MASK]")
    last_only_prob: float = param(
        0.5, ge=0, le=1, description="cloze: probability that a sample masks only its last item"
    )


@dataclass(frozen=True)
class AttributeEncoderConfig(AttentionBaselineConfig):
    """What FDSA's and S³Rec's configs share: the attention sizes and ``n_attributes`` (keyword only; from the
    data, as ``n_items`` and ``max_len``; ≥ 0)."""

    n_attributes: int = resolved(kw_only=True, ge=0)


@dataclass(frozen=True)
class FDSAConfig(AttributeEncoderConfig):
    """``baselines.fdsa``: item- and feature-level self-attention streams."""


@dataclass(frozen=True)
class S3RecConfig(AttributeEncoderConfig):
    """``baselines.s3rec``: the encoder and its pre-training phase; loss weights and mask ratio are the authors'
    (``run_pretrain.py``) and RecBole's (``S3Rec.yaml`` since its 2024 fix; its user guide still prints the old
    1 / 0.2 / 1 / 0.5)."""

    pretrain_epochs: int = param(100, ge=0, description="self-supervised pre-training epochs before fine-tuning")
    pretrain_lr: float = param(
        1e-3, gt=0, description="pre-training AdamW learning rate (RecBole's; fine-tuning: baselines.lr)"
    )
    pretrain_batch_size: int | None = param(
        None, ge=1, description="pre-training batch size; null = baselines.batch_size"
    )
    mask_ratio: float = param(0.2, gt=0, lt=1, description="probability that an item is masked for MIP/MAP")
    mask_last: bool = param(
        True, description="pre-training always masks each instance's last item (the authors' loader; RecBole: no)"
    )
    aap_weight: float = param(0.2, ge=0, description="weight of associated attribute prediction")
    mip_weight: float = param(1.0, ge=0, description="weight of masked item prediction")
    map_weight: float = param(1.0, ge=0, description="weight of masked attribute prediction")
    sp_weight: float = param(0.5, ge=0, description="weight of segment prediction")

    def weights(self) -> dict[str, float]:
        return {name: getattr(self, f"{name}_weight") for name in S3REC_OBJECTIVES}


@dataclass(frozen=True)
class GRU4RecConfig:
    """``baselines.gru4rec``; ``n_items`` comes from the data."""

    n_items: int = resolved(ge=1)
    embedding_dim: int = param(128, ge=1, description="item embedding size")
    hidden_size: int = param(128, ge=1, description="GRU state size")
    layers: int = param(1, ge=1, description="GRU layers")
    dropout: float = _dropout(0.3)

    def __post_init__(self) -> None:
        check_declared(self)


@dataclass(frozen=True)
class CaserConfig:
    """``baselines.caser``: the authors' Caser (L 5, n_h 16, n_v 4) at ETEGRec's 128-d embeddings with RecBole's
    dropout 0.4; ``n_items`` comes from the data."""

    n_items: int = resolved(ge=1)
    dim: int = param(128, ge=1, description="item embedding size d (also z's)")
    L: int = param(5, ge=1, description="the most recent items convolved (older ones are not read)")
    n_h: int = param(16, ge=1, description="horizontal filters per height 1..L")
    n_v: int = param(4, ge=1, description="vertical filters (the paper's, the authors' and RecBole's)")
    dropout: float = _dropout(0.4)

    def __post_init__(self) -> None:
        check_declared(self)


# ---------------------------------------------------------------- ETEGRec


@dataclass(frozen=True)
class AlignmentConfig:
    """ETEGRec's own settings around its two components: the weights, switches and reductions of its objective
    (eq. 13–18; Table 4's ablations are ``sia`` / ``psa``) and the recommender's initialisation. Defaults are the
    authors' code (``config/scientific.yaml``, ``run.sh``, ``trainer.py``, ``model.py``); where the paper differs
    its value stays reachable.

    ``mu`` weighs L_SIA, ``lam`` L_PSA: the authors' 1e-4 / 3e-4 (the paper, 4.4.3: μ 3e-4 on Instrument and
    Scientific, 1e-3 on Game; λ 1e-4). Both are 0 for the first ``alignment_warmup_epochs`` epochs (the authors'
    ``warm_epoch``). ``tau`` is the PSA temperature (the paper gives none). ``sia_space``: where z^E enters the
    tokenizer — ``latent`` (straight into the quantizer, the authors' code) or ``input`` (through the tokenizer's
    encoder beside z, as eq. 14–15 read). ``sq_reduction``: L_SQ as element-wise means averaged over the levels
    (``mean``, the authors' code) or as the squared norms summed over the levels of eq. 8–10 (``sum``).
    ``rec_softmax``: L_REC and the beam's scores normalised over the codes of the level being generated
    (``level``, the authors' per-level heads) or over the whole token vocabulary (``vocabulary``). ``init_std``:
    every linear and embedding weight of the recommender and the alignment heads drawn from N(0, init_std²),
    biases zero (the authors' ``Model._init_weights``); null keeps each module's own initialisation.
    """

    mu: float = param(1e-4, ge=0, description="L_SIA weight μ")
    lam: float = param(3e-4, ge=0, description="L_PSA weight λ")
    tau: float = param(0.07, gt=0, description="PSA temperature")
    sia: bool = param(True, description="false = Table 4 'w/o L_SIA'")
    psa: bool = param(True, description="false = Table 4 'w/o L_PSA'")
    sia_space: SiaSpace = param(
        "latent", description="latent: z^E straight into the quantizer | input: through the tokenizer encoder"
    )
    alignment_warmup_epochs: int = param(
        10, ge=0, description="epochs at the start of the alternation with μ = λ = 0 (the losses still logged)"
    )
    sq_reduction: SqReduction = param(
        "mean", description="mean: element-wise means averaged over levels | sum: squared norms summed (eq. 8–10)"
    )
    rec_softmax: RecSoftmax = param(
        "level", description="level: over the generated level's codes | vocabulary: over every token"
    )
    init_std: float | None = param(
        0.02, gt=0, description="N(0, std²) linear and embedding weights of the recommender side; null = their own"
    )

    def __post_init__(self) -> None:
        check_declared(self)
        for name, allowed in (("sia_space", SIA_SPACES), ("sq_reduction", SQ_REDUCTIONS),
                              ("rec_softmax", REC_SOFTMAXES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("sia", "psa"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")

    def at_epoch(self, epoch: int) -> AlignmentConfig:
        """The weights epoch ``epoch`` (0-based) trains with: μ = λ = 0 during the alignment warm-up."""
        return replace(self, mu=0.0, lam=0.0) if epoch < self.alignment_warmup_epochs else self
