"""The schema of params.yaml: every key, its type, range, default and unit, as pydantic models.

This module is the reference for the parameters. One class per section, nested as params.yaml
nests them; each field's ``description`` gives its meaning and unit, its default is the value a
stage uses when the key is absent. :func:`pipeline_lib.params.load_params` validates the whole
file against :class:`Params` when a stage starts, before it writes anything, and turns the first
problems into one line naming the key path, e.g.
``params.yaml, field 'filter.k_core': must be ≥ 3, got 0``.

Strictness (``strict=True`` on every model, one exception):

- integers must be YAML integers: ``"5"``, ``5.0`` and ``true`` are rejected, as is ``"five"``;
- floats take integers and floats, and numeric strings such as ``1e-4`` (PyYAML reads an exponent
  without a dot as a string, and ``dvc exp run -S`` can write one), but not booleans, nan or inf;
- booleans must be ``true`` / ``false``; strings must be strings;
- unknown keys are an error everywhere (``extra="forbid"``), so a typo in a ``-S`` override stops
  the run instead of being ignored.

Per-dataset overrides (``profiles.<name>`` and ``catalog.<name>.overrides``) are partial: the
sections in :class:`Overrides`, built by :func:`partial` from the full models with every key
optional but the same types and ranges. Only those sections can be overridden per dataset; the
others (``filter``, ``embed``, ``download``, …) are read as they are by their stages. The merged
section of each dataset (section < profile < overrides) is validated against the full model too.

To add a key: add a field to its section class (with a description and the default the code
uses); the partial override models follow automatically.
"""

import copy
import re
from functools import cache
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    create_model,
    model_serializer,
    model_validator,
)

from pipeline_lib.errors import PipelineInputError

# The names the code knows (tests check them against the code's own tables).
Source = Literal["demo", "benchmark", "raw", "lcrec"]  # pipeline_lib.data.sources
Variant = Literal[  # models.variants
    "tiger", "tokcomp", "tokcomp_bos", "pretrained", "pretrained_tokcomp", "decor", "letter", "cost", "tiger_hf"
]
TokenizerVariant = Literal["letter", "cost"]  # the variants on their own tokenizer (models.variants, .tokenizer)
BaselineModel = Literal["sasrec", "gru4rec", "bert4rec", "caser", "fdsa", "s3rec"]  # training.sequential's SEQUENTIAL_ + ATTRIBUTE_MODELS
TokenizerMethod = Literal["rqvae", "letter", "cost"]  # tokenizer.objectives.METHODS
TextField = Literal["title", "brand", "main_category", "categories", "features", "description", "details"]
EmbedDtype = Literal["float32", "float16"]
FeedForward = Literal["relu", "gelu", "gelu_new", "silu", "gated-relu", "gated-gelu", "gated-gelu_new", "gated-silu"]
BaselineLoss = Literal["ce", "bce"]
ProtocolName = Literal["decor", "etegrec"]  # pipeline_lib.protocol.PROTOCOLS
EtegrecSchedule = Literal["alternate", "joint", "frozen"]
SiaSpace = Literal["input", "latent"]
BosQueryInit = Literal["normal", "token_scale"]  # models.generative
BosStatic = Literal["zero", "learned"]  # models.generative
TableFormat = Literal["md", "tex", "csv"]

_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {_show(value)}")
    return value


def _device(value: str) -> str:
    if not _DEVICE.fullmatch(value):
        raise ValueError(f"must be auto, cpu, cuda, cuda:N or mps, got {_show(value)}")
    return value


def _shared_tokenizer(values: list[str]) -> list[str]:
    own = [v for v in values if v in get_args(TokenizerVariant)]
    if own:
        raise ValueError(f"{', '.join(own)} train(s) on an own tokenizer: list it in tokenizer_variants, not variants")
    return values


def _with_sasrec(values: list[str]) -> list[str]:
    if "sasrec" not in values:
        raise ValueError("must include sasrec: ETEGRec and LETTER's tokenizer read its item embeddings")
    return values


def _unique(values: list[Any]) -> list[Any]:
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"must not repeat a name, got {', '.join(repeated)} twice")
    return values


Float = Annotated[float, Strict(False), AllowInfNan(False), BeforeValidator(_number)]
Device = Annotated[str, AfterValidator(_device)]
Url = Annotated[str, Field(pattern=r"^(https?|file)://\S+$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Section(BaseModel):
    """Base of every params model: unknown keys are errors; types strict as the module docstring says."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PartialSection(Section):
    """Base of the partial models: every key optional; only the keys given are written back."""

    @model_serializer(mode="plain")
    def _given_keys_only(self) -> dict[str, Any]:
        values = {key: getattr(self, key) for key in type(self).model_fields if key in self.model_fields_set}
        return {key: v.model_dump() if isinstance(v, BaseModel) else v for key, v in values.items()}


@cache
def partial(model: type[Section]) -> type[PartialSection]:
    """``model`` with every field optional (absent = not overridden), types and ranges kept, nested
    sections partial too. Cross-field checks are left to the full model, which sees the merged section."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            annotation = partial(annotation)
        optional = copy.copy(info)
        optional.default, optional.default_factory = None, None
        fields[name] = (annotation, optional)
    return create_model(f"Partial{model.__name__}", __base__=PartialSection, __doc__=model.__doc__, **fields)


def _probability(default: float, description: str) -> Any:
    return Field(default, ge=0, le=1, description=description)


def _dropout(default: float) -> Any:
    return Field(default, ge=0, lt=1, description="dropout probability, in [0, 1)")


# ---------------------------------------------------------------- data


class DemoSection(Section):
    """``demo``: size and structure of the generated demo catalogue (pipeline_lib/data/demo.py, DemoConfig;
    its cross-field limits, e.g. at least 2 items per subcategory, are checked there)."""

    n_users: int = Field(1700, ge=1, description="users generated, before filtering")
    n_items: int = Field(440, ge=1, description="reviewable items generated, before filtering")
    n_meta_only_items: int = Field(12, ge=0, description="extra items with a metadata row but no review")
    n_top_categories: int = Field(6, ge=1, description="top-level categories (at most the taxonomy's)")
    n_subcategories: int = Field(5, ge=2, description="subcategories per top category")
    mean_seq_len: Float = Field(10.0, gt=5, description="mean reviews of a regular user (items)")
    short_user_rate: Float = _probability(0.1, "share of users with 1-4 reviews")
    rare_item_rate: Float = _probability(0.1, "share of items reachable only through noise steps")
    noise_rate: Float = _probability(0.1, "probability that a step picks a uniformly random item")
    short_user_noise_rate: Float = _probability(0.5, "the same for short users")
    copurchase_rate: Float = _probability(0.3, "probability that a step picks the previous item's partner")
    category_switch_rate: Float = _probability(0.15, "probability that a step jumps to another top category")
    chain_rate: Float = _probability(0.55, "probability that a subcategory transition follows the chain edge")
    zipf_exponent: Float = Field(1.0, ge=0, description="popularity skew within a subcategory")
    preference_concentration: Float = Field(0.3, gt=0, description="Dirichlet concentration of user preferences")
    duplicate_rate: Float = _probability(0.03, "share of users who review an earlier item again")
    tie_rate: Float = _probability(0.03, "probability that a review shares the previous timestamp")
    seed: int | None = Field(None, ge=0, description="generator seed; null = the top-level seed")


class DownloadSection(Section):
    """``download``: where Amazon 2023 files come from and how fetching retries (pipeline_lib/data/download.py)."""

    base_url: Url = Field(
        "https://mcauleylab.ucsd.edu/public_datasets/data/amazon_2023", description="http(s):// or file:// root"
    )
    mirrors: list[Url] = Field(default_factory=list, description="fallback roots, tried in order")
    retries: int = Field(3, ge=0, description="extra attempts per URL after a failure")
    backoff_s: Float = Field(2.0, ge=0, description="seconds before the first retry, doubling after each")
    timeout_s: Float = Field(60.0, gt=0, description="socket timeout, seconds")
    chunk_bytes: int = Field(1 << 20, ge=1, description="read size, bytes")


class FilterSection(Section):
    """``filter``: iterative k-core filtering and the leave-one-out split (stage filter)."""

    k_core: int = Field(5, ge=3, description="minimum interactions per user and per item (≥ 3 for leave-one-out)")


class EmbedSection(Section):
    """``embed``: item text template and the sentence encoder (stage embed, EmbedConfig)."""

    model: str = Field("offline-minilm", min_length=1, description="sentence-transformers model name or path")
    fields: list[TextField] = Field(
        default_factory=lambda: ["title", "brand", "categories", "features", "description"],
        min_length=1,
        description="metadata fields in template order (pipeline_lib/text/template.py)",
    )
    max_chars: int = Field(2000, ge=1, description="text length cap, characters")
    batch_size: int = Field(128, ge=1, description="texts per encoder batch")
    dtype: EmbedDtype = Field("float32", description="embedding dtype stored")
    device: Device = Field("auto", description="auto = cuda when present")
    require_title: bool = Field(True, description="a metadata row without a title is an error")


# ---------------------------------------------------------------- generative models


class BackboneSection(Section):
    """The T5 encoder-decoder of a generative recommender (GenRecConfig's T5 keys); ``etegrec.backbone``."""

    d_model: int = Field(128, ge=1, description="hidden size")
    d_kv: int = Field(64, ge=1, description="size of each attention head")
    num_heads: int = Field(6, ge=1, description="attention heads")
    d_ff: int = Field(1024, ge=1, description="feed-forward hidden size")
    encoder_layers: int = Field(4, ge=1, description="encoder blocks")
    decoder_layers: int = Field(4, ge=1, description="decoder blocks")
    dropout: Float = _dropout(0.1)
    feed_forward_proj: FeedForward = Field("relu", description="T5 feed-forward activation")
    tie_lm_head: bool = Field(
        True, description="true = the token table (fused embeddings) is the prediction head (camera-ready §3.6)"
    )
    tied_head_scale: bool = Field(
        False, description="with tie_lm_head: decoder states × d_model^-0.5 before the head (T5's tied convention)"
    )


class ModelSection(BackboneSection):
    """``model``: the DECOR / TIGER backbone (TIGER's layers with DECOR's d_model 128, Table 5)."""

    fusion_dim: int = Field(128, ge=1, description="d' of eq. 10")
    attention_dim: int = Field(128, ge=1, description="d' of eq. 14")
    composition_scaled: bool = Field(False, description="true = eq. 16 logits × 1/√d; false = as printed")
    composition_center_context: bool = Field(
        False, description="true = u − ū before W_q (eq. 16): batch mean in training, running mean in evaluation"
    )
    composition_self_context: bool = Field(
        False, description="true = y_j's own embedding in its composition context (eq. 13); false = eq. 16–17"
    )
    bos_residual: bool = Field(False, description="true = ê_BOS = α·Φ(…) + (1 − α)·e_BOS; false = eq. 19 as printed")
    bos_query_init: BosQueryInit = Field(
        "normal", description="normal = N(0, 1) entries | token_scale = each ‖q‖ = the token table's mean row norm"
    )
    weight_decay_exclude: bool = Field(
        False, description="true = no AdamW decay on LayerNorm, biases, embedding tables, Q_BOS; false = decay all"
    )
    bos_static: BosStatic = Field(
        "zero", description="e_BOS in ê_BOS = Φ(e_BOS, u, Q_BOS): zero (camera-ready §3.4.1) | learned = the table's row"
    )
    alpha_trainable: bool = Field(False, description="true = α of eq. 18 learned; false = fixed (camera-ready)")


class TrainSection(Section):
    """``train``: optimisation of the generative variants (OptimConfig; DECOR Table 5)."""

    batch_size: int = Field(256, ge=1, description="training samples per step")
    lr: Float = Field(3e-3, gt=0, description="AdamW peak learning rate")
    weight_decay: Float = Field(0.05, ge=0, description="AdamW weight decay")
    warmup_steps: int = Field(10_000, ge=0, description="linear warmup, optimizer steps (then cosine decay)")
    warmup_epochs: Float | None = Field(
        None, gt=0, description="linear warmup, epochs; when set it replaces warmup_steps (the CPU profile: 1)"
    )
    max_epochs: int = Field(200, ge=1, description="epochs")
    patience: int = Field(20, ge=1, description="validations without a better NDCG@10 before stopping")
    eval_every: int = Field(1, ge=1, description="epochs between validation runs")
    grad_clip: Float = Field(1.0, gt=0, description="gradient norm clip")
    bf16: bool = Field(True, description="bf16 autocast on a GPU (CPU runs stay float32)")
    compile: bool = Field(False, description="torch.compile the training loss")
    cuda_graphs: bool = Field(
        False, description="compile in mode reduce-overhead: on CUDA one CUDA graph per bucket shape, replayed (implies compile)"
    )
    diagnostics_every: int = Field(
        0, ge=0, description="optimiser steps between composition diagnostics (reports/curves/<ds>/<variant>.steps.tsv); 0 = off"
    )
    time_budget_s: Float | None = Field(
        None, gt=0, description="seconds of training after which the first validation ends the run (best weights kept); null = no limit"
    )
    device: Device = Field("auto", description="auto = cuda when present")


class EvaluateSection(Section):
    """``evaluate``: trie-constrained beam search and the metric cut-offs (DecodeConfig)."""

    beam_size: int | None = Field(
        None, ge=1, description="beams per user; null = the protocol's (decor 50, etegrec 20); at least max(ks)"
    )
    batch_size: int = Field(256, ge=1, description="users per beam-search batch")
    ks: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [5, 10], min_length=1, description="Recall@k / NDCG@k cut-offs, items"
    )

    @model_validator(mode="after")
    def _beam_covers_ks(self) -> Self:
        if self.beam_size is not None and max(self.ks) > self.beam_size:
            raise ValueError(f"beam_size ({self.beam_size}) must be at least max(ks) ({max(self.ks)})")
        return self


# ---------------------------------------------------------------- tokenizer


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


# ---------------------------------------------------------------- reports


class TablesSection(Section):
    """``tables``: paper Tables 1–4 with our numbers (stage tables, TablesConfig)."""

    paper_columns: dict[str, str] = Field(
        default_factory=lambda: {"scientific": "Scientific", "instrument": "Instrument", "game": "Game"},
        description="our dataset → the paper's column",
    )
    significance_level: Float = Field(0.05, gt=0, lt=1, description="paired two-sided t-test level")
    formats: Annotated[list[TableFormat], AfterValidator(_unique)] = Field(
        default_factory=lambda: ["md", "tex", "csv"], description="files written per table"
    )
    paper_version: Literal["camera_ready", "arxiv"] = Field(
        "camera_ready", description="the paper's numbers shown: the SIGIR'26 camera-ready or the arXiv text"
    )


class CpuSection(Section):
    """``cpu``: how training runs use a CPU (pipeline_lib/parallel.py, CpuConfig); no effect on a GPU."""

    threads_per_run: int = Field(
        1, ge=1, description="torch threads of each training run (its numbers depend on it: part of its identity)"
    )
    parallel_runs: int | None = Field(
        None, ge=1, description="a stage's seed runs side by side, each in its own process; null = CPUs // threads_per_run"
    )


class FiguresSection(Section):
    """``figures``: DECOR Figure 4, t-SNE of static vs composed prefix embeddings (Figure4Config)."""

    prefix_length: int = Field(2, ge=1, description="tokens in the ambiguous prefix")
    max_users: int = Field(300, ge=1, description="test users whose target starts with it (the first N)")
    perplexity: Float = Field(30.0, gt=0, description="t-SNE perplexity; capped at (points - 1) / 3")


class GateSection(Section):
    """``gate``: the CI metric-diff gate (pipeline_lib/ci/gate.py, GateConfig); tolerances are absolute."""

    baseline: str = Field(".ci/baseline.json", min_length=1, description="committed baseline metrics file")
    default_tolerance: Float = Field(0.02, ge=0, description="absolute tolerance when no pattern matches")
    tolerances: dict[str, Annotated[Float, Field(ge=0)]] = Field(
        default_factory=lambda: {"max_collision_group": 1.0, "recall@": 0.03, "ndcg@": 0.03, "utilization": 0.05},
        description="pattern → absolute tolerance; the first match wins",
    )
    higher_is_better: list[str] = Field(
        default_factory=lambda: ["recall@", "ndcg@", "utilization"], description="fail only on a drop"
    )
    lower_is_better: list[str] = Field(
        default_factory=lambda: ["loss", "mse", "collision"], description="fail only on a rise"
    )
    ignore: list[str] = Field(
        default_factory=lambda: ["seconds", "wall_", "epochs", "best_epoch", "processes"],
        description="metrics left out (timings, run environment)",
    )


# ---------------------------------------------------------------- catalogue and the whole file


class StoppingSection(Section):
    """``stopping``: one early-stopping rule for every trained model (training.stopping.StoppingRule); null = each
    section's own value."""

    eval_every: int | None = Field(None, ge=1, description="epochs between validations, for every model")
    patience: int | None = Field(None, ge=1, description="validations without a better NDCG@10, for every model")
    max_epochs: int | None = Field(None, ge=1, description="epoch cap for every model; reaching it = not converged")
    valid_users: int | None = Field(
        None, ge=1, description="validate on a fixed subset of this many users (data seed); null = all"
    )


class Overrides(PartialSection):
    """Per-dataset values of the sections whose stages merge them (``profiles.<name>``,
    ``catalog.<name>.overrides``); any key of the section, all optional."""

    tokenize: partial(TokenizeSection) = None
    model: partial(ModelSection) = None
    train: partial(TrainSection) = None
    evaluate: partial(EvaluateSection) = None
    baselines: partial(BaselinesSection) = None
    etegrec: partial(EtegrecSection) = None
    figures: partial(FiguresSection) = None
    stopping: partial(StoppingSection) = None


class CatalogEntry(Section):
    """``catalog.<name>``: one dataset (DatasetSpec)."""

    source: Source = Field(description="demo (generated) | benchmark (5-core CSV) | raw (reviews) | lcrec (json)")
    alpha: Float = Field(ge=0, le=1, description="DECOR's α for this dataset (Table 5)")
    bos_queries: int = Field(ge=0, description="DECOR's BOS query count N for this dataset (Table 5)")
    category: str | None = Field(None, min_length=1, description="Amazon 2023 category (benchmark / raw sources)")
    path: str | None = Field(None, min_length=1, description="folder holding the files (lcrec source)")
    prefix: str | None = Field(None, min_length=1, description="file name prefix (lcrec source)")
    sha256: dict[str, Sha256] = Field(default_factory=dict, description="file name → expected sha256 (hex)")
    profile: str | list[str] | None = Field(
        None, description="a key of `profiles`, or a list of them applied in order, before `overrides`"
    )
    overrides: Overrides = Field(default_factory=Overrides, description="this dataset's section values")

    @model_validator(mode="after")
    def _source_needs(self) -> Self:
        needs = {"demo": (), "benchmark": ("category",), "raw": ("category",), "lcrec": ("path", "prefix")}
        missing = [key for key in needs[self.source] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"source {self.source} needs {' and '.join(missing)}")
        return self


class Params(Section):
    """The whole params.yaml."""

    datasets: Annotated[list[str], AfterValidator(_unique)] = Field(
        default_factory=list, description="catalog names every per-dataset stage runs"
    )
    seed: int = Field(2025, ge=0, description="data seed: the demo catalogue, the RQ-VAE tokenizer, Figure 4's t-SNE")
    seeds: Annotated[list[Annotated[int, Field(ge=0)]], AfterValidator(_unique)] = Field(
        default_factory=lambda: [2025], min_length=1,
        description="training seeds: every trained model runs once per seed (a DVC matrix dimension)",
    )
    protocol: ProtocolName = Field(
        "decor", description="decor: history ≤ 20, beam 50 | etegrec: history ≤ 50, beam 20 (every model)"
    )
    alpha: Float | None = Field(None, ge=0, le=1, description="DECOR's α (eq. 18); null = catalog.<name>.alpha")
    bos_queries: int | None = Field(
        None, ge=0, description="BOS queries N (eq. 19); null = catalog.<name>.bos_queries, 0 = off"
    )
    catalog: dict[str, CatalogEntry] = Field(default_factory=dict, description="dataset name → entry")
    profiles: dict[str, Overrides] = Field(default_factory=dict, description="named sets of per-dataset overrides")
    demo: DemoSection = Field(default_factory=DemoSection)
    download: DownloadSection = Field(default_factory=DownloadSection)
    filter: FilterSection = Field(default_factory=FilterSection)
    embed: EmbedSection = Field(default_factory=EmbedSection)
    model: ModelSection = Field(default_factory=ModelSection)
    variants: Annotated[list[Variant], AfterValidator(_unique), AfterValidator(_shared_tokenizer)] = Field(
        default_factory=lambda: [v for v in get_args(Variant) if v not in get_args(TokenizerVariant)],
        min_length=1, description="Table 2 rows trained and evaluated on the shared tokenizer (stage train)",
    )
    tokenizer_variants: Annotated[list[TokenizerVariant], AfterValidator(_unique)] = Field(
        default_factory=lambda: list(get_args(TokenizerVariant)),
        description="Table 1 rows: TIGER on the LETTER / CoST tokenizer (stages train_tokenized, evaluate_tokenized)",
    )
    baseline_models: Annotated[list[BaselineModel], AfterValidator(_unique), AfterValidator(_with_sasrec)] = Field(
        default_factory=lambda: list(get_args(BaselineModel)),
        description="Table 1's sequential baselines (stage baseline); sasrec always (ETEGRec, LETTER read it)",
    )
    cpu: CpuSection = Field(default_factory=CpuSection)
    train: TrainSection = Field(default_factory=TrainSection)
    evaluate: EvaluateSection = Field(default_factory=EvaluateSection)
    tokenize: TokenizeSection = Field(default_factory=TokenizeSection)
    baselines: BaselinesSection = Field(default_factory=BaselinesSection)
    etegrec: EtegrecSection = Field(default_factory=EtegrecSection)
    stopping: StoppingSection = Field(default_factory=StoppingSection)
    tables: TablesSection = Field(default_factory=TablesSection)
    figures: FiguresSection = Field(default_factory=FiguresSection)
    gate: GateSection = Field(default_factory=GateSection)


OVERRIDABLE: dict[str, type[Section]] = {
    name: Params.model_fields[name].annotation for name in Overrides.model_fields  # type: ignore[misc]
}


# ---------------------------------------------------------------- errors


def params_error(
    err: ValidationError, path: str | Path, model: type[BaseModel] = Params, prefix: tuple[str, ...] = (), note: str = ""
) -> PipelineInputError:
    """One line for a failed validation of ``model`` at key path ``prefix``: the first problem with its
    key path, value and what is allowed, then any others, joined with "; "."""
    problems = []
    for error in err.errors():
        loc = tuple(error["loc"])
        problems.append((_key_path(prefix + loc), _problem(error, model, loc) + note))
    (field, first), rest = problems[0], problems[1:]
    return PipelineInputError(path, "; ".join([first, *(f"field '{f}': {p}" for f, p in rest)]), field=field or None)


def _key_path(loc: tuple[str | int, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


_BOUNDS = {"greater_than_equal": ("ge", "≥"), "greater_than": ("gt", ">"), "less_than_equal": ("le", "≤"),
           "less_than": ("lt", "<")}
_KINDS = {"int_type": "an integer", "float_type": "a number", "float_parsing": "a number", "finite_number":
          "a finite number", "bool_type": "true or false", "string_type": "a string", "list_type": "a list",
          "dict_type": "a mapping", "model_type": "a mapping", "missing": None}


def _problem(error: Any, model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        return "unknown key" + (f" (known: {', '.join(known)})" if known else "")
    if kind in _BOUNDS:
        key, sign = _BOUNDS[kind]
        return f"must be {sign} {ctx[key]:g}, got {_show(value)}"
    if kind in _KINDS:
        return f"must be {_KINDS[kind]}, got {_show(value)}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}, got {_show(value)}"
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s), got {_show(value)}"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx['pattern']}, got {_show(value)}"
    if kind == "value_error":
        return str(ctx["error"])
    return f"{error['msg']}, got {_show(value)}"


def _known_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed at ``loc`` below ``model`` (empty when it is not a model)."""
    node: Any = model
    for part in loc:
        if isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = node.model_fields[part].annotation
        elif get_origin(node) is dict:
            node = get_args(node)[1]
        else:
            return []
        if get_origin(node) in (Union, UnionType):
            node = next(arg for arg in get_args(node) if arg is not type(None))
    return sorted(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []
